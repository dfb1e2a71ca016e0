// SOFTWARE0's key-encryption key: its own file apart from the key folder (kek_file), 0600,
// refused when group or others may read it, and moved there from the folder of a store
// made before kek_file, with its keys still opening. Sealing by a token: kek-seal.test.ts.
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/keystored/config';
import { SoftwareStore } from '../../src/keystored/software-store';
import { Core } from '../../wasm/core';
import { KeyJobs, Keys } from '../../wasm/keys';
import { CoreWorkers } from '../../wasm/core-workers';
import { StoreCrypto } from '../../wasm/store';

const t = suite('SOFTWARE0 key-encryption key');
let keys: Keys;
let crypto: StoreCrypto;
const workers = new CoreWorkers({ idleMs: 60_000 });
const jobs = new KeyJobs(workers);
const digest = Buffer.alloc(32, 7);
t.after(() => workers.close());
t.before(async () => {
  const core = await Core.load();
  keys = new Keys(core);
  crypto = new StoreCrypto(core);
});

const open = (dir: string, kekFile: string) => SoftwareStore.open({ id: 'SOFTWARE0', dir, kekFile }, keys, jobs, crypto);

t('the KEK is made 0600 at kek_file, not in the key folder; keys open after a restart', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kek-'));
  const kek = join(base, 'secret', 'SOFTWARE0.kek');
  const a = await open(join(base, 'keys'), kek);
  const spki = await a.generate('k1', 'EC-P256');
  await a.close();
  assert.is(statSync(kek).mode & 0o777, 0o600);
  assert.not.ok(existsSync(join(base, 'keys', 'kek')));
  const b = await open(join(base, 'keys'), kek);
  const sig = await b.sign('k1', 'ECDSA', 'SHA-256', digest);
  assert.ok(keys.verify(spki, 'ECDSA', 'SHA-256', digest, sig.signature));
  await b.close();
  // Another KEK (the key folder without its KEK file) does not open the keys.
  const c = await open(join(base, 'keys'), join(base, 'other.kek'));
  await c.sign('k1', 'ECDSA', 'SHA-256', digest).then(() => assert.unreachable('signed'), (e: Error) => assert.match(e.message, /does not authenticate/));
});

t('a KEK file group or others may read is refused at start', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kek-'));
  const kek = join(base, 'SOFTWARE0.kek');
  await (await open(join(base, 'keys'), kek)).close();
  for (const mode of [0o640, 0o604, 0o660]) {
    chmodSync(kek, mode);
    await open(join(base, 'keys'), kek).then(() => assert.unreachable(mode.toString(8)), (e: Error) => assert.match(e.message, /must be 0600/));
  }
});

t('a store made before kek_file: its KEK moves out of the key folder, its keys still open', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kek-'));
  const dir = join(base, 'keys');
  const old = await open(dir, join(dir, 'kek')); // the layout of earlier versions
  const spki = await old.generate('k1', 'EC-P256');
  await old.close();
  const kek = join(base, 'SOFTWARE0.kek');
  const moved = await open(dir, kek);
  assert.not.ok(existsSync(join(dir, 'kek')), 'no KEK left beside the keys');
  assert.is(statSync(kek).mode & 0o777, 0o600);
  const sig = await moved.sign('k1', 'ECDSA', 'SHA-256', digest);
  assert.ok(keys.verify(spki, 'ECDSA', 'SHA-256', digest, sig.signature));
  await moved.close();
});

t('kek_file is read from the config, relative to its folder', () => {
  const base = mkdtempSync(join(tmpdir(), 'kek-'));
  const file = join(base, 'keystored.json');
  writeFileSync(file, JSON.stringify({ stores: [{ kind: 'software', id: 'SOFTWARE0', kek_file: 'private/s0.kek' }] }));
  const store = loadConfig(file).stores[0]!;
  assert.is(store.kind === 'software' ? store.kek_file : undefined, join(base, 'private', 's0.kek'));
  writeFileSync(file, JSON.stringify({ stores: [{ kind: 'software', id: 'SOFTWARE0', kek_file: '' }] }));
  assert.throws(() => loadConfig(file), /kek_file/);
});

t('seal_kek_with must name a pkcs11 store of the same config', () => {
  const base = mkdtempSync(join(tmpdir(), 'kek-'));
  const file = join(base, 'keystored.json');
  const tpm = { kind: 'pkcs11', id: 'TPM0', security_level: 'STRONG', key_types: ['EC-P256'], module: '/m.so', token_label: 'TPM0', pin_file: 'pin' };
  writeFileSync(file, JSON.stringify({ stores: [{ kind: 'software', id: 'SOFTWARE0', seal_kek_with: 'TPM0' }, tpm] }));
  const s = loadConfig(file).stores[0]!;
  assert.is(s.kind === 'software' ? s.seal_kek_with : undefined, 'TPM0');
  for (const [stores, why] of [
    [[{ kind: 'software', id: 'SOFTWARE0', seal_kek_with: 'TPM1' }, tpm], 'no such store'],
    [[{ kind: 'software', id: 'SOFTWARE0', seal_kek_with: 'SOFTWARE1' }, { kind: 'software', id: 'SOFTWARE1' }], 'a software store'],
  ] as const) {
    writeFileSync(file, JSON.stringify({ stores }));
    assert.throws(() => loadConfig(file), /seal_kek_with names no pkcs11 store of this config/, why);
  }
});

t.run();
