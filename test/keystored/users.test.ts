// keystored and certd as two users (the firmware's keystored and certd): keystored runs as
// its own user with socket_group and allowed_users; a member of the group that is allowed
// is served, a user outside the group cannot reach the socket (folder 0710), a member that
// is not allowed is refused by the ZAP check, and the allowed user cannot read the KEK or the
// key folder. Real system users (useradd; needs root, as CI runs), processes started through
// setpriv --init-groups, which sets supplementary groups as systemd does for User=.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { endpointFor, SOCKET_NAME } from '../../ipc/server';
import { loadConfig } from '../../src/keystored/config';

const t = suite('keystored as its own user');
const tag = `ck${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const name = { keystored: `${tag}k`, allowed: `${tag}a`, outsider: `${tag}o`, member: `${tag}m`, group: `${tag}g` };
const CLIENT = join(__dirname, '..', '..', 'ipc', 'client.js');
const MAIN = join(__dirname, '..', '..', 'src', 'keystored', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'keystored-users-'));
const run = join(dir, 'run');
let daemon: ChildProcess | undefined;
let logs = '';

const uid = (user: string) => Number(execFileSync('id', ['-u', user]).toString());
const gid = (group: string) => Number(execFileSync('getent', ['group', group]).toString().split(':')[2]);

/** Runs `script` (node -e) as `user` with the user's groups; resolves with its stdout, trimmed. */
function asUser(user: string, script: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('setpriv', ['--reuid', user, '--regid', user, '--init-groups', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (out += b));
    p.on('exit', () => resolve(out.trim()));
  });
}

const describeAs = (user: string) =>
  asUser(user, `const { KeystoreClient } = require(${JSON.stringify(CLIENT)});
    const c = new KeystoreClient(${JSON.stringify(endpointFor(run))}, { timeoutMs: 3000, connectWaitMs: 2000 });
    c.call(1, {}).then((r) => console.log('SERVED ' + r.stores.map((s) => s.id).join()), (e) => console.log('REFUSED ' + e.code)).finally(() => c.close());`);

/** The errno of connecting to the socket file itself (OK if the kernel lets the user connect). */
const connectAs = (user: string) =>
  asUser(user, `require('net').connect(${JSON.stringify(join(run, SOCKET_NAME))}).on('connect', function () { console.log('OK'); this.destroy(); }).on('error', (e) => console.log(e.code));`);

const readAs = (user: string, path: string) =>
  asUser(user, `const fs = require('fs'); try { fs.statSync(${JSON.stringify(path)}).isDirectory() ? fs.readdirSync(${JSON.stringify(path)}) : fs.readFileSync(${JSON.stringify(path)}); console.log('READ'); } catch (e) { console.log(e.code); }`);

t.before(async () => {
  if (process.getuid!() !== 0) throw new Error('users.test.ts must run as root: it creates system users with useradd (CI runs as root)');
  execFileSync('groupadd', ['--system', name.group]);
  execFileSync('useradd', ['--system', '--no-create-home', '--user-group', '-G', name.group, name.keystored]);
  execFileSync('useradd', ['--system', '--no-create-home', '--user-group', '-G', name.group, name.allowed]);
  execFileSync('useradd', ['--system', '--no-create-home', '--user-group', '-G', name.group, name.member]);
  execFileSync('useradd', ['--system', '--no-create-home', '--user-group', name.outsider]);
  chmodSync(dir, 0o755);
  // What systemd makes from keystored.service: its state and runtime folders, its own.
  for (const d of [join(dir, 'data'), run]) {
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, uid(name.keystored), gid(name.keystored));
  }
  const config = join(dir, 'keystored.json');
  writeFileSync(config, JSON.stringify({
    data_dir: join(dir, 'data'), socket_dir: run, socket_group: name.group, allowed_users: [name.allowed],
    stores: [{ kind: 'software', id: 'SOFTWARE0' }],
  }));
  daemon = spawn('setpriv', ['--reuid', name.keystored, '--regid', name.keystored, '--init-groups', process.execPath, MAIN, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout!.on('data', (b) => (logs += b));
  daemon.stderr!.on('data', (b) => (logs += b));
  for (let i = 0; i < 600 && !logs.includes('"msg":"ready"'); i++) {
    if (daemon.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!logs.includes('"msg":"ready"')) throw new Error(`keystored did not start as ${name.keystored}:\n${logs}`);
});

t.after(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon!.once('exit', r));
  }
  for (const u of [name.keystored, name.allowed, name.member, name.outsider]) {
    try {
      execFileSync('userdel', [u], { stdio: 'ignore' });
    } catch {
      // not made (an earlier step failed)
    }
  }
  try {
    execFileSync('groupdel', [name.group], { stdio: 'ignore' });
  } catch {
    // not made
  }
});

t('the socket folder is 0710 and the socket 0660, keystored\'s and of socket_group', () => {
  for (const [path, mode] of [[run, 0o710], [join(run, SOCKET_NAME), 0o660]] as const) {
    const st = statSync(path);
    assert.is(st.mode & 0o777, mode, path);
    assert.is(st.uid, uid(name.keystored), path);
    assert.is(st.gid, gid(name.group), path);
  }
});

t('an allowed user in the group is served', async () => {
  assert.is(await describeAs(name.allowed), 'SERVED SOFTWARE0');
});

t('a user outside the group cannot reach the socket (folder 0710)', async () => {
  assert.is(await connectAs(name.outsider), 'EACCES');
  assert.match(await describeAs(name.outsider), /^REFUSED /);
  assert.not.match(logs, `"uid":${uid(name.outsider)}`, 'never reached the ZAP check');
});

t('a member of the group that allowed_users does not name is refused by the ZAP check', async () => {
  assert.is(await connectAs(name.member), 'OK');
  assert.match(await describeAs(name.member), /^REFUSED /);
  assert.match(logs, `"msg":"peer refused","uid":${uid(name.member)}`);
});

t('the allowed user cannot read the KEK file or the key folder', async () => {
  assert.ok(readFileSync(join(dir, 'data', 'SOFTWARE0.kek')).length > 0, 'the KEK file exists');
  assert.is(await readAs(name.allowed, join(dir, 'data', 'SOFTWARE0.kek')), 'EACCES');
  assert.is(await readAs(name.allowed, join(dir, 'data', 'SOFTWARE0')), 'EACCES');
});

t('allowed_users and socket_group are resolved when the config is read; unknown names are refused', () => {
  const file = join(dir, 'names.json');
  const write = (c: Record<string, unknown>) => writeFileSync(file, JSON.stringify({ stores: [{ kind: 'software', id: 'SOFTWARE0' }], ...c }));
  write({ allowed_uids: [7], allowed_users: [name.allowed], socket_group: name.group });
  const c = loadConfig(file);
  assert.equal(c.allowed_uids, [7, uid(name.allowed)]);
  assert.is(c.socket_gid, gid(name.group));
  write({ allowed_users: [`${tag}-none`] });
  assert.throws(() => loadConfig(file), new RegExp(`no user '${tag}-none' in /etc/passwd`));
  write({ socket_group: `${tag}-none` });
  assert.throws(() => loadConfig(file), new RegExp(`no group '${tag}-none' in /etc/group`));
  write({});
  assert.is(loadConfig(file).socket_gid, undefined);
});

t.run();
