// The certificate store: one JSON file per entry in a data folder, all read into memory at
// start. Every write is atomic (temporary file, fsync, rename, fsync of the folder), so
// after a power cut an entry is either its old or its new self.
//
// The folder carries its generation: a random id written into it when it is made. The
// journal stamps every intent with it, and only intents of this generation may delete
// keys. A folder that is missing (failed mount, wiped partition) comes back with a new
// generation, so whatever the journal and keystored still hold from the old one is
// reported, never deleted.
//
// Every entry has an immutable id (a UUID) and is indexed by alias, id and the SHA-1 and
// SHA-256 fingerprints of its leaf. Fingerprints are derived from the stored PEM when an
// entry is read or written (a hash of public bytes, not kept in the file); entries
// written before ids get one when the store opens, each file rewritten atomically, before
// anything is served, so no client ever sees an id change.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unlinkDurable, writeFileAtomic, writeFilesAtomic } from '../../common/atomic-file';

export type EntryKind = 'certificate' | 'ca';

export interface Entry {
  /** Immutable, made with the entry. */
  id: string;
  alias: string;
  kind: EntryKind;
  /** The leaf certificate, PEM. */
  certificate: string;
  /** Certificates that came after the leaf (an uploaded chain), PEM, in order. */
  chain: string[];
  /** Where the private key is (certificates only). */
  keystore?: string;
  key_id?: string;
  created: string;
  /** Factory material declared in config (domain/factory.ts): never deleted or replaced by a client. */
  protected?: true;
}

export interface Fingerprints {
  /** Of the leaf's DER, lowercase hex without separators. */
  sha1: string;
  sha256: string;
}

const ENTRY_SUFFIX = '.json';
const GENERATION_FILE = '.generation';

/** A file name for an alias: aliases are free text, file names are not. */
function fileOf(alias: string): string {
  return createHash('sha256').update(alias, 'utf8').digest('hex').slice(0, 40) + ENTRY_SUFFIX;
}

/** A PEM certificate's SHA-1 and SHA-256 fingerprints, lowercase hex. */
export function fingerprintsOf(pem: string): Fingerprints {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return { sha1: createHash('sha1').update(der).digest('hex'), sha256: createHash('sha256').update(der).digest('hex') };
}

export class RecordStore {
  private readonly dir: string;
  private readonly settingsPath: string;
  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  /** Fingerprint -> entries (one certificate may be stored under two aliases). */
  private readonly byFingerprint = new Map<string, Entry[]>();
  private readonly prints = new WeakMap<Entry, Fingerprints>();
  /** Entry file name -> the alias it holds, and back: one file never serves two aliases. */
  private readonly owners = new Map<string, string>();
  private readonly files = new Map<string, string>();
  private settings: { keystore?: string } = {};
  /** This folder's generation (see the top of this file). */
  readonly generation: string;
  /** How the folder was found at start: 'new' when it had to be made. */
  readonly opened: 'existing' | 'new';

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'entries');
    this.opened = existsSync(this.dir) ? 'existing' : 'new';
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(this.dir)) {
      if (f.startsWith('.') && f.endsWith('.tmp')) {
        unlinkDurable(join(this.dir, f));
      } else if (f.endsWith(ENTRY_SUFFIX)) {
        const read = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Omit<Entry, 'id'> & { id?: string };
        this.owners.set(f, read.alias);
        this.files.set(read.alias, f);
        const e = read.id ? (read as Entry) : { id: randomUUID(), ...read };
        if (!read.id) writeFileAtomic(join(this.dir, f), Buffer.from(JSON.stringify(e)));
        this.index(e);
      }
    }
    this.generation = this.loadGeneration();
    this.settingsPath = join(dataDir, 'settings.json');
    if (existsSync(this.settingsPath)) this.settings = JSON.parse(readFileSync(this.settingsPath, 'utf8')) as { keystore?: string };
  }

  /** The entry stored under exactly this alias (callers compare in NFC, see domain/names.ts). */
  get(alias: string): Entry | undefined {
    return this.entries.get(alias);
  }

  getById(id: string): Entry | undefined {
    return this.byId.get(id);
  }

  /** Entries whose leaf has this SHA-1 or SHA-256 fingerprint (lowercase hex). */
  getByFingerprint(hex: string): readonly Entry[] {
    return this.byFingerprint.get(hex) ?? [];
  }

  fingerprints(e: Entry): Fingerprints {
    return this.prints.get(e) ?? fingerprintsOf(e.certificate);
  }

  /** Entries of one kind, in alias order. */
  list(kind: EntryKind): Entry[] {
    return [...this.entries.values()].filter((e) => e.kind === kind).sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
  }

  all(): Entry[] {
    return [...this.entries.values()];
  }

  put(entry: Entry): void {
    this.putAll([entry]);
  }

  /** Writes several entries with one fsync of the folder (a batch's records, domain/batches.ts). */
  putAll(entries: Entry[]): void {
    const files = entries.map((entry) => {
      const file = this.files.get(entry.alias) ?? fileOf(entry.alias);
      const owner = this.owners.get(file);
      if (owner !== undefined && owner !== entry.alias) throw new Error('entry file already holds another alias');
      const old = this.entries.get(entry.alias);
      if (old && old.id !== entry.id) throw new Error('an entry keeps its id');
      return { name: file, data: Buffer.from(JSON.stringify(entry)) };
    });
    if (new Set(files.map((f) => f.name)).size !== files.length) throw new Error('one entry file twice');
    writeFilesAtomic(this.dir, files);
    for (const [i, entry] of entries.entries()) {
      const old = this.entries.get(entry.alias);
      if (old) this.unindex(old);
      this.index(entry);
      this.owners.set(files[i]!.name, entry.alias);
      this.files.set(entry.alias, files[i]!.name);
    }
  }

  remove(alias: string): void {
    const file = this.files.get(alias);
    if (file === undefined) return;
    unlinkDurable(join(this.dir, file));
    const old = this.entries.get(alias);
    if (old) this.unindex(old);
    this.owners.delete(file);
    this.files.delete(alias);
  }

  private index(e: Entry): void {
    const fp = fingerprintsOf(e.certificate);
    this.prints.set(e, fp);
    this.entries.set(e.alias, e);
    this.byId.set(e.id, e);
    for (const h of [fp.sha1, fp.sha256]) {
      const list = this.byFingerprint.get(h);
      if (list) list.push(e);
      else this.byFingerprint.set(h, [e]);
    }
  }

  private unindex(e: Entry): void {
    const fp = this.fingerprints(e);
    this.entries.delete(e.alias);
    this.byId.delete(e.id);
    for (const h of [fp.sha1, fp.sha256]) {
      const rest = (this.byFingerprint.get(h) ?? []).filter((x) => x !== e);
      if (rest.length > 0) this.byFingerprint.set(h, rest);
      else this.byFingerprint.delete(h);
    }
  }

  /** Reads the folder's generation, or gives it one (a new folder, or one from before generations). */
  private loadGeneration(): string {
    const path = join(this.dir, GENERATION_FILE);
    if (existsSync(path)) {
      const g = (JSON.parse(readFileSync(path, 'utf8')) as { generation?: unknown }).generation;
      if (typeof g !== 'string' || g === '') throw new Error(`${path}: no generation`);
      return g;
    }
    const generation = randomUUID();
    writeFileAtomic(path, Buffer.from(JSON.stringify({ generation, created: new Date().toISOString() })));
    return generation;
  }

  defaultKeystore(): string | undefined {
    return this.settings.keystore;
  }

  setDefaultKeystore(id: string): void {
    const next = { ...this.settings, keystore: id };
    writeFileAtomic(this.settingsPath, Buffer.from(JSON.stringify(next)));
    this.settings = next;
  }
}
