// users-cli: a provisioning script adds a user; certd, restarted, lets it in with its role.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
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
  cli(['add', 'vms1', 'operator'], 'vms1-Secret-4411\n');
  assert.match(cli(['list']), 'vms1\toperator');
  assert.not.ok(readFileSync(join(svc.dir, 'users.json'), 'utf8').includes('vms1-Secret-4411'));
  await svc.killCertd();
  await svc.start();
  const vms = new Client(svc.port, { user: 'vms1', password: 'vms1-Secret-4411' });
  assert.is((await vms.get(`${API}/certificates`)).status, 200);
  assert.is((await vms.post(`${API}/create_certificate`, { alias: 'x', subject: 'CN=x' })).status, 403, 'operator may not write');
  cli(['passwd', 'vms1'], 'another-Secret-99\n');
  cli(['remove', 'vms1']);
  assert.not.match(cli(['list']), 'vms1');
  assert.throws(() => cli(['add', 'bad', 'superuser'], 'x\n'));
});

t.run();
