// Starts one of our daemons as a child process and resolves once it logs "ready"; used by
// the launcher of `npm start`, the end-to-end tests and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** Everything the daemon wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited(): Promise<void>;
}

export function startDaemonProcess(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<DaemonProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let ready = false;
    const exited = () =>
      new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    const handle: DaemonProcess = {
      child,
      output: () => out,
      exited,
      stop: async (signal = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited();
        return child.exitCode;
      },
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!ready && out.includes('"msg":"ready"')) {
        ready = true;
        clearTimeout(timer);
        resolve(handle);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${script} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
}
