// Debian's pebble (an ACME test CA) for the ACME suites: its own TLS certificate made with
// openssl in a temp folder (the package ships none), free ports, no validation sleeps, a
// short certificate lifetime, http-01 checked on the port certd listens on. By default it
// rejects 15% of nonces, so every ACME run goes through the client's badNonce retry.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TIME_SCALE } from '../time-scale';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** The certificate pebble's ACME listener presents (the enrollment's trust anchor). */
  tlsAnchor: string;
  /** The root pebble issues under (it changes at every start). */
  root(): Promise<string>;
  /** pebble's output so far. */
  output(): string;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..', '..');

export function installPebble(): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'packages.sh'), 'pebble'], { stdio: 'inherit' });
}

/** A port free now (pebble takes its ports from its config file). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function fetchText(url: string, ca: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

/**
 * `httpPort`: where pebble's validator fetches http-01 answers; `validitySeconds`: issued
 * certificates' lifetime; `nonceRejectPercent` (default 15; benchmarks: 0).
 */
export async function startPebble(opts: { httpPort: number; validitySeconds: number; nonceRejectPercent?: number }): Promise<Pebble> {
  installPebble();
  const dir = mkdtempSync(join(tmpdir(), 'certd-pebble-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=pebble test', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const tlsAnchor = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const port = await freePort();
  const management = await freePort();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${port}`, managementListenAddress: `127.0.0.1:${management}`,
      certificate: join(dir, 'cert.pem'), privateKey: join(dir, 'key.pem'),
      httpPort: opts.httpPort, tlsPort: await freePort(), ocspResponderURL: '', externalAccountBindingRequired: false,
      certificateValidityPeriod: opts.validitySeconds,
    },
  }));
  let out = '';
  const child: ChildProcess = spawn('pebble', ['-config', join(dir, 'config.json')], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: String(opts.nonceRejectPercent ?? 15) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const directory = `https://127.0.0.1:${port}/dir`;
  const deadline = Date.now() + 20_000 * TIME_SCALE;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pebble exited: ${out}`);
    try {
      if ((await fetchText(directory, tlsAnchor)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pebble not ready: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    directory,
    tlsAnchor,
    root: async () => (await fetchText(`https://127.0.0.1:${management}/roots/0`, tlsAnchor)).text,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
