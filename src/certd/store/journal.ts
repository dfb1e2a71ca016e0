// The journal of multi-step operations. Creating an entry makes a key in keystored first
// and writes the entry last; deleting removes the entry first and the key last. Each
// operation writes its intent before the first step and removes it after the last, so
// after a crash at any point start-up can finish or undo it: no half-made entry, no
// orphan key. An intent is the only thing that ever authorises deleting a key, and only
// for the store generation it was written for (store/records.ts).
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, unlinkDurable, writeFileAtomic } from '../../common/atomic-file';

export interface Intent {
  /** 'add': a key was (or is being) made for a new entry; 'remove': an entry and its key are going. */
  op: 'add' | 'remove';
  alias: string;
  keystore: string;
  key_id: string;
  /** The entries folder's generation when the intent was written (absent: written before generations). */
  generation?: string;
}

export class Journal {
  private readonly dir: string;
  private readonly setAside: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'journal');
    this.setAside = join(this.dir, 'unowned');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // An intent whose write a crash cut short: its operation never began.
    for (const f of readdirSync(this.dir)) if (f.startsWith('.') && f.endsWith('.tmp')) unlinkDurable(join(this.dir, f));
  }

  begin(intent: Intent): void {
    writeFileAtomic(join(this.dir, `${intent.key_id}.json`), Buffer.from(JSON.stringify(intent)));
  }

  /** Not fsynced: an intent that comes back after a power cut is found done and removed. */
  end(intent: Intent): void {
    unlinkSync(join(this.dir, `${intent.key_id}.json`));
  }

  pending(): Intent[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Intent);
  }

  /**
   * Moves an intent that may not act (another generation's) out of the way, kept for a
   * person to read: it is never retried and never deletes anything.
   */
  setAsideIntent(intent: Intent): void {
    mkdirSync(this.setAside, { recursive: true, mode: 0o700 });
    renameSync(join(this.dir, `${intent.key_id}.json`), join(this.setAside, `${intent.key_id}.json`));
    fsyncDir(this.setAside);
    fsyncDir(this.dir);
  }
}
