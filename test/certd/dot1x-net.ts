// A wired 802.1X network for the tests: two network namespaces of the test's own joined by
// a veth pair; in the "switch" one, hostapd (driver=wired, its internal EAP server, a CA and
// server certificate made here with openssl) is the authenticator; the "device" one holds
// the supplicant's interface. `startSupplicant` runs wpa_supplicant there the way the
// device's unit would. `stop` removes processes and namespaces, and runs on failure too.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from './client';
import { API } from './service';

const PACKAGES = join(__dirname, '..', '..', '..', 'scripts', 'packages.sh');

export interface NetCa {
  certPem: string;
  /** Signs a CSR (PEM) into a client certificate (PEM). */
  sign(csrPem: string): string;
  /** A fresh EC key and a client certificate for it: PEM key and certificate. */
  issue(cn: string): { key: string; certificate: string };
}

export interface Dot1xNet {
  dir: string;
  /** The supplicant's interface, in the device namespace. */
  iface: string;
  deviceNs: string;
  /** The CA hostapd trusts for client certificates (and that signed its own certificate). */
  ca: NetCa;
  /** The CA that signed hostapd's certificate (the supplicant's ca_cert). */
  serverCaPem: string;
  /** Another CA, trusted by nobody. */
  untrusted: NetCa;
  /** Starts wpa_supplicant in the device namespace on `config` (wired driver); `env`: added to its environment (a token's config). */
  startSupplicant(config: string, env?: Record<string, string>): Promise<void>;
  stopSupplicant(): Promise<void>;
  /**
   * The argv that restarts the supplicant on `config` as its unit would (`systemctl restart`):
   * stops the one running (started here or by an earlier restart), starts a daemon in the
   * device namespace with `env` (the tokens' environment).
   */
  restartCommand(config: string, env?: Record<string, string>): string[];
  /** Everything the supplicant logged (-d) since it started. */
  supplicantLog(): string;
  /** Everything hostapd logged. */
  hostapdLog(): string;
  /** hostapd_cli in the switch namespace (`all_sta`, …). */
  hostapdCli(...args: string[]): string;
  stop(): Promise<void>;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString();
const openssl = (...args: string[]) => void run('openssl', args);

function makeCa(dir: string, name: string): NetCa & { keyFile: string; certFile: string } {
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.pem');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', `/CN=${name}`);
  let serial = 1;
  const ext = join(dir, 'client.ext');
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n');
  const sign = (csrPem: string) => {
    const n = serial++;
    const csr = join(dir, `${n}.csr`);
    const out = join(dir, `${n}.pem`);
    writeFileSync(csr, csrPem);
    openssl('x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', keyFile, '-set_serial', String(1000 + n), '-days', '30', '-extfile', ext, '-out', out);
    return readFileSync(out, 'utf8');
  };
  return {
    keyFile, certFile, certPem: readFileSync(certFile, 'utf8'), sign,
    issue(cn) {
      const key = join(dir, `issue-${serial}.key`);
      const csr = run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`]);
      return { certificate: sign(csr), key: readFileSync(key, 'utf8') };
    },
  };
}

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}

export async function makeDot1xNet(): Promise<Dot1xNet> {
  execFileSync('bash', [PACKAGES, 'hostapd', 'wpasupplicant'], { stdio: 'inherit' });
  const tag = randomBytes(4).toString('hex');
  const switchNs = `certd-sw-${tag}`;
  const deviceNs = `certd-dev-${tag}`;
  const swIf = `x1s${tag}`;
  const devIf = `x1d${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'certd-dot1x-'));
  let hostapd: ChildProcess | undefined;
  let supplicant: ChildProcess | undefined;
  let log = '';
  let supplicantLog = '';

  const pidFile = join(dir, 'wpa_supplicant.pid');
  const killDaemon = () => spawnSync('sh', ['-c', `p=$(cat ${pidFile} 2>/dev/null) && kill $p 2>/dev/null; while [ -n "$p" ] && kill -0 $p 2>/dev/null; do sleep 0.1; done; true`], { stdio: 'ignore' });
  const stop = async () => {
    await kill(supplicant);
    killDaemon();
    await kill(hostapd);
    for (const ns of [switchNs, deviceNs]) spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    run('ip', ['netns', 'add', switchNs]);
    run('ip', ['netns', 'add', deviceNs]);
    run('ip', ['link', 'add', swIf, 'netns', switchNs, 'type', 'veth', 'peer', 'name', devIf, 'netns', deviceNs]);
    run('ip', ['-n', switchNs, 'link', 'set', swIf, 'up']);
    run('ip', ['-n', deviceNs, 'link', 'set', devIf, 'up']);

    const ca = makeCa(join(dir, 'ca'), `802.1X network CA ${tag}`);
    const untrusted = makeCa(join(dir, 'untrusted'), `untrusted CA ${tag}`);
    const serverKey = join(dir, 'server.key');
    const serverCert = join(dir, 'server.pem');
    const csr = run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', serverKey, '-subj', '/CN=switch']);
    writeFileSync(join(dir, 'server.csr'), csr);
    writeFileSync(join(dir, 'server.ext'), 'extendedKeyUsage=serverAuth\n');
    openssl('x509', '-req', '-in', join(dir, 'server.csr'), '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', '1', '-days', '30', '-extfile', join(dir, 'server.ext'), '-out', serverCert);
    writeFileSync(join(dir, 'eap_users'), '* TLS\n');
    const ctrl = join(dir, 'hostapd-ctrl');
    writeFileSync(join(dir, 'hostapd.conf'), [
      `interface=${swIf}`, 'driver=wired', 'ieee8021x=1', 'eap_server=1', 'eapol_version=2', 'use_pae_group_addr=1',
      `eap_user_file=${join(dir, 'eap_users')}`, `ca_cert=${ca.certFile}`, `server_cert=${serverCert}`, `private_key=${serverKey}`,
      `ctrl_interface=${ctrl}`, 'logger_stdout=-1', 'logger_stdout_level=1', '',
    ].join('\n'));
    hostapd = spawn('ip', ['netns', 'exec', switchNs, 'hostapd', '-d', join(dir, 'hostapd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    hostapd.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    hostapd.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await waitFor('hostapd', () => /interface state .*ENABLED|AP-ENABLED/.test(log) || hostapd!.exitCode !== null, 20_000);
    if (hostapd.exitCode !== null) throw new Error(`hostapd did not start:\n${log}`);

    return {
      dir, iface: devIf, deviceNs, ca, untrusted, serverCaPem: ca.certPem,
      async startSupplicant(config, env = {}) {
        await kill(supplicant);
        supplicantLog = '';
        supplicant = spawn('ip', ['netns', 'exec', deviceNs, 'wpa_supplicant', '-D', 'wired', '-i', devIf, '-c', config, '-d'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
        supplicant.stdout!.on('data', (d: Buffer) => { supplicantLog += d.toString(); });
        supplicant.stderr!.on('data', (d: Buffer) => { supplicantLog += d.toString(); });
        const s = supplicant;
        // `ip netns exec` execs the supplicant: the child's pid is the supplicant's.
        writeFileSync(pidFile, `${s.pid}\n`);
        await waitFor('wpa_supplicant', () => /Added interface|ctrl_interface|Initializing interface/.test(supplicantLog) || s.exitCode !== null, 20_000);
        if (s.exitCode !== null) throw new Error(`wpa_supplicant did not start:\n${supplicantLog}`);
      },
      stopSupplicant: async () => {
        await kill(supplicant);
        killDaemon();
      },
      restartCommand(config, env = {}) {
        const script = join(dir, 'restart-supplicant.sh');
        const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
        writeFileSync(script, [
          `p=$(cat ${pidFile} 2>/dev/null) && kill $p 2>/dev/null`,
          'while [ -n "$p" ] && kill -0 $p 2>/dev/null; do sleep 0.1; done',
          ...Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}`),
          `exec ip netns exec ${deviceNs} wpa_supplicant -B -P ${pidFile} -D wired -i ${devIf} -c ${q(config)}`, '',
        ].join('\n'), { mode: 0o700 });
        return ['sh', script];
      },
      supplicantLog: () => supplicantLog,
      hostapdLog: () => log,
      hostapdCli: (...args) => run('ip', ['netns', 'exec', switchNs, 'hostapd_cli', '-p', ctrl, ...args]),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** An entry with a key certd makes in `store` (cert.v1 create, get_csr), its CSR signed by `sign`. */
export async function enrolledEntry(admin: Client, alias: string, store: string, sign: (csrPem: string) => string): Promise<void> {
  const enc = encodeURIComponent;
  const ok = (r: Awaited<ReturnType<Client['post']>>) => {
    if (r.status !== 200) throw new Error(`${alias}: ${r.status} ${r.text}`);
    return r;
  };
  ok(await admin.post(`${API}/create_certificate`, { alias, subject: `CN=${alias}`, keystore: store, key_type: 'EC-P256' }));
  const csr = ok(await admin.post(`${API}/certificates/${enc(alias)}/get_csr`, {})).json.data as string;
  ok(await admin.patch(`${API}/certificates/${enc(alias)}`, { certificate: sign(csr) }));
}
