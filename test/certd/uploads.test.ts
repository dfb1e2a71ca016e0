// Uploading keys and PKCS#12 files through cert.v1 into the stores that import (SOFTWARE0,
// SE0), and TPM0's refusal. Every key and file is made by openssl; the entry's key is
// checked by having certd sign a CSR with it and comparing with openssl's public key.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startSimulators, type Simulators } from '../sim';
import { csrVerifies } from './ca';
import { API, startService, type Service } from './service';

const t = suite('cert.v1 uploads');
let sims: Simulators;
let svc: Service;
const dir = mkdtempSync(join(tmpdir(), 'certd-uploads-'));
const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const file = (name: string) => readFileSync(join(dir, name), 'utf8');
const enc = encodeURIComponent;

/** Every plaintext PEM form a key comes in, each with a self-signed certificate. */
const FORMS: Record<string, string[][]> = {
  'ec-sec1': [['ecparam', '-name', 'prime256v1', '-genkey', '-out', 'ec-sec1.key']],
  'ec-pkcs8': [['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'ec-pkcs8.key']],
  'rsa-pkcs1': [['genrsa', '-traditional', '-out', 'rsa-pkcs1.key', '2048']],
  'rsa-pkcs8': [['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa-pkcs8.key']],
};

t.before(async () => {
  for (const [name, steps] of Object.entries(FORMS)) {
    for (const s of steps) sh(s);
    sh(['req', '-x509', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-days', '30', '-out', `${name}.pem`]);
    sh(['pkey', '-in', `${name}.key`, '-pubout', '-out', `${name}.pub`]);
    sh(['pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.pem`, '-passout', 'pass:pässwörd 1', '-out', `${name}.p12`]);
    sh(['pkcs12', '-export', '-legacy', '-inkey', `${name}.key`, '-in', `${name}.pem`, '-passout', 'pass:pässwörd 1', '-out', `${name}.legacy.p12`]);
  }
  sims = startSimulators();
  svc = await startService({ stores: sims.stores, env: sims.env });
});
t.after(async () => {
  await svc?.stop();
  sims?.stop();
});

/** The entry's key, seen through a CSR certd signs with it. */
async function entryPublicKey(alias: string): Promise<string> {
  const r = await svc.as('admin').post(`${API}/certificates/${enc(alias)}/get_csr`, {});
  assert.is(r.status, 200, r.text);
  assert.ok(csrVerifies(r.json.data));
  return execFileSync('openssl', ['req', '-noout', '-pubkey'], { input: r.json.data }).toString();
}

for (const store of ['SOFTWARE0', 'SE0']) {
  t(`${store}: every PEM key form uploads with its certificate; the key signs`, async () => {
    const admin = svc.as('admin');
    for (const name of Object.keys(FORMS)) {
      const alias = `${store} upload ${name}`;
      const r = await admin.post(`${API}/certificates`, { alias, certificate: file(`${name}.pem`), private_key: file(`${name}.key`), keystore: store });
      assert.is(r.status, 201, `${name}: ${r.text}`);
      assert.equal(r.json.data.keystore, store);
      assert.is(await entryPublicKey(alias), file(`${name}.pub`), name);
      assert.not.ok(JSON.stringify(r.json).includes('PRIVATE KEY'));
    }
  });

  t(`${store}: PKCS#12 files (OpenSSL 3 default and -legacy) install with a non-ASCII passphrase`, async () => {
    const admin = svc.as('admin');
    for (const name of Object.keys(FORMS)) {
      for (const p12 of [`${name}.p12`, `${name}.legacy.p12`]) {
        const alias = `${store} p12 ${p12}`;
        const r = await admin.post(`${API}/install_from_pkcs12`, { alias, pkcs12: readFileSync(join(dir, p12)).toString('base64'), passphrase: 'pässwörd 1', keystore: store });
        assert.is(r.status, 200, `${p12}: ${r.text}`);
        const entry = (await admin.get(`${API}/certificates/${enc(alias)}`)).json.data;
        assert.is(entry.keystore, store);
        assert.is(execFileSync('openssl', ['x509', '-noout', '-fingerprint'], { input: entry.certificate }).toString(),
          execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-in', join(dir, `${name}.pem`)]).toString());
        assert.is(await entryPublicKey(alias), file(`${name}.pub`), p12);
      }
    }
  });
}

t('TPM0 cannot import: an upload or PKCS#12 install there is refused and leaves nothing', async () => {
  const admin = svc.as('admin');
  const before = (await admin.get(`${API}/certificates`)).json.data.length;
  let r = await admin.post(`${API}/certificates`, { alias: 'tpm upload', certificate: file('ec-sec1.pem'), private_key: file('ec-sec1.key'), keystore: 'TPM0' });
  assert.is(r.status, 400);
  assert.is(r.json.error.code, 5);
  r = await admin.post(`${API}/install_from_pkcs12`, { alias: 'tpm p12', pkcs12: readFileSync(join(dir, 'ec-sec1.p12')).toString('base64'), passphrase: 'pässwörd 1', keystore: 'TPM0' });
  assert.is(r.status, 400);
  assert.is((await admin.get(`${API}/certificates`)).json.data.length, before);
});

t('the certificate field may carry the chain after the leaf; it comes back in order', async () => {
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-subj', '/CN=Chain CA', '-days', '30', '-out', 'ca.pem']);
  sh(['req', '-new', '-key', 'ec-pkcs8.key', '-subj', '/CN=leaf', '-out', 'leaf.csr']);
  sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '7', '-days', '30', '-out', 'leaf.pem']);
  const r = await svc.as('admin').post(`${API}/certificates`, { alias: 'with chain', certificate: file('leaf.pem') + file('ca.pem'), private_key: file('ec-pkcs8.key') });
  assert.is(r.status, 201, r.text);
  const pems = (r.json.data.certificate as string).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  assert.is(pems.length, 2);
  assert.match(execFileSync('openssl', ['x509', '-noout', '-subject'], { input: pems[1] }).toString(), 'Chain CA');
  assert.is(r.json.data.keystore, 'SOFTWARE0', 'the default keystore');
});

t('CA certificates: add, replace with the same public key only, delete', async () => {
  const admin = svc.as('admin');
  sh(['req', '-x509', '-key', 'ca.key', '-subj', '/CN=Chain CA', '-days', '60', '-out', 'ca-renewed.pem']);
  let r = await admin.post(`${API}/ca_certificates`, { alias: 'Chain CA', certificate: file('ca.pem') });
  assert.is(r.status, 201, r.text);
  r = await admin.patch(`${API}/ca_certificates/${enc('Chain CA')}`, { certificate: file('ca-renewed.pem') });
  assert.is(r.status, 200, r.text);
  r = await admin.patch(`${API}/ca_certificates/${enc('Chain CA')}`, { certificate: file('ec-sec1.pem') });
  assert.is(r.status, 400);
  assert.is(r.json.error.code, 8);
  assert.is((await admin.get(`${API}/ca_certificates/${enc('Chain CA')}`)).json.data.certificate, execFileSync('openssl', ['x509', '-in', join(dir, 'ca-renewed.pem')]).toString());
  assert.is((await admin.del(`${API}/ca_certificates/${enc('Chain CA')}`)).status, 200);
  assert.is((await admin.get(`${API}/ca_certificates/${enc('Chain CA')}`)).status, 404);
});

t('the default keystore can be read and set; new keys go there', async () => {
  const admin = svc.as('admin');
  assert.is((await admin.get(`${API}/settings/keystore`)).json.data, 'SOFTWARE0');
  assert.is((await admin.patch(`${API}/settings/keystore`, 'SE0')).status, 200);
  assert.equal((await admin.get(`${API}/settings`)).json.data, { keystore: 'SE0' });
  await admin.post(`${API}/create_certificate`, { alias: 'default store', subject: 'CN=default' });
  assert.is((await admin.get(`${API}/certificates/${enc('default store')}/keystore`)).json.data, 'SE0');
  assert.is((await admin.patch(`${API}/settings/keystore`, 'NOPE0')).json.error.code, 11);
  assert.is((await admin.patch(`${API}/settings`, { keystore: 'SOFTWARE0' })).status, 200);
});

t.run();
