// Writes that survive a power cut: the new content goes to a temporary file in the same
// folder, is fsynced, renamed over the old name, and the folder is fsynced so the rename
// itself is on disk. After a crash the file is either the old or the new content.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: Uint8Array, mode = 0o600): void {
  writeFilesAtomic(dirname(path), [{ name: basename(path), data }], mode);
}

/**
 * Writes several files of one folder, each atomically, with one fsync of the folder for
 * all the renames. A crash part way leaves some files new and some old, never one torn:
 * callers that need all-or-none journal it (store/journal.ts).
 */
export function writeFilesAtomic(dir: string, files: { name: string; data: Uint8Array }[], mode = 0o600): void {
  const tmps = files.map((f) => join(dir, `.${f.name}.${process.pid}.tmp`));
  for (const [i, f] of files.entries()) {
    const fd = openSync(tmps[i]!, 'w', mode);
    try {
      for (let off = 0; off < f.data.length; ) off += writeSync(fd, f.data, off, f.data.length - off);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      for (const t of tmps.slice(0, i + 1)) unlinkSync(t);
      throw e;
    }
    closeSync(fd);
  }
  for (const [i, f] of files.entries()) renameSync(tmps[i]!, join(dir, f.name));
  fsyncDir(dir);
}

/** Removes a file and makes the removal durable. */
export function unlinkDurable(path: string): void {
  unlinkSync(path);
  fsyncDir(dirname(path));
}
