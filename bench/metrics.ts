// The metrics section: GET /metrics and GET /certd/v1/report with 1,000 entries (p50/p99
// over HTTP, Basic up front). The entries are 999 CA entries issued by a stored root plus
// the root, so the report checks 999 chains by signature: its costly case.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceWithEntries, writeCaEntries } from './bulk';
import { type Section, table } from './lib';
import { percentiles, send } from './service';

const ENTRIES = 1000;

/** A root CA and a certificate it issued (PEM), made by openssl. */
function issuedPair(): { root: string; issued: string } {
  const dir = mkdtempSync(join(tmpdir(), 'certd-bench-metrics-'));
  try {
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    ssl(['req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=bench root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE']);
    ssl(['req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=bench issued']);
    ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '7', '-days', '30', '-out', 'leaf.pem']);
    return { root: readFileSync(join(dir, 'root.pem'), 'utf8'), issued: readFileSync(join(dir, 'leaf.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const metricsSection: Section = {
  name: 'metrics',
  async run(opts) {
    const n = Math.max(50, Math.round(opts.minTime * 100));
    const json: Record<string, unknown> = {};
    const rows: string[][] = [];
    const { root, issued } = issuedPair();
    const { svc } = await serviceWithEntries((entries) => {
      writeCaEntries(entries, 'bench root', 1, root);
      writeCaEntries(entries, 'bench issued', ENTRIES - 1, issued);
    });
    try {
      for (const [key, path, label, check] of [
        ['metrics_1000', '/metrics', `GET /metrics (${ENTRIES} entries)`, (b: string) => b.split('\nx509_cert_not_after{').length - 1 === ENTRIES],
        ['report_1000', '/certd/v1/report', `GET /certd/v1/report (${ENTRIES} entries)`, (b: string) => (JSON.parse(b) as { data: unknown[] }).data.length === ENTRIES],
      ] as const) {
        const samples: number[] = [];
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          const r = await send(svc.port, 'GET', path);
          samples.push(performance.now() - t0);
          if (r.status !== 200 || !check(r.body.toString())) throw new Error(`${path}: ${r.status} ${r.body.toString().slice(0, 200)}`);
        }
        const p = percentiles(samples);
        json[key] = p;
        rows.push([label, `${p.p50_ms.toFixed(2)} ms`, `${p.p99_ms.toFixed(2)} ms`, String(p.n)]);
      }
    } finally {
      await svc.stop();
    }
    return { text: table(['operation', 'p50', 'p99', 'n'], rows), json };
  },
};
