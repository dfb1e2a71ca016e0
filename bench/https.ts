// The https section: certd with its `https` config starts Debian's nginx (as root, temp
// prefix, free ports; test/certd/nginx.test.ts does the same). Measured:
// - new TLS handshakes/s (8 at a time, no HTTP) against nginx serving a SOFTWARE0 entry
//   (the key file keystored writes for nginx), beside a second nginx with a plain key file
//   openssl made (the limit; the ratio is against it);
// - 20 binding swaps EC <-> RSA (PUT /certd/v1/bindings/https) while new TLS connections
//   are opened without pause: time to the API's answer (certd answers once nginx serves the
//   new leaf), the leaf the first handshake after the answer sees, and failed connections.
// Token keys (SE0, TPM0) are not served by nginx yet: no rows for them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { servedLeaf } from '../src/certd/appliers/nginx';
import { API, startService } from '../test/certd/service';
import { ROOT, type Section, table } from './lib';
import { percentiles } from './service';

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** One new TLS connection to the end of the handshake; false if it failed. */
const handshake = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, timeout: 10_000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });

/** Handshakes completed per second over `seconds`, `parallel` at a time. */
async function rate(port: number, seconds: number, parallel = 8): Promise<{ per_s: number; failed: number }> {
  const end = performance.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (performance.now() < end) (await handshake(port)) ? ok++ : failed++;
  }));
  return { per_s: Math.round(ok / ((performance.now() - start) / 1000)), failed };
}

/** nginx with a key file openssl made: the limit the applier's nginx is compared with. */
function plainNginx(dir: string, port: number): () => void {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=plain',
    '-days', '2', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'nginx.conf'), `user www-data;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\n`
    + `events { worker_connections 512; }\nhttp { access_log off; server { listen 127.0.0.1:${port} ssl; ssl_certificate ${dir}/cert.pem; `
    + `ssl_certificate_key ${dir}/key.pem; ssl_protocols TLSv1.2 TLSv1.3; location / { return 404; } } }\n`);
  execFileSync('/usr/sbin/nginx', ['-p', dir + '/', '-c', join(dir, 'nginx.conf')]);
  return () => process.kill(Number(readFileSync(join(dir, 'nginx.pid'), 'utf8')), 'SIGTERM');
}

export const httpsSection: Section = {
  name: 'https',
  async run(opts) {
    if (process.getuid?.() !== 0) return { text: 'https: skipped (nginx as the device runs it needs root)\n', json: { skipped: 'not root' } };
    execFileSync('bash', [join(ROOT, 'scripts', 'packages.sh'), 'nginx']);
    const seconds = Math.max(2, opts.minTime * 2);
    const dir = mkdtempSync(join(tmpdir(), 'certd-bench-https-'));
    const [certdPort, httpsPort, plainPort] = [await freePort(), await freePort(), await freePort()];
    const stopPlain = plainNginx(join(dir, 'plain'), plainPort);
    const prefix = join(dir, 'nginx');
    const svc = await startService({ certd: { listen: { host: '127.0.0.1', port: certdPort }, https: { prefix, host: '127.0.0.1', port: httpsPort }, default_certificate: { make: true } } });
    try {
      const admin = svc.as('admin');
      for (const [alias, key_type] of [['web-ec', 'EC-P256'], ['web-rsa', 'RSA-2048']] as const) {
        const r = await admin.post(`${API}/create_certificate`, { alias, subject: `CN=${alias}`, key_type });
        if (r.status !== 200) throw new Error(`https: create ${alias}: ${r.status} ${r.text}`);
      }
      const leaves = new Map<string, string>();
      for (const e of (await admin.get('/certd/v1/entries')).json.data as { alias: string; sha256: string }[]) leaves.set(e.alias, e.sha256.replace(/:/g, '').toLowerCase());
      const bind = async (alias: string) => {
        const t0 = performance.now();
        const r = await admin.call('PUT', '/certd/v1/bindings/https', { data: { certificate: alias } });
        if (r.status !== 200) throw new Error(`https: bind ${alias}: ${r.status} ${r.text}`);
        return performance.now() - t0;
      };

      await bind('web-ec');
      const plain = await rate(plainPort, seconds);
      const software = await rate(httpsPort, seconds);

      // Swaps under a steady stream of new connections (4 at a time) until both are done.
      let connections = 0;
      let failed = 0;
      let swapping = true;
      const load = Promise.all(Array.from({ length: 4 }, async () => {
        while (swapping || connections < 800) {
          connections++;
          if (!(await handshake(httpsPort))) failed++;
        }
      }));
      const answered: number[] = [];
      let staleAfterAnswer = 0;
      for (let i = 0; i < 20; i++) {
        const alias = i % 2 ? 'web-ec' : 'web-rsa';
        answered.push(await bind(alias));
        if ((await servedLeaf('127.0.0.1', httpsPort)) !== leaves.get(alias)) staleAfterAnswer++;
      }
      swapping = false;
      await load;

      const swap = { answered: percentiles(answered), stale_after_answer: staleAfterAnswer, connections, failed };
      const json = { seconds, plain_file: plain, software0: software, ratio_software0: Math.round((software.per_s / plain.per_s) * 100) / 100, swap };
      return {
        text: table(['nginx TLS handshakes/s (EC P-256, 8 at a time)', 'per s', 'vs plain file', 'failed'], [
          ['plain key file (openssl, the limit)', String(plain.per_s), '1.00', String(plain.failed)],
          ['SOFTWARE0 entry (keystored key file)', String(software.per_s), json.ratio_software0.toFixed(2), String(software.failed)],
        ]) + '\n' + table(['20 swaps EC <-> RSA under new TLS connections', 'value'], [
          ['PUT /certd/v1/bindings/https answered (new leaf served), p50', `${Math.round(swap.answered.p50_ms)} ms`],
          ['same, p99', `${Math.round(swap.answered.p99_ms)} ms`],
          ['first handshake after the answer saw the old leaf', `${staleAfterAnswer} of 20`],
          ['new TLS connections during the swaps / failed', `${connections} / ${failed}`],
        ]),
        json,
      };
    } finally {
      await svc.stop();
      const pid = Number(readFileSync(join(prefix, 'nginx.pid'), 'utf8'));
      if (pid > 1) process.kill(pid, 'SIGTERM');
      stopPlain();
      await new Promise((r) => setTimeout(r, 500));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
