// The fuzzing driver (scripts/fuzz.sh). In-process pass: every decoder a client reaches
// (targets.ts) gets --inputs inputs, split in chunks over one worker thread per core, each
// with its own crypto core. An input that throws anything but the decoder's own rejection
// is a crash; one that takes over --time-limit-ms is a hang; a worker that stops making
// progress for --stall-ms is stopped and its current input saved as a hang. Findings go to
// --out (default .fuzz/<time>/), one .bin (the input) and one .txt (what happened, how to
// replay) each. Then the HTTP pass (http-pass.ts) through a running certd.
//
//   node dist/test/fuzz/fuzz.js [--inputs 1000000] [--targets a,b] [--workers N] [--seed S]
//        [--time-limit-ms 1000] [--http 10000] [--no-core] [--out DIR]
//   node dist/test/fuzz/fuzz.js --replay FILE --targets NAME
//   node dist/test/fuzz/fuzz.js --replay test/fuzz/findings     (every saved finding)
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Core } from '../../wasm/core';
import { runHttpPass, type HttpResult } from './http-pass';
import { makeTargets } from './targets';
import { MAX_INPUT, saveFinding, SHARED_HEAD, type WorkerJob, type WorkerReport } from './worker';

const ROOT = join(__dirname, '..', '..', '..');

interface Options {
  inputs: number;
  targets: string[];
  workers: number;
  seed: string;
  timeLimitMs: number;
  stallMs: number;
  chunk: number;
  http: number;
  core: boolean;
  out: string;
  replay?: string;
}

function parseArgs(argv: string[]): Options {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const o: Options = { inputs: 1_000_000, targets: [], workers: cpus().length, seed: String(Date.now()), timeLimitMs: 1000, stallMs: 20_000, chunk: 50_000, http: 10_000, core: true, out: join(ROOT, '.fuzz', stamp) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? (() => { throw new Error(`${a} needs a value`); })();
    if (a === '--inputs') o.inputs = Number(next());
    else if (a === '--targets') o.targets = next().split(',').filter(Boolean);
    else if (a === '--workers') o.workers = Number(next());
    else if (a === '--seed') o.seed = next();
    else if (a === '--time-limit-ms') o.timeLimitMs = Number(next());
    else if (a === '--stall-ms') o.stallMs = Number(next());
    else if (a === '--chunk') o.chunk = Number(next());
    else if (a === '--http') o.http = Number(next());
    else if (a === '--no-core') o.core = false;
    else if (a === '--out') o.out = next();
    else if (a === '--replay') o.replay = next();
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

interface Chunk {
  target: string;
  from: number;
  to: number;
}

const empty = (): WorkerReport => ({ done: 0, accepted: 0, rejected: 0, crashes: 0, hangs: 0, maxMs: 0, signatures: {} });

function add(into: WorkerReport, r: WorkerReport): void {
  into.done += r.done;
  into.accepted += r.accepted;
  into.rejected += r.rejected;
  into.crashes += r.crashes;
  into.hangs += r.hangs;
  into.maxMs = Math.max(into.maxMs, r.maxMs);
  for (const [s, n] of Object.entries(r.signatures)) into.signatures[s] = (into.signatures[s] ?? 0) + n;
}

/** Runs one chunk in a worker thread; a stalled worker is stopped, its input saved, and the rest of the chunk run again. */
function runChunk(o: Options, c: Chunk, totals: Map<string, WorkerReport>, live: Map<Worker, WorkerReport>): Promise<void> {
  return new Promise((resolve, reject) => {
    const shared = new SharedArrayBuffer(SHARED_HEAD + MAX_INPUT);
    const counters = new Int32Array(shared, 0, 4);
    const job: WorkerJob = { target: c.target, seed: o.seed, from: c.from, to: c.to, timeLimitMs: o.timeLimitMs, outDir: o.out, shared };
    const w = new Worker(join(__dirname, 'worker.js'), { workerData: job });
    live.set(w, empty());
    let lastDone = -1;
    let lastMove = performance.now();
    const finish = (r: WorkerReport) => {
      clearInterval(watch);
      live.delete(w);
      add(totals.get(c.target)!, r);
    };
    const watch = setInterval(() => {
      const done = Atomics.load(counters, 0);
      if (done !== lastDone) {
        lastDone = done;
        lastMove = performance.now();
        return;
      }
      if (performance.now() - lastMove < o.stallMs) return;
      const index = Atomics.load(counters, 1);
      const input = new Uint8Array(shared, SHARED_HEAD, Atomics.load(counters, 2)).slice();
      const file = saveFinding(o.out, c.target, 'hang', input, `input ${index} of seed ${o.seed}: no progress for ${o.stallMs} ms; worker stopped`);
      process.stdout.write(`HANG ${c.target} input ${index}: ${file}\n`);
      const r = live.get(w) ?? empty();
      finish({ ...r, done: done + 1, hangs: r.hangs + 1 });
      void w.terminate();
      const rest = { ...c, from: index + 1 };
      (rest.from < rest.to ? runChunk(o, rest, totals, live) : Promise.resolve()).then(resolve, reject);
    }, 1000);
    w.on('message', (m: { progress?: WorkerReport; final?: WorkerReport }) => {
      if (m.progress) live.set(w, m.progress);
      if (m.final) {
        finish(m.final);
        for (const sig of Object.keys(m.final.signatures)) process.stdout.write(`CRASH ${c.target}: ${sig}\n`);
        resolve();
      }
    });
    w.on('error', (e) => {
      clearInterval(watch);
      live.delete(w);
      reject(e);
    });
  });
}

async function corePass(o: Options, names: string[]): Promise<Map<string, WorkerReport & { seconds: number }>> {
  const totals = new Map(names.map((n) => [n, empty()]));
  const queue: Chunk[] = [];
  for (const target of names) for (let from = 0; from < o.inputs; from += o.chunk) queue.push({ target, from, to: Math.min(o.inputs, from + o.chunk) });
  const live = new Map<Worker, WorkerReport>();
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const done = [...totals.values()].reduce((s, r) => s + r.done, 0) + [...live.values()].reduce((s, r) => s + r.done, 0);
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(`  ${done} / ${names.length * o.inputs} inputs, ${Math.round(done / s)}/s, ${s.toFixed(0)} s\n`);
  }, 30_000);
  const remaining = new Map(names.map((n) => [n, queue.filter((c) => c.target === n).length]));
  await Promise.all(Array.from({ length: o.workers }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      if (!started.has(c.target)) started.set(c.target, performance.now());
      await runChunk(o, c, totals, live);
      remaining.set(c.target, remaining.get(c.target)! - 1);
      if (remaining.get(c.target) === 0) ended.set(c.target, performance.now());
    }
  }));
  clearInterval(ticker);
  return new Map(names.map((n) => [n, { ...totals.get(n)!, seconds: ((ended.get(n) ?? 0) - (started.get(n) ?? 0)) / 1000 }]));
}

function table(header: string[], rows: string[][]): string {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(' | ');
  return [line(header), width.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/**
 * Replays one saved input on --targets NAME, or every file under a folder laid out as the
 * findings are (<folder>/<target, ":" as "_">/<file>): test/fuzz/findings/ keeps the ones
 * worth rerunning on later code. Exits 1 if any still crashes.
 */
async function replay(o: Options): Promise<void> {
  const targets = makeTargets(await Core.load());
  const sanitized = new Map([...targets.keys()].map((n) => [n.replace(/[^\w.-]/g, '_'), n]));
  const jobs: [string, string][] = statSync(o.replay!).isDirectory()
    ? readdirSync(o.replay!).filter((d) => sanitized.has(d)).flatMap((d) => readdirSync(join(o.replay!, d)).filter((f) => !f.endsWith('.txt')).map((f): [string, string] => [sanitized.get(d)!, join(o.replay!, d, f)]))
    : [[o.targets[0] ?? '', o.replay!]];
  for (const [name, file] of jobs) {
    const target = targets.get(name);
    if (!target) throw new Error(`--replay FILE needs --targets NAME (one of ${[...targets.keys()].join(', ')})`);
    const t0 = performance.now();
    try {
      process.stdout.write(`${name} ${file}: ${target.run(new Uint8Array(readFileSync(file)))} in ${(performance.now() - t0).toFixed(1)} ms\n`);
    } catch (e) {
      process.stdout.write(`${name} ${file}: CRASH after ${(performance.now() - t0).toFixed(1)} ms: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    }
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.replay) return replay(o);
  const all = [...makeTargets(await Core.load()).keys()];
  const names = o.targets.length > 0 ? o.targets : all;
  for (const n of names) if (!all.includes(n)) throw new Error(`no target ${n} (known: ${all.join(', ')})`);
  mkdirSync(o.out, { recursive: true });
  const t0 = performance.now();
  const summary: Record<string, unknown> = { seed: o.seed, inputs_per_target: o.inputs, workers: o.workers, time_limit_ms: o.timeLimitMs };
  let bad = 0;
  let text = '';
  if (o.core) {
    process.stdout.write(`fuzz: ${names.length} decoders x ${o.inputs} inputs, ${o.workers} workers, seed ${o.seed}, findings in ${o.out}\n`);
    const res = await corePass(o, names);
    summary.decoders = Object.fromEntries(res);
    const rows = [...res].map(([n, r]) => [n, String(r.done), String(r.accepted), String(r.rejected), String(r.crashes), String(r.hangs), r.maxMs.toFixed(1), String(Math.round(r.done / Math.max(r.seconds, 0.001)))]);
    text += `${table(['decoder (in-process)', 'inputs', 'accepted', 'rejected', 'crashes', 'hangs', 'max ms', 'inputs/s'], rows)}\n`;
    for (const r of res.values()) bad += r.crashes + r.hangs;
    // Printed and saved now: the HTTP pass may take long, and these stand on their own.
    process.stdout.write(`\n${text}`);
    writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }
  if (o.http > 0) {
    process.stdout.write(`fuzz: HTTP pass, ${o.http} requests per endpoint\n`);
    const h: HttpResult = await runHttpPass({ requests: o.http, seed: o.seed, outDir: o.out });
    summary.http = h;
    const rows = h.endpoints.map((e) => [e.endpoint, String(e.requests), String(e.s2xx), String(e.s4xx), String(e.s5xx), String(e.errors)]);
    text += `\n${table(['endpoint (HTTP, through certd)', 'requests', '2xx', '4xx', '5xx', 'no answer'], rows)}\nserver up at the end: ${h.server_up}; forged credentials accepted: ${h.forged_accepted}\n`;
    bad += h.endpoints.reduce((s, e) => s + e.s5xx + e.errors, 0) + (h.server_up ? 0 : 1) + h.forged_accepted;
  }
  summary.seconds = Math.round((performance.now() - t0) / 1000);
  summary.findings = bad;
  writeFileSync(join(o.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n${text}\ntime ${String(summary.seconds)} s; ${bad === 0 ? 'no crash, hang or 5xx' : `${bad} FINDINGS`}; summary ${join(o.out, 'summary.json')}\n`);
  process.exitCode = bad === 0 ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
