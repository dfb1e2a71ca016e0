// One fuzz worker (a worker thread with its own crypto core): runs inputs [from, to) of one
// target. Before each input it copies the input into shared memory, so that the parent can
// save it if the worker never comes back (a hang), and counts progress there.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Core } from '../../wasm/core';
import { Rng } from '../rng';
import { makeTargets, type Target } from './targets';

export interface WorkerJob {
  target: string;
  seed: string;
  from: number;
  to: number;
  timeLimitMs: number;
  outDir: string;
  /** Int32 [0]: inputs done, [1]: index of the current input, [2]: its length; bytes from offset SHARED_HEAD. */
  shared: SharedArrayBuffer;
}

export interface WorkerReport {
  done: number;
  accepted: number;
  rejected: number;
  crashes: number;
  hangs: number;
  maxMs: number;
  /** Distinct crash signatures seen, with how many inputs gave each. */
  signatures: Record<string, number>;
}

export const SHARED_HEAD = 16;
export const MAX_INPUT = 1 << 20;

/** A crash or hang's files: <out>/<target>/<kind>-<sha1>.bin and .txt. */
export function saveFinding(outDir: string, target: string, kind: 'crash' | 'hang', input: Uint8Array, note: string): string {
  const dir = join(outDir, target.replace(/[^\w.-]/g, '_'));
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${kind}-${createHash('sha1').update(input).digest('hex').slice(0, 16)}`);
  writeFileSync(`${base}.bin`, input);
  writeFileSync(`${base}.txt`, `${note}\nreplay: node dist/test/fuzz/fuzz.js --replay ${base}.bin --targets ${target}\n`);
  return `${base}.bin`;
}

/** The first line and the first frame of the stack: what tells two crashes apart. */
export function signature(e: unknown): string {
  if (!(e instanceof Error)) return `non-error ${String(e).slice(0, 80)}`;
  const frame = (e.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
  return `${e.name}: ${e.message.slice(0, 120)} ${frame.trim()}`;
}

const MAX_SAVED_PER_SIGNATURE = 3;

async function main(job: WorkerJob): Promise<void> {
  let core = await Core.load();
  let target: Target = makeTargets(core).get(job.target)!;
  const counters = new Int32Array(job.shared, 0, 4);
  const buf = new Uint8Array(job.shared, SHARED_HEAD);
  const r: WorkerReport = { done: 0, accepted: 0, rejected: 0, crashes: 0, hangs: 0, maxMs: 0, signatures: {} };
  let lastPost = performance.now();
  for (let i = job.from; i < job.to; i++) {
    const input = target.input(new Rng(`${job.seed}/${job.target}/${i}`)).subarray(0, MAX_INPUT);
    buf.set(input);
    Atomics.store(counters, 2, input.length);
    Atomics.store(counters, 1, i);
    const t0 = performance.now();
    try {
      r[target.run(input)]++;
    } catch (e) {
      r.crashes++;
      const sig = signature(e);
      const seen = (r.signatures[sig] = (r.signatures[sig] ?? 0) + 1);
      if (seen <= MAX_SAVED_PER_SIGNATURE) saveFinding(job.outDir, job.target, 'crash', input, `input ${i} of seed ${job.seed}\n${e instanceof Error ? e.stack : String(e)}`);
      // A trap may leave the core's allocator in any state: start from a fresh core.
      if (target.core) {
        core = await Core.load();
        target = makeTargets(core).get(job.target)!;
      }
    }
    const ms = performance.now() - t0;
    if (ms > r.maxMs) r.maxMs = ms;
    if (ms > job.timeLimitMs) {
      r.hangs++;
      saveFinding(job.outDir, job.target, 'hang', input, `input ${i} of seed ${job.seed} took ${ms.toFixed(0)} ms (limit ${job.timeLimitMs})`);
    }
    r.done++;
    Atomics.store(counters, 0, r.done);
    if (performance.now() - lastPost > 1000) {
      parentPort!.postMessage({ progress: { ...r } });
      lastPost = performance.now();
    }
  }
  parentPort!.postMessage({ final: r });
}

if (parentPort && workerData) void main(workerData as WorkerJob);
