// The kill loop: cycles of a random mix of cert.v1 writes and /certd/v1 batches sent at
// once, a SIGKILL of certd, keystored or both at a random moment, a restart, then the
// checks: every acknowledged operation is reflected and every refused one changed nothing,
// an unanswered batch happened wholly or not at all (ledger.ts), no orphan key
// (a `certd-` key in keystored that no entry file names), no entry without a working key
// (get_csr answers 200), and the journal empties. Not a test suite (it runs for minutes):
// scripts/kill-loop.sh builds and runs it.
//
//   node dist/test/soak/kill-loop.js [--cycles 1000] [--seed S] [--stores SE0[,TPM0]]
//        [--ops 8] [--kill-window-ms 400] [--json FILE] [--stop-on-violation]
//        [--hide-entries-every N]   (every Nth cycle that kills certd, one start sees no
//                                    data/certd/entries folder before the real restart)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { journalPendingIn } from '../../src/certd/store/journal';
import { makeMaterial, PASSPHRASE, type Material } from '../certd/material';
import { API, startService, type Service } from '../certd/service';
import { Rng } from '../rng';
import { startSimulators, type Simulators } from '../sim';
import { Ledger, type Answer, type Kind } from './ledger';

interface Options {
  cycles: number;
  seed: string;
  stores: string[];
  ops: number;
  killWindowMs: number;
  json?: string;
  stopOnViolation: boolean;
  hideEntriesEvery: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { cycles: 1000, seed: String(Date.now()), stores: [], ops: 8, killWindowMs: 400, stopOnViolation: false, hideEntriesEvery: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? (() => { throw new Error(`${a} needs a value`); })();
    if (a === '--cycles') o.cycles = Number(next());
    else if (a === '--seed') o.seed = next();
    else if (a === '--stores') o.stores = next().split(',').filter(Boolean);
    else if (a === '--ops') o.ops = Number(next());
    else if (a === '--kill-window-ms') o.killWindowMs = Number(next());
    else if (a === '--json') o.json = next();
    else if (a === '--stop-on-violation') o.stopOnViolation = true;
    else if (a === '--hide-entries-every') o.hideEntriesEvery = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  for (const s of o.stores) if (s !== 'SE0' && s !== 'TPM0') throw new Error(`--stores: SE0 and/or TPM0, not ${s}`);
  return o;
}

/** An RSA-2048 key and certificate beside the EC material (uploads of both families). */
function rsaMaterial(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'certd-kill-rsa-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=kill loop rsa', '-days', '30'], { stdio: 'pipe' });
  const out = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  rmSync(dir, { recursive: true, force: true });
  return out;
}

type OpName = 'create EC' | 'create RSA' | 'upload' | 'pkcs12' | 'add CA' | 'delete certificate' | 'delete CA' | 'batch';
// A batch (POST /certd/v1/batch): two new certificates, a CA and, when there is one, the
// removal of a certificate; one ledger record per alias, and all or none of them.
const WEIGHTS: Record<OpName, number> = { 'create EC': 5, 'create RSA': 1, upload: 2, pkcs12: 2, 'add CA': 1, 'delete certificate': 4, 'delete CA': 1, batch: 2 };
const MAX_ENTRIES = 24;
const HUNG_MS = 90_000;
const SETTLE_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

interface Totals {
  cycles: number;
  operations: number;
  acknowledged: number;
  refused: number;
  unanswered: number;
  statuses: Record<string, number>;
  lost: number;
  refused_applied: number;
  phantom: number;
  torn_batches: number;
  orphan_keys: number;
  entries_without_working_key: number;
  journal_not_finished: number;
  hung_requests: number;
  restart_failures: number;
  kills: Record<string, number>;
  entries_hidden: number;
}

class KillLoop {
  private readonly ledger = new Ledger();
  readonly totals: Totals = {
    cycles: 0, operations: 0, acknowledged: 0, refused: 0, unanswered: 0, statuses: {}, lost: 0, refused_applied: 0, phantom: 0, torn_batches: 0,
    orphan_keys: 0, entries_without_working_key: 0, journal_not_finished: 0, hung_requests: 0, restart_failures: 0, kills: {}, entries_hidden: 0,
  };
  private ks: KeystoreClient;
  /** Broken entries and orphan keys already counted: each is one violation, however many checks see it. */
  private readonly reported = new Set<string>();

  constructor(private readonly svc: Service, private readonly m: Material, private readonly rsa: { key: string; cert: string }, private readonly stores: string[], private readonly o: Options) {
    this.ks = new KeystoreClient(endpointFor(join(svc.dir, 'run')), { timeoutMs: 10_000 });
  }

  get violations(): number {
    const t = this.totals;
    return t.lost + t.refused_applied + t.phantom + t.torn_batches + t.orphan_keys + t.entries_without_working_key + t.journal_not_finished + t.hung_requests + t.restart_failures;
  }

  /** One cycle; returns what it found (also added to the totals). */
  async cycle(n: number): Promise<string[]> {
    const rng = new Rng(`${this.o.seed}/${n}`);
    const admin = this.svc.as('admin', 'basic');
    const count = rng.range(1, this.o.ops);
    const taken = new Set<string>();
    const ops: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      let op = rng.weighted(WEIGHTS);
      const certs = this.ledger.present('certificate').filter((a) => !taken.has(a));
      const cas = this.ledger.present('ca').filter((a) => !taken.has(a));
      if (this.ledger.size > MAX_ENTRIES && certs.length > 0) op = 'delete certificate';
      if (op === 'delete certificate' && certs.length === 0) op = 'create EC';
      if (op === 'delete CA' && cas.length === 0) op = 'add CA';
      const store = rng.pick(['SOFTWARE0', ...this.stores]);
      const importStore = rng.pick(['SOFTWARE0', ...this.stores.filter((s) => s === 'SE0')]);
      const fresh = `kill ${n}.${i}${rng.chance(0.2) ? ' ü/é' : ''}`;
      const send = (kind: Kind, opName: 'add' | 'delete', alias: string, call: () => Promise<{ status: number }>) => {
        taken.add(alias);
        ops.push(this.answer(call).then((answer) => this.ledger.record(opName, kind, alias, answer)));
      };
      switch (op) {
        case 'create EC':
        case 'create RSA':
          send('certificate', 'add', fresh, () => admin.post(`${API}/create_certificate`, {
            alias: fresh, subject: `CN=kill ${n}.${i}`, key_type: op === 'create EC' ? rng.pick(['EC-P256', 'EC-P384']) : 'RSA-2048', keystore: store,
          }));
          break;
        case 'upload': {
          const rsa = rng.chance(0.3);
          send('certificate', 'add', fresh, () => admin.post(`${API}/certificates`, {
            alias: fresh, certificate: rsa ? this.rsa.cert : this.m.cert, private_key: rsa ? this.rsa.key : this.m.key, keystore: importStore,
          }));
          break;
        }
        case 'pkcs12':
          send('certificate', 'add', fresh, () => admin.post(`${API}/install_from_pkcs12`, { alias: fresh, pkcs12: this.m.p12, passphrase: PASSPHRASE, keystore: importStore }));
          break;
        case 'add CA':
          send('ca', 'add', fresh, () => admin.post(`${API}/ca_certificates`, { alias: fresh, certificate: this.m.ca }));
          break;
        case 'delete certificate': {
          const alias = rng.pick(certs);
          send('certificate', 'delete', alias, () => admin.del(`${API}/certificates/${enc(alias)}`));
          break;
        }
        case 'delete CA': {
          const alias = rng.pick(cas);
          send('ca', 'delete', alias, () => admin.del(`${API}/ca_certificates/${enc(alias)}`));
          break;
        }
        case 'batch': {
          const members: { op: 'add' | 'delete'; kind: Kind; alias: string }[] = [
            { op: 'add', kind: 'certificate', alias: `${fresh} a` }, { op: 'add', kind: 'certificate', alias: `${fresh} b` }, { op: 'add', kind: 'ca', alias: `${fresh} ca` },
          ];
          if (certs.length > 0) members.push({ op: 'delete', kind: 'certificate', alias: rng.pick(certs) });
          for (const m of members) taken.add(m.alias);
          const steps = members.map((m) => (m.op === 'delete' ? { op: 'delete', alias: m.alias }
            : m.kind === 'ca' ? { op: 'add_ca_certificate', alias: m.alias, certificate: this.m.ca }
            : { op: 'create_certificate', alias: m.alias, subject: `CN=kill ${n}.${i}`, keystore: store }));
          ops.push(this.answer(() => admin.post('/certd/v1/batch', { steps })).then((answer) => this.ledger.recordBatch(members, answer)));
          break;
        }
      }
    }
    this.totals.operations += count;

    await sleep(rng.int(this.o.killWindowMs));
    const victim = rng.weighted({ certd: 4, keystored: 3, both: 3 });
    this.totals.kills[victim] = (this.totals.kills[victim] ?? 0) + 1;
    if (victim !== 'keystored') await this.svc.killCertd();
    if (victim !== 'certd') await this.svc.killKeystored();
    const out: string[] = [];
    try {
      if (this.o.hideEntriesEvery > 0 && n % this.o.hideEntriesEvery === this.o.hideEntriesEvery - 1 && victim !== 'keystored') await this.startWithoutEntries();
      await this.svc.start();
    } catch (e) {
      this.totals.restart_failures++;
      out.push(`restart failed after killing ${victim}: ${(e as Error).message.slice(0, 2000)}`);
      return out;
    }
    await Promise.all(ops);
    out.push(...(await this.check(victim)));
    return out;
  }

  /**
   * A start that finds data/certd/entries missing (a data partition not mounted, a folder
   * lost to a bad update), then one with the folder back: the keys must still be there.
   */
  private async startWithoutEntries(): Promise<void> {
    const entries = join(this.svc.dir, 'certd', 'entries');
    renameSync(entries, `${entries}.away`);
    await this.svc.start();
    await this.svc.killCertd();
    rmSync(entries, { recursive: true, force: true });
    renameSync(`${entries}.away`, entries);
    this.totals.entries_hidden++;
  }

  private async answer(call: () => Promise<{ status: number }>): Promise<Answer> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((r) => { timer = setTimeout(() => r('hung'), HUNG_MS); });
    try {
      const r = await Promise.race([call().then((x) => x.status, () => undefined), hung]);
      if (r === 'hung') {
        this.totals.hung_requests++;
        return undefined;
      }
      const key = r === undefined ? 'no answer' : String(r);
      this.totals.statuses[key] = (this.totals.statuses[key] ?? 0) + 1;
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  private async check(victim: string): Promise<string[]> {
    const out: string[] = [];
    const pending = () => journalPendingIn(join(this.svc.dir, 'certd'));
    for (let waited = 0; pending().length > 0 && waited < SETTLE_MS; waited += 100) await sleep(100);
    if (pending().length > 0) {
      this.totals.journal_not_finished++;
      out.push(`journal not finished ${SETTLE_MS} ms after the restart (${victim} killed): ${pending().join(', ')}`);
    }

    const admin = this.svc.as('admin', 'basic');
    // certd sees keystored again within a moment of its restart; only then is a 503 news.
    for (let waited = 0; waited < SETTLE_MS && (await admin.get(`${API}/keystores`)).status === 503; waited += 100) await sleep(100);
    const observed = new Map<string, Kind>();
    for (const [coll, kind] of [['certificates', 'certificate'], ['ca_certificates', 'ca']] as const) {
      const r = await admin.get(`${API}/${coll}`);
      if (r.status !== 200) throw new Error(`GET ${coll}: ${r.status} ${r.text}`);
      for (const e of r.json.data as { alias: string }[]) observed.set(e.alias, kind);
    }
    for (const f of this.ledger.check(observed)) {
      if (f.kind === 'lost') this.totals.lost++;
      else if (f.kind === 'refused-applied') this.totals.refused_applied++;
      else if (f.kind === 'torn-batch') this.totals.torn_batches++;
      else this.totals.phantom++;
      out.push(`${f.kind}: "${f.alias}": ${f.detail} (${victim} killed)`);
    }
    for (const [alias, kind] of observed) {
      if (kind !== 'certificate') continue;
      const r = await admin.post(`${API}/certificates/${enc(alias)}/get_csr`, {});
      if (r.status !== 200) {
        if (this.reported.has(`entry/${alias}`)) continue;
        this.reported.add(`entry/${alias}`);
        this.totals.entries_without_working_key++;
        out.push(`entry without a working key: "${alias}": get_csr ${r.status} ${r.text.slice(0, 200)} (${victim} killed)`);
      }
    }
    const entries = join(this.svc.dir, 'certd', 'entries');
    const used = new Set(readdirSync(entries).filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => JSON.parse(readFileSync(join(entries, f), 'utf8')) as { keystore?: string; key_id?: string })
      .filter((e) => e.key_id).map((e) => `${e.keystore}/${e.key_id}`));
    for (const store of ['SOFTWARE0', ...this.stores]) {
      const keys = (await this.ks.call(Opcode.LIST_KEYS, { store })).key_ids.filter((k) => k.startsWith('certd-'));
      for (const k of keys) {
        if (used.has(`${store}/${k}`) || this.reported.has(`key/${store}/${k}`)) continue;
        this.reported.add(`key/${store}/${k}`);
        this.totals.orphan_keys++;
        out.push(`orphan key ${store}/${k} (${victim} killed)`);
      }
    }
    return out;
  }

  close(): void {
    this.ks.close();
  }

  finish(): void {
    Object.assign(this.totals, { acknowledged: this.ledger.acknowledged, refused: this.ledger.refused, unanswered: this.ledger.unanswered });
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const started = performance.now();
  process.stdout.write(`kill loop: ${o.cycles} cycles, seed ${o.seed}, stores SOFTWARE0${o.stores.map((s) => `,${s}`).join('')}\n`);
  const material = makeMaterial();
  const rsa = rsaMaterial();
  let sims: Simulators | undefined;
  if (o.stores.length > 0) sims = startSimulators();
  const svc = await startService(sims ? { stores: sims.stores.filter((s) => o.stores.includes(s.id as string)), env: sims.env } : {});
  const loop = new KillLoop(svc, material, rsa, o.stores, o);
  try {
    for (let n = 0; n < o.cycles; n++) {
      const found = await loop.cycle(n);
      loop.totals.cycles++;
      for (const f of found) process.stdout.write(`VIOLATION cycle ${n}: ${f}\n`);
      if (found.length > 0 && (o.stopOnViolation || loop.totals.restart_failures > 0)) break;
      if ((n + 1) % 25 === 0) {
        const s = (performance.now() - started) / 1000;
        process.stdout.write(`  ${n + 1}/${o.cycles} cycles, ${loop.violations} violations, ${(s / (n + 1)).toFixed(2)} s/cycle\n`);
      }
    }
  } finally {
    loop.close();
    await svc.stop();
    sims?.stop();
  }
  loop.finish();
  const t = loop.totals;
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const ok = loop.violations === 0;
  const summary = { seed: o.seed, stores: ['SOFTWARE0', ...o.stores], ...t, violations: loop.violations, seconds, data_dir: svc.dir };
  const row = (k: string, v: unknown) => `  ${k.padEnd(44)} ${String(v)}\n`;
  process.stdout.write('\nkill loop summary\n');
  process.stdout.write(row('cycles', t.cycles));
  process.stdout.write(row('operations sent', t.operations));
  process.stdout.write(row('acknowledged (2xx)', t.acknowledged));
  process.stdout.write(row('refused (answered 4xx/5xx)', t.refused));
  process.stdout.write(row('unanswered (daemon killed)', t.unanswered));
  process.stdout.write(row('answers by status', JSON.stringify(t.statuses)));
  process.stdout.write(row('kills', JSON.stringify(t.kills)));
  if (o.hideEntriesEvery > 0) process.stdout.write(row('starts without data/certd/entries', t.entries_hidden));
  process.stdout.write(row('acknowledged operations lost (must be 0)', t.lost));
  process.stdout.write(row('refused operations applied (must be 0)', t.refused_applied));
  process.stdout.write(row('entries nobody created (must be 0)', t.phantom));
  process.stdout.write(row('batches applied in part (must be 0)', t.torn_batches));
  process.stdout.write(row('orphan keys (must be 0)', t.orphan_keys));
  process.stdout.write(row('entries without a working key (must be 0)', t.entries_without_working_key));
  process.stdout.write(row('journal not finished (must be 0)', t.journal_not_finished));
  process.stdout.write(row('hung requests (must be 0)', t.hung_requests));
  process.stdout.write(row('restart failures (must be 0)', t.restart_failures));
  process.stdout.write(row('time', `${seconds} s (${(seconds / Math.max(1, t.cycles)).toFixed(2)} s/cycle)`));
  process.stdout.write(ok ? 'kill loop: OK\n' : `kill loop: ${loop.violations} VIOLATIONS; rerun with --seed ${o.seed} --cycles ${t.cycles} (timing varies, the mix does not)\n`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(summary, null, 2)}\n`);
  if (ok) rmSync(svc.dir, { recursive: true, force: true });
  else process.stdout.write(`data kept in ${svc.dir}\n`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`kill loop: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
