// `npm start`: runs keystored and then certd on the embedded defaults (SOFTWARE0, data in
// the project's data/ folder), restarts a daemon that dies (certd after keystored), and
// stops both on SIGINT/SIGTERM, certd first. As root, with nginx installable, certd gets an
// `https` section: nginx serves HTTPS (CERTD_HTTPS_PORT, default 8443) with the https
// binding (the default certificate at first) in front of certd on loopback. On a camera,
// systemd does this instead.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { startDaemonProcess, type DaemonProcess } from './common/daemon-process';
import { createLogger } from './common/log';

const log = createLogger('launcher');
const KEYSTORED = join(__dirname, 'keystored', 'main.js');
const CERTD = join(__dirname, 'certd', 'main.js');

const DATA = process.env.CERTD_DATA_DIR ?? join(__dirname, '..', '..', 'data');
const NGINX_PREFIX = join(DATA, 'nginx');

/** certd's config file with nginx in front, or why there is none (one line). */
function httpsConfig(): { file?: string; why?: string; port?: number } {
  const port = Number(process.env.CERTD_HTTPS_PORT ?? 8443);
  const certdPort = Number(process.env.CERTD_PORT ?? 8080);
  if (process.getuid?.() !== 0) return { why: 'not root' };
  if (!port) return { why: 'CERTD_HTTPS_PORT is 0' };
  if (!certdPort) return { why: 'nginx needs a fixed CERTD_PORT to proxy to' };
  try {
    execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'packages.sh'), 'nginx'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    return { why: 'nginx could not be installed' };
  }
  const file = join(DATA, 'certd-https.json');
  writeFileSync(file, JSON.stringify({ listen: { host: '127.0.0.1', port: certdPort }, https: { prefix: NGINX_PREFIX, port } }));
  return { file, port };
}

const https = httpsConfig();

/** nginx outlives certd by design (it keeps serving); npm start stops it with the rest. */
function stopNginx(): void {
  try {
    const pid = Number(readFileSync(join(NGINX_PREFIX, 'nginx.pid'), 'utf8').trim());
    if (pid > 1) process.kill(pid, 'SIGTERM');
  } catch {
    // Not running.
  }
}

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
  certd = await startDaemonProcess(CERTD, https.file ? ['--config', https.file] : [], process.env, 60_000);
  replayStartup(certd);
  const ready = /"msg":"ready","url":"([^"]+)"/.exec(certd.output());
  relay(certd);
  process.stdout.write(`certd is serving ${ready?.[1] ?? ''}/config/rest/cert/v1 (Ctrl-C stops it)\n`);
  process.stdout.write(https.port
    ? `HTTPS (nginx): https://${hostname()}:${https.port}/config/rest/cert/v1\n`
    : `HTTPS: nginx not started (${https.why}); plain HTTP on loopback only\n`);
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
  stopNginx();
  await keystored?.stop();
  process.exit(code);
}

process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
void (async () => {
  await startKeystored();
  await startCertd();
})().catch(fail);
