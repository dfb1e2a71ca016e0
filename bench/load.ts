// The load section: --load-clients clients (default 50) for --load-seconds (default 60; 10
// with --quick), each sending one request after another as admin (Basic, sent up front) in
// a seeded mix: listings, one certificate, create_certificate (EC-P256), upload
// certificate+key, get_csr and delete of its own entries. Each client uses aliases of its
// own, so no answer but 2xx is expected: every other status is an error. At the end the
// listing must equal the entries made before plus those acknowledged created minus those
// acknowledged deleted. Reports requests, errors, req/s and p50/p99 per operation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API, startService } from '../test/certd/service';
import { Rng } from '../test/rng';
import { type Section, table } from './lib';
import { percentiles, send } from './service';

type Op = 'GET certificates' | 'GET certificate' | 'GET /' | 'create_certificate' | 'upload' | 'get_csr' | 'delete';
// As many deletes as creates and uploads: the store stays near its preloaded size, so a listing
// costs the same at the end as at the start.
const MIX: Record<Op, number> = { 'GET certificates': 25, 'GET certificate': 15, 'GET /': 5, create_certificate: 15, upload: 10, get_csr: 15, delete: 25 };
/** Entries made before the load, so that listings and get_csr have something from the start. */
const PRELOAD = 20;

const enc = encodeURIComponent;

export const loadSection: Section = {
  name: 'load',
  async run(opts) {
    const seconds = opts.loadSeconds ?? 60;
    const clients = opts.loadClients ?? 50;
    const dir = mkdtempSync(join(tmpdir(), 'certd-load-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=load', '-days', '30'], { stdio: 'pipe' });
    const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
    const key = readFileSync(join(dir, 'k.pem'), 'utf8');
    rmSync(dir, { recursive: true, force: true });

    // Every client comes from 127.0.0.1: the per-address connection cap must admit them all.
    const svc = await startService({ basic: true, certd: { max_connections_per_address: clients + 8 } });
    try {
      const port = svc.port;
      const expected = new Set<string>();
      for (let i = 0; i < PRELOAD; i++) {
        const r = await send(port, 'POST', `${API}/create_certificate`, { data: { alias: `pre-${i}`, subject: `CN=pre ${i}` } });
        if (r.status !== 200) throw new Error(`preload: ${r.status} ${r.body.toString()}`);
        expected.add(`pre-${i}`);
      }
      const samples = new Map<Op, number[]>(Object.keys(MIX).map((k) => [k as Op, []]));
      const errors = new Map<string, number>();
      let requests = 0;
      const until = performance.now() + seconds * 1000;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: clients }, async (_, c) => {
        const rng = new Rng(`load/${c}`);
        const mine: string[] = [];
        let n = 0;
        while (performance.now() < until) {
          let op = rng.weighted(MIX);
          if ((op === 'get_csr' || op === 'delete' || op === 'GET certificate') && mine.length === 0) op = 'create_certificate';
          const own = mine.length > 0 ? mine[rng.int(mine.length)]! : '';
          const alias = `c${c}-${n++}`;
          const start = performance.now();
          const r = await (() => {
            switch (op) {
              case 'GET certificates': return send(port, 'GET', `${API}/certificates`);
              case 'GET certificate': return send(port, 'GET', `${API}/certificates/${enc(own)}`);
              case 'GET /': return send(port, 'GET', API);
              case 'create_certificate': return send(port, 'POST', `${API}/create_certificate`, { data: { alias, subject: `CN=${alias}`, subject_alt_names: [`DNS:${alias}.local`] } });
              case 'upload': return send(port, 'POST', `${API}/certificates`, { data: { alias, certificate: cert, private_key: key } });
              case 'get_csr': return send(port, 'POST', `${API}/certificates/${enc(own)}/get_csr`, { data: {} });
              case 'delete': return send(port, 'DELETE', `${API}/certificates/${enc(own)}`);
            }
          })().catch((e: Error) => ({ status: 0, body: Buffer.from(e.message) }));
          samples.get(op)!.push(performance.now() - start);
          requests++;
          if (r.status < 200 || r.status >= 300) {
            const k = `${op} ${r.status || 'no answer'}`;
            errors.set(k, (errors.get(k) ?? 0) + 1);
            continue;
          }
          if (op === 'create_certificate' || op === 'upload') mine.push(alias);
          if (op === 'delete') mine.splice(mine.indexOf(own), 1);
        }
        for (const a of mine) expected.add(a);
      }));
      const elapsed = (performance.now() - t0) / 1000;
      const listing = await send(port, 'GET', `${API}/certificates`);
      const listed = new Set((JSON.parse(listing.body.toString()) as { data: { alias: string }[] }).data.map((e) => e.alias));
      const missing = [...expected].filter((a) => !listed.has(a));
      const extra = [...listed].filter((a) => !expected.has(a));
      const errorCount = [...errors.values()].reduce((s, n) => s + n, 0);
      const ops = Object.fromEntries([...samples].map(([op, s]) => [op, percentiles(s)]));
      const json = {
        clients, seconds: Math.round(elapsed * 10) / 10, requests, requests_per_s: Math.round(requests / elapsed), errors: errorCount,
        errors_by_op_and_status: Object.fromEntries(errors), ops, listing: { entries: listed.size, expected: expected.size, missing, extra, equal: missing.length === 0 && extra.length === 0 },
      };
      const rows = [...samples].map(([op, s]) => {
        const p = percentiles(s);
        return [op, String(p.n), `${p.p50_ms.toFixed(1)} ms`, `${p.p99_ms.toFixed(1)} ms`];
      });
      const text = [
        table([`operation (${clients} clients, ${json.seconds} s, Basic, keep-alive)`, 'n', 'p50', 'p99'], rows),
        '',
        `${requests} requests (${json.requests_per_s}/s), ${errorCount} errors${errorCount ? ` ${JSON.stringify(json.errors_by_op_and_status)}` : ''}`,
        `listing after the load: ${listed.size} entries, expected ${expected.size} (${PRELOAD} made before + acknowledged creates - acknowledged deletes): ${json.listing.equal ? 'equal' : `DIFFERENT, missing ${missing.length}, extra ${extra.length}`}`,
      ].join('\n');
      return { text, json };
    } finally {
      await svc.stop();
    }
  },
};
