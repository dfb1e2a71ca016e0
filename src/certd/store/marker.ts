// A marker file: that something certd does once (e.g. make the default certificate) was
// done, with a note of what. Written atomically: after a power cut it is there or not.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../common/atomic-file';

export class Marker {
  constructor(private readonly path: string) {}

  /** What was noted, or undefined when not done yet. */
  read(): Record<string, unknown> | undefined {
    return existsSync(this.path) ? (JSON.parse(readFileSync(this.path, 'utf8')) as Record<string, unknown>) : undefined;
  }

  write(note: Record<string, unknown>): void {
    writeFileAtomic(this.path, Buffer.from(JSON.stringify({ ...note, time: new Date().toISOString() })));
  }
}
