// Starts a real keystored process for the tests, with a config of the test's choosing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeystoreClient } from '../../ipc/client';
import { endpointFor } from '../../ipc/server';
import { startDaemonProcess, type DaemonProcess } from '../../src/common/daemon-process';
import { TIME_SCALE } from '../time-scale';

const MAIN = join(__dirname, '..', '..', 'src', 'keystored', 'main.js');

export interface Daemon {
  dir: string;
  endpoint: string;
  /** Everything the daemon wrote to stdout and stderr so far, across restarts. */
  logs(): string;
  client(timeoutMs?: number): KeystoreClient;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Writes a new config (merged over the first) and sends SIGHUP; resolves on the daemon's answer. */
  reload(config: Record<string, unknown>): Promise<string>;
}

export async function startDaemon(config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, dir = mkdtempSync(join(tmpdir(), 'keystored-'))): Promise<Daemon> {
  const base = { data_dir: join(dir, 'data'), socket_dir: join(dir, 'run'), stores: [{ kind: 'software', id: 'SOFTWARE0' }], ...config };
  const configFile = join(dir, 'keystored.json');
  writeFileSync(configFile, JSON.stringify(base));
  let daemon: DaemonProcess | undefined;
  let earlier = '';
  const clients: KeystoreClient[] = [];
  const launch = async () => {
    earlier += daemon?.output() ?? '';
    // Start-up after a TPM reset under QEMU took over 20 s on a loaded machine (CI, arm64).
    daemon = await startDaemonProcess(MAIN, ['--config', configFile], { ...process.env, ...env }, 20_000 * TIME_SCALE);
  };

  await launch();
  const d: Daemon = {
    dir,
    endpoint: endpointFor(join(dir, 'run')),
    logs: () => earlier + daemon!.output(),
    client: (timeoutMs = 30_000 * TIME_SCALE) => {
      const c = new KeystoreClient(d.endpoint, { timeoutMs });
      clients.push(c);
      return c;
    },
    stop: async () => {
      for (const c of clients.splice(0)) c.close();
      return daemon!.stop();
    },
    kill: async () => {
      await daemon!.stop('SIGKILL');
    },
    reload: async (next) => {
      writeFileSync(configFile, JSON.stringify({ ...base, ...next }));
      const seen = daemon!.output().length;
      daemon!.child.kill('SIGHUP');
      for (let i = 0; i < 200; i++) {
        const m = /"msg":"(config reloaded|config reload failed[^"]*)"/.exec(daemon!.output().slice(seen));
        if (m) return m[1]!;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('keystored did not answer SIGHUP');
    },
    restart: async () => {
      await daemon!.stop();
      await launch();
    },
  };
  return d;
}
