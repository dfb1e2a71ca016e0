// Authentication as real clients do it, against the real daemons (Basic not allowed on this
// plain-HTTP listener, as certd's default): curl --digest and --anyauth, python3 requests'
// HTTPDigestAuth, and @mreal/digest-auth used as the Node-RED Axis integration uses it
// (only the first challenge, always MD5, the uri without the query). Basic on plain HTTP
// and behind the front web server; long URLs get the API's 414, not 401 or an empty 431.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { ClientDigestAuth } from '@mreal/digest-auth';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_URL } from '../../src/certd/http/app';
import { MAX_HEAD } from '../../src/certd/http/server';
import { Client, raw, type Reply } from './client';
import { API, PASSWORDS, startService, type Service } from './service';

const run = promisify(execFile);
const t = suite('auth with real clients');
let svc: Service;
let base: string;
t.before(async () => {
  svc = await startService({ basicOverHttp: false });
  base = `http://127.0.0.1:${svc.port}`;
});
t.after(async () => {
  await svc?.stop();
});

const QUERY_PATH = `${API}/certificates?a=1&b=%20x`;
const create = (alias: string) => JSON.stringify({ data: { alias, subject: `CN=${alias}` } });
const basic = (role: keyof typeof PASSWORDS) => `Basic ${Buffer.from(`${role}:${PASSWORDS[role]}`).toString('base64')}`;
const loginFailures = () => svc.logs().split('\n').filter((l) => l.includes('"login failed')).length;

function success(r: { status: number; text: string }, status: number, label: string): void {
  assert.is(r.status, status, `${label}: ${r.status} ${r.text}`);
  assert.is(JSON.parse(r.text).status, 'success', label);
}

/** curl's answer (body and status) and the Authorization headers it sent (from -v). */
async function curl(args: string[], path: string): Promise<{ status: number; text: string; sent: string[] }> {
  const { stdout, stderr } = await run('curl', ['-sS', '-v', '-o', '-', '-w', '\n%{http_code}', ...args, `${base}${path}`], { timeout: 30_000 });
  const cut = stdout.lastIndexOf('\n');
  const sent = stderr.split('\n').filter((l) => /^> authorization:/i.test(l)).map((l) => l.replace(/^> authorization: /i, '').trim());
  return { status: Number(stdout.slice(cut + 1)), text: stdout.slice(0, cut), sent };
}

t('curl --digest: GET with a query and POST with a body, answering the first (MD5) challenge', async () => {
  const get = await curl(['--digest', '-u', `viewer:${PASSWORDS.viewer}`], QUERY_PATH);
  success(get, 200, 'GET');
  assert.is(get.sent.length, 1, get.sent.join('\n'));
  assert.match(get.sent[0]!, /algorithm=MD5/, 'curl takes the first challenge: MD5 comes first');
  assert.match(get.sent[0]!, `uri="${QUERY_PATH}"`);
  const post = await curl(['--digest', '-u', `admin:${PASSWORDS.admin}`, '-H', 'content-type: application/json', '-d', create('curl-digest')], `${API}/create_certificate`);
  success(post, 200, 'POST');
  assert.match(post.sent[0]!, /algorithm=MD5/);
  const wrong = await curl(['--digest', '-u', 'admin:wrong-pass-9a1c'], QUERY_PATH);
  assert.is(wrong.status, 401, wrong.text);
});

t('curl --anyauth: picks Digest (Basic is not offered on plain HTTP), GET with a query and POST with a body', async () => {
  const get = await curl(['--anyauth', '-u', `viewer:${PASSWORDS.viewer}`], QUERY_PATH);
  success(get, 200, 'GET');
  assert.match(get.sent[0]!, /^Digest /);
  const post = await curl(['--anyauth', '-u', `admin:${PASSWORDS.admin}`, '-H', 'content-type: application/json', '-d', create('curl-anyauth')], `${API}/create_certificate`);
  success(post, 200, 'POST');
});

t('python3 requests HTTPDigestAuth: GET with a query, POST with a body', async () => {
  const script = [
    'import sys, requests',
    'from requests.auth import HTTPDigestAuth',
    'base, user, pw, path, body = sys.argv[1:6]',
    'a = HTTPDigestAuth(user, pw)',
    'g = requests.get(base + path, auth=a, timeout=30)',
    'p = requests.post(base + "/config/rest/cert/v1/create_certificate", data=body, headers={"content-type": "application/json"}, auth=a, timeout=30)',
    'print(g.status_code, p.status_code, g.request.headers.get("Authorization", "").split(",")[0])',
  ].join('\n');
  const { stdout } = await run('python3', ['-c', script, base, 'admin', PASSWORDS.admin, QUERY_PATH, create('python-requests')], { timeout: 60_000 });
  assert.is(stdout.trim(), '200 200 Digest username="admin"');
  const wrong = await run('python3', ['-c', script, base, 'admin', 'wrong-pass-3e7d', QUERY_PATH, create('python-wrong')], { timeout: 60_000 });
  assert.match(wrong.stdout, /^401 401 /);
});

/**
 * The Node-RED Axis integration's client: on 401 it hands node:http's WWW-Authenticate
 * (several challenges joined by ", ") to ClientDigestAuth.analyze, which keeps the first
 * challenge's parameters, and answers MD5 with nc=1 over the path without the query.
 */
async function mreal(method: string, path: string, body: string | undefined, role: keyof typeof PASSWORDS): Promise<Reply> {
  const first = await raw(svc.port, method, path, body, {});
  if (first.status !== 401) return first;
  const joined = (first.headers['www-authenticate'] as string[]).join(', ');
  const incoming = ClientDigestAuth.analyze(joined);
  const digest = ClientDigestAuth.generateProtectionAuth(incoming, role, PASSWORDS[role], { method, uri: new URL(path, base).pathname, counter: 1 });
  return raw(svc.port, method, path, body, { authorization: digest.raw });
}

t('@mreal/digest-auth as the Node-RED Axis integration: first challenge only, MD5, uri without the query', async () => {
  success(await mreal('GET', QUERY_PATH, undefined, 'viewer'), 200, 'GET with a query');
  success(await mreal('GET', `${API}/keystores`, undefined, 'viewer'), 200, 'GET');
  success(await mreal('POST', `${API}/create_certificate`, create('node-red'), 'admin'), 200, 'POST');
  success(await mreal('PATCH', `${API}/certificates/node-red?strict=true`, JSON.stringify({ data: {} }), 'admin'), 200, 'PATCH with a query');
});

t('Basic on plain HTTP: refused with only Digest challenges, not counted as a failed login', async () => {
  const before = loginFailures();
  for (const role of ['admin', 'viewer'] as const) {
    const r = await raw(svc.port, 'GET', `${API}/keystores`, undefined, { authorization: basic(role) });
    assert.is(r.status, 401, r.text);
    assert.is(r.json.error.code, 14);
    const www = r.headers['www-authenticate'] as string[];
    assert.equal(www.map((c) => c.split(' ')[0]), ['Digest', 'Digest'], JSON.stringify(www));
  }
  assert.is(loginFailures(), before, 'no login failure logged');
});

t('Basic behind the front web server: X-Forwarded-Proto https from 127.0.0.1 is believed, from 127.0.0.2 not', async () => {
  const path = `${API}/keystores`;
  const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.7' };
  const anon = await raw(svc.port, 'GET', path, undefined, { 'x-forwarded-proto': 'https' });
  assert.ok((anon.headers['www-authenticate'] as string[]).some((c) => c.startsWith('Basic ')), 'Basic offered over TLS');
  success(await raw(svc.port, 'GET', path, undefined, { ...proxied, authorization: basic('viewer') }), 200, 'from the proxy');
  // A client's forged value first, the proxy's appended "http" last: plain HTTP.
  const appended = await raw(svc.port, 'GET', path, undefined, { 'x-forwarded-proto': 'https, http', authorization: basic('viewer') });
  assert.is(appended.status, 401, appended.text);
  const other = await raw(svc.port, 'GET', path, undefined, { ...proxied, authorization: basic('viewer') }, '127.0.0.2');
  assert.is(other.status, 401, other.text);
  assert.ok(!(other.headers['www-authenticate'] as string[]).some((c) => c.startsWith('Basic ')));
});

/** Sends a request head as written and reads the whole answer (the server closes). */
function rawHead(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(svc.port, '127.0.0.1');
    let got = '';
    s.on('data', (c) => (got += c.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(got) : reject(e)));
    s.end(head);
  });
}

t('URL length: 8 KiB with a Digest header that repeats it is taken; longer is 414 in the API envelope, before authentication', async () => {
  const url = (n: number, prefix = `${API}/certificates?q=`) => prefix + 'x'.repeat(n - prefix.length);
  const exact = url(MAX_URL);
  assert.is(exact.length, MAX_URL);
  success(await mreal('GET', exact, undefined, 'viewer'), 200, '8 KiB URL, MD5 without the query');
  success(await new Client(svc.port, { user: 'viewer', password: PASSWORDS.viewer, scheme: 'digest-sha256' }).get(exact), 200, '8 KiB URL, SHA-256 with the query');

  for (const [path, label] of [[url(MAX_URL + 1), 'cert.v1'], [url(MAX_URL + 1, '/certd/v1/entries?q='), 'certd.v1'], [url(20_000), '20 KB']] as const) {
    const r = await raw(svc.port, 'GET', path, undefined, { authorization: basic('admin') });
    assert.is(r.status, 414, `${label}: ${r.status}`);
    assert.equal(r.json, { status: 'error', error: { code: 12, message: `URL over ${MAX_URL} bytes` } }, label);
  }
  // Over the whole head's limit: node:http's parser stops; the answer is still the API's.
  const huge = await rawHead(`GET ${url(MAX_HEAD + 1000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 414 /);
  assert.ok(huge.endsWith(JSON.stringify({ status: 'error', error: { code: 12, message: `URL over ${MAX_URL} bytes` } })), huge);
  const fat = await rawHead(`GET ${API} HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 40 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}\r\n`).join('')}\r\n`);
  assert.match(fat, /^HTTP\/1\.1 431 /);
  assert.ok(fat.endsWith(JSON.stringify({ status: 'error', error: { code: 12, message: `request head over ${MAX_HEAD} bytes` } })), fat);
});

t.run();
