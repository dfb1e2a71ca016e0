// The login throttle on a fake clock (delays, locks, reset, other sources, bounded memory),
// source keys (IPv6 /64, IPv4-mapped), the rate-limited failure log, and the Authenticator
// with it: locked pairs refused without a password check, used-up Digest nonces, nonces
// that do not tell the start time, stale=true only for a right password.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rq } from './auth-request';
import { Authenticator, type AuthResult } from '../../src/certd/auth/authenticator';
import { FailureLog, type FailedLogin } from '../../src/certd/auth/failure-log';
import { isLoopback, tlsByProxy } from '../../src/certd/http/forwarded-tls';
import { clientAddress, displayAddress, sourceOf, Throttle, type ThrottleOptions } from '../../src/certd/auth/throttle';
import { UserStore } from '../../src/certd/auth/users';
import type { Logger } from '../../src/common/log';

const OPTS: ThrottleOptions = {
  freeFailures: 2, baseDelayMs: 100, maxDelayMs: 800, lockAfter: 10, addressLockAfter: 1000,
  windowSeconds: 600, lockSeconds: 60, maxTracked: 1000,
};

function clock(start = 5_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const t = suite('login throttle');
let dir: string;
t.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'certd-throttle-'));
});
t.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// --- Throttle ----------------------------------------------------------------------------

t('delay: none for the first freeFailures, then doubling up to the cap', () => {
  const c = clock();
  const th = new Throttle(OPTS, c.now);
  const delays = Array.from({ length: 8 }, () => th.failure('admin', '10.0.0.1'));
  assert.equal(delays, [0, 0, 100, 200, 400, 800, 800, 800]);
});

t('lock after lockAfter failures of the pair: refused with the seconds left, other sources and users not', () => {
  const c = clock();
  const th = new Throttle(OPTS, c.now);
  for (let i = 1; i < OPTS.lockAfter; i++) {
    th.failure('admin', '10.0.0.1');
    assert.is(th.lockedFor('admin', '10.0.0.1'), undefined, `after ${i}`);
  }
  th.failure('admin', '10.0.0.1');
  assert.is(th.lockedFor('admin', '10.0.0.1'), 60);
  assert.is(th.lockedFor('admin', '10.0.0.2'), undefined, 'the admin from elsewhere');
  assert.is(th.lockedFor('viewer', '10.0.0.1'), undefined, 'another user from the same address');
  c.t += 59_500;
  assert.is(th.lockedFor('admin', '10.0.0.1'), 1, 'rounded up');
  c.t += 500;
  assert.is(th.lockedFor('admin', '10.0.0.1'), undefined, 'the lock ends');
  // Still within the window: one more failure locks again at once.
  th.failure('admin', '10.0.0.1');
  assert.is(th.lockedFor('admin', '10.0.0.1'), 60);
});

t('a success resets the pair: it takes lockAfter new failures to lock it', () => {
  const th = new Throttle(OPTS, clock().now);
  for (let i = 0; i < OPTS.lockAfter - 1; i++) th.failure('admin', '10.0.0.1');
  th.success('admin', '10.0.0.1');
  for (let i = 0; i < OPTS.lockAfter - 1; i++) th.failure('admin', '10.0.0.1');
  assert.is(th.lockedFor('admin', '10.0.0.1'), undefined);
  th.failure('admin', '10.0.0.1');
  assert.is(th.lockedFor('admin', '10.0.0.1'), 60);
});

t('the address locks after addressLockAfter failures over many names, for every name', () => {
  const th = new Throttle({ ...OPTS, addressLockAfter: 30 }, clock().now);
  for (let i = 0; i < 29; i++) th.failure(`guess${i}`, '10.0.0.9');
  assert.is(th.lockedFor('admin', '10.0.0.9'), undefined);
  th.failure('guess29', '10.0.0.9');
  assert.is(th.lockedFor('admin', '10.0.0.9'), 60);
  assert.is(th.lockedFor('admin', '10.0.0.8'), undefined);
});

t('failures older than the window are forgotten; the user count slows failures from any source', () => {
  const c = clock();
  const th = new Throttle(OPTS, c.now);
  for (let i = 0; i < 5; i++) th.failure('admin', `10.0.1.${i}`);
  assert.is(th.failure('admin', '10.0.2.1'), 800, 'sixth failure of the name, first from this source');
  c.t += 600_001;
  assert.is(th.failure('admin', '10.0.2.1'), 0);
});

t('memory is bounded: 100k distinct names and sources keep maxTracked keys per table; a locked pair survives', () => {
  const th = new Throttle(OPTS, clock().now);
  for (let i = 0; i < OPTS.lockAfter; i++) th.failure('admin', '10.9.9.9');
  for (let i = 0; i < 100_000; i++) th.failure(`name-${i}`, `2001:db8:${(i >> 16) & 0xffff}:${i & 0xffff}::1`);
  assert.equal(th.sizes(), { pairs: 1000, sources: 1000, users: 1000 });
  assert.is(th.lockedFor('admin', '10.9.9.9'), 60, 'not evicted by the flood');
  // Names longer than any user's share one key.
  const long = new Throttle(OPTS, clock().now);
  for (let i = 0; i < 500; i++) long.failure(`${'x'.repeat(100)}${i}`, '10.0.0.1');
  assert.is(long.sizes().users, 1);
});

t('options are checked', () => {
  assert.throws(() => new Throttle({ ...OPTS, lockAfter: 0 }), /at least 1/);
  assert.throws(() => new Throttle({ ...OPTS, baseDelayMs: -1 }), /baseDelayMs/);
  assert.throws(() => new Throttle({ ...OPTS, windowSeconds: 1.5 }), /windowSeconds/);
});

t('sources: IPv4 as is, IPv6 by /64, IPv4-mapped as IPv4, zone dropped', () => {
  assert.is(sourceOf('192.0.2.7'), '192.0.2.7');
  assert.is(sourceOf('::ffff:192.0.2.7'), '192.0.2.7');
  assert.is(sourceOf('::FFFF:c000:0207'), '192.0.2.7');
  assert.is(sourceOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.is(sourceOf('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.is(sourceOf('2001:db8::1'), '2001:db8:0:0::/64');
  assert.is(sourceOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.is(sourceOf('::1'), '0:0:0:0::/64');
  assert.is.not(sourceOf('2001:db8:1:3::1'), sourceOf('2001:db8:1:2::1'));
  assert.is(sourceOf(''), 'unknown');
  assert.is(displayAddress('::ffff:127.0.0.2'), '127.0.0.2');
  assert.is(displayAddress('2001:db8::1'), '2001:db8::1');
  // One /64 is one source for the lock.
  const th = new Throttle({ ...OPTS, addressLockAfter: 3 }, clock().now);
  for (const host of ['1', '2', '3']) th.failure(`u${host}`, `2001:db8:1:2::${host}`);
  assert.is(th.lockedFor('admin', '2001:db8:1:2:ffff:ffff:ffff:ffff'), 60);
  assert.is(th.lockedFor('admin', '2001:db8:1:3::1'), undefined);
});

t('client address: X-Forwarded-For counts only from a trusted proxy, its last hop', () => {
  const proxies = new Set(['127.0.0.1', '::1']);
  assert.is(clientAddress('127.0.0.1', '198.51.100.7', proxies), '198.51.100.7');
  assert.is(clientAddress('::ffff:127.0.0.1', '203.0.113.9, 198.51.100.7', proxies), '198.51.100.7', 'what the proxy saw, not what the client claimed');
  assert.is(clientAddress('::1', ['203.0.113.9', '2001:db8::5'], proxies), '2001:db8::5');
  assert.is(clientAddress('127.0.0.1', undefined, proxies), '127.0.0.1');
  assert.is(clientAddress('127.0.0.1', 'unknown', proxies), '127.0.0.1', 'not an address');
  assert.is(clientAddress('127.0.0.2', '198.51.100.7', proxies), '127.0.0.2', 'an untrusted peer cannot choose its address');
  assert.is(clientAddress('192.0.2.1', '198.51.100.7', proxies), '192.0.2.1');
});

t('TLS by proxy: X-Forwarded-Proto https counts only from a trusted peer on loopback, its last value', () => {
  const proxies = new Set(['127.0.0.1', '::1', '192.0.2.1']);
  assert.is(tlsByProxy('127.0.0.1', 'https', proxies), true);
  assert.is(tlsByProxy('::ffff:127.0.0.1', 'HTTPS', proxies), true);
  assert.is(tlsByProxy('::1', ['http', 'https'], proxies), true);
  assert.is(tlsByProxy('127.0.0.1', 'https, http', proxies), false, 'a proxy that appends has the last word');
  assert.is(tlsByProxy('127.0.0.1', 'http', proxies), false);
  assert.is(tlsByProxy('127.0.0.1', undefined, proxies), false);
  assert.is(tlsByProxy('127.0.0.2', 'https', proxies), false, 'loopback, but not a trusted proxy');
  assert.is(tlsByProxy('192.0.2.1', 'https', proxies), false, 'a trusted proxy, but not on loopback');
  assert.is(tlsByProxy('198.51.100.7', 'https', proxies), false);
  assert.equal(['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.3'].map(isLoopback), [true, true, true, true, true]);
  assert.equal(['128.0.0.1', '::2', '::ffff:10.0.0.1', '', 'localhost'].map(isLoopback), [false, false, false, false, false]);
});

// --- FailureLog ----------------------------------------------------------------------------

function capture(): { log: Logger; lines: { msg: string; [k: string]: unknown }[] } {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const at = (msg: string, fields?: Record<string, unknown>) => { lines.push({ msg, ...fields }); };
  return { log: { debug: at, info: at, warn: at, error: at }, lines };
}

const failed = (user: string, address: string, reason: FailedLogin['reason'] = 'wrong password'): FailedLogin => ({ user, address, scheme: 'basic', api: 'cert.v1', reason });

t('failure log: one line per key a minute, then one summary with the count', () => {
  const c = clock();
  const { log, lines } = capture();
  const fl = new FailureLog(log, 10, c.now);
  for (let i = 0; i < 50; i++) fl.record(failed('admin', '10.0.0.1'));
  fl.record(failed('viewer', '10.0.0.1', 'unknown user'));
  assert.equal(lines, [
    { msg: 'login failed', user: 'admin', address: '10.0.0.1', scheme: 'basic', reason: 'wrong password' },
    { msg: 'login failed', user: 'viewer', address: '10.0.0.1', scheme: 'basic', reason: 'unknown user' },
  ]);
  c.t += 60_000;
  fl.record(failed('admin', '10.0.0.1'));
  assert.equal(lines.slice(2), [
    { msg: 'login failed again', user: 'admin', address: '10.0.0.1', count: 49 },
    { msg: 'login failed', user: 'admin', address: '10.0.0.1', scheme: 'basic', reason: 'wrong password' },
  ]);
});

t('failure log: a flood of 100k distinct keys gives at most 2 x linesPerMinute + 1 lines a minute', () => {
  const c = clock();
  const { log, lines } = capture();
  const fl = new FailureLog(log, 20, c.now);
  for (let i = 0; i < 100_000; i++) fl.record(failed(`n${i % 5000}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  fl.flush();
  assert.is(lines.length, 21);
  assert.equal(lines[20], { msg: 'login failures not itemised', count: 100_000 - 20 });
});

// --- the Authenticator with the throttle ---------------------------------------------------

const REALM = 'throttle@certd';
let files = 0;
function users(): UserStore {
  const path = join(dir, `users-${++files}.json`);
  writeFileSync(path, JSON.stringify({ realm: REALM, users: [] }), { mode: 0o600 });
  const s = UserStore.load(path);
  s.add('admin', 'admin', 'right-pass');
  return s;
}

const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const H = (s: string) => createHash('sha256').update(s).digest('hex');
const nonceOf = (r: AuthResult) => (r.ok ? '' : /nonce="([^"]+)"/.exec(r.challenges[0]!)![1]!);

/** An RFC 7616 SHA-256 answer, computed here. */
function digest(nonce: string, pass: string, nc = '00000001', user = 'admin'): string {
  const response = H(`${H(`${user}:${REALM}:${pass}`)}:${nonce}:${nc}:c1:auth:${H('GET:/x')}`);
  return `Digest username="${user}", realm="${REALM}", uri="/x", algorithm=SHA-256, nonce="${nonce}", nc=${nc}, cnonce="c1", qop=auth, response="${response}"`;
}

t('Authenticator: a locked pair is refused even with the right password, the admin elsewhere gets in; events carry no secret', () => {
  const c = clock();
  const events: FailedLogin[] = [];
  const a = new Authenticator(users(), { realm: REALM, basic: true, digestAlgorithms: ['SHA-256'], nonceTtlSeconds: 60 },
    { now: c.now, throttle: new Throttle({ ...OPTS, lockAfter: 4 }, c.now), onFailure: (f) => events.push(f) });
  const results = [1, 2, 3, 4].map((i) => a.check(rq('GET', '/x', basic('admin', `wrong-${i}`), '::ffff:127.0.0.2')));
  assert.equal(results.map((r) => !r.ok && r.reason === 'bad' && r.delayMs), [0, 0, 100, 200]);
  const locked = a.check(rq('GET', '/x', basic('admin', 'right-pass'), '127.0.0.2'));
  assert.equal(locked, { ok: false, challenges: [], reason: 'locked', retryAfterSeconds: 60 });
  assert.equal(a.check(rq('GET', '/x', basic('admin', 'right-pass'), '127.0.0.1')), { ok: true, user: 'admin', role: 'admin' });
  const wrongNonce = nonceOf(a.check(rq('GET', '/x', undefined, '127.0.0.3')));
  a.check(rq('GET', '/x', digest(wrongNonce, 'guess-digest'), '127.0.0.3'));
  a.check(rq('GET', '/x', basic('nobody', 'guess-unknown'), '127.0.0.3'));
  assert.equal(events.map((e) => [e.user, e.address, e.scheme, e.reason]), [
    ...[1, 2, 3, 4].map(() => ['admin', '127.0.0.2', 'basic', 'wrong password']),
    ['admin', '127.0.0.2', 'basic', 'locked'],
    ['admin', '127.0.0.3', 'digest', 'wrong password'],
    ['nobody', '127.0.0.3', 'basic', 'unknown user'],
  ]);
  const text = JSON.stringify(events);
  for (const secret of ['wrong-1', 'right-pass', 'guess-digest', 'guess-unknown', /response="([^"]+)"/.exec(digest(wrongNonce, 'guess-digest'))![1]!]) {
    assert.not.ok(text.includes(secret), secret);
  }
});

t('Authenticator: a Digest nonce takes nonceFailures wrong answers, then even the right one gets a fresh challenge', () => {
  const a = new Authenticator(users(), { realm: REALM, basic: false, digestAlgorithms: ['SHA-256'], nonceTtlSeconds: 60, nonceFailures: 3 });
  const n = nonceOf(a.check(rq('GET', '/x', undefined)));
  for (let i = 0; i < 3; i++) {
    const r = a.check(rq('GET', '/x', digest(n, `wrong-${i}`)));
    assert.ok(!r.ok && r.reason === 'bad', `wrong ${i}`);
  }
  const r = a.check(rq('GET', '/x', digest(n, 'right-pass')));
  assert.ok(!r.ok && r.reason === 'bad' && !r.challenges[0]!.includes('stale'), 'used up');
  assert.is.not(nonceOf(r), n);
  assert.equal(a.check(rq('GET', '/x', digest(nonceOf(r), 'right-pass'))), { ok: true, user: 'admin', role: 'admin' });
  // Fewer wrong answers leave the nonce usable.
  const m = nonceOf(a.check(rq('GET', '/x', undefined)));
  a.check(rq('GET', '/x', digest(m, 'wrong')));
  a.check(rq('GET', '/x', digest(m, 'wrong')));
  assert.is(a.check(rq('GET', '/x', digest(m, 'right-pass'))).ok, true);
});

t('Authenticator: stale=true only for the right password, on an expired nonce and on a used nc', () => {
  const c = clock();
  const a = new Authenticator(users(), { realm: REALM, basic: false, digestAlgorithms: ['SHA-256'], nonceTtlSeconds: 30, nonceFailures: 10 }, { now: c.now });
  const stale = (r: AuthResult) => !r.ok && r.challenges.some((ch) => ch.includes('stale=true'));
  const n = nonceOf(a.check(rq('GET', '/x', undefined)));
  assert.is(a.check(rq('GET', '/x', digest(n, 'right-pass'))).ok, true);
  assert.is(stale(a.check(rq('GET', '/x', digest(n, 'wrong')))), false, 'used nc, wrong password');
  assert.is(stale(a.check(rq('GET', '/x', digest(n, 'right-pass')))), true, 'used nc, right password');
  c.t += 31_000;
  assert.is(stale(a.check(rq('GET', '/x', digest(n, 'wrong', '00000002')))), false, 'expired, wrong password');
  assert.is(stale(a.check(rq('GET', '/x', digest(n, 'right-pass', '00000002')))), true, 'expired, right password');
});

t('nonces of two processes started at different times do not tell when they started', () => {
  const issuedAt = (a: Authenticator) => Number(Buffer.from(nonceOf(a.check(rq('GET', '/x', undefined))), 'base64url').readBigUInt64BE(0));
  const c = clock(1_000);
  const early = new Authenticator(users(), { realm: REALM, basic: false, digestAlgorithms: ['SHA-256'], nonceTtlSeconds: 30 }, { now: c.now });
  const late = new Authenticator(users(), { realm: REALM, basic: false, digestAlgorithms: ['SHA-256'], nonceTtlSeconds: 30 }, { now: c.now });
  const [e, l] = [issuedAt(early), issuedAt(late)];
  // Same uptime clock, yet the timestamps are far apart and far from the clock itself.
  assert.ok(Math.abs(e - l) > 1_000_000 && e > 1_000_000 && l > 1_000_000, `${e} ${l}`);
  c.t += 5_000;
  assert.is(issuedAt(early) - e, 5_000, 'within one process the differences are true');
});

t('authenticate() holds a failure back without blocking: a right login meanwhile is answered first', async () => {
  const a = new Authenticator(users(), { realm: REALM, basic: true, digestAlgorithms: ['SHA-256'], nonceTtlSeconds: 60 },
    { throttle: new Throttle({ ...OPTS, freeFailures: 0, baseDelayMs: 300, maxDelayMs: 300 }) });
  const order: string[] = [];
  const started = performance.now();
  const wrong = a.authenticate(rq('GET', '/x', basic('admin', 'wrong'), '127.0.0.2')).then((r) => { order.push(`wrong ${!r.ok && r.reason}`); });
  const right = a.authenticate(rq('GET', '/x', basic('admin', 'right-pass'), '127.0.0.1')).then((r) => { order.push(`right ${r.ok}`); });
  await Promise.all([wrong, right]);
  assert.equal(order, ['right true', 'wrong bad']);
  assert.ok(performance.now() - started >= 290, 'the failure was held back');
});

t.run();
