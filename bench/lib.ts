// Shared by the benchmark sections: the timing loop, statistics, machine information and
// table formatting. A section (bench/core.ts, later service latency, IPC, memory) is a
// module exporting a `Section`; bench/run.ts runs them in order and writes one JSON file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

/** The repository root, from the compiled file (dist/bench/). */
export const ROOT = join(__dirname, '..', '..');

export interface BenchOptions {
  /** Minimum timed seconds per operation. */
  minTime: number;
  /** Minimum timed iterations per operation (per round). */
  minIters: number;
  /** Interleaved rounds per operation (the least disturbed is reported). */
  rounds: number;
  /** Operation ids to run (all when empty). */
  only: string[];
  /** Implementations to run (all when empty). */
  impls: string[];
  /** Another crypto core module to measure (tuning experiments). */
  wasmPath?: string;
  /** Another native driver to run (tuning experiments). */
  nativeDriver?: string;
  /** The load section: seconds of load (default 60) and concurrent clients (default 50). */
  loadSeconds?: number;
  loadClients?: number;
}

export interface SectionReport {
  /** What the section prints (a table and notes). */
  text: string;
  /** What goes into the results JSON under sections.<name>. */
  json: unknown;
}

export interface Section {
  name: string;
  run(opts: BenchOptions): Promise<SectionReport>;
}

/** One measured operation of one implementation. */
export type Measurement =
  | {
      status: 'ok';
      iterations: number;
      total_s: number;
      mean_us: number;
      median_us: number;
      min_us: number;
      max_us: number;
      ops_per_s: number;
      /** The first samples (all of them for per-seed operations), microseconds. */
      samples_us: number[];
      /** The median of every round, when there were several. */
      rounds_median_us?: number[];
      note?: string;
    }
  | { status: 'n/a' | 'error'; reason: string };

export function na(reason: string): Measurement {
  return { status: 'n/a', reason };
}

export function stats(samplesS: number[]): Measurement {
  const n = samplesS.length;
  const sorted = [...samplesS].sort((a, b) => a - b);
  const total = samplesS.reduce((a, b) => a + b, 0);
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    status: 'ok',
    iterations: n,
    total_s: r3(total * 1000) / 1000,
    mean_us: r3((total / n) * 1e6),
    median_us: r3(median * 1e6),
    min_us: r3(sorted[0]! * 1e6),
    max_us: r3(sorted[n - 1]! * 1e6),
    ops_per_s: r3(n / total),
    samples_us: samplesS.slice(0, 64).map((s) => r3(s * 1e6)),
  };
}

export interface TimeOptions {
  minTime: number;
  minIters: number;
  /** Run exactly this many timed iterations (per-seed operations). */
  fixedIters?: number;
  /** Untimed warm-up: a callback (per-seed operations), else calls for this many seconds. */
  warmup?: (() => void) | number;
}

/** Why an error means "not there yet" rather than "broken". */
export function isMissing(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /has no function|Cannot find module/.test(msg);
}

/**
 * Times fn(i) per iteration: warm-up (so that V8 has tiered the wasm and JS code up), then
 * iterations until minTime and minIters are reached, or exactly fixedIters.
 */
export function timeOp(fn: (i: number) => void, opts: TimeOptions): Measurement {
  try {
    const warm = opts.warmup ?? 0.15;
    if (typeof warm === 'function') {
      warm();
    } else {
      const until = performance.now() + warm * 1000;
      do fn(0); while (performance.now() < until);
    }
    const samples: number[] = [];
    let total = 0;
    for (let i = 0; ; i++) {
      if (opts.fixedIters !== undefined ? i >= opts.fixedIters : total >= opts.minTime && i >= opts.minIters) break;
      const t0 = process.hrtime.bigint();
      fn(i);
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      samples.push(dt);
      total += dt;
    }
    return stats(samples);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return { status: isMissing(e) ? 'n/a' : 'error', reason };
  }
}

// --- machine -----------------------------------------------------------------------------

function firstLine(cmd: string, args: string[]): string | null {
  try {
    const out = execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 }).toString();
    return out.split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

function sha256File(path: string): string | null {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : null;
}

export function machineInfo(wasmPath: string): Record<string, unknown> {
  const cpus = os.cpus();
  const pin = readFileSync(join(ROOT, 'crypto-core', 'mbedtls.pin'), 'utf8');
  let forgeVersion: string | null = null;
  try {
    forgeVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node-forge', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* not installed */
  }
  const git = firstLine('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = firstLine('git', ['-C', ROOT, 'status', '--porcelain']);
  return {
    cpu_model: cpus[0]?.model ?? null,
    cpu_count: cpus.length,
    cpu_mhz: cpus[0]?.speed ?? null,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    node_openssl: process.versions.openssl,
    emcc: firstLine('emcc', ['--version']),
    gcc: firstLine('gcc', ['--version']),
    openssl_cli: firstLine('openssl', ['version']),
    mbedtls: /MBEDTLS_VERSION=(\S+)/.exec(pin)?.[1] ?? null,
    node_forge: forgeVersion,
    git_commit: git,
    git_dirty: dirty === null ? null : dirty.length > 0,
    wasm_module: { path: wasmPath, sha256: sha256File(wasmPath) },
    load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/**
 * Writes a run's results (schema 1: times, argv, machine, one entry per section) to
 * bench/results/<name>-<UTC time>.json, and with `latest` to bench/results/latest.json too.
 */
export function saveResults(name: string, started: Date, machine: Record<string, unknown>, sections: Record<string, unknown>, latest: boolean): { file: string; duration_s: number } {
  const finished = new Date();
  const result = {
    schema: 1,
    started: started.toISOString(),
    finished: finished.toISOString(),
    duration_s: (finished.getTime() - started.getTime()) / 1000,
    argv: process.argv.slice(2),
    machine,
    sections,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // ISO 8601 basic format: no ':' in the file name.
  const stamp = started.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `${name}-${stamp}.json`);
  const body = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(file, body);
  if (latest) writeFileSync(join(dir, 'latest.json'), body);
  return { file, duration_s: result.duration_s };
}

/** A process's resident set (VmRSS), MB with one decimal. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m![1]) / 1024 * 10) / 10;
}

// --- formatting ----------------------------------------------------------------------------

export function fmtTime(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(us >= 1e5 ? 0 : us >= 1e4 ? 1 : 2)} ms`;
  return `${us.toFixed(us >= 100 ? 0 : 1)} µs`;
}

export function fmtRatio(r: number | null): string {
  if (r === null) return '–';
  return `${r.toFixed(r >= 10 ? 1 : 2)}×`;
}

/** A plain-text table; the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(' | ');
  return [line(header), width.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
