// Certificates made by openssl in a folder for the report and metrics suites: CAs, leaves
// they issue, self-signed ones, and one valid in 2020 only (openssl ca sets the dates).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export class OpensslCerts {
  readonly dir = mkdtempSync(join(tmpdir(), 'certd-openssl-'));
  private serial = 1;

  ssl(args: string[]): string {
    return execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' }).toString();
  }

  /** `name`.pem or `name`.key. */
  read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8');
  }

  /** A self-signed certificate `name`.pem (key `name`.key); `key`: openssl req's key options. */
  selfSigned(name: string, cn: string, extra: string[] = [], key = EC): void {
    this.ssl(['req', '-x509', ...key, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${cn}`, '-days', '3650', ...extra]);
  }

  ca(name: string, cn: string): void {
    this.selfSigned(name, cn, ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign,cRLSign']);
  }

  /** A leaf `name`.pem for a fresh key, issued by the CA `issuer` for `days`. */
  leaf(name: string, issuer: string, days: number, san = 'DNS:cam1.local,IP:192.0.2.10'): void {
    this.ssl(['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    writeFileSync(join(this.dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    this.ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(0x7f000000 + this.serial++),
      '-days', String(days), '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  }

  /** A self-signed certificate valid 2020-01-01 to 2021-01-01 only. */
  expired(name: string): void {
    this.ssl(['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    writeFileSync(join(this.dir, 'index'), '');
    writeFileSync(join(this.dir, 'serial'), '01\n');
    writeFileSync(join(this.dir, 'ca.cnf'), 'dir=.\n[ca]\ndefault_ca=c\n[c]\ndatabase=index\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n');
    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', `${name}.key`, '-in', `${name}.csr`, '-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-notext', '-out', `${name}.pem`]);
  }

  /** openssl's view: notBefore/notAfter as Unix seconds, the serial in decimal. */
  view(name: string): { notBefore: number; notAfter: number; serial: string } {
    const out = this.ssl(['x509', '-in', `${name}.pem`, '-noout', '-startdate', '-enddate', '-serial']);
    const field = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)![1]!;
    return { notBefore: Date.parse(field('notBefore')) / 1000, notAfter: Date.parse(field('notAfter')) / 1000, serial: BigInt(`0x${field('serial')}`).toString() };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
