// SPS management/root_password against the real daemons, as the seed's "change the root
// password" flow: POST a password object, PUT its key as a JSON string, commit; certd keeps
// a salted scrypt hash in its data dir (never the password) and the configured hook gets
// the hash on stdin.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { scryptSync, timingSafeEqual } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from './client';
import { PASSWORDS, startService, type Service } from './service';
import { SpsClient, type SpsReply } from './sps-client';

const t = suite('SPS root password');
const ROOT = '/api/configuration/management/root_password';
const USERS = '/api/configuration/aaa/local_database/users';
const NEW = 'Kp4-marmalade-Zt81-harbour';
let svc: Service;
let hookDir: string;

t.before(async () => {
  hookDir = mkdtempSync(join(tmpdir(), 'certd-root-hook-'));
  svc = await startService({ basicOverHttp: true, certd: { sps: { root_password_hook: ['/bin/sh', '-c', `cat > ${join(hookDir, 'hash')}`] } } });
});
t.after(async () => {
  await svc?.stop();
  rmSync(hookDir, { recursive: true, force: true });
});

const stored = () => join(svc.dir, 'certd', 'root-password');

function assertError(r: SpsReply, status: number, type: string): void {
  assert.is(r.status, status, r.text);
  assert.is(r.json?.error?.type, type, r.text);
}

/** Checks `password` against a `$scrypt$ln=…,r=…,p=…$salt$key` string, as its format says. */
function verifies(hash: string, password: string): boolean {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  assert.ok(m, hash);
  const key = Buffer.from(m[5]!, 'base64');
  const got = scryptSync(password, Buffer.from(m[4]!, 'base64'), key.length, { N: 2 ** Number(m[1]), r: Number(m[2]), p: Number(m[3]) });
  return timingSafeEqual(got, key);
}

async function newPassword(a: SpsClient, password: unknown): Promise<string> {
  const r = await a.call('POST', '/api/configuration/passwords', password);
  assert.is(r.status, 201, r.text);
  return r.json.key;
}

t('refusals in SPS form: no GET, a body that is not a key, an unknown key, a hash, a weak password, a password object referenced twice; a rollback stores nothing', async () => {
  const a = new SpsClient(svc.port, 'curl', 'admin', PASSWORDS.admin);
  await a.login();
  assertError(await a.call('GET', ROOT), 405, 'MethodNotAllowed');
  assertError(await a.call('PUT', ROOT, { key: 'x' }), 400, 'SyntacticError');
  assertError(await a.call('PUT', ROOT, '00000000-0000-0000-0000-000000000000'), 404, 'NotFound');
  assertError(await a.call('PUT', ROOT, await newPassword(a, { hash: '$6$rounds=5000$If20/EFyQ4dW3dg/$xrEC' })), 400, 'SemanticError');
  assertError(await a.call('PUT', ROOT, await newPassword(a, { plain: 'password' })), 400, 'SemanticError');
  // Used by a user, then by root; and by root, then by a user.
  const byUser = await newPassword(a, { plain: NEW });
  assert.is((await a.call('PUT', `${USERS}/operator`, { name: 'operator', password: byUser })).status, 200);
  assertError(await a.call('PUT', ROOT, byUser), 400, 'SemanticError');
  const byRoot = await newPassword(a, { plain: NEW });
  const put = await a.call('PUT', ROOT, byRoot);
  assert.is(put.status, 200, put.text);
  assertError(await a.call('PUT', `${USERS}/viewer`, { name: 'viewer', password: byRoot }), 400, 'SemanticError');
  assert.is((await a.call('DELETE', '/api/transaction')).status, 200);
  assert.not.ok(existsSync(stored()), 'rolled back: no root password stored');
  assert.is((await svc.as('operator').get('/config/rest/cert/v1')).status, 200, 'rolled back: the operator keeps the old password');
});

t('PUT + commit: a salted scrypt hash that verifies the password is stored; no plaintext anywhere; the hook gets the hash', async () => {
  const a = new SpsClient(svc.port, 'java', 'admin', PASSWORDS.admin);
  await a.login();
  const key = await newPassword(a, { plain: NEW });
  const put = await a.call('PUT', ROOT, key);
  assert.is(put.status, 200, put.text);
  assert.equal(put.json.body, { key, meta: { href: `/api/configuration/passwords/${key}` } });
  const changes = await a.call('GET', '/api/transaction/changes');
  assert.ok(changes.json.changes.some((c: { path: string; new_value: unknown }) => c.path === ROOT && c.new_value === key), changes.text);
  assert.not.ok(existsSync(stored()), 'nothing before the commit');
  const commit = await a.call('PUT', '/api/transaction', { status: 'commit' });
  assert.is(commit.status, 200, commit.text);

  const hash = readFileSync(stored(), 'utf8').trim();
  assert.ok(verifies(hash, NEW));
  assert.not.ok(verifies(hash, `${NEW}x`));
  // Another commit of the same password gets another salt.
  const again = await newPassword(a, { plain: NEW });
  assert.is((await a.call('PUT', ROOT, again)).status, 200);
  assert.is((await a.call('PUT', '/api/transaction', { status: 'commit' })).status, 200);
  const second = readFileSync(stored(), 'utf8').trim();
  assert.ok(verifies(second, NEW));
  assert.is.not(second, hash);

  // The journal holds the hash (its commit mark), never the password; nor do the audit or the logs.
  const journal = readFileSync(join(svc.dir, 'certd', 'journal', 'journal.log'), 'utf8');
  assert.ok(journal.includes(JSON.stringify(hash).slice(1, -1)), 'the commit mark carries the hash');
  const audit = await new Client(svc.port, { user: 'admin', password: PASSWORDS.admin, scheme: 'digest-sha256' }).get('/certd/v1/audit');
  const records = JSON.stringify(audit.json);
  assert.match(records, /"operation":"set_root_password"/);
  for (const text of [put.text, changes.text, commit.text, readFileSync(stored(), 'utf8'), journal, records, svc.logs()]) assert.not.ok(text.includes(NEW));

  // The hook ran after the commit, with the hash on stdin (it runs in the background).
  const hooked = join(hookDir, 'hash');
  for (let i = 0; i < 100 && readFileSync(hooked, { flag: 'a+' }).toString().trim() !== second; i++) await new Promise((r) => setTimeout(r, 100));
  assert.is(readFileSync(hooked, 'utf8').trim(), second);
});

t('SIGKILL at every step of a commit of a user\'s and the root password: after the restart both or neither', async () => {
  const points: [string, boolean][] = [['batch:begun', false], ['batch:committed', true], ['batch:users', true], ['batch:root-password', true], ['batch:ended', true]];
  let current = NEW;
  for (const [i, [point, all]] of points.entries()) {
    await svc.killCertd();
    await svc.start({ CERTD_CRASH_AT: point });
    const a = new SpsClient(svc.port, 'curl', 'admin', PASSWORDS.admin);
    await a.login();
    const next = `Ruby-${i}-lantern-Qw83`;
    assert.is((await a.call('PUT', `${USERS}/operator`, { name: 'operator', password: await newPassword(a, { plain: next }) })).status, 200);
    assert.is((await a.call('PUT', ROOT, await newPassword(a, { plain: next }))).status, 200);
    const outcome = await a.call('PUT', '/api/transaction', { status: 'commit' }).then((r) => r.text, () => 'killed');
    assert.is(outcome, 'killed', point);
    await svc.killCertd();
    await svc.start();
    if (all) current = next;
    assert.ok(verifies(readFileSync(stored(), 'utf8').trim(), current), `${point}: the root hash is the one the batch leaves`);
    const operator = (await new SpsClient(svc.port, 'curl', 'operator', next).login()).status;
    assert.is(operator, all ? 200 : 401, `${point}: the operator's password goes with it`);
  }
});

t.run();
