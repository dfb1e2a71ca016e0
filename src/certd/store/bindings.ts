// Bindings on flash: the desired state (which entries each service should use, and its
// settings) in bindings.json, and the one binding change in progress in intent.json,
// written before the change is applied and removed after, so that a restart applies the
// binding on record again. Both written atomically.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unlinkDurable, writeFileAtomic } from '../../common/atomic-file';

export interface Binding {
  name: string;
  /** The certificate entry's id. */
  certificate?: string;
  /** CA entries' ids. */
  ca: string[];
  settings: Record<string, unknown>;
}

export class BindingStore {
  private readonly file: string;
  private readonly intentFile: string;
  private readonly bindings = new Map<string, Binding>();

  constructor(dataDir: string) {
    const dir = join(dataDir, 'bindings');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, 'bindings.json');
    this.intentFile = join(dir, 'intent.json');
    if (existsSync(this.file)) for (const b of (JSON.parse(readFileSync(this.file, 'utf8')) as { bindings: Binding[] }).bindings) this.bindings.set(b.name, b);
  }

  all(): Binding[] {
    return [...this.bindings.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get(name: string): Binding | undefined {
    return this.bindings.get(name);
  }

  put(b: Binding): void {
    const next = new Map(this.bindings).set(b.name, b);
    writeFileAtomic(this.file, Buffer.from(JSON.stringify({ bindings: [...next.values()] })));
    this.bindings.set(b.name, b);
  }

  /** The binding whose change a crash interrupted, if any. */
  pending(): string | undefined {
    return existsSync(this.intentFile) ? (JSON.parse(readFileSync(this.intentFile, 'utf8')) as { name: string }).name : undefined;
  }

  begin(name: string): void {
    writeFileAtomic(this.intentFile, Buffer.from(JSON.stringify({ name })));
  }

  end(): void {
    if (existsSync(this.intentFile)) unlinkDurable(this.intentFile);
  }
}
