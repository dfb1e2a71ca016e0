// SEAL_PASSWORD / CHECK_PASSWORD_DIGEST against a real keystored (SOFTWARE0): the blob
// keeps the password out of sight, a right digest is true and anything else false, and a
// blob that was edited, or is not a blob at all, is BAD_REQUEST.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Opcode } from '../../ipc/protocol';
import { status } from './conformance';
import { startDaemon, type Daemon } from './daemon';

const t = suite('keystored password seal');
let d: Daemon;
t.before(async () => {
  d = await startDaemon();
});
t.after(async () => {
  await d.stop();
});

const PASSWORD = 'correct horse battery staple ✓';
const digestOf = (nonce: Buffer, created: string, password: string) =>
  createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)])).digest();
const seal = async (password = PASSWORD) => (await d.client().call(Opcode.SEAL_PASSWORD, { password: Buffer.from(password) })).sealed;
const check = (sealed: Uint8Array, nonce: Buffer, created: string, digest: Uint8Array) =>
  d.client().call(Opcode.CHECK_PASSWORD_DIGEST, { sealed, nonce, created, digest });

t('the sealed blob holds no password in the clear, names its store, and differs per seal', async () => {
  const a = Buffer.from(await seal());
  const b = Buffer.from(await seal());
  assert.is(a.indexOf(Buffer.from(PASSWORD)), -1);
  assert.is(a.indexOf(Buffer.from('horse')), -1);
  assert.ok(a.subarray(0, 14).toString('latin1').startsWith('CPW1\x09SOFTWARE0'));
  assert.not.equal(a, b, 'a fresh GCM nonce each time');
  const kek = readFileSync(join(d.dir, 'data', 'SOFTWARE0.kek'));
  assert.is(a.indexOf(kek.subarray(0, 8)), -1);
});

t('a right digest is true; a wrong password, nonce or Created is false', async () => {
  const sealed = await seal();
  const nonce = randomBytes(16);
  const created = '2026-11-29T23:00:00Z';
  assert.equal(await check(sealed, nonce, created, digestOf(nonce, created, PASSWORD)), { ok: true });
  assert.equal(await check(sealed, nonce, created, digestOf(nonce, created, PASSWORD + 'x')), { ok: false });
  assert.equal(await check(sealed, randomBytes(16), created, digestOf(nonce, created, PASSWORD)), { ok: false });
  assert.equal(await check(sealed, nonce, '2026-11-29T23:00:01Z', digestOf(nonce, created, PASSWORD)), { ok: false });
  assert.equal(await check(sealed, nonce, created, Buffer.alloc(20)), { ok: false });
  assert.equal(await check(sealed, nonce, created, Buffer.alloc(3)), { ok: false }, 'a digest of another length');
});

t('an edited blob, or bytes that are no blob, are BAD_REQUEST; a blob of an unknown store NOT_SUPPORTED', async () => {
  const sealed = Buffer.from(await seal());
  const nonce = randomBytes(16);
  const created = '2026-11-29T23:00:00Z';
  const good = digestOf(nonce, created, PASSWORD);
  const edited = Buffer.from(sealed);
  edited[edited.length - 20]! ^= 1;
  assert.is(await status(check(edited, nonce, created, good)), 'BAD_REQUEST');
  assert.is(await status(check(Buffer.from('not a blob at all'), nonce, created, good)), 'BAD_REQUEST');
  const other = Buffer.concat([Buffer.from('CPW1\x09SOFTWARE9'), sealed.subarray(14)]);
  assert.is(await status(check(other, nonce, created, good)), 'NOT_SUPPORTED');
});

t('an oversized password is refused by the schema', async () => {
  assert.is(await status(d.client().call(Opcode.SEAL_PASSWORD, { password: Buffer.alloc(4097, 0x61) })), 'BAD_REQUEST');
});

t.run();
