// The two pages discovery links to, under /config/web-ui/ as on the device: `doc_html`
// (the Markdown documentation as a page) and `rest_ui` (the API browsable).
//
// Decision: on the recorded device these URLs belong to its web interface (static pages:
// a Markdown viewer and Swagger UI), which certd does not replace: behind the camera's web
// server only /config/rest/cert/ and /config/discover reach certd, so there the device's
// own pages answer. certd run on its own would leave the links dead, so it serves small
// pages of its own at the same URLs: the documentation as preformatted text, and a table of
// the operations that links the OpenAPI document. No script and no third-party UI (Swagger
// UI is about a megabyte of JavaScript: not worth its memory here). Each page shows only
// the documents discovery names; any other `md-doc-loc` or `url` is "Resource not found".
import type { App, Request } from '../http/app';
import { HttpError } from '../http/errors';
import { notFound } from './cert-v1';

const BASE = '/config/web-ui';

/** The link forms the device gives (config-discover.json). */
export const WEB_UI = {
  docHtml: (doc: string) => `${BASE}/cu-doc.html?md-doc-loc=${doc}`,
  restUi: (openapi: string) => `${BASE}/swagger-ui/?url=${openapi}`,
};

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  // Nothing on the page loads or runs anything; nobody may frame it.
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

const page = (title: string, body: string) => ({
  status: 200,
  headers: HEADERS,
  body: `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>\n<body>\n${body}\n</body></html>\n`,
});

/** The one named query parameter, when it names one of `known`. */
function pick<T>(req: Request, name: string, known: Record<string, T>): [string, T] {
  const v = req.query[name];
  if (typeof v !== 'string') throw new HttpError(400, 5, `${name}: one document path required`);
  // encodeURI: the client's text comes back as one line, and no markup in it survives.
  if (!Object.hasOwn(known, v)) throw notFound(encodeURI(v));
  return [v, known[v]!];
}

export interface OpenApi {
  [field: string]: unknown;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { summary?: string; 'x-roles'?: string[] }>>;
}

export function registerWebUi(app: App, docs: Record<string, string>, openapis: Record<string, OpenApi>): void {
  app.route('GET', `${BASE}/cu-doc.html`, 'viewer', (r) => {
    const [, text] = pick(r, 'md-doc-loc', docs);
    return page(text.split('\n', 1)[0]!.replace(/^#+\s*/, ''), `<pre>${escape(text)}</pre>`);
  });
  app.route('GET', `${BASE}/swagger-ui`, 'viewer', (r) => {
    const [url, doc] = pick(r, 'url', openapis);
    const rows = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) =>
      `<tr><td>${escape(method.toUpperCase())}</td><td><code>${escape(path)}</code></td><td>${escape(op.summary ?? '')}</td><td>${escape((op['x-roles'] ?? []).join(', '))}</td></tr>`));
    const title = `${doc.info.title} ${doc.info.version}`;
    return page(title, [
      `<h1>${escape(title)}</h1>`,
      `<p>OpenAPI document: <a href="${escape(url)}">${escape(url)}</a></p>`,
      '<table>\n<tr><th>Method</th><th>Path</th><th>What it does</th><th>Roles</th></tr>',
      ...rows,
      '</table>',
    ].join('\n'));
  });
}
