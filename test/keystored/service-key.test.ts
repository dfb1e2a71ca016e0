// service_key / service_key_release against the real daemon: a SOFTWARE0 key written for a
// device service (mode, owner, folder, PEM PKCS#8 that openssl reads back to the store's
// public key), wiped on release; a SoftHSM2 (SE0) key answered as a PKCS#11 URI and a PIN
// file keystored writes beside the key files, which OpenSSL's pkcs11 engine (the one nginx
// uses) opens the key with; leftovers of a write cut short are wiped too.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Opcode } from '../../ipc/protocol';
import { ServiceKeyFiles } from '../../src/keystored/service-key-files';
import { keyId, status } from './conformance';
import { startDaemon, type Daemon } from './daemon';

const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';
const ENGINE = '/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so';
const WWW = { uid: 33, gid: 33 };
// Distinctive, so that finding it in a log or file means the PIN and nothing else.
const PIN = 'pin-4711-se0';

const t = suite('keystored service_key');
let d: Daemon;
let keyDir: string;
let tokenEnv: Record<string, string>;
let pinFile: string;

t.before(async () => {
  execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'openssl', 'softhsm2', 'libengine-pkcs11-openssl']);
  const dir = mkdtempSync(join(tmpdir(), 'keystored-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${dir}/tokens\nobjectstore.backend = file\n`);
  tokenEnv = { SOFTHSM2_CONF: join(dir, 'softhsm2.conf') };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'SE 0', '--pin', PIN, '--so-pin', '8888'], { env: { ...process.env, ...tokenEnv }, stdio: 'ignore' });
  pinFile = join(dir, 'se0.pin');
  // With a newline, as an admin writes it: keystored's PIN files for services have none.
  writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
  keyDir = join(dir, 'service-keys');
  d = await startDaemon({
    service_key_dir: keyDir,
    stores: [
      { kind: 'software', id: 'SOFTWARE0' },
      { kind: 'pkcs11', id: 'SE0', security_level: 'STRONG', key_types: ['EC-P256', 'RSA-2048'], module: SOFTHSM, token_label: 'SE 0', pin_file: pinFile },
    ],
  }, tokenEnv, dir);
});
t.after(async () => {
  await d.stop();
});

/** The SPKI (DER) openssl reads from a key file. */
const publicOf = (path: string): Buffer => execFileSync('openssl', ['pkey', '-in', path, '-pubout', '-outform', 'DER']);

t('a SOFTWARE0 key for a service: PEM PKCS#8, 0600, owned by its user, in a 0711 folder; openssl finds the same public key', async () => {
  for (const keyType of ['EC-P256', 'RSA-2048'] as const) {
    const id = keyId();
    const { spki } = await d.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: keyType });
    const answer = await d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'SOFTWARE0', key_id: id, ...WWW });
    assert.is(answer.kind, 'file');
    const path = (answer as { path: string }).path;
    assert.is(join(path, '..'), keyDir);
    const st = statSync(path);
    assert.is(st.mode & 0o777, 0o600);
    assert.is(st.uid, WWW.uid);
    assert.is(st.gid, WWW.gid);
    assert.is(statSync(keyDir).mode & 0o777, 0o711);
    assert.match(readFileSync(path, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
    assert.equal(publicOf(path), Buffer.from(spki), keyType);
    await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'https' });
  }
  assert.equal(readdirSync(keyDir), []);
  const logs = d.logs();
  assert.ok(logs.includes('service key file written'));
  assert.not.ok(logs.includes('PRIVATE KEY'), 'no key text in the logs');
});

t('release wipes the bytes (zeros seen through a descriptor held open) and keeps the key named by keep', async () => {
  const [a, b] = [keyId(), keyId()];
  for (const id of [a, b]) await d.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: 'EC-P256' });
  const pa = (await d.client().call(Opcode.SERVICE_KEY, { service: 'dot1x', store: 'SOFTWARE0', key_id: a }) as { path: string }).path;
  const pb = (await d.client().call(Opcode.SERVICE_KEY, { service: 'dot1x', store: 'SOFTWARE0', key_id: b }) as { path: string }).path;
  assert.is.not(pa, pb, 'the previous key stays beside the new one');
  assert.is(statSync(pa).uid, process.getuid!(), 'no owner given: keystored keeps it');
  const size = statSync(pa).size;
  const fd = openSync(pa, 'r');
  try {
    await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'dot1x', keep: { store: 'SOFTWARE0', key_id: b } });
    assert.not.ok(existsSync(pa));
    const seen = Buffer.alloc(size);
    readSync(fd, seen, 0, size, 0);
    assert.equal(seen, Buffer.alloc(size), 'the unlinked file holds zeros');
  } finally {
    closeSync(fd);
  }
  assert.ok(existsSync(pb), 'the kept key is still there');
  await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'dot1x' });
  assert.not.ok(existsSync(pb));
  // Releasing a service with no files is fine (a binding that never had one).
  await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'dot1x' });
});

/** Opens the file and returns a reader of its first `size` bytes that works after an unlink. */
function held(path: string): { read: (size: number) => Buffer; close: () => void } {
  const fd = openSync(path, 'r');
  return { read: (size) => { const b = Buffer.alloc(size); readSync(fd, b, 0, size, 0); return b; }, close: () => closeSync(fd) };
}

t('a token key: module + PKCS#11 URI + a PIN file keystored writes (0600, the service user\'s, no newline); the engine nginx uses opens the key with it', async () => {
  const id = keyId();
  const { spki } = await d.client().call(Opcode.GENERATE_KEY, { store: 'SE0', key_id: id, key_type: 'EC-P256' });
  const answer = await d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'SE0', key_id: id, ...WWW }) as { kind: string; module: string; uri: string; pin_file: string };
  assert.equal({ ...answer, pin_file: undefined }, { kind: 'pkcs11', module: SOFTHSM, uri: `pkcs11:token=SE%200;object=${id};type=private`, pin_file: undefined });
  assert.is.not(answer.pin_file, pinFile, 'not the store\'s own PIN file');
  assert.is(join(answer.pin_file, '..'), keyDir, 'on the RAM-backed service key folder');
  const st = statSync(answer.pin_file);
  assert.equal([st.mode & 0o777, st.uid, st.gid], [0o600, WWW.uid, WWW.gid]);
  assert.equal(readFileSync(answer.pin_file), Buffer.from(PIN), 'every byte is the PIN, no newline');
  const conf = join(d.dir, 'openssl.cnf');
  writeFileSync(conf, [
    'openssl_conf = init', '[init]', 'engines = engines', '[engines]', 'pkcs11 = pkcs11', '[pkcs11]',
    'engine_id = pkcs11', `dynamic_path = ${ENGINE}`, `MODULE_PATH = ${SOFTHSM}`, 'init = 1', '',
  ].join('\n'));
  const pub = execFileSync('openssl', ['pkey', '-engine', 'pkcs11', '-inform', 'ENGINE', '-in', `${answer.uri};pin-source=file:${answer.pin_file}`, '-pubout', '-outform', 'DER'], {
    env: { ...process.env, ...tokenEnv, OPENSSL_CONF: conf }, stdio: ['ignore', 'pipe', 'ignore'],
  });
  assert.equal(pub, Buffer.from(spki));
  // dot1x: no service_key_users entry, so the file stays keystored's (the supplicant runs as root).
  const dot1x = await d.client().call(Opcode.SERVICE_KEY, { service: 'dot1x', store: 'SE0', key_id: id }) as { pin_file: string };
  assert.is(statSync(dot1x.pin_file).uid, process.getuid!());
  assert.is.not(dot1x.pin_file, answer.pin_file, 'one PIN file per service');
  await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'dot1x' });
  assert.not.ok(existsSync(dot1x.pin_file));
  assert.not.ok(d.logs().includes(PIN), 'no PIN in keystored\'s logs');
});

t('release keeps the PIN file of the kept key\'s token, else zeroes it (seen through a descriptor held open) and unlinks it', async () => {
  const id = keyId();
  await d.client().call(Opcode.GENERATE_KEY, { store: 'SE0', key_id: id, key_type: 'EC-P256' });
  const path = (await d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'SE0', key_id: id, ...WWW }) as { pin_file: string }).pin_file;
  await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'https', keep: { store: 'SE0', key_id: id } });
  assert.ok(existsSync(path), 'kept: the key in force is the token\'s');
  const h = held(path);
  try {
    await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'https', keep: { store: 'SOFTWARE0', key_id: 'other' } });
    assert.not.ok(existsSync(path));
    assert.equal(h.read(PIN.length), Buffer.alloc(PIN.length), 'the unlinked file holds zeros');
  } finally {
    h.close();
  }
});

t('a PIN changed since (a reload): the PIN file is zeroed and written anew', () => {
  const files = new ServiceKeyFiles(mkdtempSync(join(tmpdir(), 'service-keys-')));
  const path = files.writePin('https', 'SE0', Buffer.from('old-pin-1'));
  const h = held(path);
  try {
    assert.is(files.writePin('https', 'SE0', Buffer.from('new-pin-22')), path);
    assert.equal(readFileSync(path), Buffer.from('new-pin-22'));
    assert.equal(h.read(9), Buffer.alloc(9), 'the old file was zeroed before its replacement');
    assert.is(files.writePin('https', 'SE0', Buffer.from('new-pin-22')), path, 'the same PIN: the file stays');
  } finally {
    h.close();
  }
});

t('a write cut short (.tmp left before its rename): release wipes the service\'s, keystored\'s start the rest', async () => {
  mkdirSync(keyDir, { recursive: true });
  const secret = Buffer.from('-----BEGIN PRIVATE KEY-----\nleft by a crash\n');
  const https = join(keyDir, `.https+SOFTWARE0+k1.pem.${process.pid}.tmp`);
  const dot1x = join(keyDir, '.dot1x+SE0.pin.99999.tmp');
  for (const f of [https, dot1x]) writeFileSync(f, secret, { mode: 0o600 });
  const [h1, h2] = [held(https), held(dot1x)];
  try {
    await d.client().call(Opcode.SERVICE_KEY_RELEASE, { service: 'https' });
    assert.not.ok(existsSync(https));
    assert.equal(h1.read(secret.length), Buffer.alloc(secret.length), 'zeroed before the unlink');
    assert.ok(existsSync(dot1x), 'another service\'s leftover is not https\'s to release');
    await d.restart();
    assert.not.ok(existsSync(dot1x), 'gone after keystored\'s start');
    assert.equal(h2.read(secret.length), Buffer.alloc(secret.length), 'zeroed before the unlink');
  } finally {
    h1.close();
    h2.close();
  }
});

t('refusals: unknown key, unknown store, a bad service name, an owner keystored\'s config does not name; nothing written', async () => {
  const before = existsSync(keyDir) ? readdirSync(keyDir) : [];
  assert.is(await status(d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'SOFTWARE0', key_id: 'nope' })), 'UNKNOWN_KEY');
  assert.is(await status(d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'SE0', key_id: 'nope' })), 'UNKNOWN_KEY');
  assert.is(await status(d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'NOPE0', key_id: 'nope' })), 'UNKNOWN_STORE');
  assert.is(await status(d.client().call(Opcode.SERVICE_KEY, { service: '../etc', store: 'SOFTWARE0', key_id: 'x' })), 'BAD_REQUEST');
  // The file's owner is keystored's config's (https: www-data), never the caller's choice: a
  // client asking for a file of its own (here root, or anyone for dot1x) would read the key.
  const id = keyId();
  await d.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: 'EC-P256' });
  assert.is(await status(d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'SOFTWARE0', key_id: id, uid: 0, gid: 0 })), 'BAD_REQUEST');
  assert.is(await status(d.client().call(Opcode.SERVICE_KEY, { service: 'https', store: 'SOFTWARE0', key_id: id, uid: 12345, gid: 12345 })), 'BAD_REQUEST');
  assert.is(await status(d.client().call(Opcode.SERVICE_KEY, { service: 'dot1x', store: 'SOFTWARE0', key_id: id, ...WWW })), 'BAD_REQUEST');
  assert.equal(existsSync(keyDir) ? readdirSync(keyDir) : [], before);
});

t.run();
