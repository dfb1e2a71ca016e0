// The dot1x applier (src/certd/appliers/wpa-supplicant.ts) against a real wired 802.1X
// network (dot1x-net.ts: hostapd as the switch, wpa_supplicant on the device side), with
// key files made here and handed over by a ServiceKeys port of the test's own:
// - a certificate of the network's CA: apply returns once the port is authorized, and
//   hostapd authorized the client;
// - one of an untrusted CA: apply throws, the previous config is back and authenticates;
// - a certificate that does not parse: refused before the supplicant's config is touched;
// - a key in a SoftHSM2 token (engine mode, `pkcs11:` URI whose pin-source names the PIN
//   file keystored writes; no PIN in the supplicant's config or its folder).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BindingMaterial, ServiceKeys } from '../../src/certd/appliers/port';
import { WpaSupplicantApplier, type Dot1xConfig } from '../../src/certd/appliers/wpa-supplicant';
import { WpaCli } from '../../src/certd/appliers/wpa-cli';
import { makeDot1xNet, type Dot1xNet } from './dot1x-net';

const t = suite('dot1x applier on a wired 802.1X network');
let net: Dot1xNet;
let dir: string;
let config: Dot1xConfig;
let applier: WpaSupplicantApplier;
const keyFiles = new Map<string, string>();
const token = { module: '/usr/lib/softhsm/libsofthsm2.so', uri: 'pkcs11:token=dot1x;object=dot1x-key;type=private', pin_file: '', certificate: '' };
const opened: string[] = [];
/** What keystored's service key folder holds, as it keeps it: a key opened stays until a release drops it. */
const held = new Set<string>();

/** The port as keystored answers it for SOFTWARE keys: a key file per key id. */
const keys: ServiceKeys = {
  open: async (service, key) => {
    opened.push(`${service}:${key.key_id}`);
    held.add(`${key.keystore}/${key.key_id}`);
    if (key.keystore === 'SE0') return { kind: 'pkcs11', module: token.module, uri: token.uri, pin_file: token.pin_file };
    return { kind: 'file', path: keyFiles.get(key.key_id)! };
  },
  close: async (_service, keep) => {
    for (const k of [...held]) if (k !== (keep && `${keep.keystore}/${keep.key_id}`)) held.delete(k);
  },
};

function material(id: string, issued: { key: string; certificate: string }, identity = 'cam1'): BindingMaterial {
  const path = join(dir, `${id}.key`);
  writeFileSync(path, issued.key, { mode: 0o600 });
  keyFiles.set(id, path);
  return { name: 'dot1x', certificate: issued.certificate, key: { keystore: 'SOFTWARE0', key_id: id }, ca: [net.serverCaPem], settings: { identity } };
}

t.before(async () => {
  net = await makeDot1xNet();
  dir = mkdtempSync(join(tmpdir(), 'certd-dot1x-applier-'));
  // wpa_cli's reply sockets in a folder of the applier's (client_dir), as the firmware's
  // PrivateTmp= certd needs: every apply below goes through it.
  mkdirSync(join(dir, 'cli'), { mode: 0o700 });
  config = { wpa_cli: 'wpa_cli', interface: net.iface, ctrl_dir: join(dir, 'ctrl'), config_file: join(dir, 'wpa_supplicant.conf'), timeout_ms: 60_000, start_period_s: 3, client_dir: join(dir, 'cli') };
  // A SoftHSM2 token holding a key the network's CA certified (as keystored's SE0 would).
  const conf = join(dir, 'softhsm2.conf');
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\n`);
  const env = { SOFTHSM2_CONF: conf };
  token.pin_file = join(dir, 'pin');
  // As keystored writes it: every byte is the PIN.
  writeFileSync(token.pin_file, '4711-dot1x', { mode: 0o600 });
  const key = join(dir, 'token-key.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  token.certificate = net.ca.sign(execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/CN=cam1-token']).toString());
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'dot1x', '--pin', '4711-dot1x', '--so-pin', '0000-dot1x'], { env: { ...process.env, ...env }, stdio: 'pipe' });
  execFileSync('softhsm2-util', ['--import', key, '--token', 'dot1x', '--label', 'dot1x-key', '--id', '01', '--pin', '4711-dot1x'], { env: { ...process.env, ...env }, stdio: 'pipe' });
  // What the device image ships: the supplicant runs with no network until a binding is applied.
  writeFileSync(config.config_file, `ctrl_interface=${config.ctrl_dir}\nap_scan=0\n`);
  await net.startSupplicant(config.config_file, env);
  applier = new WpaSupplicantApplier(config, keys);
});
t.after(async () => {
  await net?.stop();
});

const status = () => new WpaCli('wpa_cli', config.ctrl_dir, config.interface).status();

t('client_dir reaches wpa_cli: a folder it cannot bind in makes every command fail', async () => {
  await new WpaCli('wpa_cli', config.ctrl_dir, net.iface, config.client_dir).run('ping');
  await new WpaCli('wpa_cli', config.ctrl_dir, net.iface, join(dir, 'no-such-folder')).run('ping').then(
    () => assert.unreachable('wpa_cli answered without its reply socket'),
    (e: Error) => assert.match(e.message, /wpa_cli ping/));
});

t('a certificate of the network CA: apply returns once the port is authorized', async () => {
  const started = Date.now();
  await applier.apply(material('good', net.ca.issue('cam1')));
  const ms = Date.now() - started;
  assert.equal(await status(), { pae: 'AUTHENTICATED', port: 'Authorized', eap: 'SUCCESS' });
  assert.equal(opened, ['dot1x:good']);
  const sta = net.hostapdCli('all_sta');
  assert.match(sta, /dot1xAuthSessionUserName=cam1/);
  assert.match(sta, /dot1xAuthAuthControlledPortStatus=1/, 'hostapd authorized the port');
  assert.match(readFileSync(config.config_file, 'utf8'), /key_mgmt=IEEE8021X[\s\S]*eap=TLS/);
  console.log(`  802.1X: apply -> AUTHENTICATED in ${ms} ms`);
});

t('a certificate of an untrusted CA: apply throws, the previous config is back and authenticates', async () => {
  const before = readFileSync(config.config_file, 'utf8');
  const started = Date.now();
  const e = await applier.apply(material('untrusted', net.untrusted.issue('cam1'))).catch((x: unknown) => x);
  assert.instance(e, Error);
  assert.match((e as Error).message, /authentication failed/);
  assert.is(readFileSync(config.config_file, 'utf8'), before, 'the previous config is back');
  const deadline = Date.now() + 90_000;
  for (let s = await status(); s.pae !== 'AUTHENTICATED'; s = await status()) {
    assert.ok(Date.now() < deadline, `authenticated again with the previous certificate (PAE ${s.pae})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`  802.1X: failed apply -> previous binding AUTHENTICATED again ${Date.now() - started} ms after the apply began`);
  assert.match(net.hostapdCli('all_sta'), /dot1xAuthAuthControlledPortStatus=1/);
  assert.equal([...held], ['SOFTWARE0/good'], 'the refused key\'s file was released, the one in use kept');
});

t('a certificate that does not parse: refused before the config is touched', async () => {
  const before = readFileSync(config.config_file, 'utf8');
  const m = material('broken', net.ca.issue('cam1'));
  m.certificate = m.certificate!.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
  await applier.apply(m).then(() => assert.unreachable('applied'), (e: Error) => assert.instance(e, Error));
  assert.is(readFileSync(config.config_file, 'utf8'), before);
  assert.equal(await status(), { pae: 'AUTHENTICATED', port: 'Authorized', eap: 'SUCCESS' });
});

t('a binding with no certificate: the supplicant is left with no network', async () => {
  await applier.apply({ name: 'dot1x', ca: [], settings: {} });
  assert.not.match(readFileSync(config.config_file, 'utf8'), /network=/);
  assert.is.not((await status()).pae, 'AUTHENTICATED');
});

t('a key in a token: engine mode with the pkcs11: URI authenticates', async () => {
  const started = Date.now();
  await applier.apply({ name: 'dot1x', certificate: token.certificate, key: { keystore: 'SE0', key_id: 'dot1x-key' }, ca: [net.serverCaPem], settings: { identity: 'cam1-token' } });
  const ms = Date.now() - started;
  assert.equal(await status(), { pae: 'AUTHENTICATED', port: 'Authorized', eap: 'SUCCESS' });
  assert.match(net.hostapdCli('all_sta'), /dot1xAuthSessionUserName=cam1-token/);
  const written = readFileSync(config.config_file, 'utf8');
  assert.ok(written.includes(`key_id="pkcs11:token=dot1x;object=dot1x-key;type=private;pin-source=file:${token.pin_file}"`), written);
  assert.not.match(written, /^\s*pin=/m, 'no PIN line');
  const pin = Buffer.from('4711-dot1x');
  const hexPin = Buffer.from(pin.toString('hex'));
  for (const f of [config.config_file, ...readdirSync(`${config.config_file}.d`).map((n) => join(`${config.config_file}.d`, n))]) {
    const bytes = readFileSync(f);
    assert.not.ok(bytes.includes(pin) || bytes.includes(hexPin), `no PIN, plain or hex, in ${f}`);
  }
  console.log(`  802.1X (token key): apply -> AUTHENTICATED in ${ms} ms`);
});

t.run();
