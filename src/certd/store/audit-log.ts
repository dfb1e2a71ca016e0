// The audit trail on flash: JSON lines appended to `audit.log`, each fsynced before the
// change it records is answered, rotated by size into audit.log.1 … audit.log.N (the
// oldest dropped). Append-only: nothing here rewrites a line. A line cut short by a power
// cut is skipped when read.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir } from '../../common/atomic-file';

export interface AuditLogOptions {
  /** Rotate when the current file would pass this many bytes. */
  maxBytes: number;
  /** Rotated files kept besides the current one. */
  keep: number;
}

const FILE = 'audit.log';

export class AuditLog {
  private readonly dir: string;
  private fd: number;
  private size: number;

  constructor(dataDir: string, private readonly options: AuditLogOptions) {
    this.dir = join(dataDir, 'audit');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.fd = openSync(this.path(0), 'a', 0o600);
    this.size = statSync(this.path(0)).size;
  }

  append(record: object): void {
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    if (this.size > 0 && this.size + line.length > this.options.maxBytes) this.rotate();
    for (let off = 0; off < line.length; ) off += writeSync(this.fd, line, off, line.length - off);
    fsyncSync(this.fd);
    this.size += line.length;
  }

  /** Every record still kept, oldest first. */
  read(): unknown[] {
    const out: unknown[] = [];
    for (let i = this.options.keep; i >= 0; i--) {
      if (!existsSync(this.path(i))) continue;
      for (const line of readFileSync(this.path(i), 'utf8').split('\n')) {
        if (line === '') continue;
        try {
          out.push(JSON.parse(line));
        } catch {
          // The tail of a write a power cut interrupted.
        }
      }
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }

  private path(n: number): string {
    return join(this.dir, n === 0 ? FILE : `${FILE}.${n}`);
  }

  private rotate(): void {
    closeSync(this.fd);
    if (existsSync(this.path(this.options.keep))) unlinkSync(this.path(this.options.keep));
    for (let i = this.options.keep - 1; i >= 0; i--) if (existsSync(this.path(i))) renameSync(this.path(i), this.path(i + 1));
    this.fd = openSync(this.path(0), 'a', 0o600);
    this.size = 0;
    fsyncDir(this.dir);
  }
}
