// The WS-UsernameToken scheme in the Authenticator's SOAP chain, with a fake sealer (the
// "sealed" blob is the password itself; keystored's real seal is test/keystored/
// password-seal.test.ts). Tokens are computed here, independently of the scheme.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseXml } from '../../src/certd/api/soap-xml';
import { Authenticator, type AuthResult } from '../../src/certd/auth/authenticator';
import type { FailedLogin } from '../../src/certd/auth/failure-log';
import { UserStore } from '../../src/certd/auth/users';
import { WsseScheme, type DigestChecker } from '../../src/certd/auth/wsse-scheme';

const REALM = 'camera@certd';
const T0 = Date.parse('2026-11-29T23:00:00Z');
const DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

const fakeSealer: DigestChecker & { calls: number } = {
  calls: 0,
  async checkDigest(sealed, nonce, created, digest) {
    this.calls++;
    const want = createHash('sha1').update(Buffer.concat([Buffer.from(nonce), Buffer.from(created), Buffer.from(sealed)])).digest();
    return want.equals(Buffer.from(digest));
  },
};

interface Tok { user?: string; password?: string; nonce?: Buffer | null; created?: string | null; type?: string; digest?: string }

function envelope(t: Tok = {}): string {
  const nonce = t.nonce === undefined ? randomBytes(16) : t.nonce;
  const created = t.created === undefined ? new Date(T0).toISOString() : t.created;
  const digest = t.digest ?? createHash('sha1').update(Buffer.concat([nonce ?? Buffer.alloc(0), Buffer.from(created ?? ''), Buffer.from(t.password ?? 'pass-admin')])).digest('base64');
  return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>
<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
<wsse:UsernameToken>${t.user === '' ? '' : `<wsse:Username>${t.user ?? 'root'}</wsse:Username>`}<wsse:Password Type="${t.type ?? DIGEST}">${digest}</wsse:Password>
${nonce === null ? '' : `<wsse:Nonce>${nonce.toString('base64')}</wsse:Nonce>`}${created === null ? '' : `<wsu:Created>${created}</wsu:Created>`}</wsse:UsernameToken></wsse:Security></s:Header>
<s:Body><GetCertificates xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`;
}

let dir: string;
let now = T0;
let failures: FailedLogin[] = [];

function setup(): Authenticator {
  const path = join(dir, `users-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(path, JSON.stringify({ realm: REALM, users: [] }), { mode: 0o600 });
  const users = UserStore.load(path);
  users.add('root', 'admin', 'pass-admin', Buffer.from('pass-admin').toString('base64'));
  users.add('old', 'admin', 'pass-old'); // made before sealing: no UsernameToken
  const a = new Authenticator(users, { realm: REALM, basic: false, digestAlgorithms: ['MD5'], nonceTtlSeconds: 60 }, { onFailure: (f) => failures.push(f) });
  a.setChain('soap', [...a.defaultChain, new WsseScheme(users, fakeSealer, { now: () => now, maxNonces: 3, dummy: Buffer.from('random').toString('base64') })]);
  return a;
}

const call = (a: Authenticator, body: string): Promise<AuthResult> =>
  a.authenticate({ method: 'POST', url: '/vapix/services', headers: {}, remote: '192.0.2.7', secure: false, body: parseXml(body) });

const t = suite('WS-UsernameToken scheme');
t.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsse-'));
});
t.after(() => rmSync(dir, { recursive: true, force: true }));
t.before.each(() => {
  now = T0;
  failures = [];
  fakeSealer.calls = 0;
});

t('a right PasswordDigest is the user with its role', async () => {
  assert.equal(await call(setup(), envelope()), { ok: true, user: 'root', role: 'admin' });
});

t('Created up to 5 minutes off either way is taken', async () => {
  const a = setup();
  now = T0 + 5 * 60_000 - 1000;
  assert.ok((await call(a, envelope())).ok);
  now = T0 - 5 * 60_000 + 1000;
  assert.ok((await call(a, envelope())).ok);
});

t('a wrong password, a Created too old or in the future are refused and counted', async () => {
  const a = setup();
  const wrong = await call(a, envelope({ password: 'wrong' }));
  assert.equal([wrong.ok, (wrong as { reason: string }).reason], [false, 'bad']);
  now = T0 + 5 * 60_000 + 1000;
  assert.is((await call(a, envelope())).ok, false, 'too old');
  now = T0 - 5 * 60_000 - 1000;
  assert.is((await call(a, envelope())).ok, false, 'in the future');
  assert.equal(failures.map((f) => [f.scheme, f.reason, f.user]), [['wsse', 'wrong password', 'root'], ['wsse', 'wrong password', 'root'], ['wsse', 'wrong password', 'root']]);
  assert.is(fakeSealer.calls, 1, 'a stale Created is refused before keystored is asked');
});

t('a nonce used twice is refused, also when both arrive together; another user may use it', async () => {
  const a = setup();
  const nonce = randomBytes(16);
  const body = envelope({ nonce });
  assert.ok((await call(a, body)).ok);
  assert.is((await call(a, body)).ok, false, 'replayed');
  const again = envelope({ nonce: randomBytes(16) });
  const both = await Promise.all([call(a, again), call(a, again)]);
  assert.equal(both.map((r) => r.ok).sort(), [false, true]);
  assert.is(failures.length, 2);
});

t('the nonce table is bounded: full of live nonces it refuses, and expired ones make room', async () => {
  const a = setup(); // maxNonces 3
  for (let i = 0; i < 3; i++) assert.ok((await call(a, envelope())).ok);
  assert.is((await call(a, envelope())).ok, false, 'full: refused rather than forgetting a live nonce');
  now = T0 + 5 * 60_000 + 1;
  assert.ok((await call(a, envelope({ created: new Date(now).toISOString() }))).ok, 'the old ones left the window');
});

t('missing parts, PasswordText and bad Base64 are malformed: refused without asking keystored', async () => {
  const a = setup();
  for (const tok of [{ user: '' }, { nonce: null }, { created: null }, { created: 'yesterday' }, { type: TEXT, digest: 'pass-admin' }, { digest: 'not base64!' }, { digest: 'AAAA' }]) {
    const r = await call(a, envelope(tok));
    assert.equal([r.ok, (r as { reason: string }).reason], [false, 'bad'], JSON.stringify(tok));
  }
  assert.is(fakeSealer.calls, 0);
});

t('an unknown user, or one without a sealed password, is refused and counted', async () => {
  const a = setup();
  assert.is((await call(a, envelope({ user: 'nobody' }))).ok, false);
  assert.is((await call(a, envelope({ user: 'old', password: 'pass-old' }))).ok, false);
  assert.equal(failures.map((f) => f.reason), ['unknown user', 'wrong password']);
  assert.is(fakeSealer.calls, 2, 'keystored is asked all the same (a dummy blob): the refusal takes as long as a wrong password');
});

t('no token in the header: absent, the chain answers missing with its challenges', async () => {
  const a = setup();
  const r = await call(a, '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>');
  assert.equal([r.ok, (r as { reason: string }).reason], [false, 'missing']);
  assert.ok((r as { challenges: string[] }).challenges[0]!.startsWith('Digest '));
});

t('check() refuses a chain that verifies asynchronously instead of answering wrongly', () => {
  const a = setup();
  assert.throws(() => a.check({ method: 'POST', url: '/vapix/services', headers: {}, remote: '', secure: false, body: parseXml(envelope()) }), /authenticate\(\)/);
});

t.run();
