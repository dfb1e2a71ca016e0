// The admin's certificates page at /certd/ui/: three static files (src/certd/ui/, copied
// beside this module's folder by build.sh) read once at start. The page calls only the
// public APIs (cert.v1 and /certd/v1).
//
// Decision: the files sit behind the same Digest challenge as the APIs (role viewer). The
// browser asks for the credentials once, when the page loads, and sends them again with
// every fetch the page makes (same origin, same realm): the page never sees a password,
// keeps none, and a stranger learns nothing from it. The CSP lets the page run only its
// own script and style and talk only to its own origin; nobody may frame it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../http/app';

export const UI_BASE = '/certd/ui';

const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

const FILES: [path: string, file: string, type: string][] = [
  // The router ignores a trailing slash: /certd/ui is the page too (its links are absolute).
  [`${UI_BASE}/`, 'index.html', 'text/html; charset=utf-8'],
  [`${UI_BASE}/app.js`, 'app.js', 'text/javascript; charset=utf-8'],
  [`${UI_BASE}/app.css`, 'app.css', 'text/css; charset=utf-8'],
];

export function registerUiPage(app: App, dir = join(__dirname, '..', 'ui')): void {
  for (const [path, file, type] of FILES) {
    const body = readFileSync(join(dir, file), 'utf8');
    const headers = {
      'content-type': type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer', 'cache-control': 'no-cache',
    };
    app.route('GET', path, 'viewer', () => ({ status: 200, headers, body }));
  }
}
