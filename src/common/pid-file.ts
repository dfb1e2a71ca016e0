// A pid file is trusted only while the process it names is the one that wrote it: after
// a power cut a pid file on flash survives, and its number may now belong to anything (a
// SIGHUP meant for nginx would end that process).
import { readFileSync } from 'node:fs';

/** The pid in `file` when it runs and its command line contains `mark` (its title, a path it was given). */
export function livePid(file: string, mark: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    // An empty file (written after start) must not become pid 0: our own process group.
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return cmdline.includes(mark) ? pid : undefined;
  } catch {
    return undefined;
  }
}
