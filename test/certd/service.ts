// keystored and certd as real processes for the end-to-end tests, with users of every
// role, optionally with the TPM0 and SE0 simulators behind keystored.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { UserStore } from '../../src/certd/auth/users';
import { startDaemonProcess, type DaemonProcess } from '../../src/common/daemon-process';
import { Client } from './client';
import { TIME_SCALE } from '../time-scale';

const DIST = join(__dirname, '..', '..');
export const API = '/config/rest/cert/v1';
export const PASSWORDS = { admin: 'admin-pass-8c1f', operator: 'operator-pass-2b7e', viewer: 'viewer-pass-94d0' } as const;

export interface Service {
  dir: string;
  port: number;
  /** The running certd's process id. */
  certdPid(): number;
  as(role: 'admin' | 'operator' | 'viewer', scheme?: 'digest-sha256' | 'digest-md5' | 'basic'): Client;
  anonymous(): Client;
  /** Everything both daemons wrote, across restarts. */
  logs(): string;
  /** Process ids of the running daemons (for the tests that read their memory). */
  pids(): { keystored?: number; certd?: number };
  killCertd(): Promise<void>;
  killKeystored(): Promise<void>;
  /** Sends keystored a signal (SIGSTOP, SIGCONT) without waiting for anything. */
  signalKeystored(signal: NodeJS.Signals): void;
  /** Starts whichever of the two is not running (keystored first); `env` is added to certd's environment for this start. */
  start(certdEnv?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

// A suite that ends (or dies) with daemons running or its folders left behind must not leave
// them on a shared machine: at exit, what still runs is killed and the folders removed
// (CERTD_KEEP_TEST_DIRS=1 keeps the folders for a look after a failure).
const atExit: (() => void)[] = [];
process.once('exit', () => { for (const f of atExit) f(); });

/** The keys of certd's (`certd-` ids) that keystored holds in `store`, asked over IPC. */
export async function certdKeys(svc: Service, store = 'SOFTWARE0'): Promise<string[]> {
  const client = new KeystoreClient(endpointFor(join(svc.dir, 'run')));
  try {
    return (await client.call(Opcode.LIST_KEYS, { store })).key_ids.filter((k) => k.startsWith('certd-'));
  } finally {
    client.close();
  }
}

/**
 * `basic` (default true) turns Basic on; `basicOverHttp` (default: as `basic`) lets it
 * through on this plain-HTTP listener too, for the suites that are about something else.
 * `throttle`: certd's auth.throttle config (README "Authentication and roles").
 */
export async function startService(opts: {
  stores?: Record<string, unknown>[]; env?: Record<string, string>; basic?: boolean; basicOverHttp?: boolean; throttle?: Record<string, number>;
  certd?: Record<string, unknown>;
} = {}): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'certd-e2e-'));
  const realm = 'certd-test';
  const usersFile = join(dir, 'users.json');
  const users = (() => {
    UserStore.firstRun(usersFile, realm);
    return UserStore.load(usersFile);
  })();
  users.setPassword('admin', PASSWORDS.admin);
  users.add('operator', 'operator', PASSWORDS.operator);
  users.add('viewer', 'viewer', PASSWORDS.viewer);
  const ksConfig = join(dir, 'keystored.json');
  writeFileSync(ksConfig, JSON.stringify({ data_dir: join(dir, 'keystored'), socket_dir: join(dir, 'run'), stores: [{ kind: 'software', id: 'SOFTWARE0' }, ...(opts.stores ?? [])] }));
  const certdConfig = join(dir, 'certd.json');
  writeFileSync(certdConfig, JSON.stringify({
    data_dir: join(dir, 'certd'), keystored_socket_dir: join(dir, 'run'), listen: { host: '127.0.0.1', port: 0 },
    users_file: usersFile, realm, auth: {
      basic: opts.basic ?? true, basic_over_http: opts.basicOverHttp ?? opts.basic ?? true, ...(opts.throttle ? { throttle: opts.throttle } : {}),
    },
    // Suites count entries and keys from an empty store; default-certificate.test.ts makes one.
    default_certificate: { make: false },
    ...(opts.certd ?? {}),
  }));
  const env = { ...process.env, CERTD_KEYSTORE_TIME_SCALE: String(TIME_SCALE), ...(opts.env ?? {}) };
  let keystored: DaemonProcess | undefined;
  let certd: DaemonProcess | undefined;
  let earlier = '';
  let port = 0;
  const running = (d?: DaemonProcess) => d !== undefined && d.child.exitCode === null && d.child.signalCode === null;

  const svc: Service = {
    dir,
    get port() { return port; },
    certdPid: () => certd!.child.pid!,
    as: (role, scheme = 'digest-sha256') => new Client(port, { user: role, password: PASSWORDS[role], scheme }),
    anonymous: () => new Client(port),
    logs: () => earlier + (keystored?.output() ?? '') + (certd?.output() ?? ''),
    pids: () => ({ keystored: keystored?.child.pid, certd: certd?.child.pid }),
    killCertd: async () => {
      earlier += certd?.output() ?? '';
      await certd?.stop('SIGKILL');
      certd = undefined;
    },
    killKeystored: async () => {
      earlier += keystored?.output() ?? '';
      await keystored?.stop('SIGKILL');
      keystored = undefined;
    },
    signalKeystored: (signal) => {
      keystored?.child.kill(signal);
    },
    start: async (certdEnv) => {
      if (!running(keystored)) keystored = await startDaemonProcess(join(DIST, 'src', 'keystored', 'main.js'), ['--config', ksConfig], env, 20_000 * TIME_SCALE);
      if (!running(certd)) {
        certd = await startDaemonProcess(join(DIST, 'src', 'certd', 'main.js'), ['--config', certdConfig], { ...env, ...certdEnv }, 60_000 * TIME_SCALE);
        port = Number(/"url":"https?:\/\/[^:]+:(\d+)"/.exec(certd.output())![1]);
      }
    },
    stop: async () => {
      earlier += (keystored?.output() ?? '') + (certd?.output() ?? '');
      await certd?.stop();
      await keystored?.stop();
      certd = keystored = undefined;
    },
  };
  atExit.push(() => {
    for (const d of [certd, keystored]) if (running(d)) d!.child.kill('SIGKILL');
    if (process.env.CERTD_KEEP_TEST_DIRS !== '1') rmSync(dir, { recursive: true, force: true });
  });
  await svc.start();
  return svc;
}
