// Protected (factory) entries against the real daemons: a key provisioned into the SoftHSM2
// token (SE0) with softhsm2-util before certd first starts, its certificate and a CA
// certificate declared in the config. They are imported and listed, the key signs
// (get_csr), delete and replace are refused (409 code 25), a restart keeps them with their
// ids, a firmware update's new certificate for the same key replaces the old one (and the
// binding using it applies again), one for another key is refused and reported, and the
// key is still in the token at the end (also once no longer declared, while a binding
// uses it). A declaration whose key does not match, or is
// missing, is reported in /certd/v1/health while certd serves.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { startSimulators, type Simulators } from '../sim';
import { csrVerifies, makeCa, type TestCa } from './ca';
import { API, startService, type Service } from './service';

const t = suite('factory entries');
let sims: Simulators;
let svc: Service;
let ca: TestCa;
let work: string;
const KEY_ID = 'factory-devid';
const DEVID = 'Device ID ECC-P256 (802.1AR)';
const ROOT = 'Device ID root CA';

const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
const sha256 = (pem: string) => createHash('sha256').update(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex');
const file = (name: string, text: string) => {
  writeFileSync(join(work, name), text);
  return join(work, name);
};

/** A certificate for the key in `keyFile`, signed by the test CA (a fresh serial each time). */
function certFor(keyFile: string, cn: string): string {
  const csr = openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`]);
  return ca.sign(csr, 3650);
}

async function tokenKeys(): Promise<string[]> {
  const client = new KeystoreClient(endpointFor(join(svc.dir, 'run')));
  try {
    return (await client.call(Opcode.LIST_KEYS, { store: 'SE0' })).key_ids;
  } finally {
    client.close();
  }
}

/** Rewrites certd's config with these factory entries and restarts both daemons. */
async function restartWith(entries: unknown[]): Promise<void> {
  const path = join(svc.dir, 'certd.json');
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), factory_entries: entries }));
  await svc.stop();
  await svc.start();
}

const entries = async () => (await svc.as('viewer').get('/certd/v1/entries')).json.data as { id: string; alias: string; kind: string; keystore: string | null; protected: boolean; sha256: string }[];
const health = async () => {
  const r = await svc.as('viewer').get('/certd/v1/health');
  return { status: r.status, ...(r.json.data as { factory: { alias: string; ok: boolean; detail: string }[] }) };
};
const enc = encodeURIComponent;
let keyFile: string;
let devidCert: string;
let declared: unknown[];

t.before(async () => {
  sims = startSimulators();
  ca = makeCa('Device ID root CA');
  work = mkdtempSync(join(tmpdir(), 'certd-factory-'));
  // What the image does at manufacture: a key made outside, put into the secure element.
  keyFile = join(work, 'devid.key');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  execFileSync('softhsm2-util', ['--import', keyFile, '--token', sims.env.CERTD_SE0_TOKEN!, '--label', 'devid', '--id', Buffer.from(KEY_ID).toString('hex'),
    '--pin', readFileSync(sims.env.CERTD_SE0_PIN_FILE!, 'utf8').trim()], { env: { ...process.env, ...sims.env }, stdio: 'pipe' });
  devidCert = certFor(keyFile, 'cam-00408c123456');
  const otherKey = join(work, 'other.key');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);
  declared = [
    { alias: DEVID, certificate_file: file('devid.pem', devidCert + ca.certPem), keystore: 'SE0', key_id: KEY_ID },
    { alias: ROOT, certificate_file: file('root.pem', ca.certPem) },
    { alias: 'wrong key', certificate_file: file('wrong.pem', certFor(otherKey, 'wrong')), keystore: 'SE0', key_id: KEY_ID },
    { alias: 'missing key', certificate_file: file('missing.pem', certFor(otherKey, 'missing')), keystore: 'SE0', key_id: 'factory-gone' },
  ];
  svc = await startService({ stores: sims.stores, env: sims.env, certd: { factory_entries: declared } });
});
t.after(async () => {
  await svc?.stop();
  sims?.stop();
});

t('the declared certificate and CA are imported, listed by cert.v1 and shown protected by /certd/v1', async () => {
  const admin = svc.as('admin');
  const cert = await admin.get(`${API}/certificates/${enc(DEVID)}`);
  assert.is(cert.status, 200);
  assert.is(cert.json.data.keystore, 'SE0');
  const blocks = (cert.json.data.certificate as string).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  assert.equal(blocks.map(sha256), [sha256(devidCert), sha256(ca.certPem)], 'the leaf, then its chain');
  assert.is((await admin.get(`${API}/ca_certificates/${enc(ROOT)}`)).status, 200);
  const listed = await entries();
  assert.equal(listed.filter((e) => e.protected).map((e) => [e.alias, e.kind]).sort(), [[ROOT, 'ca'], [DEVID, 'certificate']].sort());
  assert.not.ok(listed.some((e) => e.alias === 'wrong key' || e.alias === 'missing key'), 'a key that does not sign imports nothing');
});

t('a key that does not match and a missing key are reported in health; certd serves', async () => {
  const h = await health();
  assert.is(h.status, 503);
  const by = Object.fromEntries(h.factory.map((f) => [f.alias, f]));
  assert.ok(by[DEVID]!.ok);
  assert.ok(by[ROOT]!.ok);
  assert.not.ok(by['wrong key']!.ok);
  assert.match(by['wrong key']!.detail, /KEY_MISMATCH.*signature was refused/);
  assert.not.ok(by['missing key']!.ok);
  assert.match(by['missing key']!.detail, /KEY_MISMATCH.*factory-gone.*UNKNOWN_KEY/);
  assert.match(svc.logs(), /factory entry not in force/);
});

t('the provisioned key signs: get_csr answers a CSR for its public key', async () => {
  const r = await svc.as('admin').post(`${API}/certificates/${enc(DEVID)}/get_csr`, {});
  assert.is(r.status, 200);
  assert.ok(csrVerifies(r.json.data));
  assert.equal(Buffer.from(openssl(['req', '-pubkey', '-noout'], r.json.data)), Buffer.from(openssl(['pkey', '-pubout'], readFileSync(keyFile, 'utf8'))));
});

t('delete and replace are refused with 409 code 25 and change nothing', async () => {
  const admin = svc.as('admin');
  const before = await entries();
  for (const r of [
    await admin.del(`${API}/certificates/${enc(DEVID)}`),
    await admin.patch(`${API}/certificates/${enc(DEVID)}`, { certificate: certFor(keyFile, 'replaced') }),
    await admin.patch(`${API}/certificates/${enc(DEVID)}/certificate`, certFor(keyFile, 'replaced')),
    await admin.del(`${API}/ca_certificates/${enc(ROOT)}`),
    await admin.patch(`${API}/ca_certificates/${enc(ROOT)}`, { certificate: ca.certPem }),
  ]) {
    assert.is(r.status, 409);
    assert.is(r.json.error.code, 25);
    assert.match(r.json.error.message, /factory material/);
  }
  assert.equal(await entries(), before);
  assert.ok((await tokenKeys()).includes(KEY_ID));
});

t('a binding can use it; a restart keeps the entries and their ids and imports nothing twice', async () => {
  const before = await entries();
  const put = await svc.as('admin').call('PUT', '/certd/v1/bindings/dot1x', { data: { certificate: DEVID, ca: [ROOT] } });
  assert.is(put.status, 200, JSON.stringify(put.json));
  await restartWith(declared);
  assert.equal(await entries(), before.map((e) => ({ ...e, used_by: e.alias === DEVID || e.alias === ROOT ? ['dot1x'] : [] })));
  const audit = (await svc.as('admin').get('/certd/v1/audit')).json.data as { operation: string; target: { alias?: string } }[];
  assert.is(audit.filter((a) => a.operation === 'factory_import' && a.target.alias === DEVID).length, 1);
  assert.ok((await tokenKeys()).includes(KEY_ID));
});

t('a firmware update: a new certificate for the same key replaces it (same id, binding applied again); one for another key does not', async () => {
  const id = (await entries()).find((e) => e.alias === DEVID)!.id;
  const renewed = certFor(keyFile, 'cam-00408c123456');
  const ok = declared.slice(0, 2) as { certificate_file: string }[];
  writeFileSync(ok[0]!.certificate_file, renewed + ca.certPem);
  await restartWith(ok);
  let devid = (await entries()).find((e) => e.alias === DEVID)!;
  assert.is(devid.id, id);
  assert.is(devid.sha256, sha256(renewed));
  const applied = JSON.parse(readFileSync(join(svc.dir, 'certd', 'applied', 'dot1x.json'), 'utf8')) as { certificate_sha256: string };
  assert.is(applied.certificate_sha256, sha256(renewed), 'the binding took the new certificate');
  const h = await health();
  assert.is(h.status, 200);
  assert.equal(h.factory.map((f) => f.alias).sort(), [DEVID, ROOT].sort(), 'undeclared ones are no longer reported');

  const otherKey = join(work, 'other2.key');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);
  writeFileSync(ok[0]!.certificate_file, certFor(otherKey, 'cam-00408c123456') + ca.certPem);
  await restartWith(ok);
  devid = (await entries()).find((e) => e.alias === DEVID)!;
  assert.is(devid.sha256, sha256(renewed), 'the certificate in force stays');
  assert.is((await health()).status, 503);
  assert.ok((await tokenKeys()).includes(KEY_ID));
});

t('a CA no longer declared and unused is dropped; an ordinary entry under a declared alias is left alone', async () => {
  const admin = svc.as('admin');
  // dot1x keeps its certificate but names another CA (a certificate with no CA is refused).
  assert.is((await admin.post(`${API}/ca_certificates`, { alias: 'eap server', certificate: makeCa('eap server').certPem })).status, 201);
  const put = await admin.call('PUT', '/certd/v1/bindings/dot1x', { data: { certificate: DEVID, ca: ['eap server'] } });
  assert.is(put.status, 200, JSON.stringify(put.json));
  assert.is((await admin.post(`${API}/ca_certificates`, { alias: 'mine', certificate: makeCa('mine').certPem })).status, 201);
  await restartWith([(declared as object[])[0], { alias: 'mine', certificate_file: (declared[1] as { certificate_file: string }).certificate_file }]);
  const listed = await entries();
  assert.not.ok(listed.some((e) => e.alias === ROOT));
  const mine = listed.find((e) => e.alias === 'mine')!;
  assert.is(mine.protected, false);
  assert.match((await health()).factory.find((f) => f.alias === 'mine')!.detail, /ALIAS_EXISTS/);
});

t('a protected entry no longer declared but bound stays, protected, and health says why', async () => {
  const id = (await entries()).find((e) => e.alias === DEVID)!.id;
  await restartWith([]);
  const devid = (await entries()).find((e) => e.alias === DEVID)!;
  assert.is(devid.id, id);
  assert.ok(devid.protected);
  const h = await health();
  assert.is(h.status, 503);
  assert.match(h.factory.find((f) => f.alias === DEVID)!.detail, /no longer declared.*dot1x/);
  assert.is((await svc.as('admin').del(`${API}/certificates/${enc(DEVID)}`)).status, 409);
  assert.ok((await tokenKeys()).includes(KEY_ID), 'the key stays in the token throughout');
});

t.run();
