// Bindings against the real daemons with the record-only applier: a binding is accepted
// only after its pre-flight checks, each refusal naming its check; a bound entry is not
// deleted; replacing its certificate applies it again; an applier's failure is 502 code 24;
// certd's start applies a binding a crash left unapplied. What every applier must do
// (restore on failure, apply again after a crash) is applier-conformance.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { makeCa } from './ca';
import { makeMaterial, type Material } from './material';
import { API, startService, type Service } from './service';

const t = suite('bindings');
let svc: Service;
let m: Material;
t.before(async () => {
  m = makeMaterial();
  svc = await startService({ certd: { device_names: ['cam1.local'] } });
});
t.after(async () => {
  await svc?.stop();
});

const B = '/certd/v1/bindings';
const sha256 = (pem: string) => createHash('sha256').update(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex');
const applied = (name: string) => JSON.parse(readFileSync(join(svc.dir, 'certd', 'applied', `${name}.json`), 'utf8')) as { certificate_sha256: string; settings: Record<string, unknown> };
const put = (name: string, data: unknown) => svc.as('admin').call('PUT', `${B}/${name}`, { data });

/** A self-signed certificate for a fresh EC key, with openssl extensions, uploaded under `alias`. */
async function upload(alias: string, ext: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'certd-bind-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', `/CN=${alias}`, '-days', '30', ...ext.flatMap((e) => ['-addext', e])], { stdio: 'pipe' });
  const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
  const r = await svc.as('admin').post(`${API}/certificates`, { alias, certificate: cert, private_key: readFileSync(join(dir, 'k.pem'), 'utf8') });
  assert.is(r.status, 201, r.text);
  rmSync(dir, { recursive: true });
  return cert;
}

t('https binding: applied after pre-flight, shown in entries and bindings, with the SAN warning', async () => {
  const cert = await upload('web', ['subjectAltName=DNS:cam1.local', 'extendedKeyUsage=serverAuth']);
  const r = await put('https', { certificate: 'web', settings: { tls: true, client_certificate: 'off' } });
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.data.warnings, []);
  assert.is(applied('https').certificate_sha256, sha256(cert));
  const id = r.json.data.certificate.id as string;
  const entry = (await svc.as('viewer').get(`/certd/v1/entries/${id}`)).json.data;
  assert.equal(entry.used_by, ['https']);
  assert.is(entry.sha256, sha256(cert));
  assert.is(entry.alias, 'web');
  const colons = sha256(cert).toUpperCase().replace(/(..)(?!$)/g, '$1:');
  const byPrint = (await svc.as('viewer').get(`/certd/v1/entries?fingerprint=${colons}`)).json.data as { id: string }[];
  assert.equal(byPrint.map((e) => e.id), [id], 'found by its SHA-256 fingerprint');
  assert.is((await svc.as('viewer').get('/certd/v1/entries?fingerprint=zz')).status, 400);
  assert.is((await svc.as('viewer').get(`${B}/https`)).json.data.certificate.alias, 'web');

  const noSan = await upload('web no san', ['extendedKeyUsage=serverAuth']);
  const w = await put('https', { certificate: 'web no san' });
  assert.is(w.status, 200, w.text);
  assert.match(w.json.data.warnings.join(), /subject_alt_names: .*cam1\.local/);
  assert.is(applied('https').certificate_sha256, sha256(noSan));
  assert.is((await put('https', { certificate: id })).status, 200, 'named by id');
});

t('pre-flight refusals name their check and change nothing', async () => {
  await upload('client only', ['extendedKeyUsage=clientAuth']);
  let r = await put('https', { certificate: 'client only' });
  assert.is(r.status, 400);
  assert.is(r.json.error.code, 23);
  assert.match(r.json.error.message, /^extended_key_usage: /);
  // 802.1X needs the CA that validates the network's server: with none the supplicant trusts any.
  assert.is((await svc.as('admin').post(`${API}/ca_certificates`, { alias: 'eap ca', certificate: makeCa('eap server ca').certPem })).status, 201);
  const dot1x = { certificate: 'client only', settings: { identity: 'cam1', eap_method: 'EAP-TLS' } };
  assert.is((await put('dot1x', { ...dot1x, ca: ['eap ca'] })).status, 200, 'clientAuth fits dot1x');
  const dot1xInForce = applied('dot1x');
  r = await put('dot1x', { ...dot1x, settings: { identity: 'other' }, ca: [] });
  assert.is(r.status, 400, r.text);
  assert.is(r.json.error.code, 23);
  assert.match(r.json.error.message, /^ca: .*any server/);
  assert.equal((await svc.as('viewer').get(`${B}/dot1x`)).json.data.ca.map((c: { alias: string }) => c.alias), ['eap ca'], 'the binding on record is unchanged');
  assert.equal(applied('dot1x'), dot1xInForce, 'nothing applied');

  await upload('no sign', ['keyUsage=keyAgreement']);
  r = await put('https', { certificate: 'no sign' });
  assert.match(r.json.error.message, /^key_usage: /);

  const past = await svc.as('admin').post(`${API}/create_certificate`, { alias: 'expired', subject: 'CN=expired', valid_from: 1_000_000_000, valid_to: 1_100_000_000 });
  assert.is(past.status, 200, past.text);
  r = await put('https', { certificate: 'expired' });
  assert.match(r.json.error.message, /^validity: /);

  // Issued by a CA the store holds, but the CA is another one with the same name.
  const ca = makeCa('bind test CA');
  const impostor = makeCa('bind test CA');
  assert.is((await svc.as('admin').post(`${API}/ca_certificates`, { alias: 'impostor', certificate: impostor.certPem })).status, 201);
  assert.is((await svc.as('admin').post(`${API}/create_certificate`, { alias: 'signed', subject: 'CN=signed', subject_alt_names: ['DNS:cam1.local'] })).status, 200);
  const csr = (await svc.as('admin').post(`${API}/certificates/signed/get_csr`, {})).json.data as string;
  assert.is((await svc.as('admin').patch(`${API}/certificates/signed`, { certificate: ca.sign(csr) })).status, 200);
  r = await put('https', { certificate: 'signed' });
  assert.match(r.json.error.message, /^chain: /, r.text);
  assert.is((await svc.as('admin').post(`${API}/ca_certificates`, { alias: 'real ca', certificate: ca.certPem })).status, 201);
  assert.is((await put('https', { certificate: 'signed', ca: ['real ca'] })).status, 200, 'the binding names the right CA');
  assert.is((await put('https', { certificate: 'web' })).status, 200);
  const inForce = applied('https').certificate_sha256;

  // A key that is gone from its key store.
  await upload('keyless', ['extendedKeyUsage=serverAuth']);
  const client = new KeystoreClient(endpointFor(join(svc.dir, 'run')));
  const details = (await svc.as('viewer').get('/certd/v1/entries')).json.data as { alias: string; id: string }[];
  const keyless = details.find((d) => d.alias === 'keyless')!;
  const entryFile = execFileSync('grep', ['-l', keyless.id, '-r', join(svc.dir, 'certd', 'entries')]).toString().trim();
  await client.call(Opcode.DELETE_KEY, { store: 'SOFTWARE0', key_id: JSON.parse(readFileSync(entryFile, 'utf8')).key_id });
  client.close();
  r = await put('https', { certificate: 'keyless' });
  assert.match(r.json.error.message, /^key: /);

  for (const bad of [{ settings: { tls: 'yes' } }, { settings: { nope: true } }]) {
    r = await put('https', bad);
    assert.is(r.status, 400);
    assert.match(r.json.error.message, /^settings\./);
  }
  assert.is((await put(encodeURIComponent('bad name!'), {})).status, 400);
  assert.is(applied('https').certificate_sha256, inForce, 'no refusal changed what https uses');
});

t('POST /bindings/:name/check runs the pre-flight alone: a refusal names its check, a pass gives the warnings, nothing changes', async () => {
  const check = (name: string, data: unknown) => svc.as('admin').post(`${B}/${name}/check`, data);
  const before = applied('https').certificate_sha256;
  const auditBefore = (await svc.as('admin').get('/certd/v1/audit')).json.data.length as number;
  let r = await check('https', { certificate: 'client only' });
  assert.is(r.status, 200, r.text);
  assert.is(r.json.data.ok, false);
  assert.is(r.json.data.errors[0].check, 'extended_key_usage');
  assert.match(r.json.data.errors[0].message, /lacks serverAuth/);
  r = await check('https', { certificate: 'web no san' });
  assert.equal(r.json.data, { ok: true, errors: [], warnings: [r.json.data.warnings[0]] });
  assert.match(r.json.data.warnings[0], /subject_alt_names: .*cam1\.local/);
  r = await check('https', { certificate: 'keyless' });
  assert.equal([r.json.data.ok, r.json.data.errors[0].check], [false, 'key']);
  r = await check('https', { certificate: 'nope' });
  assert.is(r.status, 404);
  assert.is((await check('https', { settings: { tls: 'yes' } })).status, 400);
  assert.is((await svc.as('viewer').post(`${B}/https/check`, { certificate: 'web' })).status, 403, 'admin only: the check signs with the key');
  assert.is(applied('https').certificate_sha256, before, 'what https uses is unchanged');
  assert.is((await svc.as('viewer').get(`${B}/https`)).json.data.certificate.alias, 'web');
  assert.is((await svc.as('admin').get('/certd/v1/audit')).json.data.length, auditBefore, 'no audit record: nothing changed');
});

t('a bound entry is not deleted (409 code 22); a replaced bound certificate is applied again', async () => {
  const r = await svc.as('admin').del(`${API}/certificates/web`);
  assert.is(r.status, 409);
  assert.is(r.json.error.code, 22);
  assert.match(r.json.error.message, /https/);
  assert.is((await svc.as('admin').get(`${API}/certificates/web`)).status, 200);
  // The matrix material's key with two certificates: bind the first, replace with the second.
  assert.is((await svc.as('admin').post(`${API}/certificates`, { alias: 'renewable', certificate: m.cert, private_key: m.key })).status, 201);
  assert.is((await put('https', { certificate: 'renewable' })).status, 200);
  assert.is(applied('https').certificate_sha256, sha256(m.cert));
  assert.is((await svc.as('admin').patch(`${API}/certificates/renewable`, { certificate: m.cert2 })).status, 200);
  assert.is(applied('https').certificate_sha256, sha256(m.cert2));
});

t('an applier that fails answers 502 code 24', async () => {
  // The consumer breaks: its file cannot be replaced.
  const path = join(svc.dir, 'certd', 'applied', 'dot1x.json');
  rmSync(path, { force: true });
  mkdirSync(path);
  writeFileSync(join(path, 'x'), '');
  const r = await put('dot1x', { certificate: 'renewable', ca: ['eap ca'], settings: {} });
  assert.is(r.status, 502, r.text);
  assert.is(r.json.error.code, 24);
  rmSync(path, { recursive: true });
});

t('certd\'s start applies the binding on record when a crash left its change unapplied', async () => {
  await svc.killCertd();
  const file = join(svc.dir, 'certd', 'bindings', 'bindings.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { bindings: { name: string; certificate?: string; settings: Record<string, unknown> }[] };
  doc.bindings.find((b) => b.name === 'https')!.settings = { tls: true, client_certificate: 'required' };
  writeFileSync(file, JSON.stringify(doc));
  writeFileSync(join(svc.dir, 'certd', 'bindings', 'intent.json'), JSON.stringify({ name: 'https' }));
  await svc.start();
  assert.equal(applied('https').settings, { tls: true, client_certificate: 'required' });
  assert.match(svc.logs(), /applied again a binding/);
});

t.run();
