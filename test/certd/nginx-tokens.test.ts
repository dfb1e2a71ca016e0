// Token keys through nginx end to end: keystored with the simulators (SE0: SoftHSM2, TPM0:
// swtpm + tpm2-pkcs11), certd with `https`; an entry whose key certd made in the token is
// bound to https, nginx (workers as www-data) serves it through the pkcs11 engine and the
// p11-kit server certd started for that token; then back to the default (SOFTWARE0) entry.
// The PIN reaches nginx only in keystored's PIN file (tmpfs, 0600, www-data's): certd
// writes it nowhere under nginx's prefix, no log has it, and the file goes with the binding.
// Then the TPM's dictionary-attack counter (tpm2-tools) is read: still 0.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { servedLeaf } from '../../src/certd/appliers/nginx';
import { startSimulators, type Simulators } from '../sim';
import { enrolledEntry } from './dot1x-net';
import { freePort } from './pebble';
import { startService, type Service } from './service';
import { webCa } from './web-ca';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'nginx', 'p11-kit', 'libengine-pkcs11-openssl']);

const t = suite('https token keys through nginx, end to end');
let sim: Simulators;
let svc: Service;
let prefix = '';
let sign: (csr: string) => string;
let httpsPort = 0;

/** Signs a CSR with the suite's CA (openssl), as an enrollment would. */
t.before(async () => {
  sim = startSimulators();
  sign = webCa('certd-nginx-tokens').sign;
  prefix = mkdtempSync(join(tmpdir(), 'certd-nginx-tokens-'));
  // The workers (www-data) connect to the p11-kit socket under the prefix.
  chmodSync(prefix, 0o711);
  httpsPort = await freePort();
  svc = await startService({
    stores: sim.stores, env: sim.env,
    certd: { listen: { host: '127.0.0.1', port: await freePort() }, https: { prefix, host: '127.0.0.1', port: httpsPort }, default_certificate: { make: true } },
  });
});
t.after(async () => {
  await svc?.stop();
  const pid = (f: string) => (existsSync(f) ? Number(readFileSync(f, 'utf8')) : 0);
  const kill = (p: number) => { if (p > 1) try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } };
  kill(pid(join(prefix, 'nginx.pid')));
  const p11 = join(prefix, 'p11');
  if (existsSync(p11)) for (const f of readdirSync(p11)) if (f.endsWith('.pid')) kill(pid(join(p11, f)));
  sim?.stop();
});

const leafOf = async (alias: string): Promise<string> => {
  const entries = (await svc.as('admin').get('/certd/v1/entries')).json.data as { alias: string; sha256: string }[];
  return entries.find((x) => x.alias === alias)!.sha256.replace(/:/g, '').toLowerCase();
};
const bind = (alias: string) => svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: alias } });

/** Every regular file under `dir`. */
const filesUnder = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []);

for (const store of ['SE0', 'TPM0']) {
  t(`${store} entry bound to https: nginx serves it (handshakes signed by the token), then the default entry again`, async () => {
    const alias = `web-${store.toLowerCase()}`;
    await enrolledEntry(svc.as('admin'), alias, store, sign);
    const r = await bind(alias);
    assert.is(r.status, 200, r.text);
    const want = await leafOf(alias);
    for (let i = 0; i < 20; i++) assert.is(await servedLeaf('127.0.0.1', httpsPort), want, `handshake ${i}`);
    const include = readFileSync(join(prefix, 'conf', 'tls.conf'), 'utf8');
    assert.match(include, /ssl_certificate_key "engine:pkcs11:pkcs11:/);
    const pin = Buffer.from(sim.pins()[store === 'TPM0' ? 0 : 1]!);
    const pinFile = /;pin-source=file:([^";]+)"/.exec(include)![1]!;
    assert.is.not(pinFile, sim.env[`CERTD_${store}_PIN_FILE`], 'not the store\'s own PIN file');
    const st = statSync(pinFile);
    assert.equal([st.mode & 0o777, st.uid], [0o600, 33], 'keystored\'s PIN file: 0600, the workers\' user\'s');
    assert.ok(readFileSync(pinFile).equals(pin), 'it holds the PIN, no newline');
    for (const f of filesUnder(prefix)) assert.not.ok(readFileSync(f).includes(pin), `no PIN in ${f}`);
    assert.not.ok(svc.logs().includes(pin.toString()), 'no PIN in certd\'s or keystored\'s logs');
    const fd = openSync(pinFile, 'r');
    try {
      const back = await bind('default');
      assert.is(back.status, 200, back.text);
      assert.is(await servedLeaf('127.0.0.1', httpsPort), await leafOf('default'));
      assert.not.ok(existsSync(pinFile), 'released with the binding');
      const seen = Buffer.alloc(pin.length);
      readSync(fd, seen, 0, pin.length, 0);
      assert.equal(seen, Buffer.alloc(pin.length), 'zeroed before the unlink');
    } finally {
      closeSync(fd);
    }
  });
}

// nginx's forked workers sharing one TPM session drove the TPM into lockout (DESIGN.md): the
// TPM0 test's handshakes, through the p11-kit server, must not have counted one failure.
t('the TPM\'s dictionary-attack lockout counter is still 0 after the TPM0 handshakes', () => {
  assert.is(sim.lockoutCounter(), 0);
});

t.run();
