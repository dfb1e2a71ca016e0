// SOFTWARE0's KEK sealed by TPM0 (seal_kek_with) on the real simulators: a plain KEK file is
// sealed at the first start that asks for it and no longer holds the KEK, keys made before
// and after open across restarts, and a token that does not unseal leaves SOFTWARE0 closed
// (keystored up, a clear log line, the sealed file untouched, never a plain KEK).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeystoreError } from '../../ipc/errors';
import { Opcode, Status } from '../../ipc/protocol';
import { startSimulators, type Simulators } from '../sim';
import { verifies } from './conformance';
import { startDaemon, type Daemon } from './daemon';

const t = suite('SOFTWARE0 KEK sealed by TPM0');
let sims: Simulators;
let d: Daemon | undefined;
const dir = mkdtempSync(join(tmpdir(), 'kek-seal-'));
const kekFile = join(dir, 'data', 'SOFTWARE0.kek');
const data = Buffer.from('sealed KEK test');
const digest = createHash('sha256').update(data).digest();
const spkis = new Map<string, Uint8Array>();
let plainKek: Buffer;

const tpm0 = (over: Record<string, unknown> = {}) => ({ ...sims.stores.find((s) => s.id === 'TPM0')!, ...over });
const sealed = (over: Record<string, unknown> = {}) => ({ stores: [{ kind: 'software', id: 'SOFTWARE0', seal_kek_with: 'TPM0' }, tpm0(over)] });

async function restart(config: Record<string, unknown>): Promise<Daemon> {
  await d?.stop();
  d = await startDaemon(config, sims.env, dir);
  return d;
}

async function signsWithAll(daemon: Daemon): Promise<void> {
  for (const [id, spki] of spkis) {
    const sig = await daemon.client().call(Opcode.SIGN_DIGEST, { store: 'SOFTWARE0', key_id: id, scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest });
    assert.ok(verifies(spki, 'ECDSA', 'SHA-256', data, sig), id);
  }
}

async function generate(daemon: Daemon, id: string): Promise<void> {
  spkis.set(id, (await daemon.client().call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: 'EC-P256' })).spki);
}

t.before(() => {
  sims = startSimulators();
});
let simsStopped = false;
t.after(async () => {
  await d?.stop();
  if (!simsStopped) sims?.stop();
});

t('an unsealed store: its KEK file is the 32 KEK bytes', async () => {
  await generate(await restart({ stores: [{ kind: 'software', id: 'SOFTWARE0' }] }), 'before-seal');
  plainKek = readFileSync(kekFile);
  assert.is(plainKek.length, 32);
});

t('sealing configured: the file is rewritten without the KEK, keys made before still open', async () => {
  const daemon = await restart(sealed());
  const file = readFileSync(kekFile);
  assert.is.not(file.length, 32);
  assert.is(file.subarray(0, 4).toString(), 'CKK1');
  assert.is(file.indexOf(plainKek), -1, 'the plain KEK is not in the sealed file');
  assert.match(readFileSync(kekFile).toString('latin1'), /TPM0/);
  await signsWithAll(daemon);
  await generate(daemon, 'after-seal');
  // The sealing key is no key of TPM0's that certd could list or name.
  assert.equal(await daemon.client().call(Opcode.LIST_KEYS, { store: 'TPM0' }).then((r) => r.key_ids), []);
});

t('after a restart the sealed KEK is unsealed by the TPM: every key opens', async () => {
  const before = readFileSync(kekFile);
  await signsWithAll(await restart(sealed()));
  assert.ok(readFileSync(kekFile).equals(before), 'the sealed file is kept as it is');
});

t('a reload whose token does not unseal fails, and the running SOFTWARE0 stays', async () => {
  const daemon = d!;
  assert.match(await daemon.reload(sealed({ token_label: 'NO-SUCH-TOKEN' })), /^config reload failed/);
  assert.match(daemon.logs(), /cannot unseal its key-encryption key with TPM0.*NO-SUCH-TOKEN/);
  await signsWithAll(daemon);
});

t('a sealed KEK file without seal_kek_with is refused, not read as a KEK', async () => {
  await d?.stop();
  d = undefined;
  await startDaemon({ stores: [{ kind: 'software', id: 'SOFTWARE0' }, tpm0()] }, sims.env, dir).then(
    (started) => {
      d = started; // stopped by the next restart or after()
      assert.unreachable('started');
    },
    (e: Error) => assert.match(e.message, /SOFTWARE0: key-encryption key .* is sealed by store TPM0: set seal_kek_with to TPM0/),
  );
});

t('a wrong PIN: keystored runs, SOFTWARE0 is closed with a clear log line, the file is untouched', async () => {
  const before = readFileSync(kekFile);
  const wrong = join(dir, 'wrong.pin');
  writeFileSync(wrong, '000000', { mode: 0o600 });
  const daemon = await restart(sealed({ pin_file: wrong }));
  assert.match(daemon.logs(), /"msg":"store not opened: its sealed key-encryption key is out of reach".*"store":"SOFTWARE0".*cannot unseal its key-encryption key with TPM0/);
  const e = await daemon.client().call(Opcode.SIGN_DIGEST, { store: 'SOFTWARE0', key_id: 'before-seal', scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest })
    .then(() => undefined, (x: unknown) => x);
  assert.instance(e, KeystoreError);
  assert.is((e as KeystoreError).status, Status.STORE_FAILURE);
  const health = await daemon.client().call(Opcode.HEALTH, {});
  assert.is(health.stores.find((s) => s.id === 'SOFTWARE0')!.ok, false);
  assert.ok(readFileSync(kekFile).equals(before), 'the sealed file is not rewritten');
  assert.not.match(daemon.logs(), /000000/);
  // The right PIN again: every key opens.
  await signsWithAll(await restart(sealed()));
});

t('the TPM gone (simulators stopped): SOFTWARE0 is closed, keystored runs', async () => {
  const pin = join(dir, 'tpm0.pin'); // stop --clean takes the simulators' folder with it
  writeFileSync(pin, readFileSync(sims.env.CERTD_TPM0_PIN_FILE!), { mode: 0o600 });
  const before = readFileSync(kekFile);
  sims.stop();
  simsStopped = true;
  const daemon = await restart(sealed({ pin_file: pin }));
  assert.match(daemon.logs(), /"store":"SOFTWARE0".*cannot unseal its key-encryption key with TPM0/);
  const health = await daemon.client().call(Opcode.HEALTH, {});
  assert.is(health.stores.find((s) => s.id === 'SOFTWARE0')!.ok, false);
  assert.ok(readFileSync(kekFile).equals(before), 'the sealed file is not rewritten');
});

t.run();
