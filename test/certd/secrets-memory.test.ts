// Secrets leave no copy behind. After a PEM key and a PKCS#12 file are uploaded, the whole
// memory of both daemons is read through /proc/<pid>/mem (what a core dump would hold):
// - keystored holds neither private key (its scalar, in any encoding);
// - certd holds no decoded form of the secrets: the PEM text with its JSON escapes
//   resolved, the passphrase (it has a quote, escaped in JSON), the PKCS#12 file's bytes.
//   The raw request bytes that node:http and libzmq keep in their native I/O buffers
//   until the next request overwrites them are out of JS's reach: README ("Secrets in
//   memory") says which.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { countInMemory } from '../memory-scan';
import { API, startService, type Service } from './service';

const t = suite('secrets in daemon memory');
const dir = mkdtempSync(join(tmpdir(), 'certd-secrets-'));
const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const PASSPHRASE = 'Wipe "me" passphrase 5d2c81e0';
let svc: Service;

/** The private scalar of an EC key file: present in every encoding of the key. */
function scalar(keyFile: string): Buffer {
  const text = sh(['pkey', '-in', keyFile, '-noout', '-text']);
  const hex = /priv:\s*([\s0-9a-f:]+?)\s*pub:/.exec(text)![1]!.replace(/[\s:]/g, '');
  return Buffer.from(hex, 'hex').subarray(-32);
}


t.before(async () => {
  for (const name of ['pem', 'p12']) {
    sh(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
    sh(['req', '-x509', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-days', '30', '-out', `${name}.pem`]);
  }
  sh(['pkcs12', '-export', '-inkey', 'p12.key', '-in', 'p12.pem', '-passout', `pass:${PASSPHRASE}`, '-out', 'up.p12']);
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

t('after a key upload and a PKCS#12 install, no daemon holds the key or the passphrase', async () => {
  const admin = svc.as('admin');
  const pemKey = readFileSync(join(dir, 'pem.key'), 'utf8');
  const p12 = readFileSync(join(dir, 'up.p12')).toString('base64');
  let r = await admin.post(`${API}/certificates`, { alias: 'pem', certificate: readFileSync(join(dir, 'pem.pem'), 'utf8'), private_key: pemKey });
  assert.is(r.status, 201, r.text);
  r = await admin.post(`${API}/install_from_pkcs12`, { alias: 'p12', pkcs12: p12, passphrase: PASSPHRASE });
  assert.is(r.status, 200, r.text);
  // Both keys work: the entries sign.
  for (const alias of ['pem', 'p12']) assert.is((await admin.post(`${API}/certificates/${alias}/get_csr`, {})).status, 200);

  const inKeystored = countInMemory(svc.pids().keystored!, [scalar('pem.key'), scalar('p12.key')]);
  assert.equal(inKeystored, [0, 0], 'keystored still holds a private key');

  const pemLines = pemKey.split('\n');
  const needles: Record<string, Buffer> = {
    'PEM key text': Buffer.from(`${pemLines[1]!.slice(-24)}\n${pemLines[2]!.slice(0, 24)}`),
    'PKCS#12 bytes': readFileSync(join(dir, 'up.p12')).subarray(64, 112),
    passphrase: Buffer.from(PASSPHRASE),
  };
  const hits = countInMemory(svc.pids().certd!, Object.values(needles));
  const found = Object.keys(needles).flatMap((k, i) => (hits[i]! > 0 ? [`${k} (${hits[i]}x)`] : []));
  assert.equal(found, [], `certd still holds: ${found.join(', ')}`);
});

t('the memory scan finds what is there: the key file text in this process', () => {
  const pemKey = readFileSync(join(dir, 'pem.key'), 'utf8');
  assert.ok(countInMemory(process.pid, [Buffer.from(pemKey.split('\n')[2]!)])[0]! > 0);
});

t.run();
