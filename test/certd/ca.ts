// A test CA made with openssl (signs the CSRs certd hands out, as a real CA would), and
// openssl's verdict on a CSR.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  certPem: string;
  /** Signs a CSR (PEM) into a certificate (PEM), copying its SANs; openssl checks the CSR's signature. */
  sign(csrPem: string, days?: number): string;
}

export function makeCa(name = 'certd test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'certd-ca-'));
  const key = join(dir, 'ca.key');
  const cert = join(dir, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}`], { stdio: 'pipe' });
  let serial = 1;
  return {
    certPem: readFileSync(cert, 'utf8'),
    sign(csrPem, days = 30) {
      const csr = join(dir, `req${serial}.csr`);
      const out = join(dir, `cert${serial}.pem`);
      writeFileSync(csr, csrPem);
      execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-set_serial', String(1000 + serial++), '-days', String(days), '-copy_extensions', 'copy', '-out', out], { stdio: 'pipe' });
      return readFileSync(out, 'utf8');
    },
  };
}

/** openssl req -verify exits 0 even when the signature is bad: read what it says. */
export function csrVerifies(pem: string): boolean {
  return /verify OK/.test(spawnSync('openssl', ['req', '-verify', '-noout'], { input: pem }).stderr.toString());
}
