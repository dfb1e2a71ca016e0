// The login throttle end to end against the real daemons, with small limits from certd's
// config: wrong passwords from 127.0.0.2 are slowed, then refused with 429 and Retry-After,
// while the same admin from 127.0.0.1 gets in; the log names the failures without the
// password; one Digest nonce does not serve unlimited guesses.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, digestHeader, raw, type Reply } from './client';
import { API, PASSWORDS, startService, type Service } from './service';

const THROTTLE = {
  free_failures: 2, base_delay_ms: 200, max_delay_ms: 400, lock_after: 6, address_lock_after: 12,
  window_seconds: 600, lock_seconds: 120,
};
/** certd's default. */
const NONCE_FAILURES = 3;
const WRONG = 'wrong-guess-5f3a91';
const PATH = `${API}/certificates`;

const t = suite('login throttle, end to end');
let svc: Service;
t.before(async () => {
  svc = await startService({ throttle: THROTTLE });
});
t.after(async () => {
  await svc?.stop();
});

const from = (localAddress: string, user: string, password: string, scheme: 'basic' | 'digest-sha256' = 'basic') =>
  new Client(svc.port, { user, password, scheme }, localAddress);

const logLines = () => svc.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

function tooMany(r: Reply): void {
  assert.is(r.status, 429, r.text);
  assert.equal(r.json, { status: 'error', error: { code: 21, message: 'too many failed logins; try again later' } });
  const after = Number(r.headers['retry-after']);
  assert.ok(after >= 1 && after <= THROTTLE.lock_seconds, `retry-after ${r.headers['retry-after']}`);
}

t('wrong passwords from one address are slowed, then refused; the admin from another address gets in meanwhile', async () => {
  const attacker = from('127.0.0.2', 'admin', WRONG);
  for (let i = 1; i <= THROTTLE.lock_after; i++) {
    const started = performance.now();
    const r = await attacker.get(PATH);
    const ms = performance.now() - started;
    assert.is(r.status, 401, `attempt ${i}`);
    assert.is(r.json.error.code, 14);
    // From the fifth failure on the answer waits max_delay_ms (a lower bound only).
    if (i >= 5) assert.ok(ms >= THROTTLE.max_delay_ms - 20, `attempt ${i} answered after ${ms} ms`);
  }
  tooMany(await attacker.get(PATH));
  tooMany(await from('127.0.0.2', 'admin', PASSWORDS.admin).get(PATH));
  assert.is((await from('127.0.0.1', 'admin', PASSWORDS.admin).get(PATH)).status, 200, 'the admin from 127.0.0.1');
  assert.is((await from('127.0.0.1', 'admin', PASSWORDS.admin, 'digest-sha256').get(PATH)).status, 200);
  assert.is((await from('127.0.0.2', 'viewer', PASSWORDS.viewer).get(PATH)).status, 200, 'another user from 127.0.0.2');

  // Names sprayed from the address lock the address, for every user.
  for (let i = THROTTLE.lock_after; i < THROTTLE.address_lock_after; i++) {
    assert.is((await from('127.0.0.2', `guess-${i}`, WRONG).get(PATH)).status, 401);
  }
  tooMany(await from('127.0.0.2', 'viewer', PASSWORDS.viewer).get(PATH));
  assert.is((await from('127.0.0.3', 'viewer', PASSWORDS.viewer).get(PATH)).status, 200);

  const lines = logLines();
  const failed = lines.filter((l) => l.msg === 'login failed');
  assert.ok(failed.some((l) => l.user === 'admin' && l.address === '127.0.0.2' && l.scheme === 'basic' && l.reason === 'wrong password'), JSON.stringify(failed));
  assert.ok(failed.some((l) => l.user === 'guess-6' && l.reason === 'unknown user'));
  assert.ok(failed.some((l) => l.user === 'viewer' && l.address === '127.0.0.2' && l.reason === 'locked'));
  assert.not.ok(svc.logs().includes(WRONG), 'no password in the log');
  assert.not.ok(svc.logs().includes(PASSWORDS.admin));
});

t('one Digest nonce takes nonce_failures wrong responses, then even the right one gets a fresh challenge', async () => {
  const first = await raw(svc.port, 'GET', PATH, undefined, {}, '127.0.0.4');
  const challenges = first.headers['www-authenticate'] as string[];
  const sent: string[] = [];
  for (let i = 0; i < NONCE_FAILURES; i++) {
    const authorization = digestHeader({ user: 'operator', password: `${WRONG}-${i}` }, 'GET', PATH, challenges);
    sent.push(/response="([^"]+)"/.exec(authorization)![1]!);
    assert.is((await raw(svc.port, 'GET', PATH, undefined, { authorization }, '127.0.0.4')).status, 401);
  }
  const right = { user: 'operator', password: PASSWORDS.operator };
  const usedUp = await raw(svc.port, 'GET', PATH, undefined, { authorization: digestHeader(right, 'GET', PATH, challenges) }, '127.0.0.4');
  assert.is(usedUp.status, 401, 'the right password on the used-up nonce');
  const fresh = usedUp.headers['www-authenticate'] as string[];
  assert.not.ok(fresh.some((c) => c.includes('stale')));
  assert.is.not(/nonce="([^"]+)"/.exec(fresh[0]!)![1], /nonce="([^"]+)"/.exec(challenges[0]!)![1]);
  assert.is((await raw(svc.port, 'GET', PATH, undefined, { authorization: digestHeader(right, 'GET', PATH, fresh) }, '127.0.0.4')).status, 200);
  const logs = svc.logs();
  assert.ok(logLines().some((l) => l.msg === 'login failed' && l.user === 'operator' && l.address === '127.0.0.4' && l.scheme === 'digest'));
  for (const r of sent) assert.not.ok(logs.includes(r), 'no Digest response in the log');
});

t('behind the camera\'s web server (127.0.0.1 with X-Forwarded-For) each client is its own source', async () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const via = (client: string, authorization: string, peer = '127.0.0.1') =>
    raw(svc.port, 'GET', PATH, undefined, { authorization, 'x-forwarded-for': `203.0.113.250, ${client}` }, peer);
  for (let i = 0; i < THROTTLE.lock_after; i++) assert.is((await via('198.51.100.7', basic('admin', WRONG))).status, 401);
  tooMany(await via('198.51.100.7', basic('admin', PASSWORDS.admin)));
  assert.is((await via('198.51.100.8', basic('admin', PASSWORDS.admin))).status, 200, 'another client through the same proxy');
  assert.ok(logLines().some((l) => l.msg === 'login failed' && l.user === 'admin' && l.address === '198.51.100.7'));
  // A peer that is no trusted proxy cannot name itself another address.
  for (let i = 0; i < THROTTLE.lock_after; i++) await via('198.51.100.9', basic('operator', WRONG), '127.0.0.5');
  tooMany(await via('198.51.100.10', basic('operator', PASSWORDS.operator), '127.0.0.5'));
});

t.run();
