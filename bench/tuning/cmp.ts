// Tuning experiments (not part of npm run bench): wasm vs native of one or more built
// variants (bench/tuning/try.sh), in alternating short rounds so that load from other
// processes on this shared machine hits both sides alike; reports the median over rounds
// of each side's median time per op, and the best round (least disturbed by other load).
//   node dist/bench/tuning/cmp.js [--rounds N] [--time S] [--ops a,b] VARIANT...
import { join } from 'node:path';
import { runImpl } from '../core';
import { ROOT } from '../lib';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let rounds = 5;
  let time = 0.3;
  let ops = ['keygen-p256', 'sign-p256', 'sign-rsa2048'];
  const variants: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rounds') rounds = Number(argv[++i]);
    else if (a === '--time') time = Number(argv[++i]);
    else if (a === '--ops') ops = argv[++i]!.split(',');
    else variants.push(a);
  }
  const acc = new Map<string, number[]>();
  const add = (k: string, v: number): void => void acc.set(k, [...(acc.get(k) ?? []), v]);
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const dir = join(ROOT, 'build', 'try', v);
      const opts = { minTime: time, minIters: 3, rounds: 1, only: ops, impls: [], wasmPath: join(dir, 'wasm', 'certd-core.wasm'), nativeDriver: join(dir, 'core_bench') };
      for (const impl of ['native', 'wasm'] as const) {
        const res = await runImpl(impl, opts);
        for (const op of ops) {
          const m = res[op];
          if (m?.status === 'ok') add(`${v}|${op}|${impl}`, m.median_us);
        }
      }
    }
  }
  const rows: string[] = [];
  for (const v of variants) {
    for (const op of ops) {
      const ws = acc.get(`${v}|${op}|wasm`) ?? [NaN];
      const ns = acc.get(`${v}|${op}|native`) ?? [NaN];
      const w = median(ws);
      const n = median(ns);
      const wMin = Math.min(...ws);
      const nMin = Math.min(...ns);
      rows.push(`${v.padEnd(18)} ${op.padEnd(13)} wasm ${w.toFixed(1).padStart(8)} µs  native ${n.toFixed(1).padStart(8)} µs  ratio ${(w / n).toFixed(2)}×  | best rounds: wasm ${wMin.toFixed(1).padStart(8)}  native ${nMin.toFixed(1).padStart(8)}  ratio ${(wMin / nMin).toFixed(2)}×`);
    }
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

void main();
