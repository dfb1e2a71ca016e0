// 802.1X end to end: the real daemons (certd with its `dot1x` config, keystored writing the
// key for the supplicant) drive wpa_supplicant in the device namespace of a wired network
// whose switch is hostapd (dot1x-net.ts). Through /certd/v1/bindings:
// - an entry whose key certd made (CSR signed by the network's CA) bound to dot1x: the API
//   answers once the port is authorized, and hostapd authorized that identity;
// - an entry of a CA the network does not trust: the API answers APPLY_FAILED (502), the
//   previous binding is on record and authenticates again;
// for a SOFTWARE0 key, a TPM0 (swtpm) key and an SE0 (SoftHSM2) key; moving between token
// modules restarts the supplicant (config `dot1x.restart`, here a script of dot1x-net.ts);
// a supplicant restarted on an empty config gets the binding on record at certd's start, and
// while certd runs; a supplicant SIGKILLed during an apply (before `reconfigure`, and while
// the apply waits for AUTHENTICATED): APPLY_FAILED, and once it is back it authenticates with
// the binding on record, on a whole config, with no stray certificate or key file.
// Token PINs: only in keystored's PIN file (0600, keystored's user: dot1x has no
// service_key_users entry and the supplicant runs as root), named by the key URI's
// pin-source; never in the supplicant's config, its folder or a log; released with the binding.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WpaCli } from '../../src/certd/appliers/wpa-cli';
import { startSimulators, type Simulators } from '../sim';
import { enrolledEntry, makeDot1xNet, type Dot1xNet } from './dot1x-net';
import { API, startService, type Service } from './service';

const t = suite('802.1X bindings on a wired network');
let net: Dot1xNet;
let sim: Simulators;
let svc: Service;
let cli: WpaCli;
let configFile: string;

const B = '/certd/v1/bindings';

t.before(async () => {
  sim = startSimulators();
  net = await makeDot1xNet();
  const ctrl = join(net.dir, 'supplicant-ctrl');
  configFile = join(net.dir, 'wpa_supplicant.conf');
  writeFileSync(configFile, `ctrl_interface=${ctrl}\nap_scan=0\n`);
  // The supplicant loads the token modules itself (engine mode): it needs the tokens' environment.
  await net.startSupplicant(configFile, sim.env);
  cli = new WpaCli('wpa_cli', ctrl, net.iface);
  svc = await startService({
    stores: sim.stores, env: sim.env,
    certd: { dot1x: { wpa_cli: killingWpaCli(), interface: net.iface, ctrl_dir: ctrl, config_file: configFile, timeout_ms: 25_000, restart: net.restartCommand(configFile, sim.env) } },
  });
  const admin = svc.as('admin');
  for (const [alias, pem] of [['network ca', net.serverCaPem], ['other ca', net.untrusted.certPem]]) {
    const r = await admin.post(`${API}/ca_certificates`, { alias, certificate: pem });
    assert.is(r.status, 201, r.text);
  }
});
t.after(async () => {
  await svc?.stop();
  await net?.stop();
  sim?.stop();
});

/**
 * certd's wpa_cli: the real one, except that once `killAt(command, when)` armed it, it
 * SIGKILLs the supplicant before or after running that command (once).
 */
function killingWpaCli(): string {
  const script = join(net.dir, 'wpa_cli.sh');
  const trigger = join(net.dir, 'kill-at');
  writeFileSync(script, [
    '#!/bin/sh',
    // argv: -p DIR -i IF COMMAND ...
    `t=${trigger}; p=$(cat ${join(net.dir, 'wpa_supplicant.pid')})`,
    'if [ "$(cat $t 2>/dev/null)" = "before $5" ]; then rm -f $t; kill -9 $p; while kill -0 $p 2>/dev/null; do sleep 0.05; done; fi',
    'wpa_cli "$@"; rc=$?',
    'if [ "$(cat $t 2>/dev/null)" = "after $5" ]; then rm -f $t; kill -9 $p; while kill -0 $p 2>/dev/null; do sleep 0.05; done; fi',
    'exit $rc', '',
  ].join('\n'), { mode: 0o755 });
  return script;
}
const killAt = (command: string, when: 'before' | 'after') => writeFileSync(join(net.dir, 'kill-at'), `${when} ${command}`);

const bind = (alias: string) =>
  svc.as('admin').call('PUT', `${B}/dot1x`, { data: { certificate: alias, ca: ['network ca'], settings: { identity: alias, eap_method: 'EAP-TLS' } } });

/** Both ends agree, within `within` ms: the supplicant's port is authorized, hostapd authorized `identity`. */
async function authenticatedAs(identity: string, within: number): Promise<void> {
  const deadline = Date.now() + within;
  for (;;) {
    // The socket is away while the supplicant restarts.
    const s = await cli.status().catch(() => ({ pae: 'restarting', port: undefined }));
    const sta = net.hostapdCli('all_sta');
    if (s.pae === 'AUTHENTICATED' && s.port === 'Authorized' && sta.includes(`dot1xAuthSessionUserName=${identity}\n`) && /dot1xAuthAuthControlledPortStatus=1/.test(sta)) return;
    assert.ok(Date.now() < deadline, `authenticated as ${identity} (supplicant PAE ${s.pae}; hostapd: ${/dot1xAuthSessionUserName=.*/.exec(sta)?.[0] ?? 'no session'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The PIN file the config in force names (token keys), after checking the PIN is nowhere else. */
function pinFileInForce(store: string): string {
  const pin = Buffer.from(sim.pins()[store === 'TPM0' ? 0 : 1]!);
  const config = readFileSync(configFile, 'utf8');
  assert.not.match(config, /^\s*pin=/m, 'no PIN line in the supplicant\'s config');
  for (const f of [configFile, ...readdirSync(`${configFile}.d`).map((n) => join(`${configFile}.d`, n))]) {
    const bytes = readFileSync(f);
    assert.not.ok(bytes.includes(pin) || bytes.includes(Buffer.from(pin.toString('hex'))), `no PIN, plain or hex, in ${f}`);
  }
  assert.not.ok(svc.logs().includes(pin.toString()), 'no PIN in certd\'s or keystored\'s logs');
  const path = /^\s*key_id="pkcs11:[^"]*;pin-source=file:([^";]+)"/m.exec(config)![1]!;
  assert.is.not(path, sim.env[`CERTD_${store}_PIN_FILE`], 'not the store\'s own PIN file');
  const st = statSync(path);
  assert.equal([st.mode & 0o777, st.uid], [0o600, process.getuid!()], 'keystored\'s PIN file: 0600, keystored\'s user\'s');
  assert.ok(readFileSync(path).equals(pin), 'it holds the PIN, no newline');
  return path;
}

const keysIn = (store: string) => {
  t(`${store}: a certificate of the network's CA authenticates once the API answers`, async () => {
    const alias = `cam-${store.toLowerCase()}`;
    await enrolledEntry(svc.as('admin'), alias, store, (csr) => net.ca.sign(csr));
    const started = Date.now();
    const r = await bind(alias);
    assert.is(r.status, 200, r.text);
    console.log(`  802.1X ${store}: binding change -> answered, authenticated, in ${Date.now() - started} ms`);
    assert.equal(await cli.status(), { pae: 'AUTHENTICATED', port: 'Authorized', eap: 'SUCCESS' });
    await authenticatedAs(alias, 1_000);
    assert.is((await svc.as('viewer').get(`${B}/dot1x`)).json.data.certificate.alias, alias);
    if (store !== 'SOFTWARE0') pinFileInForce(store);
  });

  t(`${store}: a certificate of a CA the network does not trust: APPLY_FAILED, the previous binding is back and authenticates`, async () => {
    const previous = `cam-${store.toLowerCase()}`;
    const alias = `${previous}-untrusted`;
    await enrolledEntry(svc.as('admin'), alias, store, (csr) => net.untrusted.sign(csr));
    const started = Date.now();
    const r = await bind(alias);
    assert.is(r.status, 502, r.text);
    assert.is(r.json.error.code, 24, r.text);
    assert.is((await svc.as('viewer').get(`${B}/dot1x`)).json.data.certificate.alias, previous, 'the previous binding is on record');
    await authenticatedAs(previous, 90_000);
    console.log(`  802.1X ${store}: refused binding -> previous one authenticated again ${Date.now() - started} ms after the request`);
  });
};

keysIn('SOFTWARE0');
keysIn('TPM0');
keysIn('SE0');
// OpenSSL's pkcs11 engine keeps the first module for the process's life (measured: SE0 ->
// TPM0 in one process never authenticates): a change of module restarts the supplicant.
t('SE0 -> TPM0 -> SE0: each change of token module restarts the supplicant, which authenticates', async () => {
  const pid = () => readFileSync(join(net.dir, 'wpa_supplicant.pid'), 'utf8').trim();
  for (const alias of ['cam-tpm0', 'cam-se0']) {
    const previousPin = pinFileInForce(alias === 'cam-tpm0' ? 'SE0' : 'TPM0');
    const before = pid();
    const started = Date.now();
    const r = await bind(alias);
    assert.is(r.status, 200, r.text);
    console.log(`  802.1X: module change to ${alias} (supplicant restarted) -> authenticated in ${Date.now() - started} ms`);
    assert.is.not(pid(), before, 'the supplicant was restarted');
    await authenticatedAs(alias, 1_000);
    pinFileInForce(alias === 'cam-tpm0' ? 'TPM0' : 'SE0');
    assert.not.ok(existsSync(previousPin), 'the previous token\'s PIN file was released');
  }
});

t('the supplicant killed and started again on an empty config: certd\'s next start applies the binding on record', async () => {
  // certd away first: a running certd would apply it as soon as the supplicant is back (the next test).
  await svc.killCertd();
  await net.stopSupplicant();
  writeFileSync(configFile, `ctrl_interface=${join(net.dir, 'supplicant-ctrl')}\nap_scan=0\n`);
  await net.startSupplicant(configFile, sim.env);
  let status: Awaited<ReturnType<WpaCli['status']>> | undefined;
  for (const deadline = Date.now() + 20_000; !status; await new Promise((r) => setTimeout(r, 100))) {
    status = await cli.status().catch((e: Error) => (Date.now() < deadline ? undefined : Promise.reject(e)));
  }
  assert.is.not(status.pae, 'AUTHENTICATED', 'the supplicant lost the binding');
  const atStart = () => svc.logs().split('\n').filter((l) => /dot1x binding on record applied.*certd started/.test(l)).length;
  const before = atStart();
  const started = Date.now();
  await svc.start();
  await authenticatedAs('cam-se0', 60_000);
  console.log(`  802.1X: certd restarted -> binding on record authenticated ${Date.now() - started} ms after certd's start began`);
  assert.match(readFileSync(configFile, 'utf8'), /key_id="pkcs11:/);
  for (const deadline = Date.now() + 10_000; atStart() === before; await new Promise((r) => setTimeout(r, 100))) {
    assert.ok(Date.now() < deadline, 'logged');
  }
});

/** The supplicant's control socket answers again (it restarted); its status then. */
async function statusOnceBack(): Promise<Awaited<ReturnType<WpaCli['status']>>> {
  for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const s = await cli.status().catch((e: Error) => (Date.now() < deadline ? undefined : Promise.reject(e)));
    if (s) return s;
  }
}

const applyLogs = () => svc.logs().split('\n').filter((l) => l.includes("dot1x binding on record applied") && l.includes('control socket is back')).length;
const audited = async (since: string) => ((await svc.as('admin').get(`/certd/v1/audit?since=${since}`)).json.data as { operation: string; user: string; outcome: string }[])
  .filter((r) => r.operation === 'apply_recorded_binding' && r.user === 'certd' && r.outcome === 'ok').length;

t('the supplicant killed and started again on an empty config while certd runs: the binding on record authenticates again', async () => {
  const [logsBefore, since] = [applyLogs(), new Date().toISOString()];
  await net.stopSupplicant();
  writeFileSync(configFile, `ctrl_interface=${join(net.dir, 'supplicant-ctrl')}\nap_scan=0\n`);
  await net.startSupplicant(configFile, sim.env);
  const started = Date.now();
  assert.is.not((await statusOnceBack()).pae, 'AUTHENTICATED', 'the supplicant lost the binding');
  await authenticatedAs('cam-se0', 60_000);
  console.log(`  802.1X: supplicant back on an empty config -> binding on record authenticated ${Date.now() - started} ms after it started`);
  assert.match(readFileSync(configFile, 'utf8'), /key_id="pkcs11:/);
  // The apply answers once it has released what the previous config used, after AUTHENTICATED.
  for (const deadline = Date.now() + 10_000; applyLogs() === logsBefore && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
  assert.is(applyLogs(), logsBefore + 1, 'logged once');
  assert.is(await audited(since), 1, 'audited once');
});

/** What the supplicant's config names exists, and nothing else is there: certificate files beside it, key files in keystored's folder. */
function nothingStray(): void {
  const config = readFileSync(configFile, 'utf8');
  const named = [...config.matchAll(/^\t(?:client_cert|ca_cert|private_key)="(.*)"$/gm)].map((m) => m[1]!);
  for (const f of named) assert.ok(existsSync(f), `${f} is there`);
  assert.equal(readdirSync(`${configFile}.d`).map((f) => join(`${configFile}.d`, f)).sort(), named.filter((f) => f.startsWith(`${configFile}.d`)).sort(), 'certificate files: only those the config names');
  const key = named.find((f) => !f.startsWith(`${configFile}.d`))!;
  assert.equal(readdirSync(dirname(key)).filter((f) => f.startsWith('dot1x+')), [basename(key)], 'key files: only the one in force');
}

for (const [when, command, what] of [['before', 'reconfigure', 'before reconfigure'], ['after', 'reconfigure', 'while the apply waits for AUTHENTICATED']] as const) {
  t(`the supplicant SIGKILLed during an apply (${what}): APPLY_FAILED; back, it authenticates with the binding on record, from a whole config`, async () => {
    assert.is((await bind('cam-software0')).status, 200);
    await authenticatedAs('cam-software0', 1_000);
    const before = readFileSync(configFile, 'utf8');
    const alias = `cam-killed-${when}`;
    await enrolledEntry(svc.as('admin'), alias, 'SOFTWARE0', (csr) => net.ca.sign(csr));
    killAt(command, when);
    const r = await bind(alias);
    // The supplicant was not there to take the new binding: it is not in force, so the
    // previous one is put back on record (and its apply fails too, until the supplicant is back).
    assert.is(r.status, 502, r.text);
    assert.is(r.json.error.code, 24, r.text);
    assert.not.ok(existsSync(join(net.dir, 'kill-at')), 'the supplicant was killed');
    assert.is((await svc.as('viewer').get(`${B}/dot1x`)).json.data.certificate.alias, 'cam-software0', 'the previous binding is on record');
    assert.is(readFileSync(configFile, 'utf8'), before, 'the config on flash is the previous one, whole');
    // Its unit starts it again on the config on flash; certd applies the binding on record.
    const applied = applyLogs();
    await net.startSupplicant(configFile, sim.env);
    for (const deadline = Date.now() + 60_000; applyLogs() === applied; await new Promise((r) => setTimeout(r, 100))) assert.ok(Date.now() < deadline, 'the binding on record was applied again');
    await authenticatedAs('cam-software0', 1_000);
    assert.is(readFileSync(configFile, 'utf8'), before);
    nothingStray();
  });
}

t.run();
