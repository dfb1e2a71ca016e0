// The journal of multi-step operations. Creating an entry makes a key in keystored first
// and writes the entry last; deleting removes the entry first and the key last. Each
// operation writes its intent before the first step and removes it after the last, so
// after a crash at any point start-up can finish or undo it: no half-made entry, no
// orphan key. An intent is the only thing that ever authorises deleting a key, and only
// for the store generation it was written for (store/records.ts).
//
// On flash the journal is one append-only file, journal.log, of JSON lines: an intent
// ("begin"), a batch's commit mark ("commit", with every record the batch writes; see
// domain/batches.ts) and an end ("end"). An append costs one fsync of a file that
// already exists, where an intent file of its own cost two (the file and its folder).
// A line a power cut tore is skipped: its fsync never returned, so its step never began.
// At open the file is rewritten with what is still pending, atomically. Intent files of
// the earlier layout (journal/<key id>.json) are still read and finished.
//
// The journal also holds certificate requests ("request" … "end_request"): a key made on
// the device for a CSR, waiting for the CA's certificate. Its key belongs to no entry yet,
// and the journal naming it is what keeps it from being taken for an orphan.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { UserRecord } from '../auth/users';
import { fsyncDir, unlinkDurable, writeFileAtomic } from '../../common/atomic-file';
import type { Binding } from './bindings';
import type { Entry } from './records';

export interface Intent {
  /** 'add': a key was (or is being) made for a new entry; 'remove': an entry and its key are going. */
  op: 'add' | 'remove';
  alias: string;
  keystore: string;
  key_id: string;
  /** The entries folder's generation when the intent was written (absent: written before generations). */
  generation?: string;
}

export interface KeyRef {
  keystore: string;
  key_id: string;
  /** The entry that had the key (old keys of a batch). */
  alias?: string;
}

/** A batch as written before its first step: the keys it will make. */
export interface BatchIntent {
  op: 'batch';
  id: string;
  generation: string;
  /** Deleted if the batch rolls back. */
  new_keys: KeyRef[];
}

/** What a committed batch writes; replaying it is idempotent. */
export interface BatchCommit {
  puts: Entry[];
  /** Entries removed, each by alias and the id it had when the batch was planned. */
  removes: { alias: string; id: string }[];
  bindings: Binding[];
  /** Users' records with new passwords (HA1s only); absent when the batch sets none. */
  users?: UserRecord[];
  /** The root password's salted hash; absent when the batch sets none. */
  root_password?: string;
  /** Keys of replaced or removed entries: deleted only once the records are written. */
  old_keys: KeyRef[];
}

/** A key made for a CSR, waiting for its certificate (2N /api/cert/csr). */
export interface PendingRequest {
  /** The alias its entry will have. */
  alias: string;
  keystore: string;
  key_id: string;
  /** The key's SubjectPublicKeyInfo, base64 DER: the certificate must carry it. */
  spki: string;
  /** PEM. */
  csr: string;
  generation: string;
  created: string;
}

export interface PendingBatch {
  intent: BatchIntent;
  commit?: BatchCommit;
}

type Line = { begin: Intent } | { begin_batch: BatchIntent } | { commit: string; records: BatchCommit } | { end: string }
  | { request: PendingRequest } | { end_request: string };

const LOG = 'journal.log';
/** The log is emptied once nothing is pending and it has grown past this. */
const COMPACT_BYTES = 64 * 1024;

export class Journal {
  private readonly dir: string;
  private readonly setAside: string;
  private readonly log: string;
  private fd: number;
  private size = 0;
  /** Key intents by key id; those read from files of the earlier layout are in `files`. */
  private readonly intents = new Map<string, Intent>();
  private readonly files = new Set<string>();
  private readonly batchesById = new Map<string, PendingBatch>();
  private readonly requestsByAlias = new Map<string, PendingRequest>();

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'journal');
    this.setAside = join(this.dir, 'unowned');
    this.log = join(this.dir, LOG);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.log)) for (const line of readFileSync(this.log, 'utf8').split('\n')) this.replay(line);
    for (const f of readdirSync(this.dir)) {
      // An intent whose write a crash cut short: its operation never began.
      if (f.startsWith('.') && f.endsWith('.tmp')) unlinkDurable(join(this.dir, f));
      else if (f.endsWith('.json')) {
        const intent = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Intent;
        this.intents.set(intent.key_id, intent);
        this.files.add(intent.key_id);
      }
    }
    const kept = [...this.logLines()].join('');
    writeFileAtomic(this.log, Buffer.from(kept));
    this.fd = openSync(this.log, 'a', 0o600);
    this.size = kept.length;
  }

  begin(intent: Intent): void {
    this.append({ begin: intent }, true);
    this.intents.set(intent.key_id, intent);
  }

  /** Not fsynced: an intent that comes back after a power cut is found done and removed. */
  end(intent: Intent): void {
    if (this.files.delete(intent.key_id)) unlinkSync(join(this.dir, `${intent.key_id}.json`));
    else this.append({ end: intent.key_id }, false);
    this.intents.delete(intent.key_id);
    this.compactIfIdle();
  }

  pending(): Intent[] {
    return [...this.intents.values()];
  }

  beginBatch(intent: BatchIntent): void {
    this.append({ begin_batch: intent }, true);
    this.batchesById.set(intent.id, { intent });
  }

  /** The batch's commit point: once this returns, the batch is replayed, never undone. */
  commitBatch(id: string, records: BatchCommit): void {
    this.append({ commit: id, records }, true);
    this.batchesById.get(id)!.commit = records;
  }

  /**
   * Fsynced, unlike a key intent's end: a committed batch that came back after a power cut
   * would be replayed over whatever later changes made to its entries.
   */
  endBatch(id: string): void {
    this.append({ end: id }, true);
    this.batchesById.delete(id);
    this.compactIfIdle();
  }

  batches(): PendingBatch[] {
    return [...this.batchesById.values()];
  }

  addRequest(r: PendingRequest): void {
    this.append({ request: r }, true);
    this.requestsByAlias.set(r.alias, r);
  }

  /** Fsynced: a request that came back after a power cut would name a key already deleted or an entry's. */
  endRequest(alias: string): void {
    if (!this.requestsByAlias.delete(alias)) return;
    this.append({ end_request: alias }, true);
    this.compactIfIdle();
  }

  request(alias: string): PendingRequest | undefined {
    return this.requestsByAlias.get(alias);
  }

  requests(): PendingRequest[] {
    return [...this.requestsByAlias.values()];
  }

  /** Every key a pending intent, batch or request names (none of them is unowned). */
  keysNamed(): KeyRef[] {
    return [
      ...this.intents.values(), ...this.requestsByAlias.values(),
      ...[...this.batchesById.values()].flatMap((b) => [...b.intent.new_keys, ...(b.commit?.old_keys ?? [])]),
    ];
  }

  /**
   * Moves an intent that may not act (another generation's) out of the way, kept for a
   * person to read: it is never retried and never deletes anything.
   */
  setAsideIntent(intent: Intent): void {
    this.keepAside(intent.key_id, intent);
    if (this.files.delete(intent.key_id)) unlinkSync(join(this.dir, `${intent.key_id}.json`));
    else this.append({ end: intent.key_id }, true);
    this.intents.delete(intent.key_id);
  }

  setAsideBatch(b: PendingBatch): void {
    this.keepAside(b.intent.id, b);
    this.endBatch(b.intent.id);
  }

  private keepAside(name: string, content: unknown): void {
    mkdirSync(this.setAside, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(this.setAside, `${name}.json`), Buffer.from(JSON.stringify(content)));
    fsyncDir(this.dir);
  }

  private replay(text: string): void {
    if (text === '') return;
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      return; // torn by a power cut before its fsync returned
    }
    if ('begin' in line) this.intents.set(line.begin.key_id, line.begin);
    else if ('request' in line) this.requestsByAlias.set(line.request.alias, line.request);
    else if ('end_request' in line) this.requestsByAlias.delete(line.end_request);
    else if ('begin_batch' in line) this.batchesById.set(line.begin_batch.id, { intent: line.begin_batch });
    else if ('commit' in line) {
      const b = this.batchesById.get(line.commit);
      if (b) b.commit = line.records;
    } else if (!this.intents.delete(line.end)) this.batchesById.delete(line.end);
  }

  private *logLines(): Generator<string> {
    for (const [key, i] of this.intents) if (!this.files.has(key)) yield JSON.stringify({ begin: i }) + '\n';
    for (const b of this.batchesById.values()) {
      yield JSON.stringify({ begin_batch: b.intent }) + '\n';
      if (b.commit) yield JSON.stringify({ commit: b.intent.id, records: b.commit }) + '\n';
    }
    for (const r of this.requestsByAlias.values()) yield JSON.stringify({ request: r }) + '\n';
  }

  private append(line: Line, sync: boolean): void {
    const data = Buffer.from(JSON.stringify(line) + '\n', 'utf8');
    for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off, data.length - off);
    if (sync) fsyncSync(this.fd);
    this.size += data.length;
  }

  /**
   * Empties the log when nothing is pending (with only requests pending: rewrites it with
   * them). Not fsynced: if a power cut brings old lines back, every intent in them is found
   * done, as after an end that did not reach flash.
   */
  private compactIfIdle(): void {
    if (this.size < COMPACT_BYTES || this.intents.size > 0 || this.batchesById.size > 0) return;
    if (this.requestsByAlias.size === 0) {
      ftruncateSync(this.fd, 0);
      this.size = 0;
      return;
    }
    // Requests may wait for weeks: the log is rewritten with them alone, atomically.
    const kept = [...this.logLines()].join('');
    closeSync(this.fd);
    writeFileAtomic(this.log, Buffer.from(kept));
    this.fd = openSync(this.log, 'a', 0o600);
    this.size = kept.length;
  }
}

/** How many intents and batches a journal folder holds (for tests and the kill loop, which read it beside a running certd). */
export function journalPendingIn(dataDir: string): string[] {
  const dir = join(dataDir, 'journal');
  const out = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  const log = join(dir, LOG);
  if (!existsSync(log)) return out;
  const open = new Map<string, string>();
  for (const text of readFileSync(log, 'utf8').split('\n')) {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      continue;
    }
    if ('begin' in line) open.set(line.begin.key_id, `${line.begin.op} ${line.begin.key_id}`);
    else if ('begin_batch' in line) open.set(line.begin_batch.id, `batch ${line.begin_batch.id}`);
    else if ('end' in line) open.delete(line.end);
  }
  return [...out, ...open.values()];
}
