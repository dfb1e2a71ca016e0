// Starts a real keystored process for the tests, with a config of the test's choosing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeystoreClient } from '../../ipc/client';
import { endpointFor } from '../../ipc/server';

const MAIN = join(__dirname, '..', '..', 'src', 'keystored', 'main.js');

export interface Daemon {
  dir: string;
  endpoint: string;
  /** Everything the daemon wrote to stdout and stderr so far. */
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
  let out = '';
  let proc: ChildProcess;
  const clients: KeystoreClient[] = [];

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      proc = spawn(process.execPath, [MAIN, '--config', configFile], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => reject(new Error(`keystored not ready in 20 s:\n${out}`)), 20_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('"msg":"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        if (!out.includes('"msg":"ready"')) reject(new Error(`keystored exited ${code}:\n${out}`));
      });
    });
  const exited = () => new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));

  await launch();
  const d: Daemon = {
    dir,
    endpoint: endpointFor(join(dir, 'run')),
    logs: () => out,
    client: (timeoutMs = 30_000) => {
      const c = new KeystoreClient(d.endpoint, { timeoutMs });
      clients.push(c);
      return c;
    },
    stop: async () => {
      proc.kill('SIGTERM');
      await exited();
      for (const c of clients.splice(0)) c.close();
      return proc.exitCode;
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await exited();
    },
    reload: async (next) => {
      writeFileSync(configFile, JSON.stringify({ ...base, ...next }));
      const seen = out.length;
      proc.kill('SIGHUP');
      for (let i = 0; i < 200; i++) {
        const m = /"msg":"(config reloaded|config reload failed[^"]*)"/.exec(out.slice(seen));
        if (m) return m[1]!;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('keystored did not answer SIGHUP');
    },
    restart: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited();
      }
      await launch();
    },
  };
  return d;
}
