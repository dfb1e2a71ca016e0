// `npm run bench`: runs the benchmark sections in one process, prints each section's table
// and writes everything, with the machine's description, to bench/results/<sections>-<time>.json
// and bench/results/latest.json (bench/results/ is git-ignored).
//
//   node dist/bench/run.js [--section core,...] [--quick] [--min-time S] [--rounds N] [--min-iters N]
//                          [--only op,op] [--impl wasm,native,forge,node] [--wasm FILE] [--native DRIVER]
//                          [--load-seconds S] [--load-clients N] [--no-save]
//
// A section is a module exporting a `Section` (bench/lib.ts); add later ones (service
// latency, IPC, memory) to SECTIONS.
import { resolve } from 'node:path';
import { DEFAULT_MODULE_PATH } from '../wasm/core';
import { acmeSection } from './acme';
import { coreSection } from './core';
import { dot1xSection } from './dot1x';
import { httpsSection } from './https';
import { ipcSection } from './ipc';
import { loadSection } from './load';
import { metricsSection } from './metrics';
import { serviceSection } from './service';
import { soapSection } from './soap';
import { storeSection } from './store';
import { type BenchOptions, type Section, machineInfo, saveResults } from './lib';

const SECTIONS: readonly Section[] = [coreSection, ipcSection, serviceSection, soapSection, storeSection, metricsSection, dot1xSection, httpsSection, acmeSection, loadSection];

function parseArgs(argv: string[]): { opts: BenchOptions; sections: string[]; save: boolean } {
  const opts: BenchOptions = { minTime: 1.5, minIters: 5, rounds: 3, only: [], impls: [] };
  let sections: string[] = [];
  let save = true;
  const list = (v: string | undefined): string[] => (v ?? '').split(',').filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--section') sections = list(next());
    else if (a === '--quick') (opts.minTime = 0.3), (opts.rounds = 1), (opts.loadSeconds = 10);
    else if (a === '--rounds') opts.rounds = Number(next());
    else if (a === '--min-time') opts.minTime = Number(next());
    else if (a === '--min-iters') opts.minIters = Number(next());
    else if (a === '--only') opts.only = list(next());
    else if (a === '--impl') opts.impls = list(next());
    else if (a === '--wasm') opts.wasmPath = resolve(next());
    else if (a === '--native') opts.nativeDriver = resolve(next());
    else if (a === '--load-seconds') opts.loadSeconds = Number(next());
    else if (a === '--load-clients') opts.loadClients = Number(next());
    else if (a === '--no-save') save = false;
    else throw new Error(`unknown argument ${a}`);
  }
  return { opts, sections, save };
}

async function main(): Promise<void> {
  const { opts, sections, save } = parseArgs(process.argv.slice(2));
  const chosen = SECTIONS.filter((s) => sections.length === 0 || sections.includes(s.name));
  if (chosen.length === 0) throw new Error(`no such section: ${sections.join(',')} (known: ${SECTIONS.map((s) => s.name).join(',')})`);
  const started = new Date();
  const machine = machineInfo(opts.wasmPath ?? DEFAULT_MODULE_PATH);
  process.stderr.write(`bench: ${String(machine.cpu_model)} x${String(machine.cpu_count)}, node ${process.version}\n`);

  const out: Record<string, unknown> = {};
  for (const section of chosen) {
    const report = await section.run(opts);
    out[section.name] = report.json;
    process.stdout.write(`\n== ${section.name} ==\n${report.text}\n`);
  }
  if (save) {
    const { file, duration_s } = saveResults(chosen.map((s) => s.name).join('+'), started, machine, out, true);
    process.stdout.write(`\nresults: ${file} (and bench/results/latest.json), ${duration_s.toFixed(0)} s\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
