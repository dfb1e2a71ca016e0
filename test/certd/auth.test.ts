// certd HTTP authentication: the users file, Digest (RFC 7616) and Basic (RFC 7617), and
// interop with curl. Client responses are computed here, independently of the server code.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rq } from './auth-request';
import { Authenticator, MAX_AUTHORIZATION, type AuthHooks, type AuthOptions, type AuthResult } from '../../src/certd/auth/authenticator';
import type { FailedLogin } from '../../src/certd/auth/failure-log';
import type { Attempt, AuthScheme, SchemeInput } from '../../src/certd/auth/scheme';
import { Throttle } from '../../src/certd/auth/throttle';
import { MAX_URL } from '../../src/certd/http/app';
import { digestResponse, ha1 } from '../../src/certd/auth/digest';
import { UserStore } from '../../src/certd/auth/users';

const REALM = 'camera@certd';
const run = promisify(execFile);
let dir: string;
let files = 0;

/** A fresh users file with admin/operator/viewer. */
function store(realm = REALM): UserStore {
  const path = join(dir, `users-${++files}.json`);
  writeFileSync(path, JSON.stringify({ realm, users: [] }), { mode: 0o600 });
  const s = UserStore.load(path);
  s.add('root', 'admin', 'pass-admin');
  s.add('op', 'operator', 'pass-op');
  s.add('view.er_1', 'viewer', 'pass viewer: with colon');
  return s;
}

function auth(opts: Partial<AuthOptions> = {}, hooks: AuthHooks = {}, s = store()): Authenticator {
  return new Authenticator(s, { realm: s.realm, basic: false, digestAlgorithms: ['MD5', 'SHA-256'], nonceTtlSeconds: 60, ...opts }, hooks);
}

// --- an RFC 7616 client, written from the RFC -------------------------------------------

const H = (alg: string, s: string) => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');

interface Client {
  user: string;
  pass: string;
  realm: string;
  alg: 'SHA-256' | 'MD5';
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
}

function clientResponse(c: Client): string {
  const a1 = H(c.alg, `${c.user}:${c.realm}:${c.pass}`);
  const a2 = H(c.alg, `${c.method}:${c.uri}`);
  return H(c.alg, `${a1}:${c.nonce}:${c.nc}:${c.cnonce}:auth:${a2}`);
}

/** Parses the test's own view of a challenge: the auth-params of one Digest challenge. */
function challengeParams(ch: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of ch.replace(/^Digest /, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) out[m[1]] = m[2] ?? m[3];
  return out;
}

interface Ask {
  user?: string;
  pass?: string;
  alg?: 'SHA-256' | 'MD5';
  uri?: string;
  nc?: string;
  /** Overrides or removals (undefined) of header fields after the response is computed. */
  edit?: Record<string, string | undefined>;
}

/** Gets a challenge from `a`, answers it like a client, returns the Authorization value. */
function digestHeader(a: Authenticator, ask: Ask = {}, challenge?: Record<string, string>): string {
  const alg = ask.alg ?? 'SHA-256';
  const ch = challenge ?? challengeParams(fail(a.check(rq('GET', '/x', undefined))).challenges.find((c) => c.includes(`algorithm=${alg},`))!);
  const c: Client = {
    user: ask.user ?? 'root', pass: ask.pass ?? 'pass-admin', realm: ch.realm, alg, method: 'GET',
    uri: ask.uri ?? '/x', nonce: ch.nonce, nc: ask.nc ?? '00000001', cnonce: 'Zm9vYmFy',
  };
  const fields: Record<string, string | undefined> = {
    username: `"${c.user}"`, realm: `"${c.realm}"`, uri: `"${c.uri}"`, algorithm: alg, nonce: `"${c.nonce}"`,
    nc: c.nc, cnonce: `"${c.cnonce}"`, qop: 'auth', response: `"${clientResponse(c)}"`, opaque: `"${ch.opaque}"`, ...ask.edit,
  };
  return 'Digest ' + Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(', ');
}

function fail(r: AuthResult): Extract<AuthResult, { ok: false }> {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
  return r;
}

const basicHeader = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

const t = suite('certd auth');
t.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'certd-auth-'));
});
t.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// --- fixed vectors -----------------------------------------------------------------------

t('RFC 7616 §3.9.1 example: the test client and the server arithmetic give the published responses', () => {
  const v = {
    user: 'Mufasa', pass: 'Circle of Life', realm: 'http-auth@example.org', method: 'GET', uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', nc: '00000001',
  };
  const want = { 'SHA-256': '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1', MD5: '8ca523f5e9506fed4657c9700eebdbec' };
  for (const alg of ['SHA-256', 'MD5'] as const) {
    assert.is(clientResponse({ ...v, alg }), want[alg], `client ${alg}`);
    assert.is(digestResponse(alg, ha1(alg, v.user, v.realm, v.pass), { ...v, qop: 'auth' }), want[alg], `server ${alg}`);
  }
});

// --- Digest flows ------------------------------------------------------------------------

t('no credentials: missing, MD5 then SHA-256 challenge with one nonce, no Basic by default; the order is configurable', () => {
  const r = fail(auth().check(rq('GET', '/x', undefined)));
  assert.is(r.reason, 'missing');
  assert.is(r.challenges.length, 2);
  const q = '"[A-Za-z0-9_-]+"';
  assert.match(r.challenges[0], new RegExp(`^Digest realm="${REALM}", qop="auth", algorithm=MD5, nonce=${q}, opaque=${q}$`));
  assert.match(r.challenges[1], new RegExp(`^Digest realm="${REALM}", qop="auth", algorithm=SHA-256, nonce=${q}, opaque=${q}$`));
  assert.is(challengeParams(r.challenges[0]).nonce, challengeParams(r.challenges[1]).nonce);
  assert.is.not(challengeParams(r.challenges[0]).nonce, challengeParams(fail(auth().check(rq('GET', '/x', undefined))).challenges[0]).nonce);
  const shaFirst = fail(auth({ digestAlgorithms: ['SHA-256', 'MD5'] }).check(rq('GET', '/x', undefined))).challenges;
  assert.equal(shaFirst.map((c) => challengeParams(c).algorithm), ['SHA-256', 'MD5']);
});

t('right password: SHA-256 and MD5 accepted with the user and role', () => {
  const a = auth();
  assert.equal(a.check(rq('GET', '/x', digestHeader(a))), { ok: true, user: 'root', role: 'admin' });
  assert.equal(a.check(rq('GET', '/x', digestHeader(a, { alg: 'MD5', user: 'op', pass: 'pass-op' }))), { ok: true, user: 'op', role: 'operator' });
  assert.equal(a.check(rq('GET', '/x', digestHeader(a, { user: 'view.er_1', pass: 'pass viewer: with colon' }))), { ok: true, user: 'view.er_1', role: 'viewer' });
});

t('wrong password and unknown user give the same answer', () => {
  const a = auth();
  const wrong = fail(a.check(rq('GET', '/x', digestHeader(a, { pass: 'nope' }))));
  const unknown = fail(a.check(rq('GET', '/x', digestHeader(a, { user: 'nobody' }))));
  assert.is(wrong.reason, 'bad');
  assert.is(unknown.reason, 'bad');
  assert.is(wrong.challenges.length, unknown.challenges.length);
  assert.not.match(wrong.challenges.join(), 'stale');
});

t('uri: the request URI, or its path when the request has a query; nothing else', () => {
  const a = auth();
  assert.is(fail(a.check(rq('GET', '/y', digestHeader(a)))).reason, 'bad');
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { uri: '/x/' })))).reason, 'bad');
  assert.is(a.check(rq('GET', '/x?a=1', digestHeader(a, { uri: '/x?a=1' }))).ok, true);
  // The path alone, as clients that leave the query out sign it (Apache mod_auth_digest too).
  assert.is(a.check(rq('GET', '/x?a=1', digestHeader(a))).ok, true);
  assert.is(a.check(rq('GET', '/x?a=1&b=%20', digestHeader(a, { alg: 'MD5' }))).ok, true);
  for (const uri of ['/x?a=2', '/x?', '/x?a=1&b=2', '/x/', '/y', '/', '', 'http://h/x?a=1']) {
    assert.is(fail(a.check(rq('GET', '/x?a=1', digestHeader(a, { uri })))).reason, 'bad', uri);
  }
  // The response covers the uri sent: signed over the full URI but sent as the path, it fails.
  assert.is(fail(a.check(rq('GET', '/x?a=1', digestHeader(a, { uri: '/x?a=1', edit: { uri: '"/x"' } })))).reason, 'bad');
  // The method is part of the response.
  assert.is(fail(a.check(rq('POST', '/x', digestHeader(a)))).reason, 'bad');
});

t('nonce count: increasing nc on one nonce works, a repeated or lower nc is refused', () => {
  const a = auth();
  const ch = challengeParams(fail(a.check(rq('GET', '/x', undefined))).challenges[0]);
  const first = digestHeader(a, { nc: '00000001' }, ch);
  assert.is(a.check(rq('GET', '/x', first)).ok, true);
  const replay = fail(a.check(rq('GET', '/x', first)));
  assert.is(replay.reason, 'stale');
  assert.match(replay.challenges[0], /, stale=true$/);
  assert.is(a.check(rq('GET', '/x', digestHeader(a, { nc: '00000003' }, ch))).ok, true);
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { nc: '00000002' }, ch)))).reason, 'stale');
  assert.is(a.check(rq('GET', '/x', digestHeader(a, { nc: '0000000A' }, ch))).ok, true);
  // A wrong password does not burn nc values of the real client.
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { nc: 'ffffffff', pass: 'x' }, ch)))).reason, 'bad');
  assert.is(a.check(rq('GET', '/x', digestHeader(a, { nc: '0000000b' }, ch))).ok, true);
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { nc: '00000000' })))).reason, 'stale', 'nc starts at 1');
});

t('forgotten nonces cannot be replayed once the nc table is full', () => {
  const a = auth({}, { maxTrackedNonces: 2 });
  const chs = [0, 1, 2].map(() => challengeParams(fail(a.check(rq('GET', '/x', undefined))).challenges[0]));
  for (const ch of chs) assert.is(a.check(rq('GET', '/x', digestHeader(a, {}, ch))).ok, true);
  // chs[0] was evicted for chs[2]: even a higher nc on it is refused, the client gets stale.
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { nc: '00000002' }, chs[0])))).reason, 'stale');
  assert.is(a.check(rq('GET', '/x', digestHeader(a, { nc: '00000002' }, chs[2]))).ok, true);
});

t('nonce expiry: stale=true after the TTL for the right password, bad for a wrong one', () => {
  let now = 1_000_000;
  const a = auth({ nonceTtlSeconds: 30 }, { now: () => now });
  const ch = challengeParams(fail(a.check(rq('GET', '/x', undefined))).challenges[0]);
  now += 30_000;
  assert.is(a.check(rq('GET', '/x', digestHeader(a, {}, ch))).ok, true, 'at the TTL');
  now += 1;
  const r = fail(a.check(rq('GET', '/x', digestHeader(a, { nc: '00000002' }, ch))));
  assert.is(r.reason, 'stale');
  assert.ok(r.challenges.every((c) => c.endsWith(', stale=true')));
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { nc: '00000003', pass: 'x' }, ch)))).reason, 'bad');
  // The new nonce from the stale answer works; a nonce from the future (clock set back) does not.
  now -= 60_000;
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, {}, challengeParams(r.challenges[0]))))).reason, 'bad');
  now += 60_000;
  assert.is(a.check(rq('GET', '/x', digestHeader(a, {}, challengeParams(r.challenges[0])))).ok, true);
});

t('tampered or foreign nonces are bad', () => {
  const a = auth();
  const ch = challengeParams(fail(a.check(rq('GET', '/x', undefined))).challenges[0]);
  const n = ch.nonce;
  const flips = [0, 5, 11, 30, n.length - 2].map((i) => n.slice(0, i) + (n[i] === 'A' ? 'B' : 'A') + n.slice(i + 1));
  for (const nonce of [...flips, n.slice(1), n + 'A', 'AAAA', '']) {
    assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, {}, { ...ch, nonce })))).reason, 'bad', nonce);
  }
  // A second spelling of the same bytes (base64url's unused low bits) would dodge the nc table.
  const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(n[n.length - 1]);
  const respelled = n.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 1];
  assert.equal(Buffer.from(respelled, 'base64url'), Buffer.from(n, 'base64url'));
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, {}, { ...ch, nonce: respelled })))).reason, 'bad');
  // A nonce of another process (another secret) is not accepted.
  const other = auth();
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, {}, challengeParams(fail(other.check(rq('GET', '/x', undefined))).challenges[0]))))).reason, 'bad');
});

t('Digest parameters: algorithm default and set, qop, realm, opaque, userhash', () => {
  const a = auth();
  const md5only = auth({ digestAlgorithms: ['MD5'] });
  const shaOnly = auth({ digestAlgorithms: ['SHA-256'] });
  assert.is(fail(md5only.check(rq('GET', '/x', undefined))).challenges.length, 1);
  assert.is(md5only.check(rq('GET', '/x', digestHeader(md5only, { alg: 'MD5', edit: { algorithm: undefined } }))).ok, true, 'no algorithm = MD5');
  assert.is(fail(shaOnly.check(rq('GET', '/x', digestHeader(shaOnly, { alg: 'MD5' }, challengeParams(fail(shaOnly.check(rq('GET', '/x', undefined))).challenges[0]))))).reason, 'bad');
  assert.is(a.check(rq('GET', '/x', digestHeader(a, { edit: { algorithm: 'sha-256' } }))).ok, true, 'algorithm is case-insensitive');
  assert.is(a.check(rq('GET', '/x', digestHeader(a, { edit: { opaque: undefined, qop: '"auth"' } }))).ok, true, 'opaque may be left out');
  const bad: Record<string, string | undefined>[] = [
    { algorithm: 'MD5-sess' }, { algorithm: 'SHA-512-256' }, { qop: 'auth-int' }, { qop: undefined }, { nc: undefined }, { nc: '1' },
    { nc: '0000000g' }, { cnonce: undefined }, { cnonce: '""' }, { realm: '"other"' }, { realm: undefined }, { opaque: '"x"' },
    { userhash: 'true' }, { username: undefined }, { 'username*': "UTF-8''root", username: undefined }, { uri: undefined },
    { response: undefined }, { response: '"00"' }, { nonce: undefined },
  ];
  for (const edit of bad) assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { edit })))).reason, 'bad', JSON.stringify(edit));
  assert.is(a.check(rq('GET', '/x', digestHeader(a, { edit: { userhash: 'false' } }))).ok, true);
});

t('the header parser: escapes, commas in quotes, whitespace, case of names', () => {
  const s = store();
  s.add('a.b', 'viewer', 'p');
  const a = auth({}, {}, s);
  const ch = challengeParams(fail(a.check(rq('GET', '/q,"r"', undefined))).challenges[0]);
  const resp = clientResponse({ user: 'a.b', pass: 'p', realm: REALM, alg: 'SHA-256', method: 'GET', uri: '/q,"r"', nonce: ch.nonce, nc: '00000001', cnonce: 'c, "d"' });
  const h = `Digest  USERNAME="a\\.b",realm="${REALM}" ,  uri = "/q,\\"r\\"", algorithm=SHA-256,nonce="${ch.nonce}",nc=00000001,`
    + ` cnonce="c, \\"d\\"", qop=auth, , response="${resp.toUpperCase()}", unknown-param=zz`;
  assert.equal(a.check(rq('GET', '/q,"r"', h)), { ok: true, user: 'a.b', role: 'viewer' });
  assert.equal(a.check(rq('GET', '/q,"r"', h.replace('Digest', 'dIGEST').replace('00000001', '00000002').replace(resp.toUpperCase(),
    clientResponse({ user: 'a.b', pass: 'p', realm: REALM, alg: 'SHA-256', method: 'GET', uri: '/q,"r"', nonce: ch.nonce, nc: '00000002', cnonce: 'c, "d"' })))).ok, true);
});

t('malformed headers of many shapes are bad and never throw', () => {
  const a = auth({ basic: true });
  const good = digestHeader(a);
  const shapes = [
    '', ' ', 'Digest', 'Digest ', 'Basic', 'Basic ', 'Bearer abc', 'Negotiate', 'Digest,', 'Digest =x', 'Digest a', 'Digest a=',
    'Digest a="', 'Digest a="\\', 'Digest a="x\\"', 'Digest a=b c=d', 'Digest a=b,a=b', 'Digest username="root", username="op"',
    'Digest a="\x01"', 'Digest\tusername="root"', 'Digest a=b;c=d', 'Digest a=b, "c"=d', 'Digest abc==', '"Digest" a=b',
    'Digest username=root', 'Basic !!!!', 'Basic cm9vdA==', 'Basic cm9vdDpwYXNzLWFkbWlu=', 'Basic cm9vdDpwYXNzLWFkbWlu a=b',
    'Basic a=b', 'Basic ' + Buffer.from([0xff, 0x3a, 0x41]).toString('base64'), 'Basic ====', 'Digest ' + 'a=b,'.repeat(2000),
    good.replace('Digest ', 'Digest'), good.replace(/"$/, ''), good.replace(', ', ' '), good + ', response="x"', good.replace(/nonce="/, 'nonce="x'),
    good.replace('Digest', 'Basic'), good + ', qop=auth', good + ', NC=00000001', 'Digest ' + '"'.repeat(5000), '\u0100\u2028', 'Digest username="\u0100"',
  ];
  for (const h of shapes) {
    let r: AuthResult | undefined;
    try {
      r = a.check(rq('GET', '/x', h));
    } catch (e) {
      assert.unreachable(`threw on ${JSON.stringify(h)}: ${e}`);
    }
    assert.is(fail(r!).reason, 'bad', JSON.stringify(h.slice(0, 60)));
  }
  // Every prefix and deterministic junk: no throw.
  for (let i = 0; i <= good.length; i++) a.check(rq('GET', '/x', good.slice(0, i)));
  let x = 7;
  for (let n = 0; n < 2000; n++) {
    let s = n % 2 ? 'Digest ' : '';
    for (let k = 0; k < n % 60; k++) {
      x = (x * 1103515245 + 12345) >>> 0;
      s += '=",\\ \tabcDigestBasic:/0'[x % 24];
    }
    assert.not.ok(a.check(rq('GET', '/x', s)).ok, s);
  }
});

// --- Basic -------------------------------------------------------------------------------

t('Basic: accepted only when enabled, challenge last, split at the first colon', () => {
  const on = auth({ basic: true });
  const r = fail(on.check(rq('GET', '/x', undefined)));
  assert.is(r.challenges.length, 3);
  assert.is(r.challenges[2], `Basic realm="${REALM}", charset="UTF-8"`);
  assert.equal(on.check(rq('GET', '/x', basicHeader('root', 'pass-admin'))), { ok: true, user: 'root', role: 'admin' });
  assert.equal(on.check(rq('GET', '/x', basicHeader('view.er_1', 'pass viewer: with colon'))), { ok: true, user: 'view.er_1', role: 'viewer' });
  assert.is(on.check(rq('GET', '/x', 'basic ' + basicHeader('root', 'pass-admin').slice(6))).ok, true, 'scheme is case-insensitive');
  assert.is(fail(on.check(rq('GET', '/x', basicHeader('root', 'wrong')))).reason, 'bad');
  assert.is(fail(on.check(rq('GET', '/x', basicHeader('nobody', 'pass-admin')))).reason, 'bad');
  assert.is(fail(on.check(rq('GET', '/x', basicHeader('root', 'pass-admin ')))).reason, 'bad');
  assert.is(fail(on.check(rq('GET', '/x', basicHeader('ROOT', 'pass-admin')))).reason, 'bad', 'user names are case-sensitive');

  const off = auth({ basic: false });
  assert.not.match(fail(off.check(rq('GET', '/x', undefined))).challenges.join('\n'), 'Basic');
  assert.is(fail(off.check(rq('GET', '/x', basicHeader('root', 'pass-admin')))).reason, 'bad');

  const basicOnly = auth({ basic: true, digestAlgorithms: [] });
  assert.equal(fail(basicOnly.check(rq('GET', '/x', undefined))).challenges, [`Basic realm="${REALM}", charset="UTF-8"`]);
  assert.is(fail(basicOnly.check(rq('GET', '/x', digestHeader(auth())))).reason, 'bad');
});

t('Basic on plain HTTP: refused unless allowed, only Digest challenges, not a failed login', () => {
  const failures: FailedLogin[] = [];
  const plain = (a: Authenticator, h?: string) => a.check(rq('GET', '/x', h, '10.0.0.9', false));
  const a = auth({ basic: true }, { onFailure: (f) => failures.push(f) });
  const r = fail(plain(a, basicHeader('root', 'pass-admin')));
  assert.is(r.reason, 'bad');
  assert.equal(r.challenges.map((c) => c.split(' ')[0]), ['Digest', 'Digest']);
  assert.is(fail(plain(a, basicHeader('root', 'wrong'))).reason, 'bad');
  assert.equal(failures, [], 'neither the right nor a wrong password is looked at or counted');
  assert.equal(fail(plain(a)).challenges.length, 2, 'no Basic challenge on plain HTTP');
  // Digest on plain HTTP is unaffected; Basic on TLS is taken.
  assert.equal(plain(a, digestHeader(a)), { ok: true, user: 'root', role: 'admin' });
  assert.equal(a.check(rq('GET', '/x', basicHeader('root', 'pass-admin'), '10.0.0.9', true)), { ok: true, user: 'root', role: 'admin' });

  const allowed = auth({ basic: true, basicOverHttp: true }, { onFailure: (f) => failures.push(f) });
  assert.equal(plain(allowed, basicHeader('root', 'pass-admin')), { ok: true, user: 'root', role: 'admin' });
  assert.is(fail(plain(allowed)).challenges[2], `Basic realm="${REALM}", charset="UTF-8"`);
  assert.is(fail(plain(allowed, basicHeader('root', 'wrong'))).reason, 'bad');
  assert.equal(failures.map((f) => [f.scheme, f.reason]), [['basic', 'wrong password']]);
});

t('an Authorization header for a 8 KiB URL is taken; one over MAX_AUTHORIZATION is not parsed', () => {
  const a = auth();
  const url = `/config/rest/cert/v1/certificates?q=${'x'.repeat(MAX_URL)}`.slice(0, MAX_URL);
  assert.is(url.length, MAX_URL);
  const header = digestHeader(a, { uri: url });
  assert.ok(header.length > MAX_URL && header.length <= MAX_AUTHORIZATION, String(header.length));
  assert.equal(a.check(rq('GET', url, header)), { ok: true, user: 'root', role: 'admin' });
  const padded = `${digestHeader(a, { uri: url })}, x="${'y'.repeat(MAX_AUTHORIZATION - header.length)}"`;
  assert.is(fail(a.check(rq('GET', url, padded))).reason, 'bad');
});

// A scheme of the kind a front-end brings (SPS's session cookie): one file, set per front-end.
class CookieScheme implements AuthScheme {
  readonly name = 'cookie';
  constructor(private readonly users: UserStore) {}
  challenges(): string[] {
    return ['Cookie realm="test"'];
  }
  attempt(req: SchemeInput): Attempt | 'absent' | 'malformed' {
    const m = /(?:^|; )session=([^;]*)/.exec(String(req.headers.cookie ?? ''));
    if (!m) return 'absent';
    const [name, secret] = m[1]!.split('.');
    if (!name || !secret) return 'malformed';
    return { name, verify: () => (secret === 'good' ? this.users.get(name) : undefined) };
  }
}

t('chain per front-end: a scheme sees cookies, the first that finds credentials decides, failures are throttled and reported', () => {
  const failures: FailedLogin[] = [];
  const throttle = new Throttle({ freeFailures: 0, baseDelayMs: 1, maxDelayMs: 1, lockAfter: 2, addressLockAfter: 100, windowSeconds: 60, lockSeconds: 60, maxTracked: 16 });
  const s = store();
  const a = auth({ basic: true }, { throttle, onFailure: (f) => failures.push(f) }, s);
  a.setChain('sps', [new CookieScheme(s), ...a.defaultChain]);
  const req = (url: string, headers: Record<string, string>) => ({ method: 'GET', url, headers, remote: '10.1.1.1', secure: true });
  assert.equal(a.check(req('/api/x', { cookie: 'a=b; session=op.good' })), { ok: true, user: 'op', role: 'operator' });
  // Not for this front-end's chain: cert.v1 keeps Digest and Basic only.
  assert.is(fail(a.check(req('/config/rest/cert/v1', { cookie: 'session=op.good' }))).reason, 'missing');
  assert.equal(fail(a.check(req('/api/x', {}))).challenges.map((c) => c.split(' ')[0]), ['Cookie', 'Digest', 'Digest', 'Basic']);
  // No cookie: the next scheme in the chain takes the request.
  assert.equal(a.check(req('/api/x', { authorization: basicHeader('root', 'pass-admin') })), { ok: true, user: 'root', role: 'admin' });
  assert.is(fail(a.check(req('/api/x', { cookie: 'session=broken' }))).reason, 'bad');
  assert.is(fail(a.check(req('/api/x', { cookie: 'session=op.bad' }))).reason, 'bad');
  assert.is(fail(a.check(req('/api/x', { cookie: 'session=op.bad' }))).reason, 'bad');
  const locked = a.check(req('/api/x', { cookie: 'session=op.good' }));
  assert.is(!locked.ok && locked.reason, 'locked', 'the throttle counts the cookie scheme\'s failures');
  assert.equal(failures.map((f) => [f.scheme, f.user, f.api, f.reason]), [
    ['cookie', 'op', 'sps', 'wrong password'], ['cookie', 'op', 'sps', 'wrong password'], ['cookie', 'op', 'sps', 'locked'],
  ]);
  assert.throws(() => a.setChain('soap', []), /empty/);
});

t('Authenticator refuses a configuration that cannot work', () => {
  const s = store();
  const base: AuthOptions = { realm: REALM, basic: false, digestAlgorithms: ['SHA-256'], nonceTtlSeconds: 60 };
  assert.throws(() => new Authenticator(s, { ...base, realm: 'other' }), /realm/);
  assert.throws(() => new Authenticator(s, { ...base, digestAlgorithms: [] }), /no authentication/);
  assert.throws(() => new Authenticator(s, { ...base, digestAlgorithms: ['SHA-1' as 'MD5'] }), /digestAlgorithms/);
  assert.throws(() => new Authenticator(s, { ...base, digestAlgorithms: ['MD5', 'MD5'] }), /each once/);
  assert.throws(() => new Authenticator(s, { ...base, nonceTtlSeconds: 0 }), /nonceTtl/);
});

// --- the users file ----------------------------------------------------------------------

t('firstRun creates the file once: admin, random password returned and printed by nobody', () => {
  const path = join(dir, 'first.json');
  const out: string[] = [];
  const [o, e, l] = [process.stdout.write, process.stderr.write, console.log];
  process.stdout.write = process.stderr.write = ((s: string) => { out.push(String(s)); return true; }) as typeof process.stdout.write;
  console.log = (...args: unknown[]) => { out.push(args.join(' ')); };
  let r1, r2;
  try {
    r1 = UserStore.firstRun(path, REALM);
    r2 = UserStore.firstRun(path, REALM);
  } finally {
    [process.stdout.write, process.stderr.write, console.log] = [o, e, l];
  }
  assert.equal(out, []);
  if (!r1.created) throw new Error('not created');
  assert.is(r1.user, 'admin');
  assert.match(r1.password, /^[A-Za-z0-9_-]{20,}$/);
  assert.equal(r2, { created: false });
  assert.is(statSync(path).mode & 0o777, 0o600);
  const text = readFileSync(path, 'utf8');
  assert.not.ok(text.includes(r1.password), 'no plaintext password in the file');
  assert.not.match(text, /password/i);
  const doc = JSON.parse(text);
  assert.equal(Object.keys(doc).sort(), ['realm', 'users']);
  assert.equal(Object.keys(doc.users[0]).sort(), ['ha1_md5', 'ha1_sha256', 'name', 'role']);
  assert.is(doc.users[0].ha1_sha256, H('SHA-256', `admin:${REALM}:${r1.password}`));
  const a = auth({ basic: true }, {}, UserStore.load(path));
  assert.equal(a.check(rq('GET', '/x', basicHeader('admin', r1.password))), { ok: true, user: 'admin', role: 'admin' });
  // Two runs give different passwords.
  const again = UserStore.firstRun(join(dir, 'first2.json'), REALM);
  assert.ok(again.created && again.password !== r1.password);
});

t('add, setPassword, remove: validated, persisted, effective at once', () => {
  const s = store();
  const a = auth({ basic: true }, {}, s);
  for (const name of ['', 'a'.repeat(65), 'a b', 'a:b', 'é', '__proto__/']) assert.throws(() => s.add(name, 'viewer', 'p'), /name/, name);
  assert.throws(() => s.add('x', 'root' as 'admin', 'p'), /role/);
  assert.throws(() => s.add('root', 'viewer', 'p'), /exists/);
  assert.throws(() => s.add('x', 'viewer', ''), /password/);
  assert.throws(() => s.setPassword('nobody', 'p'), /no user/);
  assert.throws(() => s.remove('nobody'), /no user/);
  s.add('a'.repeat(64), 'viewer', 'p');

  s.setPassword('op', 'new pass');
  assert.is(fail(a.check(rq('GET', '/x', basicHeader('op', 'pass-op')))).reason, 'bad');
  assert.equal(a.check(rq('GET', '/x', digestHeader(a, { user: 'op', pass: 'new pass' }))), { ok: true, user: 'op', role: 'operator' });
  s.remove('op');
  assert.is(fail(a.check(rq('GET', '/x', digestHeader(a, { user: 'op', pass: 'new pass' })))).reason, 'bad');

  const reloaded = UserStore.load(s.path);
  assert.is(reloaded.get('op'), undefined);
  assert.equal(reloaded.get('root'), s.get('root'));
  assert.is(statSync(s.path).mode & 0o777, 0o600);
});

t('load refuses a readable-by-others or malformed file', () => {
  const s = store();
  chmodSync(s.path, 0o644);
  assert.throws(() => UserStore.load(s.path), /0600/);
  const cases = [
    'not json', '[]', '{"users":[]}', `{"realm":"a\\"b","users":[]}`, `{"realm":"${REALM}"}`,
    `{"realm":"${REALM}","users":[{"name":"x","role":"admin","ha1_md5":"00","ha1_sha256":"00"}]}`,
    `{"realm":"${REALM}","users":[{"name":"x y","role":"admin","ha1_md5":"${'0'.repeat(32)}","ha1_sha256":"${'0'.repeat(64)}"}]}`,
    `{"realm":"${REALM}","users":[${`{"name":"x","role":"admin","ha1_md5":"${'0'.repeat(32)}","ha1_sha256":"${'0'.repeat(64)}"}`.repeat(2).replace('}{', '},{')}]}`,
  ];
  for (const c of cases) {
    writeFileSync(s.path, c, { mode: 0o600 });
    chmodSync(s.path, 0o600);
    assert.throws(() => UserStore.load(s.path), /users file/, c);
  }
});

// --- interop with curl -------------------------------------------------------------------

async function serve(a: Authenticator): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const r = a.check(rq(req.method ?? '', req.url ?? '', req.headers.authorization));
    if (r.ok) {
      // Echo which scheme/algorithm the client chose.
      const how = /^Basic /i.test(req.headers.authorization ?? '') ? 'Basic' : /algorithm=([\w-]+)/.exec(req.headers.authorization ?? '')?.[1];
      res.end(`${r.user}/${r.role}/${how}`);
    } else {
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', r.challenges);
      res.end(r.reason);
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function curl(url: string, args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '-o', '-', '-w', ' %{http_code}', ...args, url], { timeout: 10000 });
  return stdout;
}

// curl answers the first Digest challenge, so with both offered it uses the first one.
t('curl --digest: MD5, SHA-256, both offered, wrong password; curl --basic', async () => {
  const cases: [Partial<AuthOptions>, string[], string][] = [
    [{ digestAlgorithms: ['MD5'] }, ['--digest', '-u', 'op:pass-op'], 'op/operator/MD5 200'],
    [{ digestAlgorithms: ['SHA-256'] }, ['--digest', '-u', 'op:pass-op'], 'op/operator/SHA-256 200'],
    [{}, ['--digest', '-u', 'root:pass-admin'], 'root/admin/MD5 200'],
    [{ digestAlgorithms: ['SHA-256', 'MD5'] }, ['--digest', '-u', 'root:pass-admin'], 'root/admin/SHA-256 200'],
    [{}, ['--digest', '-u', 'root:wrong'], 'bad 401'],
    [{ basic: true }, ['--basic', '-u', 'view.er_1:pass viewer: with colon'], 'view.er_1/viewer/Basic 200'],
    [{ basic: true }, ['--anyauth', '-u', 'root:pass-admin'], 'root/admin/MD5 200'],
    [{ basic: false }, ['--basic', '-u', 'root:pass-admin'], 'bad 401'],
  ];
  for (const [opts, args, want] of cases) {
    const { server, url } = await serve(auth(opts));
    try {
      assert.is(await curl(`${url}/axis-cgi/x.cgi?a=1&b=%20`, args), want, `${JSON.stringify(opts)} ${args.join(' ')}`);
    } finally {
      server.close();
    }
  }
});

t.run();
