// The audit trail against the real daemons: one record per change through cert.v1 (who,
// from where, which API, what, the entry's id and alias, the outcome, the request id),
// readable by admins only, never holding a key, passphrase or password, rotated by size.
// And /certd/v1/health: keystored's stores and the keys the last start kept.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { makeMaterial, PASSPHRASE, type Material } from './material';
import { Client } from './client';
import { API, PASSWORDS, startService, type Service } from './service';

const t = suite('audit trail and health');
let svc: Service;
let m: Material;
t.before(async () => {
  m = makeMaterial();
  svc = await startService({ certd: { audit: { max_bytes: 4096, keep: 2 } } });
});
t.after(async () => {
  await svc?.stop();
});

interface Rec { time: string; user: string; source: string; api: string; operation: string; target: { id?: string; alias?: string }; outcome: string; request_id?: string }

const auditDir = () => join(svc.dir, 'certd', 'audit');
const auditText = () => readdirSync(auditDir()).map((f) => readFileSync(join(auditDir(), f), 'utf8')).join('');

t('every change is one record: user, source, API, operation, target id and alias, outcome, request id', async () => {
  const admin = svc.as('admin');
  assert.is((await admin.post(`${API}/create_certificate`, { alias: 'audited', subject: 'CN=audited' })).status, 200);
  assert.is((await admin.post(`${API}/create_certificate`, { alias: 'audited', subject: 'CN=again' })).status, 409);
  assert.is((await admin.post(`${API}/certificates`, { alias: 'uploaded', certificate: m.cert, private_key: m.key })).status, 201);
  assert.is((await admin.post(`${API}/install_from_pkcs12`, { alias: 'p12', pkcs12: m.p12, passphrase: PASSPHRASE })).status, 200);
  assert.is((await admin.post(`${API}/install_from_pkcs12`, { alias: 'p12 wrong', pkcs12: m.p12, passphrase: 'not it' })).status, 400);
  const id = ((await admin.get(`${API}/certificates`)).json.data as { alias: string }[]).length;
  assert.is(id, 3);
  assert.is((await admin.del(`${API}/certificates/audited`)).status, 200);

  const r = await admin.get('/certd/v1/audit?limit=20');
  assert.is(r.status, 200, r.text);
  const recs = r.json.data as Rec[];
  const seen = recs.map((x) => [x.operation, x.target.alias, x.outcome]);
  assert.equal(seen, [
    ['create_certificate', 'audited', 'ok'],
    ['create_certificate', 'audited', 'ALIAS_EXISTS'],
    ['add_certificate', 'uploaded', 'ok'],
    ['install_pkcs12', 'p12', 'ok'],
    ['install_pkcs12', 'p12 wrong', 'WRONG_PASSPHRASE'],
    ['delete', 'audited', 'ok'],
  ]);
  for (const x of recs) {
    assert.is(x.user, 'admin');
    assert.is(x.source, '127.0.0.1');
    assert.is(x.api, 'cert.v1');
    assert.match(x.request_id!, /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(x.time)));
  }
  assert.match(recs[0]!.target.id!, /^[0-9a-f-]{36}$/, 'a new entry is named by its id');
  assert.is(recs[5]!.target.id, recs[0]!.target.id, 'the delete names the same id');
  assert.is(recs[1]!.target.id, recs[0]!.target.id, 'the refused create names the entry that holds the alias');
});

t('a failed login is a record: the name sent, the source, the API and why; never the password', async () => {
  const wrong = new Client(svc.port, { user: 'viewer', password: 'Wrong-Guess-5521', scheme: 'digest-md5' });
  assert.is((await wrong.get(`${API}/certificates`)).status, 401);
  const recs = (await svc.as('admin').get('/certd/v1/audit')).json.data as Rec[];
  const login = recs.filter((x) => x.operation === 'login');
  assert.equal(login.map((x) => [x.user, x.source, x.api, x.outcome]), [['viewer', '127.0.0.1', 'cert.v1', 'wrong password']]);
  assert.not.ok(auditText().includes('Wrong-Guess-5521'));
});

t('records hold no key, passphrase or password', () => {
  const text = auditText();
  for (const secret of [m.keyBody.slice(0, 40), m.keyScalar, PASSPHRASE, 'not it', m.p12.slice(0, 40), ...Object.values(PASSWORDS)]) {
    assert.not.ok(text.includes(secret), 'a secret reached the audit files');
  }
});

t('only admins read the audit trail; bad queries are 400 naming the field', async () => {
  assert.is((await svc.as('viewer').get('/certd/v1/audit')).status, 403);
  assert.is((await svc.as('operator').get('/certd/v1/audit')).status, 403);
  const bad = await svc.as('admin').get('/certd/v1/audit?limit=0');
  assert.is(bad.status, 400);
  assert.match(bad.json.error.message, /^limit: /);
  assert.match((await svc.as('admin').get('/certd/v1/audit?since=yesterday')).json.error.message, /^since: /);
  const future = await svc.as('admin').get(`/certd/v1/audit?since=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`);
  assert.equal(future.json.data, []);
});

t('the files rotate by size and keep the newest', async () => {
  const admin = svc.as('admin');
  for (let i = 0; i < 40; i++) await admin.post(`${API}/ca_certificates`, { alias: `rot ${i}`, certificate: m.ca });
  const files = readdirSync(auditDir()).sort();
  assert.equal(files, ['audit.log', 'audit.log.1', 'audit.log.2']);
  for (const f of files) assert.ok(readFileSync(join(auditDir(), f)).length <= 4096);
  const recs = (await admin.get('/certd/v1/audit?limit=1000')).json.data as Rec[];
  assert.is(recs[recs.length - 1]!.target.alias, 'rot 39');
  assert.ok(recs.length < 46, 'the oldest were dropped');
});

t('health: the stores answer, and keys of ours that no entry uses are shown', async () => {
  const keyId = `certd-${randomUUID()}`;
  const client = new KeystoreClient(endpointFor(join(svc.dir, 'run')));
  await client.call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: keyId, key_type: 'EC-P256' });
  client.close();
  await svc.killCertd();
  await svc.start();
  const r = await svc.as('viewer').get('/certd/v1/health');
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.data.keystores, [{ id: 'SOFTWARE0', ok: true }]);
  assert.equal(r.json.data.unowned_keys, [{ keystore: 'SOFTWARE0', key_id: keyId }]);
  assert.is(r.json.data.journal_pending, 0);
  const kept = ((await svc.as('admin').get('/certd/v1/audit')).json.data as Rec[]).filter((x) => x.operation === 'key_kept_unowned');
  assert.equal(kept.map((x) => [x.user, x.api, x.target]), [['certd', 'internal', { keystore: 'SOFTWARE0', key_id: keyId }]], 'the start that kept it says so in the audit');
  await svc.killKeystored();
  const down = await svc.as('viewer').get('/certd/v1/health');
  assert.is(down.status, 503);
  assert.is(down.json.data.ok, false);
  await svc.start();
});

t.run();
