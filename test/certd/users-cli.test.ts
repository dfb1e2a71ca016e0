// users-cli: a provisioning script adds a user; certd, restarted, lets it in with its role.
// Weak passwords are refused (auth/password-policy.ts) and leave the file as it was.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { passwordProblem } from '../../src/certd/auth/password-policy';
import { generatePassword } from '../../src/certd/auth/users';
import { Client } from './client';
import { API, startService, type Service } from './service';

const t = suite('users-cli');
const CLI = join(__dirname, '..', '..', 'src', 'certd', 'users-cli.js');
let svc: Service;
t.before(async () => {
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

const cli = (args: string[], input = '') =>
  execFileSync(process.execPath, [CLI, '--config', join(svc.dir, 'certd.json'), ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();

t('add, list, passwd, remove; the file holds no password', async () => {
  cli(['add', 'vms1', 'operator'], 'vms1-Kettle-Orbit-4411\n');
  assert.match(cli(['list']), 'vms1\toperator');
  assert.not.ok(readFileSync(join(svc.dir, 'users.json'), 'utf8').includes('vms1-Kettle-Orbit-4411'));
  await svc.killCertd();
  await svc.start();
  const vms = new Client(svc.port, { user: 'vms1', password: 'vms1-Kettle-Orbit-4411' });
  assert.is((await vms.get(`${API}/certificates`)).status, 200);
  assert.is((await vms.post(`${API}/create_certificate`, { alias: 'x', subject: 'CN=x' })).status, 403, 'operator may not write');
  cli(['passwd', 'vms1'], 'another-Secret-99\n');
  cli(['remove', 'vms1']);
  assert.not.match(cli(['list']), 'vms1');
  assert.throws(() => cli(['add', 'bad', 'superuser'], 'x\n'));
});

t('weak passwords are refused with the reason; the users file stays as it was', () => {
  const before = readFileSync(join(svc.dir, 'users.json'), 'utf8');
  const weak = ['short-1A', 'Password123!', 'P@ssw0rd2024', 'adminadmin12', 'qwertyuiop', '1234567890', 'aaaaaaaaaaaa',
    'vms2vms2vms2!', 'certd-test-2024', 'Adm1n-2024-!!', 'letmein-letmein'];
  for (const p of weak) {
    let err = '';
    try {
      cli(['add', 'vms2', 'viewer'], `${p}\n`);
    } catch (e) {
      err = String((e as { stderr?: Buffer }).stderr);
    }
    assert.match(err, /users-cli: password (must have at least 10|is too guessable)/, p);
    assert.not.ok(err.includes(p), 'the password is not echoed');
  }
  assert.throws(() => cli(['passwd', 'admin'], 'admin-password-1\n'));
  assert.is(readFileSync(join(svc.dir, 'users.json'), 'utf8'), before);
});

t('the password rule: what passes, what does not, and why', () => {
  for (const p of ['kettle-orbit-42', 'correct horse battery staple', 'vms1-Kettle-Orbit-4411', 'Zq8#mW2!rT5x', 'äöü-ßéè-ñ€x9']) {
    assert.is(passwordProblem(p, 'vms1', 'certd'), undefined, p);
  }
  assert.match(passwordProblem('vms1-Secret-4411', 'vms1', 'certd')!, /guessable/, 'the name, "secret" and digits');
  assert.match(passwordProblem('Camera Realm 2024', 'cam', 'Camera Realm')!, /guessable/, 'the realm and a year');
  assert.match(passwordProblem('123456789', 'u', 'r')!, /at least 10/);
  // The first run's generated password always passes.
  for (let i = 0; i < 2000; i++) {
    const p = generatePassword();
    assert.is(passwordProblem(p, 'admin', 'certd'), undefined, p);
  }
});

t.run();
