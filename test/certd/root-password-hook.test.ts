// The root password hook runs one commit at a time, in commit order: the first run here
// is slow and the second fast, so runs that overlapped would reach the "OS" reversed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RootPasswordHook } from '../../src/certd/auth/root-password';

test('two quick commits reach the hook in commit order, one run at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certd-root-hook-order-'));
  try {
    const out = join(dir, 'applied');
    // The first run sleeps 1 s before writing; later ones write at once.
    const script = `read h; if [ ! -e ${dir}/first ]; then : > ${dir}/first; sleep 1; fi; echo "$h" >> ${out}`;
    const failures: string[] = [];
    const hook = new RootPasswordHook(['/bin/sh', '-c', script], (f) => failures.push(f));
    const first = hook.push('$scrypt$first');
    const second = hook.push('$scrypt$second');
    await Promise.all([first, second]);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n'), ['$scrypt$first', '$scrypt$second']);
    assert.equal(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing run is reported and does not stop the next', async () => {
  const failures: string[] = [];
  const hook = new RootPasswordHook(['/bin/sh', '-c', 'read h; [ "$h" != bad ]'], (f) => failures.push(f));
  await hook.push('bad');
  await hook.push('good');
  assert.equal(failures, ['exit 1']);
});

test.run();
