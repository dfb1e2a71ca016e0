// The https applier against real nginx (Debian's, as root, in a temp prefix on a free port),
// through the applier conformance suite: the leaf nginx serves is read by a TLS handshake.
// The consumer "refuses" for real: the key keystored hands nginx is another key than the
// certificate's, so `nginx -t` fails on the mismatch and the previous certificate stays.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NginxApplier, servedLeaf } from '../../src/certd/appliers/nginx';
import { KeystoredServiceKeys } from '../../src/certd/appliers/service-keys';
import type { ServiceKeys } from '../../src/certd/appliers/port';
import { freePort } from './pebble';
import { stopAtExit } from './nginx-masters';
import { applierConformance, refusableKeys } from './applier-conformance';
import { API, PASSWORDS, startService, type Service } from './service';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'nginx']);

let port = 0;
applierConformance('nginx', 'https', async (dir, keystores) => {
  port ||= await freePort();
  const keys = refusableKeys(new KeystoredServiceKeys(keystores));
  const applier = new NginxApplier({
    nginx: '/usr/sbin/nginx', prefix: dir, host: '127.0.0.1', port, user: 'www-data', owner: { uid: 33, gid: 33 },
    upstream: { host: '127.0.0.1', port: 9 },
  }, keys.keys);
  stopAtExit(applier);
  return {
    applier,
    inUse: () => servedLeaf('127.0.0.1', port),
    breakConsumer: () => { keys.refusing = true; },
    repairConsumer: () => { keys.refusing = false; },
  };
});

// A token key (SE0: a SoftHSM2 token) served by nginx through the pkcs11 engine behind a
// p11-kit server, with workers as www-data; then a SOFTWARE0 key file, then the token again.
// Before the socket was made connectable by the workers, their first handshake hung forever.
const token = suite('nginx with an SE0 (SoftHSM2) token key');
const tk = { dir: '', port: 0, applier: undefined as NginxApplier | undefined, certs: new Map<string, string>(), files: new Map<string, string>(), env: process.env.SOFTHSM2_CONF };
const TOKEN_URI = 'pkcs11:token=web;object=web-key;type=private';
/** What keystored's service key folder holds, as it keeps it: a key opened stays until a release drops it. */
const held = new Set<string>();
const tokenKeys: ServiceKeys = {
  open: async (_service, key) => {
    held.add(`${key.keystore}/${key.key_id}`);
    return key.keystore === 'SE0'
      ? { kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', uri: TOKEN_URI, pin_file: join(tk.dir, 'pin') }
      : { kind: 'file', path: tk.files.get(key.key_id)! };
  },
  close: async (_service, keep) => {
    for (const k of [...held]) if (k !== (keep && `${keep.keystore}/${keep.key_id}`)) held.delete(k);
  },
};
const selfSigned = (key: string, cn: string) => execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-subj', `/CN=${cn}`, '-days', '2']).toString();
const sha = (pem: string) => createHash('sha256').update(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex');

token.before(async () => {
  execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'p11-kit', 'softhsm2', 'libengine-pkcs11-openssl']);
  tk.dir = mkdtempSync(join(tmpdir(), 'certd-nginx-token-'));
  // The workers (www-data) connect to the server's socket under the prefix.
  chmodSync(tk.dir, 0o711);
  tk.port = await freePort();
  mkdirSync(join(tk.dir, 'tokens'));
  writeFileSync(join(tk.dir, 'softhsm2.conf'), `directories.tokendir = ${join(tk.dir, 'tokens')}\nobjectstore.backend = file\n`);
  // The p11-kit server certd starts inherits certd's environment, as keystored's module does.
  process.env.SOFTHSM2_CONF = join(tk.dir, 'softhsm2.conf');
  // As keystored writes it: every byte is the PIN.
  writeFileSync(join(tk.dir, 'pin'), '4711-web', { mode: 0o600 });
  for (const name of ['token', 'soft']) {
    const key = join(tk.dir, `${name}.key`);
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    tk.files.set(name, key);
    tk.certs.set(name, selfSigned(key, `${name}.camera.test`));
  }
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'web', '--pin', '4711-web', '--so-pin', '0000-web'], { stdio: 'pipe' });
  execFileSync('softhsm2-util', ['--import', tk.files.get('token')!, '--token', 'web', '--label', 'web-key', '--id', '01', '--pin', '4711-web'], { stdio: 'pipe' });
  tk.applier = new NginxApplier({
    nginx: '/usr/sbin/nginx', prefix: join(tk.dir, 'nginx'), host: '127.0.0.1', port: tk.port, user: 'www-data', owner: { uid: 33, gid: 33 },
    upstream: { host: '127.0.0.1', port: 9 },
  }, tokenKeys);
  stopAtExit(tk.applier);
});
token.after(async () => {
  await tk.applier?.stop();
  if (tk.env === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = tk.env;
});

const bind = (name: 'token' | 'soft') => tk.applier!.apply({
  name: 'https', certificate: tk.certs.get(name), key: { keystore: name === 'token' ? 'SE0' : 'SOFTWARE0', key_id: name }, ca: [], settings: {},
});

token('SE0 key bound: the workers (www-data) complete handshakes signed by the token; SOFTWARE0 and back', async () => {
  await bind('token');
  const want = sha(tk.certs.get('token')!);
  for (let i = 0; i < 20; i++) assert.is(await servedLeaf('127.0.0.1', tk.port), want, `handshake ${i}`);
  const include = readFileSync(join(tk.dir, 'nginx', 'conf', 'tls.conf'), 'utf8');
  assert.ok(include.includes(`ssl_certificate_key "engine:pkcs11:${TOKEN_URI};pin-source=file:`), include);
  assert.not.ok(include.includes('4711'), 'no PIN in the config');
  const sock = readdirSync(join(tk.dir, 'nginx', 'p11')).find((f) => f.endsWith('.sock'))!;
  const st = statSync(join(tk.dir, 'nginx', 'p11', sock));
  assert.equal([st.uid, st.gid, st.mode & 0o777], [0, 33, 0o660], 'root and the workers may connect');
  await bind('soft');
  assert.is(await servedLeaf('127.0.0.1', tk.port), sha(tk.certs.get('soft')!));
  await bind('token');
  for (let i = 0; i < 10; i++) assert.is(await servedLeaf('127.0.0.1', tk.port), want, `handshake ${i} after the swap back`);
});

token('an apply refused after keystored wrote the new key (a key path nginx cannot be given): the new key is released, the one in use kept', async () => {
  tk.files.set('quoted', join(tk.dir, 'a"b.key'));
  const e = await tk.applier!.apply({ name: 'https', certificate: tk.certs.get('soft'), key: { keystore: 'SOFTWARE0', key_id: 'quoted' }, ca: [], settings: {} }).catch((x: unknown) => x);
  assert.instance(e, Error);
  assert.match((e as Error).message, /cannot be given the path/);
  assert.equal([...held], ['SE0/token']);
  assert.is(await servedLeaf('127.0.0.1', tk.port), sha(tk.certs.get('token')!));
});

token('stop: nginx and its p11-kit server are gone', async () => {
  const pidFile = readdirSync(join(tk.dir, 'nginx', 'p11')).find((f) => f.endsWith('.pid'))!;
  const pid = Number(readFileSync(join(tk.dir, 'nginx', 'p11', pidFile), 'utf8'));
  await tk.applier!.stop();
  assert.is(await servedLeaf('127.0.0.1', tk.port, 1000), null);
  await new Promise((r) => setTimeout(r, 200));
  assert.throws(() => process.kill(pid, 0), 'the p11-kit server was stopped');
});

token.run();

// certd configured with `https`: nginx started by the default certificate's binding, the
// API reached through it (Basic accepted: nginx marks the request as TLS), the binding
// moved through certd/v1, and a change nginx refuses leaves the old certificate served.
const e2e = suite('https through nginx, end to end');
let svc: Service;
let httpsPort = 0;
let prefix = '';

/** A request through nginx with Basic (certd refuses Basic on plain HTTP). */
function overTls(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request({
      host: '127.0.0.1', port: httpsPort, method, path, rejectUnauthorized: false,
      headers: {
        authorization: `Basic ${Buffer.from(`admin:${PASSWORDS.admin}`).toString('base64')}`,
        ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

const leafOf = async (alias: string): Promise<string> => {
  const entries = (await overTls('GET', '/certd/v1/entries')).json.data as { alias: string; sha256: string }[];
  return entries.find((x) => x.alias === alias)!.sha256.replace(/:/g, '').toLowerCase();
};

e2e.before(async () => {
  const certdPort = await freePort();
  httpsPort = await freePort();
  prefix = mkdtempSync(join(tmpdir(), 'certd-nginx-'));
  svc = await startService({ basic: true, basicOverHttp: false, certd: { listen: { host: '127.0.0.1', port: certdPort }, https: { prefix, host: '127.0.0.1', port: httpsPort }, default_certificate: { make: true } } });
});
e2e.after(async () => {
  await svc?.stop();
  const pidFile = join(prefix, 'nginx.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  if (pid > 1) process.kill(pid, 'SIGTERM');
});

e2e('nginx serves the default certificate; the API answers through it with Basic (TLS marked by nginx)', async () => {
  const r = await overTls('GET', `${API}/certificates`);
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.is(await servedLeaf('127.0.0.1', httpsPort), await leafOf('default'));
  // The same Basic request on certd's plain listener is refused: nginx's header made the difference.
  assert.is((await svc.as('admin', 'basic').get(`${API}/certificates`)).status, 401);
});

e2e('binding https to another entry: nginx serves it when the API answers; and back', async () => {
  for (const alias of ['web-a', 'web-b']) {
    assert.is((await overTls('POST', `${API}/create_certificate`, { data: { alias, subject: `CN=${alias}` } })).status, 200);
  }
  for (const alias of ['web-a', 'web-b', 'web-a']) {
    const started = performance.now();
    const r = await overTls('PUT', '/certd/v1/bindings/https', { data: { certificate: alias } });
    const answered = performance.now();
    assert.is(r.status, 200, JSON.stringify(r.json));
    assert.is(await servedLeaf('127.0.0.1', httpsPort), await leafOf(alias));
    timings.push(Math.round(answered - started));
  }
});

// The answer waits for the workers from before the HUP to stop accepting, then one handshake
// (NginxApplier.confirm): the first new connection after the answer must never reach an old
// worker. Over many swaps, as one client would see it.
e2e('the first handshake after every answer serves the new leaf (30 swaps web-a <-> web-b)', async () => {
  const leaves = { 'web-a': await leafOf('web-a'), 'web-b': await leafOf('web-b') };
  for (let i = 0; i < 30; i++) {
    const alias = i % 2 ? 'web-a' : 'web-b';
    const r = await overTls('PUT', '/certd/v1/bindings/https', { data: { certificate: alias } });
    assert.is(r.status, 200, JSON.stringify(r.json));
    assert.is(await servedLeaf('127.0.0.1', httpsPort), leaves[alias], `swap ${i} to ${alias}`);
  }
});

e2e('a change nginx refuses (client certificates required with no CA: nginx -t fails): error, old certificate served, binding unchanged', async () => {
  const before = (await overTls('GET', '/certd/v1/bindings/https')).json.data;
  const r = await overTls('PUT', '/certd/v1/bindings/https', { data: { certificate: 'web-b', settings: { client_certificate: 'required' } } });
  assert.is(r.status, 502, JSON.stringify(r.json));
  assert.is(await servedLeaf('127.0.0.1', httpsPort), await leafOf('web-a'));
  assert.equal((await overTls('GET', '/certd/v1/bindings/https')).json.data, before);
  assert.ok(readFileSync(join(prefix, 'conf', 'tls.conf'), 'utf8').includes('ssl_certificate'), 'the include is back');
  assert.not.ok(readFileSync(join(prefix, 'conf', 'tls.conf'), 'utf8').includes('ssl_verify_client'));
});

e2e('nginx stopped and certd restarted: certd starts nginx with the binding on record', async () => {
  const pid = Number(readFileSync(join(prefix, 'nginx.pid'), 'utf8'));
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && (await servedLeaf('127.0.0.1', httpsPort)) !== null; i++) await new Promise((r) => setTimeout(r, 25));
  assert.is(await servedLeaf('127.0.0.1', httpsPort), null, 'nginx is down');
  await svc.killCertd();
  await svc.start();
  assert.is(await servedLeaf('127.0.0.1', httpsPort), await leafOf('web-a'));
});

const timings: number[] = [];
e2e.after(() => {
  console.log(`  PUT /certd/v1/bindings/https through nginx, answered with the new certificate served (ms): ${timings.join(', ')}`);
});

e2e.run();
