// keystored with its embedded default (SOFTWARE0), as a real process over ZeroMQ.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Opcode } from '../../ipc/protocol';
import { conformance, keyId, status, verifies } from './conformance';
import { startDaemon, type Daemon } from './daemon';

const t = suite('keystored SOFTWARE0');
let d: Daemon;
t.before(async () => {
  d = await startDaemon();
});
t.after(async () => {
  await d.stop();
});

conformance(t, 'SOFTWARE0', () => d.client());

t('key files are sealed, 0600, in a 0700 folder; the socket is 0600', async () => {
  const id = keyId();
  const { spki } = await d.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: 'EC-P256' });
  const dir = join(d.dir, 'data', 'SOFTWARE0');
  assert.is(statSync(dir).mode & 0o777, 0o700);
  assert.is(statSync(join(dir, `${id}.key`)).mode & 0o777, 0o600);
  assert.is(statSync(join(d.dir, 'data', 'SOFTWARE0.kek')).mode & 0o777, 0o600, 'the KEK: apart from the keys, 0600');
  assert.not.ok(readdirSync(dir).includes('kek'));
  assert.is(statSync(join(d.dir, 'run')).mode & 0o777, 0o700);
  assert.is(statSync(join(d.dir, 'run', 'keystored.sock')).mode & 0o777, 0o600);
  // The file holds no DER private key in the clear (an ECPrivateKey starts 30 77 02 01 01).
  const file = readFileSync(join(dir, `${id}.key`));
  assert.is(file.indexOf(Buffer.from([0x30, 0x77, 0x02, 0x01, 0x01])), -1);
  assert.is(file.indexOf(Buffer.from(spki.subarray(-32))), -1, 'not even the public point');
});

t('a key file that was edited or renamed does not open', async () => {
  const a = keyId();
  const b = keyId();
  await d.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: a, key_type: 'EC-P256' });
  await d.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: b, key_type: 'EC-P256' });
  const dir = join(d.dir, 'data', 'SOFTWARE0');
  writeFileSync(join(dir, `${b}.key`), readFileSync(join(dir, `${a}.key`)));
  const digest = Buffer.alloc(32, 1);
  assert.is(await status(d.client().call(Opcode.SIGN_DIGEST, { store: 'SOFTWARE0', key_id: b, scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest })), 'STORE_FAILURE');
});

t('keys survive a restart, SIGKILL included, and stay usable', async () => {
  const id = keyId();
  const { spki } = await d.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: 'RSA-2048' });
  await d.kill();
  await d.restart();
  const data = Buffer.from('after restart');
  const digest = createHash('sha256').update(data).digest();
  const sig = await d.client().call(Opcode.SIGN_DIGEST, { store: 'SOFTWARE0', key_id: id, scheme: 'RSA-PKCS1-V1_5', digest_algorithm: 'SHA-256', digest });
  assert.ok(verifies(spki, 'RSA-PKCS1-V1_5', 'SHA-256', data, sig));
  assert.ok((await d.client().call(Opcode.LIST_KEYS, { store: 'SOFTWARE0' })).key_ids.includes(id));
});

t('a temporary file left by a crash is removed at start and never listed', async () => {
  const dir = join(d.dir, 'data', 'SOFTWARE0');
  writeFileSync(join(dir, '.half-written.key.123.tmp'), 'partial');
  await d.restart();
  assert.not.ok(readdirSync(dir).some((f) => f.endsWith('.tmp')));
});

t('50 concurrent signs are all correct', async () => {
  const c = d.client();
  const ids = await Promise.all([0, 1, 2, 3, 4].map(async () => {
    const id = keyId();
    return { id, spki: (await c.call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: 'EC-P256' })).spki };
  }));
  const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const k = ids[i % ids.length]!;
    const data = Buffer.from(`message ${i}`);
    const digest = createHash('sha256').update(data).digest();
    const sig = await c.call(Opcode.SIGN_DIGEST, { store: 'SOFTWARE0', key_id: k.id, scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest });
    return verifies(k.spki, 'ECDSA', 'SHA-256', data, sig);
  }));
  assert.is(results.filter(Boolean).length, 50);
});

t('unknown store is named', async () => {
  assert.is(await status(d.client().call(Opcode.LIST_KEYS, { store: 'TPM9' })), 'UNKNOWN_STORE');
});

t('SIGHUP reloads the config; a bad config keeps the running stores', async () => {
  assert.is(await d.reload({ stores: [{ kind: 'software', id: 'SOFTWARE0' }, { kind: 'software', id: 'SOFTWARE1' }] }), 'config reloaded');
  let ids = (await d.client().call(Opcode.DESCRIBE_STORES, {})).stores.map((s) => s.id);
  assert.equal(ids, ['SOFTWARE0', 'SOFTWARE1']);
  assert.match(await d.reload({ stores: [{ kind: 'bogus', id: 'X' }] }), 'config reload failed');
  ids = (await d.client().call(Opcode.DESCRIBE_STORES, {})).stores.map((s) => s.id);
  assert.equal(ids, ['SOFTWARE0', 'SOFTWARE1']);
  assert.is(await d.reload({}), 'config reloaded');
});

t('SIGTERM stops the daemon cleanly', async () => {
  assert.is(await d.stop(), 0);
  await d.restart();
});

t.run();
