// The IPC section: round-trip time and throughput of keystored's protocol beside a bare
// ZeroMQ echo (the limit), and key generation and signing per key store through it
// (SOFTWARE0, and TPM0 and SE0 on the simulators).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dealer } from 'zeromq';
import { KeystoreClient } from '../ipc/client';
import { Opcode, type KeyType } from '../ipc/protocol';
import { endpointFor } from '../ipc/server';
import { startDaemonProcess } from '../src/common/daemon-process';
import { startSimulators } from '../test/sim';
import { type BenchOptions, type Measurement, type Section, fmtRatio, fmtTime, stats, table, ROOT } from './lib';

/** Times an async operation like lib's timeOp: warm-up, then until minTime and minIters. */
async function timeAsync(fn: (i: number) => Promise<unknown>, opts: BenchOptions, minIters = opts.minIters): Promise<Measurement> {
  for (let i = 0; i < 20; i++) await fn(i);
  const samples: number[] = [];
  let total = 0;
  for (let i = 0; total < opts.minTime || i < minIters; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    samples.push(dt);
    total += dt;
  }
  return stats(samples);
}

/** Requests per second with `depth` requests in flight for about `seconds`. */
async function pipelined(fn: () => Promise<unknown>, depth: number, seconds: number): Promise<number> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: depth }, async () => {
    while (performance.now() < until) {
      await fn();
      done++;
    }
  }));
  return done / ((performance.now() - started) / 1000);
}

async function echoLimit(opts: BenchOptions, dir: string): Promise<{ rtt: Measurement; rps: number }> {
  const endpoint = `ipc://${join(dir, 'echo.sock')}`;
  const server = await startDaemonProcess(join(ROOT, 'dist', 'bench', 'echo-server.js'), [endpoint], process.env);
  // The same four frames a HEALTH request has, so both carry the same bytes.
  const frames = [Buffer.from('certd-keystore/1'), Buffer.alloc(4), Buffer.alloc(2), Buffer.from([0x80])];
  const seq = new Dealer({ linger: 0 });
  seq.connect(endpoint);
  const pipe = new Dealer({ linger: 0 });
  pipe.connect(endpoint);
  const waiting: (() => void)[] = [];
  void (async () => {
    for await (const _ of pipe) waiting.shift()?.();
  })().catch(() => undefined);
  let sending = Promise.resolve();
  const pipelinedTrip = () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      sending = sending.then(() => pipe.send(frames));
    });
  try {
    const rtt = await timeAsync(async () => {
      await seq.send(frames);
      await seq.receive();
    }, opts, 2000);
    const rps = await pipelined(pipelinedTrip, 64, Math.max(1, opts.minTime));
    return { rtt, rps };
  } finally {
    seq.close();
    pipe.close();
    await server.stop();
  }
}

export const ipcSection: Section = {
  name: 'ipc',
  async run(opts) {
    const dir = mkdtempSync(join(tmpdir(), 'certd-bench-ipc-'));
    const sims = startSimulators();
    const config = join(dir, 'keystored.json');
    writeFileSync(config, JSON.stringify({ data_dir: join(dir, 'data'), socket_dir: join(dir, 'run'), stores: [{ kind: 'software', id: 'SOFTWARE0' }, ...sims.stores] }));
    const t0 = performance.now();
    const daemon = await startDaemonProcess(join(ROOT, 'dist', 'src', 'keystored', 'main.js'), ['--config', config], { ...process.env, ...sims.env });
    const readyMs = performance.now() - t0;
    const client = new KeystoreClient(endpointFor(join(dir, 'run')), { timeoutMs: 60_000 });
    try {
      const limit = await echoLimit(opts, dir);
      // DESCRIBE_STORES touches no key store: the protocol's own cost.
      const health = await timeAsync(() => client.call(Opcode.DESCRIBE_STORES, {}), opts, 2000);
      const healthRps = await pipelined(() => client.call(Opcode.DESCRIBE_STORES, {}), 64, Math.max(1, opts.minTime));

      const perStore: Record<string, Record<string, Measurement>> = {};
      const rows: string[][] = [];
      for (const store of ['SOFTWARE0', 'TPM0', 'SE0']) {
        perStore[store] = {};
        for (const type of ['EC-P256', 'RSA-2048'] as KeyType[]) {
          let n = 0;
          const ids: string[] = [];
          const gen = await timeAsync(async () => {
            const id = `bench-${type}-${n++}`;
            ids.push(id);
            await client.call(Opcode.GENERATE_KEY, { store, key_id: id, key_type: type });
          }, { ...opts, minTime: type.startsWith('RSA') ? Math.min(opts.minTime, 3) : opts.minTime }, type.startsWith('RSA') ? 3 : opts.minIters);
          const digest = createHash('sha256').update('bench').digest();
          const scheme = type.startsWith('EC') ? 'ECDSA' : 'RSA-PKCS1-V1_5';
          const sign = await timeAsync(() => client.call(Opcode.SIGN_DIGEST, { store, key_id: ids[0]!, scheme, digest_algorithm: 'SHA-256', digest }), opts);
          perStore[store]![`keygen ${type}`] = gen;
          perStore[store]![`sign ${type}`] = sign;
          for (const [op, m] of [[`keygen ${type}`, gen], [`sign ${type}`, sign]] as const) {
            rows.push([`${store} ${op}`, m.status === 'ok' ? fmtTime(m.median_us) : m.reason, m.status === 'ok' ? m.ops_per_s.toFixed(0) : '–']);
          }
        }
      }
      const med = (m: Measurement) => (m.status === 'ok' ? m.median_us : NaN);
      const text = [
        table(['round trip', 'median', 'req/s sequential', 'req/s 64 in flight', 'ratio to echo'], [
          ['bare ZeroMQ echo (limit)', fmtTime(med(limit.rtt)), (1e6 / med(limit.rtt)).toFixed(0), limit.rps.toFixed(0), '1.00×'],
          ['keystored DESCRIBE_STORES', fmtTime(med(health)), (1e6 / med(health)).toFixed(0), healthRps.toFixed(0), fmtRatio(med(health) / med(limit.rtt))],
        ]),
        '',
        table(['per store (through IPC)', 'median', 'ops/s'], rows),
        '',
        `keystored ready in ${readyMs.toFixed(0)} ms (process start to "ready"; PKCS#11 tokens open on first use)`,
      ].join('\n');
      return {
        text,
        json: { echo: { round_trip: limit.rtt, pipelined_rps: limit.rps }, describe_stores: { round_trip: health, pipelined_rps: healthRps }, stores: perStore, keystored_ready_ms: readyMs },
      };
    } finally {
      client.close();
      await daemon.stop();
      sims.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
