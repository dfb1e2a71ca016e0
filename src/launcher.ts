// `npm start`: runs keystored and then certd on the embedded defaults (SOFTWARE0, data in
// the project's data/ folder), restarts a daemon that dies (certd after keystored), and
// stops both on SIGINT/SIGTERM, certd first. On a camera, systemd does this instead.
import { join } from 'node:path';
import { startDaemonProcess, type DaemonProcess } from './common/daemon-process';
import { createLogger } from './common/log';

const log = createLogger('launcher');
const KEYSTORED = join(__dirname, 'keystored', 'main.js');
const CERTD = join(__dirname, 'certd', 'main.js');

let keystored: DaemonProcess | undefined;
let certd: DaemonProcess | undefined;
let stopping = false;

/**
 * What a daemon wrote before it was ready, passed on as it came: log lines (JSON, the
 * start-up warnings among them) to stderr, the rest (first-run credentials) to stdout.
 */
function replayStartup(d: DaemonProcess): void {
  for (const line of d.output().split('\n')) {
    if (line === '') continue;
    (line.startsWith('{') ? process.stderr : process.stdout).write(line + '\n');
  }
}

function relay(d: DaemonProcess): void {
  // What certd prints on stdout (the URL, first-run credentials) is for the person at the terminal.
  d.child.stdout!.on('data', (b: Buffer) => process.stdout.write(b));
  d.child.stderr!.on('data', (b: Buffer) => process.stderr.write(b));
}

async function startCertd(): Promise<void> {
  certd = await startDaemonProcess(CERTD, [], process.env, 60_000);
  replayStartup(certd);
  const ready = /"msg":"ready","url":"([^"]+)"/.exec(certd.output());
  relay(certd);
  process.stdout.write(`certd is serving ${ready?.[1] ?? ''}/config/rest/cert/v1 (Ctrl-C stops it)\n`);
  certd.child.once('exit', (code) => {
    if (stopping) return;
    log.warn('certd exited; restarting it', { code });
    setTimeout(() => void startCertd().catch(fail), 1000);
  });
}

async function startKeystored(): Promise<void> {
  keystored = await startDaemonProcess(KEYSTORED, [], process.env);
  replayStartup(keystored);
  relay(keystored);
  keystored.child.once('exit', (code) => {
    if (stopping) return;
    log.warn('keystored exited; restarting it, then certd', { code });
    setTimeout(() => void (async () => {
      await certd?.stop();
      await startKeystored();
      await startCertd();
    })().catch(fail), 1000);
  });
}

function fail(e: Error): void {
  log.error('cannot start', { error: e.message });
  void shutdown(1);
}

async function shutdown(code = 0): Promise<void> {
  stopping = true;
  await certd?.stop();
  await keystored?.stop();
  process.exit(code);
}

process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
void (async () => {
  await startKeystored();
  await startCertd();
})().catch(fail);
