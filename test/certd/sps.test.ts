// The SPS-style REST (/api/authentication, …) against the real daemons, through clients that
// behave as the published SPS clients do (sps-client.ts): the Java one that sends Basic only
// after a 401 and keeps only the first Set-Cookie, the .NET one that sends Basic every time,
// curl with a cookie jar.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PASSWORDS, startService, type Service } from './service';
import { javaCookie, send, SpsClient, type Flavour, type SpsReply } from './sps-client';

const t = suite('SPS REST');
let svc: Service;

t.before(async () => {
  svc = await startService({ basicOverHttp: true });
});
t.after(async () => {
  await svc?.stop();
});

const client = (flavour: Flavour, role: keyof typeof PASSWORDS = 'admin', password: string = PASSWORDS[role]) => new SpsClient(svc.port, flavour, role, password);

function assertError(r: SpsReply, status: number, type: string): void {
  assert.is(r.status, status, r.text);
  assert.is(r.headers['content-type'], 'application/json');
  assert.is(r.json?.error?.type, type, r.text);
  assert.type(r.json.error.message, 'string');
  assert.type(r.json.error.details, 'object');
}

t('login as the Java client does: 401 Unauthenticated with a Basic challenge, then Basic gives one session_id cookie in the form it keeps', async () => {
  const bare = await send(svc.port, 'GET', '/api/authentication', undefined, {});
  assertError(bare, 401, 'Unauthenticated');
  assert.equal(bare.headers['www-authenticate'], ['Basic realm="certd-test", charset="UTF-8"']);
  assert.is(bare.json.error.details.path, '/api/authentication');

  const java = client('java');
  const before = Date.now();
  const r = await java.login();
  assert.is(r.status, 200, r.text);
  assert.is(r.json.key, 'authentication');
  assert.is(r.json.meta.href, '/api/authentication');
  assert.is(r.setCookies.length, 1);
  const line = r.setCookies[0]!;
  assert.match(line, /^session_id=[0-9a-f]{40}; /);
  assert.match(line, /; Path=\/(;|$)/);
  assert.match(line, /; HttpOnly(;|$)/);
  assert.not.match(line, /Secure/); // plain HTTP here
  const kept = javaCookie(r.setCookies)!;
  assert.ok(kept, `the Java client drops ${line}`);
  assert.is(kept.path, '/');
  // Valid for 20 minutes from now (the form has whole seconds).
  const life = kept.expires.getTime() - before;
  assert.ok(life > 19 * 60_000 && life <= 20 * 60_000 + 1000, String(life));
  assert.is(java.cookie, kept.value);
});

t('the cookie alone authenticates; without it the same call is 401 Unauthenticated; a bad or unknown cookie is no login', async () => {
  const java = client('java');
  await java.login();
  const cookie = java.cookie!;
  // A path past authentication: 404 in SPS form proves the cookie was taken.
  const withCookie = await send(svc.port, 'GET', '/api/configuration/nothing', undefined, { cookie: `other=1; session_id=${cookie}` });
  assertError(withCookie, 404, 'NotFound');
  assertError(await send(svc.port, 'GET', '/api/configuration/nothing', undefined, {}), 401, 'Unauthenticated');
  assertError(await send(svc.port, 'GET', '/api/configuration/nothing', undefined, { cookie: `session_id=${'0'.repeat(40)}` }), 401, 'Unauthenticated');
  assertError(await send(svc.port, 'GET', '/api/configuration/nothing', undefined, { cookie: 'session_id=xyz' }), 401, 'Unauthenticated');
  // A call with the cookie renews it: one Set-Cookie with the same id and a later expiry.
  const again = await send(svc.port, 'GET', '/api/authentication', undefined, { cookie: `session_id=${cookie}` });
  assert.is(again.status, 200);
  assert.is(javaCookie(again.setCookies)?.value, cookie);
});

t('wrong credentials: 401 AuthenticationFailure, no cookie; the failure is audited under the sps api', async () => {
  const wrong = client('java', 'admin', 'not-the-password');
  const r = await wrong.login();
  assertError(r, 401, 'AuthenticationFailure');
  assert.is(r.setCookies.length, 0);
  assert.is(wrong.cookie, undefined);
  assert.not.match(r.text, /not-the-password/);
  const audit = await svc.as('admin').get('/certd/v1/audit');
  assert.ok(JSON.stringify(audit.json).includes('"sps"'), audit.text.slice(0, 500));
});

t('logout ends the session: the cookie is refused after it, and a cookie of another session stays good', async () => {
  const a = client('curl');
  const b = client('curl');
  await a.login();
  await b.login();
  assert.is.not(a.cookie, b.cookie);
  const cookieA = a.cookie!;
  const out = await a.call('DELETE', '/api/authentication');
  assert.is(out.status, 200, out.text);
  assertError(await send(svc.port, 'GET', '/api/authentication', undefined, { cookie: `session_id=${cookieA}` }), 401, 'Unauthenticated');
  assert.is((await b.call('GET', '/api/authentication')).status, 200);
});

t('a client that sends Basic on every request (SafeguardDotNet) works, with or without its cookie', async () => {
  const net = client('dotnet');
  assert.is((await net.login()).status, 200);
  assert.ok(net.cookie);
  assertError(await net.call('GET', '/api/configuration/nothing'), 404, 'NotFound');
  net.cookie = undefined;
  assertError(await net.call('GET', '/api/configuration/nothing'), 404, 'NotFound');
});

t('login_methods answers anyone; other SPS paths are errors in SPS form (405 MethodNotAllowed, 403 for a role too low)', async () => {
  const r = await send(svc.port, 'GET', '/api/authentication/login_methods', undefined, {});
  assert.is(r.status, 200, r.text);
  assert.is(r.json.key, 'login_methods');
  const curl = client('curl');
  await curl.login();
  const m = await curl.call('PUT', '/api/authentication', {});
  assertError(m, 405, 'MethodNotAllowed');
  assert.match(m.json.error.message, /The method PUT is not allowed for this node/);
});

t.run();

const plain = suite('SPS REST without auth.basic_over_http');
let svc2: Service;
plain.before(async () => {
  svc2 = await startService({ basicOverHttp: false });
});
plain.after(async () => {
  await svc2?.stop();
});
plain('plain HTTP refuses the Basic login (401 with no Basic challenge, no cookie)', async () => {
  const r = await new SpsClient(svc2.port, 'dotnet', 'admin', PASSWORDS.admin).login();
  assert.is(r.status, 401, r.text);
  assert.is(r.json.error.type, 'AuthenticationFailure');
  assert.equal(r.headers['www-authenticate'], []);
  assert.is(r.setCookies.length, 0);
});
plain.run();

const tls = suite('SPS REST over TLS');
const dir = mkdtempSync(join(tmpdir(), 'certd-sps-tls-'));
let svc3: Service;
tls.before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'https.key'), '-out', join(dir, 'https.pem'),
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2'], { stdio: 'pipe' });
  svc3 = await startService({ basicOverHttp: false, certd: { tls: { cert_file: join(dir, 'https.pem'), key_file: join(dir, 'https.key') } } });
});
tls.after(async () => {
  await svc3?.stop();
});
tls('over TLS Basic is taken without the option and the cookie is Secure', async () => {
  const java = new SpsClient(svc3.port, 'java', 'admin', PASSWORDS.admin, readFileSync(join(dir, 'https.pem')));
  const r = await java.login();
  assert.is(r.status, 200, r.text);
  assert.match(r.setCookies[0]!, /; Secure$/);
  assert.ok(java.cookie);
  assert.is((await java.call('GET', '/api/authentication')).status, 200);
});
tls.run();
