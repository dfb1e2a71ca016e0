// The acme section: ACME enrollment against Debian's pebble end to end (POST of the
// enrollment to MONITORING: account, order, http-01 over certd's listener, new key + CSR
// in keystored, finalize, entry, https moved in one batch), and renewal with the binding
// swap (the window opening to MONITORING again). Times come from certd's own audit records
// (millisecond stamps), so polling adds nothing. pebble rejects no nonces here.
import { freePort, startPebble } from '../test/certd/pebble';
import { startService } from '../test/certd/service';
import { percentiles } from './service';
import { type Section, table } from './lib';

interface Record_ {
  time: string;
  operation: string;
  target?: { id?: string };
}

/** Issued certificates live this long; renewal opens once 5% of it has passed. */
const VALIDITY_S = 60;
const FRACTION = 0.95;
const RENEWALS = 2;

export const acmeSection: Section = {
  name: 'acme',
  async run(opts) {
    const port = await freePort();
    const svc = await startService({ certd: { listen: { host: '127.0.0.1', port } } });
    const pebble = await startPebble({ httpPort: port, validitySeconds: VALIDITY_S, nonceRejectPercent: 0 });
    try {
      const admin = svc.as('admin');
      const made = await admin.post('/certd/v1/batch', { steps: [
        { op: 'create_certificate', alias: 'boot', subject: 'CN=localhost', subject_alt_names: ['DNS:localhost'] },
        { op: 'set_binding', name: 'https', certificate: 'boot' },
      ] });
      if (made.status !== 200) throw new Error(`acme: ${made.text}`);
      const n = Math.max(5, Math.min(opts.minIters, 10));
      const enroll: number[] = [];
      const renew: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await admin.post('/certd/v1/enrollments', {
          directory_url: pebble.directory, trust_anchors: [pebble.tlsAnchor], bindings: ['https'], renew_fraction: FRACTION,
          identifiers: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }],
        });
        if (r.status !== 201) throw new Error(`acme: ${r.text}`);
        const id = (r.json.data as { id: string }).id;
        const deadline = Date.now() + 120_000;
        let mine: Record_[] = [];
        for (;;) {
          mine = ((await admin.get('/certd/v1/audit')).json.data as Record_[]).filter((a) => a.target?.id === id);
          if (mine.filter((a) => a.operation === 'enrollment_monitoring').length > RENEWALS) break;
          if (mine.some((a) => a.operation === 'enrollment_ca_rejected' || a.operation === 'enrollment_ca_unreachable')) throw new Error(`acme: enrollment failed: ${(await admin.get(`/certd/v1/enrollments/${id}`)).text}`);
          if (Date.now() > deadline) throw new Error('acme: enrollment did not settle');
          await new Promise((res) => setTimeout(res, 100));
        }
        const at = (op: string) => mine.filter((a) => a.operation === op).map((a) => Date.parse(a.time));
        const monitoring = at('enrollment_monitoring');
        enroll.push(monitoring[0]! - at('create_enrollment')[0]!);
        at('enrollment_need_to_renew').slice(0, RENEWALS).forEach((t, k) => renew.push(monitoring[k + 1]! - t));
        await admin.del(`/certd/v1/enrollments/${id}`);
      }
      const rows = { 'enrollment: POST to MONITORING (EC-P256, SOFTWARE0, 2 identifiers)': percentiles(enroll), 'renewal: window open to MONITORING, https swapped': percentiles(renew) };
      const text = table(['operation', 'p50', 'p99', 'n'], Object.entries(rows).map(([k, v]) => [k, `${v.p50_ms.toFixed(0)} ms`, `${v.p99_ms.toFixed(0)} ms`, String(v.n)]))
        + '\n(pebble 2.4 on loopback, PEBBLE_VA_NOSLEEP=1; times from the audit records)\n';
      return { text, json: { latency: rows } };
    } finally {
      await svc.stop();
      await pebble.stop();
    }
  },
};
