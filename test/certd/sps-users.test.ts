// SPS passwords and users against the real daemons, as the seed's "change the admin
// password" flow does it: POST a password object, PUT the user referencing it, commit, then
// the new password logs in over SPS and over Digest, the old one no longer does.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from './client';
import { API, PASSWORDS, startService, type Service } from './service';
import { SpsClient, type SpsReply } from './sps-client';

const t = suite('SPS passwords and users');
let svc: Service;
const USERS = '/api/configuration/aaa/local_database/users';
const NEW = 'Qx7-tangerine-Vb92-ferry';

t.before(async () => {
  svc = await startService({ basicOverHttp: true });
});
t.after(async () => {
  await svc?.stop();
});

function assertError(r: SpsReply, status: number, type: string): void {
  assert.is(r.status, status, r.text);
  assert.is(r.json?.error?.type, type, r.text);
}

t('users are listed by name; a user shows name and role, no secret', async () => {
  const a = new SpsClient(svc.port, 'curl', 'admin', PASSWORDS.admin);
  await a.login();
  const list = await a.call('GET', USERS);
  assert.is(list.status, 200, list.text);
  assert.equal(list.json.items.map((i: { key: string }) => i.key).sort(), ['admin', 'operator', 'viewer']);
  assert.equal(list.json.items[0].meta, { href: `${USERS}/${list.json.items[0].key}` });
  const admin = await a.call('GET', `${USERS}/admin`);
  assert.equal(admin.json.body, { name: 'admin', role: 'admin' });
  assert.not.match(admin.text, /ha1/);
  assertError(await a.call('GET', `${USERS}/nobody`), 404, 'NotFound');
});

t('refusals: a weak password, a hash, a password object used twice, an unknown reference; nothing changes', async () => {
  const a = new SpsClient(svc.port, 'curl', 'admin', PASSWORDS.admin);
  await a.login();
  assertError(await a.call('POST', '/api/configuration/passwords', { plain: 'x', extra: 1 }), 400, 'SyntacticError');
  assertError(await a.call('GET', '/api/configuration/passwords'), 405, 'MethodNotAllowed');
  const weak = (await a.call('POST', '/api/configuration/passwords', { plain: 'password' })).json.key;
  assertError(await a.call('PUT', `${USERS}/operator`, { name: 'operator', password: weak }), 400, 'SemanticError');
  const hash = (await a.call('POST', '/api/configuration/passwords', { hash: '$6$rounds=5000$If20/EFyQ4dW3dg/$xrEC' })).json.key;
  assertError(await a.call('PUT', `${USERS}/operator`, { name: 'operator', password: hash }), 400, 'SemanticError');
  const good = await a.call('POST', '/api/configuration/passwords', { plain: NEW });
  assert.is(good.status, 201, good.text);
  const shown = await a.call('GET', `/api/configuration/passwords/${good.json.key}`);
  assert.is(shown.status, 200, shown.text);
  assert.not.match(shown.text, new RegExp(NEW));
  assert.not.match((await a.call('GET', '/api/transaction/changes')).text, new RegExp(NEW));
  assert.is((await a.call('PUT', `${USERS}/operator`, { name: 'operator', password: good.json.key })).status, 200);
  assertError(await a.call('PUT', `${USERS}/viewer`, { name: 'viewer', password: good.json.key }), 400, 'SemanticError');
  assertError(await a.call('PUT', `${USERS}/viewer`, { name: 'viewer', password: '00000000-0000-0000-0000-000000000000' }), 404, 'NotFound');
  assert.is((await a.call('DELETE', '/api/transaction')).status, 200);
  // Rolled back: the operator's password is the old one.
  assert.is((await svc.as('operator').get(API)).status, 200);
});

t('the admin password change: commit, then the new password logs in over SPS and Digest, the old one does not', async () => {
  const a = new SpsClient(svc.port, 'java', 'admin', PASSWORDS.admin);
  await a.login();
  const other = new SpsClient(svc.port, 'curl', 'admin', PASSWORDS.admin);
  await other.login();
  assert.is((await other.call('GET', USERS)).status, 200);
  const pw = await a.call('POST', '/api/configuration/passwords', { plain: NEW });
  assert.is(pw.status, 201, pw.text);
  const put = await a.call('PUT', `${USERS}/admin`, { name: 'admin', password: pw.json.key });
  assert.is(put.status, 200, put.text);
  assert.equal(put.json.body.password, { key: pw.json.key, meta: { href: `/api/configuration/passwords/${pw.json.key}` } });
  // Not yet: the old password still works until the commit.
  assert.is((await svc.as('admin').get(API)).status, 200);
  const commit = await a.call('PUT', '/api/transaction', { status: 'commit' });
  assert.is(commit.status, 200, commit.text);

  assert.is((await new SpsClient(svc.port, 'java', 'admin', NEW).login()).status, 200);
  assertError(await new SpsClient(svc.port, 'java', 'admin', PASSWORDS.admin).login(), 401, 'AuthenticationFailure');
  assert.is((await new Client(svc.port, { user: 'admin', password: NEW, scheme: 'digest-md5' }).get(API)).status, 200);
  assert.is((await new Client(svc.port, { user: 'admin', password: NEW, scheme: 'digest-sha256' }).get(API)).status, 200);
  assert.is((await svc.as('admin').get(API)).status, 401);
  // The admin's other session ended with the old password; the committing one goes on.
  assertError(await other.call('GET', USERS), 401, 'Unauthenticated');
  assert.is((await a.call('GET', USERS)).status, 200);
  // Audited under the sps api, naming the user, never the password.
  const audit = await new Client(svc.port, { user: 'admin', password: NEW, scheme: 'digest-sha256' }).get('/certd/v1/audit');
  const records = JSON.stringify(audit.json);
  assert.match(records, /"operation":"set_password"/);
  assert.not.match(records, new RegExp(NEW));
});

t.run();
