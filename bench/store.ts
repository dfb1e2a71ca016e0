// The store section: lookup by fingerprint among 10,000 entries, through the store's index
// in this process and through GET /certd/v1/entries?fingerprint= over HTTP; and the audit
// trail's append (one JSON line, fsynced), which every change pays once.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../src/certd/store/audit-log';
import { RecordStore } from '../src/certd/store/records';
import { caPem, serviceWithEntries, writeCaEntries } from './bulk';
import { type Section, table, timeOp } from './lib';
import { percentiles, send } from './service';

const sha256 = (pem: string) => createHash('sha256').update(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex');

export const storeSection: Section = {
  name: 'store',
  async run(opts) {
    const n = Math.max(200, Math.round(opts.minTime * 200));
    const json: Record<string, unknown> = {};
    const rows: string[][] = [];

    // 9,999 entries of one CA certificate and one of another: the lookup finds the one.
    const needle = caPem('needle CA');
    const { svc, written: id } = await serviceWithEntries((entries) => {
      writeCaEntries(entries, 'bulk CA', 9_999, caPem('bulk CA'));
      return writeCaEntries(entries, 'needle CA', 1, needle)[0]!;
    });
    try {
      const hex = sha256(needle);
      const colons = hex.toUpperCase().replace(/(..)(?!$)/g, '$1:');
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const r = await send(svc.port, 'GET', `/certd/v1/entries?fingerprint=${colons}`);
        samples.push(performance.now() - t0);
        const found = (JSON.parse(r.body.toString()) as { data: { id: string }[] }).data;
        if (r.status !== 200 || found.length !== 1 || found[0]!.id !== id) throw new Error(`fingerprint lookup: ${r.status} ${r.body.toString().slice(0, 200)}`);
      }
      const http = percentiles(samples);
      await svc.stop();

      const store = new RecordStore(join(svc.dir, 'certd'));
      // Timed 1,000 lookups at a time: one is below the clock's resolution.
      const index = timeOp(() => {
        for (let k = 0; k < 1000; k++) if (store.getByFingerprint(hex).length !== 1) throw new Error('index lookup missed');
      }, { minTime: opts.minTime, minIters: 100 });
      if (index.status !== 'ok') throw new Error(`index lookup: ${index.reason}`);
      const ns = index.median_us;
      json.fingerprint_lookup_10000 = { index_median_ns: ns, http };
      rows.push(['lookup by SHA-256 fingerprint, store index (10,000 entries)', `${ns.toFixed(0)} ns`, '', String(index.iterations * 1000)]);
      rows.push(['GET /certd/v1/entries?fingerprint= (10,000 entries)', `${http.p50_ms.toFixed(2)} ms`, `${http.p99_ms.toFixed(2)} ms`, String(http.n)]);
    } finally {
      await svc.stop();
    }

    // The audit record of a create, appended and fsynced, as Audit writes it.
    const dir = mkdtempSync(join(tmpdir(), 'certd-bench-audit-'));
    try {
      const log = new AuditLog(dir, { maxBytes: 1024 * 1024, keep: 2 });
      const record = (i: number) => ({
        time: new Date().toISOString(), user: 'admin', source: '127.0.0.1', api: 'cert.v1', operation: 'create_certificate',
        target: { id: '2f0c3a5e-8d1b-4b7e-9c61-0d5f1e2a3b4c', alias: `bench ${i}` }, outcome: 'ok', request_id: `r-${i}`,
      });
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        log.append(record(i));
        samples.push(performance.now() - t0);
      }
      log.close();
      const append = percentiles(samples);
      json.audit_append = append;
      rows.push(['audit append, fsynced (one per change)', `${append.p50_ms.toFixed(3)} ms`, `${append.p99_ms.toFixed(3)} ms`, String(append.n)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { text: table(['operation', 'p50', 'p99', 'n'], rows), json };
  },
};
