// The journal of multi-step operations. Creating an entry makes a key in keystored first
// and writes the entry last; deleting removes the entry first and the key last. Each
// operation writes its intent before the first step and removes it after the last, so
// after a crash at any point start-up can finish or undo it: no half-made entry, no
// orphan key.
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file';

export interface Intent {
  /** 'add': a key was (or is being) made for a new entry; 'remove': an entry and its key are going. */
  op: 'add' | 'remove';
  alias: string;
  keystore: string;
  key_id: string;
}

export class Journal {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'journal');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
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
}
