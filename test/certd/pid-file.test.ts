// livePid: a pid file is trusted only while its pid runs the program named (after a power cut
// the number may belong to another process, which a SIGHUP meant for nginx would end).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { livePid } from '../../src/common/pid-file';

const t = suite('pid files');

t('a live pid of another program, an empty or missing file, pid 1: not trusted; the program itself: trusted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certd-pid-'));
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const file = join(dir, 'nginx.pid');
    writeFileSync(file, `${other.pid}\n`);
    assert.is(livePid(file, 'nginx: master process'), undefined, 'a reused pid is not nginx');
    assert.is(livePid(file, 'sleep'), other.pid);
    writeFileSync(file, '');
    assert.is(livePid(file, 'sleep'), undefined, 'an empty file is not pid 0');
    writeFileSync(file, '1');
    assert.is(livePid(file, 'init'), undefined);
    assert.is(livePid(join(dir, 'none.pid'), 'sleep'), undefined);
  } finally {
    other.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
