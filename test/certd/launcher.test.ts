// `npm start`'s launcher passes on what the daemons logged before they were ready: a
// warning at certd's start (here: a journal intent of another store generation) reaches
// the terminal instead of being dropped with the other start-up lines.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const t = suite('launcher');

t('start-up warnings of certd reach the launcher\'s output, the first-run password too', async () => {
  const data = mkdtempSync(join(tmpdir(), 'certd-launch-'));
  mkdirSync(join(data, 'certd', 'journal'), { recursive: true });
  writeFileSync(join(data, 'certd', 'journal', 'certd-x.json'), JSON.stringify({ op: 'add', alias: 'x', keystore: 'SOFTWARE0', key_id: 'certd-x', generation: 'elsewhere' }));
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'src', 'launcher.js')], {
    env: { ...process.env, CERTD_DATA_DIR: data, CERTD_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  try {
    for (let i = 0; i < 240 && !out.includes('certd is serving'); i++) await new Promise((r) => setTimeout(r, 250));
    assert.match(out, /certd is serving/);
    assert.match(out, /journal intents of another store generation set aside/);
    assert.match(out, /certd first run: user "admin", password "[^"]+"/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

t.run();
