// The certificate store: one JSON file per entry in a data folder, all read into memory at
// start. Every write is atomic (temporary file, fsync, rename, fsync of the folder), so
// after a power cut an entry is either its old or its new self.
//
// The folder carries its generation: a random id written into it when it is made. The
// journal stamps every intent with it, and only intents of this generation may delete
// keys. A folder that is missing (failed mount, wiped partition) comes back with a new
// generation, so whatever the journal and keystored still hold from the old one is
// reported, never deleted.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unlinkDurable, writeFileAtomic } from '../../common/atomic-file';

export type EntryKind = 'certificate' | 'ca';

export interface Entry {
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
}

const ENTRY_SUFFIX = '.json';
const GENERATION_FILE = '.generation';

/** A file name for an alias: aliases are free text, file names are not. */
function fileOf(alias: string): string {
  return createHash('sha256').update(alias, 'utf8').digest('hex').slice(0, 40) + ENTRY_SUFFIX;
}

export class RecordStore {
  private readonly dir: string;
  private readonly settingsPath: string;
  private readonly entries = new Map<string, Entry>();
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
        const e = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Entry;
        this.entries.set(e.alias, e);
        this.owners.set(f, e.alias);
        this.files.set(e.alias, f);
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

  /** Entries of one kind, in alias order. */
  list(kind: EntryKind): Entry[] {
    return [...this.entries.values()].filter((e) => e.kind === kind).sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
  }

  all(): Entry[] {
    return [...this.entries.values()];
  }

  put(entry: Entry): void {
    const file = this.files.get(entry.alias) ?? fileOf(entry.alias);
    const owner = this.owners.get(file);
    if (owner !== undefined && owner !== entry.alias) throw new Error('entry file already holds another alias');
    writeFileAtomic(join(this.dir, file), Buffer.from(JSON.stringify(entry)));
    this.entries.set(entry.alias, entry);
    this.owners.set(file, entry.alias);
    this.files.set(entry.alias, file);
  }

  remove(alias: string): void {
    const file = this.files.get(alias);
    if (file === undefined) return;
    unlinkDurable(join(this.dir, file));
    this.entries.delete(alias);
    this.owners.delete(file);
    this.files.delete(alias);
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
