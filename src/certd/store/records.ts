// The certificate store: one JSON file per entry in a data folder, all read into memory at
// start. Every write is atomic (temporary file, fsync, rename, fsync of the folder), so
// after a power cut an entry is either its old or its new self.
import { createHash } from 'node:crypto';
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

/** A file name for an alias: aliases are free text, file names are not. */
function fileOf(alias: string): string {
  return createHash('sha256').update(alias, 'utf8').digest('hex').slice(0, 40) + ENTRY_SUFFIX;
}

export class RecordStore {
  private readonly dir: string;
  private readonly settingsPath: string;
  private readonly entries = new Map<string, Entry>();
  private settings: { keystore?: string } = {};

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'entries');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(this.dir)) {
      if (f.startsWith('.') && f.endsWith('.tmp')) {
        unlinkDurable(join(this.dir, f));
      } else if (f.endsWith(ENTRY_SUFFIX)) {
        const e = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Entry;
        this.entries.set(e.alias, e);
      }
    }
    this.settingsPath = join(dataDir, 'settings.json');
    if (existsSync(this.settingsPath)) this.settings = JSON.parse(readFileSync(this.settingsPath, 'utf8')) as { keystore?: string };
  }

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
    writeFileAtomic(join(this.dir, fileOf(entry.alias)), Buffer.from(JSON.stringify(entry)));
    this.entries.set(entry.alias, entry);
  }

  remove(alias: string): void {
    const path = join(this.dir, fileOf(alias));
    if (existsSync(path)) unlinkDurable(path);
    this.entries.delete(alias);
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
