// Looks for secrets in the whole memory of a running process (as a core dump would hold
// it): every readable mapping of /proc/<pid>/mem, searched for each needle.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const CHUNK = 8 * 1024 * 1024;

/** How often each needle occurs in the memory of `pid` (same user; Linux only). */
export function countInMemory(pid: number, needles: Uint8Array[]): number[] {
  const hits = needles.map(() => 0);
  const longest = Math.max(...needles.map((n) => n.length));
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const buf = Buffer.alloc(CHUNK + longest);
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) r/.exec(line);
      if (!m || line.endsWith('[vvar]') || line.endsWith('[vsyscall]')) continue;
      const start = Number.parseInt(m[1]!, 16);
      const end = Number.parseInt(m[2]!, 16);
      // Chunks overlap by the longest needle: a match is counted in the chunk it starts in.
      for (let at = start; at < end; at += CHUNK) {
        const len = Math.min(CHUNK + longest, end - at);
        let got: number;
        try {
          got = readSync(fd, buf, 0, len, at);
        } catch {
          break; // a mapping the kernel will not read (guard pages): nothing of ours
        }
        const view = buf.subarray(0, got);
        needles.forEach((n, i) => {
          for (let p = view.indexOf(n); p >= 0; p = view.indexOf(n, p + 1)) {
            if (p < CHUNK) hits[i]! += 1;
          }
        });
      }
    }
  } finally {
    closeSync(fd);
  }
  return hits;
}
