// A throw-away CA (openssl) that signs the web server's CSRs as an enrollment would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CA in a new temp folder; `sign(csr)` returns the certificate PEM. */
export function webCa(name: string): { dir: string; sign: (csr: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), `${name}-ca-`));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-subj', '/CN=web test CA', '-days', '2'], { stdio: 'pipe' });
  const sign = (csr: string): string => {
    const n = readdirSync(dir).length;
    writeFileSync(join(dir, `${n}.csr`), csr);
    return execFileSync('openssl', ['x509', '-req', '-in', join(dir, `${n}.csr`), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-set_serial', String(100 + n), '-days', '2'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  };
  return { dir, sign };
}
