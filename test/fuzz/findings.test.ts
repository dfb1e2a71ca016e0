// Every input the fuzzers once found a fault with (test/fuzz/findings/) replays as a clean
// refusal on today's code: a regression suite for what scripts/fuzz.sh found.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..', '..');
const FINDINGS = join(ROOT, 'test', 'fuzz', 'findings');

test('saved fuzz findings replay as clean refusals', () => {
  const files = readdirSync(FINDINGS).flatMap((t) => readdirSync(join(FINDINGS, t)).map((f) => `${t}/${f}`));
  assert.ok(files.length >= 4, 'the findings are there');
  let out = '';
  try {
    out = execFileSync(process.execPath, [join(__dirname, 'fuzz.js'), '--replay', FINDINGS], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    assert.unreachable(`replay failed: ${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`);
  }
  for (const f of files) assert.match(out, new RegExp(`${f.replace(/[.]/g, '\\.')}: rejected`), f);
});

test.run();
