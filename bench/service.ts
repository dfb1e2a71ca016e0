// The service section: cert.v1 latency per operation and key store (p50/p99), a batch of
// three creates (/certd/v1/batch), a 2N upload and the 2N list of 1,000 entries, the SPS rows (bench/sps.ts), GET throughput beside a bare node:http server sending
// the same bytes (the two interleaved), listing 10,000 entries, idle RSS of certd and
// keystored beside bare Node, time to ready. `--only create_certificate,batch` measures
// just those rows.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonProcess } from '../src/common/daemon-process';
import { startService, API, PASSWORDS, type Service } from '../test/certd/service';
import { startSimulators } from '../test/sim';
import { requestsMultipart } from '../test/certd/two-n-client';
import { caPem, writeCaEntries } from './bulk';
import { SPS_ROWS, spsRows } from './sps';
import { type Section, fmtTime, rssMb, table, ROOT } from './lib';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request with Basic credentials up front (no 401 round trip): what a tuned client does. */
export function send(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: Buffer }> {
  return exchange(port, method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)), 'application/json');
}

function exchange(port: number, method: string, path: string, data: Buffer | undefined, contentType: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: {
      authorization: `Basic ${Buffer.from(`admin:${PASSWORDS.admin}`).toString('base64')}`,
      ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
    } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

export function percentiles(samples: number[]): { n: number; p50_ms: number; p99_ms: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50_ms: Math.round(at(0.5) * 1000) / 1000, p99_ms: Math.round(at(0.99) * 1000) / 1000 };
}

async function timed(n: number, fn: (i: number) => Promise<{ status: number; body: Buffer }>, expect: number): Promise<ReturnType<typeof percentiles>> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await fn(i);
    samples.push(performance.now() - t0);
    if (r.status !== expect) throw new Error(`status ${r.status}: ${r.body.toString().slice(0, 200)}`);
  }
  return percentiles(samples);
}

async function throughput(port: number, path: string, seconds: number, workers = 32): Promise<number> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < until) {
      await send(port, 'GET', path);
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

/** Three entries with new EC-P256 keys in SOFTWARE0, one POST /certd/v1/batch. */
const batch3 = (svc: Service, prefix: string) => send(svc.port, 'POST', '/certd/v1/batch', {
  data: { steps: [0, 1, 2].map((j) => ({ op: 'create_certificate', alias: `${prefix}-${j}`, subject: `CN=${prefix} ${j}`, keystore: 'SOFTWARE0' })) },
});
const BATCH_ROW = 'batch of 3 create_certificate EC-P256 SOFTWARE0';
const TWO_N_PUT_ROW = 'PUT /api/cert/user EC-P256 PEM SOFTWARE0 (2N, multipart)';
const TWO_N_GET_ROW = 'GET /api/cert/user, 1,000 entries (2N)';

/** A 2N call, its status 200 only when the body says success (2N refuses with HTTP 200 too). */
async function twoN(p: Promise<{ status: number; body: Buffer }>): Promise<{ status: number; body: Buffer }> {
  const r = await p;
  return { status: r.status === 200 && (JSON.parse(r.body.toString()) as { success?: boolean }).success === true ? 200 : 0, body: r.body };
}

/** An EC-P256 key and certificate (openssl), PEM. */
function ecPair(dir: string): { cert: string; key: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=bench', '-days', '30'], { stdio: 'pipe' });
  return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
}

/** n uploads of one certificate and key under new ids, framed as python-requests does. */
function twoNPut(svc: Service, n: number, pair: { cert: string; key: string }, prefix: string) {
  return timed(n, (i) => {
    const { body, contentType } = requestsMultipart([{ name: 'blob-cert', data: pair.cert, filename: 'blob-cert' }, { name: 'blob-pk', data: pair.key, filename: 'blob-pk' }]);
    return twoN(exchange(svc.port, 'PUT', `/api/cert/user?id=@${prefix}-${i}`, body, contentType));
  }, 200);
}

/** The 2N user list with exactly 1,000 entries: the store topped up by batches of 64 creates (each its own certificate). */
async function twoNList1000(svc: Service): Promise<ReturnType<typeof percentiles>> {
  const listed = async () => (JSON.parse((await send(svc.port, 'GET', '/api/cert/user')).body.toString()) as { result: { certificates: unknown[] } }).result.certificates.length;
  for (let have = await listed(), b = 0; have < 1000; have += 64, b++) {
    const steps = Array.from({ length: Math.min(64, 1000 - have) }, (_, j) => ({ op: 'create_certificate', alias: `l-${b}-${j}`, subject: `CN=list ${b} ${j}`, keystore: 'SOFTWARE0' }));
    const r = await send(svc.port, 'POST', '/certd/v1/batch', { data: { steps } });
    if (r.status !== 200) throw new Error(`batch: ${r.status} ${r.body.toString().slice(0, 200)}`);
  }
  if ((await listed()) !== 1000) throw new Error('the 2N list is not 1,000 entries');
  return timed(10, () => twoN(send(svc.port, 'GET', '/api/cert/user')), 200);
}
const FIRST_ROW = 'first create_certificate after start (SOFTWARE0)';

/** The create and batch rows only, for `--only` (names matched by prefix). */
async function latencyOnly(svc: Service, n: number, only: string[]): Promise<Record<string, ReturnType<typeof percentiles>>> {
  const out: Record<string, ReturnType<typeof percentiles>> = {};
  const want = (op: string) => only.some((o) => op.startsWith(o));
  const create = 'create_certificate EC-P256 SOFTWARE0';
  if (want(create)) out[create] = await timed(n, (i) => send(svc.port, 'POST', `${API}/create_certificate`, { data: { alias: `o-${i}`, subject: `CN=bench ${i}` } }), 200);
  if (want(BATCH_ROW)) out[BATCH_ROW] = await timed(n, (i) => batch3(svc, `o3-${i}`), 200);
  if (Object.values(SPS_ROWS).some(want)) {
    const dir = mkdtempSync(join(tmpdir(), 'certd-bench-'));
    Object.assign(out, await spsRows(svc, n, ecPair(dir)));
    rmSync(dir, { recursive: true, force: true });
  }
  if (want(TWO_N_PUT_ROW) || want(TWO_N_GET_ROW)) {
    const dir = mkdtempSync(join(tmpdir(), 'certd-bench-'));
    if (want(TWO_N_PUT_ROW)) out[TWO_N_PUT_ROW] = await twoNPut(svc, n, ecPair(dir), 'o2n');
    if (want(TWO_N_GET_ROW)) out[TWO_N_GET_ROW] = await twoNList1000(svc);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const csr = (svc: Service, alias: string) => send(svc.port, 'POST', `${API}/certificates/${encodeURIComponent(alias)}/get_csr`, { data: {} });

export const serviceSection: Section = {
  name: 'service',
  async run(opts) {
    const n = Math.max(20, Math.round(opts.minTime * 40));
    const sims = startSimulators();
    const t0 = performance.now();
    const svc = await startService({ stores: sims.stores, env: sims.env, basic: true });
    const readyMs = Math.round(performance.now() - t0);
    const pidOf = (file: string) => Number(execFileSync('pgrep', ['-f', `${svc.dir}/${file}`]).toString().trim().split('\n')[0]);
    await new Promise((r) => setTimeout(r, 1000));
    const idle = { certd: rssMb(pidOf('certd.json')), keystored: rssMb(pidOf('keystored.json')) };
    const rows: string[][] = [];
    const json: Record<string, unknown> = { ready_ms: readyMs };
    try {
      // The first create after start alone: it pays what the first use of each path costs
      // (V8 compiling the JS and tiering up the wasm in both daemons), which a p99 over 60
      // samples would otherwise report as the steady state's tail.
      const first = await timed(1, () => send(svc.port, 'POST', `${API}/create_certificate`, { data: { alias: 'first', subject: 'CN=first' } }), 200);
      rows.push([FIRST_ROW, `${first.p50_ms.toFixed(2)} ms`, '', '1']);
      json.first_create_ms = first.p50_ms;
      const ops: Record<string, ReturnType<typeof percentiles>> = {};
      if (opts.only.length > 0) {
        // `--only create,batch`: just the latency rows whose names start so (a quick look on a busy machine).
        const rowsOf = await latencyOnly(svc, n, opts.only);
        for (const [op, p] of Object.entries(rowsOf)) rows.push([op, `${p.p50_ms.toFixed(2)} ms`, `${p.p99_ms.toFixed(2)} ms`, String(p.n)]);
        sims.stop();
        return { text: table(['operation (HTTP, Basic auth, keep-alive)', 'p50', 'p99', 'n'], rows), json: { first_create_ms: first.p50_ms, latency: rowsOf } };
      }
      for (const store of ['SOFTWARE0', 'SE0', 'TPM0']) {
        ops[`create_certificate EC-P256 ${store}`] = await timed(n, (i) => send(svc.port, 'POST', `${API}/create_certificate`, { data: { alias: `b-${store}-${i}`, subject: `CN=bench ${i}`, keystore: store } }), 200);
        if (store === 'SOFTWARE0') ops[BATCH_ROW] = await timed(n, (i) => batch3(svc, `b3-${i}`), 200);
        ops[`get_csr EC-P256 ${store}`] = await timed(n, (i) => csr(svc, `b-${store}-${i}`), 200);
        ops[`GET certificate ${store}`] = await timed(n, (i) => send(svc.port, 'GET', `${API}/certificates/b-${store}-${i}`), 200);
        ops[`DELETE certificate ${store}`] = await timed(n, (i) => send(svc.port, 'DELETE', `${API}/certificates/b-${store}-${i}`), 200);
      }
      const dir = mkdtempSync(join(tmpdir(), 'certd-bench-'));
      const pair = ecPair(dir);
      const { cert, key } = pair;
      execFileSync('openssl', ['pkcs12', '-export', '-inkey', join(dir, 'k.pem'), '-in', join(dir, 'c.pem'), '-passout', 'pass:bench', '-out', join(dir, 'b.p12')], { stdio: 'pipe' });
      const p12 = readFileSync(join(dir, 'b.p12')).toString('base64');
      ops['upload certificate+key SOFTWARE0'] = await timed(n, (i) => send(svc.port, 'POST', `${API}/certificates`, { data: { alias: `u-${i}`, certificate: cert, private_key: key } }), 201);
      ops['install_from_pkcs12 SOFTWARE0'] = await timed(n, (i) => send(svc.port, 'POST', `${API}/install_from_pkcs12`, { data: { alias: `p-${i}`, pkcs12: p12, passphrase: 'bench' } }), 200);
      ops['PATCH same certificate SOFTWARE0'] = await timed(n, (i) => send(svc.port, 'PATCH', `${API}/certificates/u-${i}`, { data: { certificate: cert } }), 200);
      ops[TWO_N_PUT_ROW] = await twoNPut(svc, n, pair, 'u2n');
      ops[TWO_N_GET_ROW] = await twoNList1000(svc);
      Object.assign(ops, await spsRows(svc, n, pair));
      for (const [op, p] of Object.entries(ops)) rows.push([op, `${p.p50_ms.toFixed(2)} ms`, `${p.p99_ms.toFixed(2)} ms`, String(p.n)]);
      json.latency = ops;

      // Throughput of a GET beside a bare server sending the same bytes.
      const path = `${API}/certificates/u-0`;
      const bodyFile = join(dir, 'body.json');
      writeFileSync(bodyFile, (await send(svc.port, 'GET', path)).body);
      const bare = await startDaemonProcess(join(ROOT, 'dist', 'bench', 'bare-http.js'), [join(dir, 'port'), bodyFile], process.env);
      const barePort = Number(readFileSync(join(dir, 'port'), 'utf8'));
      // Interleaved slices (certd, bare, certd, …): load from elsewhere on the machine
      // falls on both alike, not on whichever ran second.
      // Both warmed first (untimed): certd's first slice otherwise measures its JIT.
      for (const port of [svc.port, barePort]) await throughput(port, path, 0.5);
      const slice = Math.max(2, opts.minTime * 2) / 5;
      const rounds: { certd: number; bare: number }[] = [];
      for (let i = 0; i < 5; i++) rounds.push({ certd: await throughput(svc.port, path, slice), bare: await throughput(barePort, path, slice) });
      const certdRps = rounds.reduce((a, r) => a + r.certd, 0) / rounds.length;
      const bareRps = rounds.reduce((a, r) => a + r.bare, 0) / rounds.length;
      const bareRss = rssMb(bare.child.pid!);
      await bare.stop();
      json.get_throughput = {
        certd_rps: Math.round(certdRps), bare_rps: Math.round(bareRps), ratio: certdRps / bareRps,
        rounds: rounds.map((r) => ({ certd_rps: Math.round(r.certd), bare_rps: Math.round(r.bare), ratio: r.certd / r.bare })),
      };

      json.rss_mb = { idle, after_load: { certd: rssMb(pidOf('certd.json')), keystored: rssMb(pidOf('keystored.json')) }, bare_node_http: bareRss };
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await svc.stop();
    }

    // 10,000 CA certificates written as entry files (making them through the API would be
    // a benchmark of its own): time to ready with them, and listing them.
    const big = await startService();
    try {
      await big.stop();
      writeCaEntries(join(big.dir, 'certd', 'entries'), 'bulk CA', 10_000, caPem('bulk CA'));
      const t0 = performance.now();
      await big.start();
      const readyMs = performance.now() - t0;
      const list = await timed(10, () => send(big.port, 'GET', `${API}/ca_certificates`), 200);
      json.list_10000 = { ...list, restart_with_10000_ms: Math.round(readyMs) };
      rows.push(['GET ca_certificates (10,000)', `${list.p50_ms.toFixed(1)} ms`, `${list.p99_ms.toFixed(1)} ms`, String(list.n)]);
    } finally {
      await big.stop();
      sims.stop();
    }
    const tp = json.get_throughput as { certd_rps: number; bare_rps: number; ratio: number; rounds: { ratio: number }[] };
    const rss = json.rss_mb as { idle: { certd: number; keystored: number }; after_load: { certd: number; keystored: number }; bare_node_http: number };
    const text = [
      table(['operation (HTTP, Basic auth, keep-alive)', 'p50', 'p99', 'n'], rows),
      '',
      table(['GET one certificate, 32 in flight, interleaved', 'req/s', 'ratio', 'ratio per round'], [
        ['bare node:http, same bytes (limit)', String(tp.bare_rps), '1.00×', ''],
        ['certd', String(tp.certd_rps), `${tp.ratio.toFixed(2)}×`, tp.rounds.map((r) => r.ratio.toFixed(2)).join(' ')],
      ]),
      '',
      table(['RSS', 'idle MB', 'ratio to bare', 'after the runs above, MB'], [
        ['bare node:http', String(rss.bare_node_http), '1.00×', ''],
        ['certd', String(rss.idle.certd), `${(rss.idle.certd / rss.bare_node_http).toFixed(2)}×`, String(rss.after_load.certd)],
        ['keystored', String(rss.idle.keystored), `${(rss.idle.keystored / rss.bare_node_http).toFixed(2)}×`, String(rss.after_load.keystored)],
      ]),
      '',
      `keystored + certd (three stores) ready in ${readyMs} ms from spawn; restart with 10,000 entries: ${fmtTime((json.list_10000 as { restart_with_10000_ms: number }).restart_with_10000_ms * 1000)} to ready (keystored + certd)`,
    ].join('\n');
    return { text, json };
  },
};
