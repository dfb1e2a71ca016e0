// The first run: certd makes the admin user, prints the password once and leaves it in a
// 0600 file (stdout may end in a log others can read); a journal temporary file that a
// kill left behind is removed at start.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startDaemonProcess, type DaemonProcess } from '../../src/common/daemon-process';
import { Client } from './client';
import { API } from './service';

const DIST = join(__dirname, '..', '..');
const t = suite('certd first run');
let keystored: DaemonProcess;
let certd: DaemonProcess;
let dir: string;

t.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certd-first-'));
  writeFileSync(join(dir, 'keystored.json'), JSON.stringify({ data_dir: join(dir, 'keystored'), socket_dir: join(dir, 'run'), stores: [{ kind: 'software', id: 'SOFTWARE0' }] }));
  writeFileSync(join(dir, 'certd.json'), JSON.stringify({ data_dir: join(dir, 'certd'), keystored_socket_dir: join(dir, 'run'), listen: { host: '127.0.0.1', port: 0 } }));
  // What a SIGKILL in the middle of writing an intent leaves.
  mkdirSync(join(dir, 'certd', 'journal'), { recursive: true });
  writeFileSync(join(dir, 'certd', 'journal', '.certd-x.json.4242.tmp'), '{"op":"ad');
  keystored = await startDaemonProcess(join(DIST, 'src', 'keystored', 'main.js'), ['--config', join(dir, 'keystored.json')], process.env);
  certd = await startDaemonProcess(join(DIST, 'src', 'certd', 'main.js'), ['--config', join(dir, 'certd.json')], process.env, 60_000);
});
t.after(async () => {
  await certd?.stop();
  await keystored?.stop();
});

t('the first-run password is printed once and left in a 0600 file that logs in', async () => {
  const printed = /password "([^"]+)"/.exec(certd.output())?.[1];
  assert.ok(printed, 'printed on stdout');
  const file = join(dir, 'certd', 'first-run-password');
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is(readFileSync(file, 'utf8'), `admin:${printed}\n`);
  assert.not.match(certd.output().split('\n').filter((l) => l.startsWith('{')).join('\n'), printed!, 'not in a log line');
  const port = Number(/"url":"http:\/\/[^:]+:(\d+)"/.exec(certd.output())![1]);
  assert.is((await new Client(port, { user: 'admin', password: printed!, scheme: 'digest-sha256' }).get(API)).status, 200);
});

t('a journal temporary file left by a kill is removed at start', () => {
  assert.not.ok(existsSync(join(dir, 'certd', 'journal', '.certd-x.json.4242.tmp')));
});

t.run();
