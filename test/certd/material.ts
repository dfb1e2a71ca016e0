// Keys, certificates and PKCS#12 files for the cert.v1 matrix suites, made by openssl (the
// oracle), and the state of the store as a client and keystored see it, for "nothing
// changed" checks.
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { API, type Service } from './service';

export const PASSPHRASE = 'Correct-Horse-7731';

export interface Material {
  /** An EC P-256 key (PKCS#8 PEM) and two different self-signed certificates for it. */
  key: string;
  cert: string;
  cert2: string;
  /** Base64 body of `key` (what must never leak), and its private scalar, base64url. */
  keyBody: string;
  keyScalar: string;
  /** Another key pair. */
  otherKey: string;
  otherCert: string;
  /** A CA key's two self-signed certificates (same public key). */
  ca: string;
  ca2: string;
  /** `key` encrypted with PASSPHRASE (PKCS#8 PBES2). */
  encryptedKey: string;
  /** key + cert as PKCS#12 under PASSPHRASE, base64. */
  p12: string;
  /** An RSA-1024 key and certificate (SOFTWARE0 does not offer RSA-1024). */
  rsa1024Key: string;
  rsa1024Cert: string;
}

export function makeMaterial(): Material {
  const dir = mkdtempSync(join(tmpdir(), 'certd-material-'));
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const file = (name: string) => readFileSync(join(dir, name), 'utf8');
  const ec = (name: string) => sh(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  const selfSigned = (key: string, out: string, cn: string, days: number) =>
    sh(['req', '-x509', '-key', key, '-subj', `/CN=${cn}`, '-days', String(days), '-out', out]);
  ec('leaf');
  selfSigned('leaf.key', 'leaf.pem', 'certd matrix leaf', 30);
  selfSigned('leaf.key', 'leaf2.pem', 'certd matrix leaf renewed', 60);
  ec('other');
  selfSigned('other.key', 'other.pem', 'certd matrix other', 30);
  ec('ca');
  sh(['req', '-x509', '-key', 'ca.key', '-subj', '/CN=certd matrix CA', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-out', 'ca.pem']);
  sh(['req', '-x509', '-key', 'ca.key', '-subj', '/CN=certd matrix CA', '-days', '90', '-addext', 'basicConstraints=critical,CA:TRUE', '-out', 'ca2.pem']);
  sh(['pkey', '-in', 'leaf.key', '-aes-256-cbc', '-passout', `pass:${PASSPHRASE}`, '-out', 'leaf.enc.key']);
  sh(['pkcs12', '-export', '-inkey', 'leaf.key', '-in', 'leaf.pem', '-passout', `pass:${PASSPHRASE}`, '-out', 'leaf.p12']);
  sh(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa1024.key']);
  selfSigned('rsa1024.key', 'rsa1024.pem', 'certd matrix rsa1024', 30);
  const key = file('leaf.key');
  return {
    key,
    cert: file('leaf.pem'),
    cert2: file('leaf2.pem'),
    keyBody: key.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''),
    keyScalar: createPrivateKey(key).export({ format: 'jwk' }).d!,
    otherKey: file('other.key'),
    otherCert: file('other.pem'),
    ca: file('ca.pem'),
    ca2: file('ca2.pem'),
    encryptedKey: file('leaf.enc.key'),
    p12: readFileSync(join(dir, 'leaf.p12')).toString('base64'),
    rsa1024Key: file('rsa1024.key'),
    rsa1024Cert: file('rsa1024.pem'),
  };
}

/** What a client and keystored see of the store. */
export interface StoreState {
  certificates: unknown;
  ca_certificates: unknown;
  settings: unknown;
  keys: Record<string, string[]>;
}

/** Reads the whole visible state: both listings and settings (as admin) and keystored's keys per store. */
export class StateProbe {
  private readonly ks: KeystoreClient;

  constructor(private readonly svc: Service, private readonly stores: string[] = ['SOFTWARE0']) {
    this.ks = new KeystoreClient(endpointFor(join(svc.dir, 'run')), { timeoutMs: 10_000 });
  }

  async read(): Promise<StoreState> {
    const admin = this.svc.as('admin');
    const get = async (path: string) => {
      const r = await admin.get(`${API}${path}`);
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
      return r.json.data as unknown;
    };
    const keys: Record<string, string[]> = {};
    for (const s of this.stores) keys[s] = (await this.ks.call(Opcode.LIST_KEYS, { store: s })).key_ids.slice().sort();
    return { certificates: await get('/certificates'), ca_certificates: await get('/ca_certificates'), settings: await get('/settings'), keys };
  }

  close(): void {
    this.ks.close();
  }
}
