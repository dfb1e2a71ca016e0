// Token keys with p11-kit servers certd does not run (config `https.token_servers`), as in the
// firmware tree where certd-p11-kit@.service owns the token: the suite starts one server per
// token with the unit's argv and modes (runtime folder group www-data 0751; socket group
// www-data, 0660 after start as the unit's ExecStartPost sets it). certd (root here, workers
// www-data) is given their sockets; an entry made in each token, bound to https, serves
// handshakes while certd has started no p11-kit server (nothing in its prefix's p11 folder, no
// process naming that folder). With the suite's SE0 server stopped, an SE0 key is refused
// (502), the binding before it is still served, and certd starts no server instead. With
// nginx run by a reload command holding the unit drop-in's environment, an SE0 binding is a
// HUP (same master): certd does not stop a master it does not own. The
// config refuses a token named twice and a URI beyond `pkcs11:token=…`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { servedLeaf } from '../../src/certd/appliers/nginx';
import { opensslConf } from '../../src/certd/appliers/nginx-token';
import { loadCertdConfig } from '../../src/certd/config';
import { startSimulators, type Simulators } from '../sim';
import { enrolledEntry } from './dot1x-net';
import { freePort } from './pebble';
import { startService, type Service } from './service';
import { webCa } from './web-ca';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'nginx', 'p11-kit', 'libengine-pkcs11-openssl']);

const WWW_DATA = 33;
const t = suite('https token keys through p11-kit servers certd does not start');
let sim: Simulators;
let svc: Service;
let prefix = '';
let sign: (csr: string) => string;
let run = '';
let httpsPort = 0;
const servers: ChildProcess[] = [];
const sockets: Record<string, string> = {};

/** `p11-kit server` for one token as certd-p11-kit@.service runs it; resolves once its socket is there. */
async function unitServer(store: string): Promise<string> {
  const dir = join(run, store);
  mkdirSync(dir, { mode: 0o751 });
  chownSync(dir, 0, WWW_DATA);
  chmodSync(dir, 0o751);
  const socket = join(dir, 'p11-kit.sock');
  const module = sim.env[`CERTD_${store}_MODULE`]!;
  const token = `pkcs11:token=${sim.env[`CERTD_${store}_TOKEN`]!}`;
  const child = spawn('sh', ['-c', 'umask 0007; exec "$@"', 'sh', 'p11-kit', 'server', '-f', '-n', socket, '--provider', module, token], { env: { ...process.env, ...sim.env }, gid: WWW_DATA, stdio: 'ignore' });
  servers.push(child);
  for (let i = 0; i < 400 && !existsSync(socket) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(existsSync(socket), `p11-kit server for ${store} made its socket (exit ${child.exitCode})`);
  // p11-kit makes it 0711 whatever the umask: the unit's ExecStartPost opens it to the group
  chmodSync(socket, 0o660);
  const st = statSync(socket);
  assert.equal([st.mode & 0o777, st.gid], [0o660, WWW_DATA], 'the unit\'s socket: 0660, group www-data');
  return socket;
}

t.before(async () => {
  sim = startSimulators();
  sign = webCa('certd-token-servers').sign;
  run = mkdtempSync(join(tmpdir(), 'certd-token-servers-run-'));
  chmodSync(run, 0o711);
  for (const store of ['SE0', 'TPM0']) sockets[store] = await unitServer(store);
  prefix = mkdtempSync(join(tmpdir(), 'certd-token-servers-'));
  chmodSync(prefix, 0o711);
  httpsPort = await freePort();
  const token_servers = Object.entries(sockets).map(([store, socket]) => ({ token: `pkcs11:token=${sim.env[`CERTD_${store}_TOKEN`]!}`, socket }));
  svc = await startService({
    stores: sim.stores, env: sim.env,
    certd: { listen: { host: '127.0.0.1', port: await freePort() }, https: { prefix, host: '127.0.0.1', port: httpsPort, token_servers }, default_certificate: { make: true } },
  });
});
t.after(async () => {
  await svc?.stop();
  const f = join(prefix, 'nginx.pid');
  if (existsSync(f)) try { process.kill(Number(readFileSync(f, 'utf8')), 'SIGTERM'); } catch { /* gone */ }
  // certd started none (asserted); were one there all the same, it goes with the suite
  const p11 = join(prefix, 'p11');
  if (existsSync(p11)) for (const x of readdirSync(p11)) if (x.endsWith('.pid')) try { process.kill(Number(readFileSync(join(p11, x), 'utf8')), 'SIGTERM'); } catch { /* gone */ }
  for (const s of servers) s.kill('SIGTERM');
  sim?.stop();
});

const leafOf = async (alias: string): Promise<string> => {
  const entries = (await svc.as('admin').get('/certd/v1/entries')).json.data as { alias: string; sha256: string }[];
  return entries.find((x) => x.alias === alias)!.sha256.replace(/:/g, '').toLowerCase();
};
const bind = (alias: string) => svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: alias } });

/** Processes whose command line names `text` (p11-kit execs p11-kit-server with the socket in argv). */
const processesNaming = (text: string): number[] => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
  try {
    return readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(text);
  } catch {
    return false;
  }
}).map(Number);

for (const store of ['SE0', 'TPM0']) {
  t(`${store} entry bound to https: served through the suite's p11-kit server, none started by certd`, async () => {
    const alias = `web-${store.toLowerCase()}`;
    await enrolledEntry(svc.as('admin'), alias, store, sign);
    const r = await bind(alias);
    assert.is(r.status, 200, r.text);
    const want = await leafOf(alias);
    for (let i = 0; i < 10; i++) assert.is(await servedLeaf('127.0.0.1', httpsPort), want, `handshake ${i}`);
    const p11 = join(prefix, 'p11');
    assert.equal(readdirSync(p11).filter((f) => f.endsWith('.sock') || f.endsWith('.pid')), [], 'no socket or pid of certd\'s own server');
    assert.equal(processesNaming(p11), [], 'no process names certd\'s p11 folder');
    const back = await bind('default');
    assert.is(back.status, 200, back.text);
    assert.is(await servedLeaf('127.0.0.1', httpsPort), await leafOf('default'));
  });
}

// The firmware's shape: nginx is its unit's (https.reload), started with the environment of
// certd-nginx's drop-in (the shipped openssl.cnf, SE0's server). The unit's environment is
// fixed, so certd must not stop its master for a token key (as certd it could not: EPERM):
// the SE0 binding is a check and a HUP, the master's pid unchanged.
t('reload mode with the unit\'s engine environment: an SE0 key is a HUP, certd stops no master', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certd-token-servers-unit-'));
  chmodSync(dir, 0o711);
  const cnf = join(run, 'openssl.cnf');
  writeFileSync(cnf, opensslConf('/usr/lib/x86_64-linux-gnu'));
  const pid = join(dir, 'nginx.pid');
  const conf = join(dir, 'conf', 'nginx.conf');
  const env = `export OPENSSL_CONF='${cnf}' P11_KIT_SERVER_ADDRESS='unix:path=${sockets.SE0!}';`;
  // the check's folders for this test: the TLS folder, the checked copy = the include the
  // site certd writes includes, the service-key folder (the PIN file's) read from the include
  const folders = `export CERTD_NGINX_TLS_DIR='${dir}/tls' CERTD_NGINX_CHECKED="$2" CERTD_NGINX_KEY_DIR="$(sed -n -e 's|^ssl_certificate_key ".*pin-source=file:\\(/[^"]*\\)/[^/"]*";$|\\1|p' -e 's|^ssl_certificate_key "\\(/[^"]*\\)/[^/"]*";$|\\1|p' "$2")";`;
  const reload = ['/bin/sh', '-c', `${env} ${folders} "$0" "$1" "$2" && { kill -HUP "$(cat "$3" 2>/dev/null)" 2>/dev/null || /usr/sbin/nginx -e stderr -p "${dir}/" -c "$1"; }`,
    join(__dirname, '..', '..', '..', 'scripts', 'firmware', 'nginx-check'), conf, join(dir, 'conf', 'tls.conf'), pid];
  const port = await freePort();
  const unit = await startService({
    stores: sim.stores, env: sim.env,
    certd: {
      listen: { host: '127.0.0.1', port: await freePort() }, default_certificate: { make: true },
      https: { prefix: dir, host: '127.0.0.1', port, reload, pid_file: pid, token_servers: [{ token: `pkcs11:token=${sim.env.CERTD_SE0_TOKEN!}`, socket: sockets.SE0! }] },
    },
  });
  try {
    const master = Number(readFileSync(pid, 'utf8'));
    const entries = async () => (await unit.as('admin').get('/certd/v1/entries')).json.data as { alias: string; sha256: string }[];
    await enrolledEntry(unit.as('admin'), 'web-unit-se0', 'SE0', sign);
    const r = await unit.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: 'web-unit-se0' } });
    assert.is(r.status, 200, r.text);
    const want = (await entries()).find((x) => x.alias === 'web-unit-se0')!.sha256.replace(/:/g, '').toLowerCase();
    for (let i = 0; i < 5; i++) assert.is(await servedLeaf('127.0.0.1', port), want, `handshake ${i}`);
    assert.is(Number(readFileSync(pid, 'utf8')), master, 'the same master: HUP, not stopped and started');
  } finally {
    await unit.stop();
    if (existsSync(pid)) try { process.kill(Number(readFileSync(pid, 'utf8')), 'SIGTERM'); } catch { /* gone */ }
  }
});

t('its server stopped: a token key is refused (502), the binding before it still served, certd starts none instead', async () => {
  const before = await leafOf('default');
  const p11 = join(prefix, 'p11');
  const alias = 'web-unlisted';
  await enrolledEntry(svc.as('admin'), alias, 'SE0', sign);
  servers[0]!.kill('SIGTERM');
  await new Promise((r) => servers[0]!.once('exit', r));
  const r = await bind(alias);
  assert.is(r.status, 502, r.text);
  assert.match(r.text, /did not take the binding/);
  assert.is(await servedLeaf('127.0.0.1', httpsPort), before);
  assert.equal(readdirSync(p11).filter((f) => f.endsWith('.sock') || f.endsWith('.pid')), [], 'certd did not start one instead');
});

t('token_servers: a token named twice, or a URI beyond the token, is refused at load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certd-token-servers-config-'));
  const load = (token_servers: unknown[]) => {
    const path = join(dir, 'certd.json');
    writeFileSync(path, JSON.stringify({ listen: { port: 8080 }, https: { prefix: dir, port: 443, token_servers } }));
    return () => loadCertdConfig(path);
  };
  const one = { token: 'pkcs11:token=TPM0', socket: '/run/certd-p11-kit/TPM0/p11-kit.sock' };
  assert.equal(load([one])().https?.token_servers, [one]);
  assert.throws(load([one, { ...one, socket: '/run/x.sock' }]), /token_servers names a token twice/);
  assert.throws(load([{ ...one, token: 'pkcs11:token=TPM0;object=web' }]), /token_servers\/0\/token/);
  assert.throws(load([{ ...one, socket: 'relative.sock' }]), /token_servers\/0\/socket/);
});

t.run();
