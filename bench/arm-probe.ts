// `npm run bench:arm` (bench/arm.sh): one program run on the host and, unchanged, inside the
// ARM chroots under QEMU user-mode emulation, so that every column is measured the same way.
//
//   node dist/bench/arm-probe.js [--quick]
//       the wasm core's keygen/sign, keystored/certd/bare node:http start-up (spawn to
//       ready) and their idle RSS; one JSON object on stdout, progress on stderr
//   node dist/bench/arm-probe.js --report [--started EPOCH_S] [--took PART=S]... LABEL=FILE...
//       the table of those probes (the first is the baseline of the ratios), and
//       bench/results/arm-<UTC time>.json
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { startDaemonProcess, type DaemonProcess } from '../src/common/daemon-process';
import { startService } from '../test/certd/service';
import { DEFAULT_MODULE_PATH } from '../wasm/core';
import { type Results, runImpl } from './core';
import { fmtRatio, fmtTime, machineInfo, type Measurement, ROOT, rssMb, saveResults, table } from './lib';

const CORE_OPS = [
  { id: 'keygen-p256', label: 'keygen EC P-256 (wasm core)' },
  { id: 'sign-p256', label: 'sign P-256 (wasm core)' },
  { id: 'sign-rsa2048', label: 'sign RSA-2048 (wasm core)' },
] as const;
const PROCS = [
  { id: 'keystored', label: 'keystored', started: 'start-up keystored' },
  { id: 'certd', label: 'certd', started: 'start-up certd (keystored up)' },
  { id: 'bare_node_http', label: 'bare node:http', started: 'start-up bare node:http' },
] as const;
type ProcId = (typeof PROCS)[number]['id'];

const IDLE_S = 2;
/* Daemons under armv7 emulation start in seconds, not milliseconds. */
const START_TIMEOUT_MS = 180_000;

interface Probe {
  probe: 1;
  arch: string;
  machine: string;
  node: string;
  cpu_model: string | null;
  cpu_count: number;
  options: { min_time_s: number; starts: number; idle_s: number };
  core: Results;
  startup_ms: Record<ProcId, { median: number; runs: number[] }>;
  idle_rss_mb: Record<ProcId, number>;
  took_s: { core: number; services: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const seconds = (t0: number): number => Math.round(performance.now() - t0) / 1000;
const log = (msg: string): void => void process.stderr.write(`arm-probe (${process.arch}): ${msg}\n`);

async function timedStart(script: string, args: string[]): Promise<{ proc: DaemonProcess; ms: number }> {
  const t0 = performance.now();
  const proc = await startDaemonProcess(script, args, process.env, START_TIMEOUT_MS);
  return { proc, ms: Math.round(performance.now() - t0) };
}

/**
 * keystored and certd on SOFTWARE0 in a temporary folder, as the end-to-end tests run them;
 * the first start (new data folder: key-encryption key, users) is not timed, as a camera
 * pays it once. Then `starts` times: keystored, certd, and a bare node:http server as the
 * floor; after the last start all three idle IDLE_S seconds before their RSS is read.
 */
async function services(starts: number): Promise<Pick<Probe, 'startup_ms' | 'idle_rss_mb'>> {
  const svc = await startService();
  await svc.stop();
  const dir = mkdtempSync(join(os.tmpdir(), 'certd-arm-probe-'));
  writeFileSync(join(dir, 'body.json'), '{"status":"success","data":{}}');
  const scripts: Record<ProcId, [string, string[]]> = {
    keystored: [join(ROOT, 'dist', 'src', 'keystored', 'main.js'), ['--config', join(svc.dir, 'keystored.json')]],
    certd: [join(ROOT, 'dist', 'src', 'certd', 'main.js'), ['--config', join(svc.dir, 'certd.json')]],
    bare_node_http: [join(ROOT, 'dist', 'bench', 'bare-http.js'), [join(dir, 'port'), join(dir, 'body.json')]],
  };
  const runs: Record<ProcId, number[]> = { keystored: [], certd: [], bare_node_http: [] };
  const rss = {} as Record<ProcId, number>;
  const running = new Map<ProcId, DaemonProcess>();
  try {
    for (let i = 0; i < starts; i++) {
      for (const { id } of PROCS) {
        const [script, args] = scripts[id];
        const { proc, ms } = await timedStart(script, args);
        running.set(id, proc);
        runs[id].push(ms);
      }
      log(`start ${i + 1}/${starts}: ${PROCS.map((p) => `${p.id} ${runs[p.id][i]} ms`).join(', ')}`);
      if (i === starts - 1) {
        await new Promise((r) => setTimeout(r, IDLE_S * 1000));
        for (const [id, p] of running) rss[id] = rssMb(p.child.pid!);
      }
      // in reverse: certd goes before keystored, as on a shutdown
      for (const { id } of [...PROCS].reverse()) {
        await running.get(id)!.stop();
        running.delete(id);
      }
    }
  } finally {
    for (const p of running.values()) await p.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(svc.dir, { recursive: true, force: true });
  }
  const startup = Object.fromEntries(PROCS.map(({ id }) => [id, { median: median(runs[id]), runs: runs[id] }]));
  return { startup_ms: startup as Probe['startup_ms'], idle_rss_mb: rss };
}

async function probe(quick: boolean): Promise<Probe> {
  const minTime = quick ? 0.3 : 1;
  const starts = quick ? 1 : 3;
  let t0 = performance.now();
  log(`wasm core: ${CORE_OPS.map((o) => o.id).join(', ')}`);
  const core = await runImpl('wasm', { minTime, minIters: 5, rounds: 1, only: CORE_OPS.map((o) => o.id), impls: ['wasm'] });
  const coreS = seconds(t0);
  t0 = performance.now();
  const svc = await services(starts);
  const cpus = os.cpus();
  return {
    probe: 1,
    arch: process.arch,
    machine: os.machine(),
    node: process.version,
    cpu_model: cpus[0]?.model ?? null,
    cpu_count: cpus.length,
    options: { min_time_s: minTime, starts, idle_s: IDLE_S },
    core,
    ...svc,
    took_s: { core: coreS, services: seconds(t0) },
  };
}

// --- the report ------------------------------------------------------------------------------

interface Row {
  id: string;
  label: string;
  unit: 'us' | 'ms' | 'MB';
  value(p: Probe): number | null;
  format(v: number): string;
}

const okMedian = (m: Measurement | undefined): number | null => (m?.status === 'ok' ? m.median_us : null);
const ROWS: readonly Row[] = [
  ...CORE_OPS.map((o) => ({ id: o.id, label: `${o.label}, median`, unit: 'us' as const, value: (p: Probe) => okMedian(p.core[o.id]), format: fmtTime })),
  ...PROCS.map((s) => ({ id: `startup-${s.id}`, label: `${s.started}, median`, unit: 'ms' as const, value: (p: Probe) => p.startup_ms[s.id].median, format: (ms: number) => fmtTime(ms * 1000) })),
  ...PROCS.map((s) => ({ id: `rss-${s.id}`, label: `idle RSS ${s.label}`, unit: 'MB' as const, value: (p: Probe) => p.idle_rss_mb[s.id], format: (mb: number) => `${mb.toFixed(1)} MB` })),
];

const QEMU_NOTE =
  'QEMU user-mode numbers are the cost of emulating that CPU on this host, not the speed of a camera; ' +
  "and under qemu-user VmRSS includes QEMU's own translation cache, so it overstates the guest's own RSS.";

function qemuVersion(): string | null {
  try {
    return execFileSync('qemu-aarch64-static', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

function report(argv: string[]): void {
  let started = new Date();
  const parts: Record<string, number> = {};
  const columns: { label: string; file: string; probe: Probe }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const pair = (v: string | undefined): [string, string] => {
      const k = v?.indexOf('=') ?? -1;
      if (k <= 0) throw new Error(`${a}: expected NAME=VALUE, got ${v}`);
      return [v!.slice(0, k), v!.slice(k + 1)];
    };
    if (a === '--started') started = new Date(Number(argv[++i]) * 1000);
    else if (a === '--took') {
      const [part, s] = pair(argv[++i]);
      parts[part] = Number(s);
    } else {
      const [label, file] = pair(a);
      columns.push({ label, file, probe: JSON.parse(readFileSync(file, 'utf8')) as Probe });
    }
  }
  if (columns.length < 2) throw new Error('--report needs the baseline and at least one more probe');
  const [base, ...others] = columns;
  const qemu = qemuVersion();
  const ratio = (v: number | null, b: number | null): number | null => (v !== null && b !== null && b > 0 ? Math.round((v / b) * 1000) / 1000 : null);

  const fmt = (r: Row, v: number | null): string => (v === null ? '–' : r.format(v));
  const rows = ROWS.map((r) => {
    const b = r.value(base!.probe);
    const vs = others.map((c) => r.value(c.probe));
    return {
      json: {
        id: r.id,
        label: r.label,
        unit: r.unit,
        values: Object.fromEntries(columns.map((c) => [c.label, r.value(c.probe)])),
        ratios: Object.fromEntries(others.map((c, k) => [c.label, ratio(vs[k]!, b)])),
      },
      cells: [r.label, fmt(r, b), ...vs.flatMap((v) => [fmt(r, v), fmtRatio(ratio(v, b))])],
    };
  });
  const header = ['', base!.label, ...others.flatMap((c) => [c.label, 'ratio'])];
  const failed = columns.flatMap((c) => CORE_OPS.flatMap((o) => {
    const m = c.probe.core[o.id];
    if (m === undefined) return [`${c.label} ${o.id}: not measured`];
    return m.status === 'ok' ? [] : [`${c.label} ${o.id}: ${m.status}: ${m.reason}`];
  }));
  process.stdout.write(
    [
      table(header, rows.map((r) => r.cells)),
      '',
      ...failed,
      ...columns.map((c) => `${c.label}: ${c.probe.machine} (${c.probe.arch}), node ${c.probe.node}, ${c.probe.cpu_count} CPUs seen; core ${c.probe.took_s.core} s, services ${c.probe.took_s.services} s`),
      `emulator: ${qemu ?? 'qemu-aarch64-static not found'}`,
      `Core rows: median per op (timed ≥ ${base!.probe.options.min_time_s} s after warm-up). Start-up: spawn to "ready", median of ${base!.probe.options.starts}. RSS: VmRSS after ${IDLE_S} s idle.`,
      `NOTE: ${QEMU_NOTE}`,
    ].join('\n') + '\n',
  );

  const { file, duration_s } = saveResults('arm', started, { ...machineInfo(DEFAULT_MODULE_PATH), qemu }, {
    arm: {
      note: QEMU_NOTE,
      parts_s: parts,
      baseline: base!.label,
      rows: rows.map((r) => r.json),
      probes: Object.fromEntries(columns.map((c) => [c.label, c.probe])),
    },
  }, false);
  const took = Object.entries(parts).map(([part, s]) => `${part} ${s.toFixed(1)} s`);
  process.stdout.write(`\ntook: ${[...took, `all ${duration_s.toFixed(0)} s`].join(', ')}\nresults: ${file}\n`);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--report') return report(argv.slice(1));
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown[0]}`);
  process.stdout.write(`${JSON.stringify(await probe(argv.includes('--quick')))}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`arm-probe: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
