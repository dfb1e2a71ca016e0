// nginx's plain-HTTP server by the https binding's connection policy (`http_listener`, set by
// SOAP's Admin ConnectionPolicies): certd configured with `https.http_port`; the port answers
// the API (Digest only: nginx does not mark it as TLS, whatever the client sends) while the
// policy is HttpAndHttps or unset, refuses connections once it is Https, and a change nginx
// refuses leaves the port as it was.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NginxApplier } from '../../src/certd/appliers/nginx';
import type { ServiceKeys } from '../../src/certd/appliers/port';
import { loadCertdConfig } from '../../src/certd/config';
import { Client, raw } from './client';
import { freePort } from './pebble';
import { API, PASSWORDS, startService, type Service } from './service';
import { recorded, soapPost, texts } from './soap-client';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'nginx']);

const t = suite('nginx plain HTTP by the connection policy');
let svc: Service;
let prefix = '';
let httpPort = 0;

const basic = `Basic ${Buffer.from(`admin:${PASSWORDS.admin}`).toString('base64')}`;
const open = (): Promise<boolean> => new Promise((resolve) => {
  const s = connect({ host: '127.0.0.1', port: httpPort }, () => {
    s.destroy();
    resolve(true);
  });
  s.on('error', () => resolve(false));
});
const setPolicy = async (admin: 'Https' | 'HttpAndHttps') => {
  const r = await soapPost(svc, 'admin', recorded('client-requests/SetHttpsBinding.xml').replace('{ALIAS}', 'default').replace('<aweb:Admin>Https', `<aweb:Admin>${admin}`), 'application/xml');
  assert.is(r.status, 200, r.text);
  const read = await soapPost(svc, 'viewer', recorded('client-requests/GetHttpsBinding.xml'), 'application/xml');
  assert.equal(texts(read.text, 'aweb:Admin'), [admin]);
};

t.before(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'certd-nginx-http-'));
  httpPort = await freePort();
  svc = await startService({
    basic: true, basicOverHttp: false,
    certd: { listen: { host: '127.0.0.1', port: await freePort() }, https: { prefix, host: '127.0.0.1', port: await freePort(), http_port: httpPort }, default_certificate: { make: true } },
  });
});
t.after(async () => {
  await svc?.stop();
  const pidFile = join(prefix, 'nginx.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  if (pid > 1) process.kill(pid, 'SIGTERM');
});

t('policy unset (a camera\'s default, HttpAndHttps): the plain port serves the API with Digest; Basic is refused there, even with a forged X-Forwarded-Proto', async () => {
  assert.is((await svc.as('viewer').get('/certd/v1/bindings/https')).json.data.settings.http_listener, undefined);
  const digest = await new Client(httpPort, { user: 'admin', password: PASSWORDS.admin, scheme: 'digest-sha256' }).get(`${API}/certificates`);
  assert.is(digest.status, 200, digest.text);
  assert.is((await new Client(httpPort, { user: 'admin', password: PASSWORDS.admin, scheme: 'basic' }).get(`${API}/certificates`)).status, 401);
  const forged = await raw(httpPort, 'GET', `${API}/certificates`, undefined, { authorization: basic, 'x-forwarded-proto': 'https' });
  assert.is(forged.status, 401, 'nginx drops the client\'s X-Forwarded-Proto');
  assert.is((await raw(httpPort, 'GET', '/index.html', undefined, {})).status, 404, 'only the API paths');
});

t('SOAP ConnectionPolicies Admin=Https closes the plain port when it answers; HttpAndHttps opens it again', async () => {
  await setPolicy('Https');
  assert.is(await open(), false, 'closed when the answer came');
  assert.not.ok(readFileSync(join(prefix, 'conf', 'nginx.conf'), 'utf8').includes(`:${httpPort};`));
  await setPolicy('HttpAndHttps');
  assert.is(await open(), true, 'open when the answer came');
  assert.is((await new Client(httpPort, { user: 'admin', password: PASSWORDS.admin, scheme: 'digest-sha256' }).get(`${API}/certificates`)).status, 200);
});

t('a change nginx refuses (client certificates required with no CA) leaves the plain port and the policy as they were', async () => {
  for (const [from, to] of [[true, false], [false, true]] as const) {
    const ok = await svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: 'default', settings: { http_listener: from } } });
    assert.is(ok.status, 200, ok.text);
    assert.is(await open(), from);
    const r = await svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: 'default', settings: { http_listener: to, client_certificate: 'required' } } });
    assert.is(r.status, 502, r.text);
    assert.is(await open(), from, `still ${from ? 'open' : 'closed'}`);
    assert.equal((await svc.as('viewer').get('/certd/v1/bindings/https')).json.data.settings, { http_listener: from });
  }
});

t.run();

// The applier alone (no domain to apply the previous binding again): a refused change puts
// the previous site back too, so the HUP of the rollback keeps the port as it was.
const a = suite('NginxApplier: a refused change puts the previous site back');
const work = { dir: '', httpsPort: 0, httpPort: 0, applier: undefined as NginxApplier | undefined, files: new Map<string, string>(), certs: new Map<string, string>() };
a.before(async () => {
  work.dir = mkdtempSync(join(tmpdir(), 'certd-nginx-site-'));
  for (const name of ['web', 'other']) {
    const key = join(work.dir, `${name}.key`);
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    work.files.set(name, key);
    work.certs.set(name, execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-subj', `/CN=${name}`, '-days', '2']).toString());
  }
  [work.httpsPort, work.httpPort] = [await freePort(), await freePort()];
  const keys: ServiceKeys = { open: async (_s, key) => ({ kind: 'file', path: work.files.get(key.key_id)! }), close: async () => undefined };
  work.applier = new NginxApplier({
    nginx: '/usr/sbin/nginx', prefix: join(work.dir, 'nginx'), host: '127.0.0.1', port: work.httpsPort, httpPort: work.httpPort, upstream: { host: '127.0.0.1', port: 9 },
  }, keys);
});
a.after(async () => {
  await work.applier?.stop();
});

a('HTTP listener on, then a change to off whose key does not match its certificate: refused, the port stays open', async () => {
  httpPort = work.httpPort;
  await work.applier!.apply({ name: 'https', certificate: work.certs.get('web'), key: { keystore: 'SOFTWARE0', key_id: 'web' }, ca: [], settings: { http_listener: true } });
  assert.is(await open(), true);
  const refused = await work.applier!.apply({ name: 'https', certificate: work.certs.get('web'), key: { keystore: 'SOFTWARE0', key_id: 'other' }, ca: [], settings: { http_listener: false } }).then(() => undefined, (e: Error) => e);
  assert.instance(refused, Error);
  assert.match(refused!.message, 'nginx -t refused');
  assert.ok(readFileSync(join(work.dir, 'nginx', 'conf', 'nginx.conf'), 'utf8').includes(`:${work.httpPort};`), 'the site with the plain server is back');
  await new Promise((r) => setTimeout(r, 500));
  assert.is(await open(), true, 'still open after the rollback\'s HUP');
});

a.run();

const c = suite('https.http_port in the config');
c('refused with https.reload (the unit\'s site is not certd\'s to change), taken without it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certd-http-port-config-'));
  const file = join(dir, 'certd.json');
  const https = { prefix: join(dir, 'nginx'), port: 8443, http_port: 8081 };
  writeFileSync(file, JSON.stringify({ data_dir: join(dir, 'data'), listen: { port: 8080 }, https: { ...https, reload: ['/usr/bin/systemctl', 'reload-or-restart', 'certd-nginx.service'] } }));
  assert.throws(() => loadCertdConfig(file), /\/https\/http_port cannot be used with \/https\/reload/);
  writeFileSync(file, JSON.stringify({ data_dir: join(dir, 'data'), listen: { port: 8080 }, https }));
  assert.is(loadCertdConfig(file).https?.http_port, 8081);
});
c.run();
