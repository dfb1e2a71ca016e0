// keystored serving SOFTWARE0, TPM0 (swtpm behind tpm2-abrmd and tpm2-pkcs11) and SE0
// (SoftHSM2) at once, as a real process over ZeroMQ: the conformance suite on each store,
// concurrency across them, restarts of keystored and of the TPM, and no PIN in any log.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Opcode, type KeyType } from '../../ipc/protocol';
import { startSimulators, type Simulators } from '../sim';
import { conformance, keyId, verifies } from './conformance';
import { startDaemon, type Daemon } from './daemon';

const t = suite('keystored with three stores');
let sims: Simulators;
let d: Daemon;

t.before(async () => {
  sims = startSimulators();
  d = await startDaemon({ stores: [{ kind: 'software', id: 'SOFTWARE0' }, ...sims.stores] }, sims.env);
});
t.after(async () => {
  await d?.stop();
  sims?.stop();
});

t('describe lists the three stores; TPM0 says it cannot import', async () => {
  const { stores } = await d.client().call(Opcode.DESCRIBE_STORES, {});
  assert.equal(stores.map((s) => s.id), ['SOFTWARE0', 'TPM0', 'SE0']);
  assert.is(stores.find((s) => s.id === 'TPM0')!.can_import, false);
  assert.is(stores.find((s) => s.id === 'SE0')!.can_import, true);
  const health = await d.client().call(Opcode.HEALTH, {});
  assert.ok(health.stores.every((s) => s.ok), JSON.stringify(health));
});

// RSA-4096 generation in SoftHSM2 and RSA-3072 in swtpm take seconds each; SOFTWARE0's suite covers them.
conformance(t, 'TPM0', () => d.client(), { slowTypes: ['RSA-3072'] });
conformance(t, 'SE0', () => d.client(), { slowTypes: ['RSA-4096'] });

t('50 concurrent signs across the three stores are all correct', async () => {
  const c = d.client();
  const keys = await Promise.all(['SOFTWARE0', 'TPM0', 'SE0'].flatMap((store) =>
    (['EC-P256', 'RSA-2048'] as KeyType[]).map(async (type) => {
      const id = keyId();
      return { store, id, type, spki: (await c.call(Opcode.GENERATE_KEY, { store, key_id: id, key_type: type })).spki };
    })));
  const ok = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const k = keys[i % keys.length]!;
    const scheme = k.type === 'EC-P256' ? 'ECDSA' : 'RSA-PKCS1-V1_5';
    const data = Buffer.from(`concurrent ${i}`);
    const digest = createHash('sha256').update(data).digest();
    const sig = await c.call(Opcode.SIGN_DIGEST, { store: k.store, key_id: k.id, scheme, digest_algorithm: 'SHA-256', digest });
    return verifies(k.spki, scheme, 'SHA-256', data, sig);
  }));
  assert.is(ok.filter(Boolean).length, 50);
});

t('keys in every store survive a keystored restart (SIGKILL) and a TPM reset', async () => {
  const c = d.client();
  const made = await Promise.all(['SOFTWARE0', 'TPM0', 'SE0'].map(async (store) => {
    const id = keyId();
    return { store, id, spki: (await c.call(Opcode.GENERATE_KEY, { store, key_id: id, key_type: 'EC-P256' })).spki };
  }));
  await d.kill();
  await d.restart();
  sims.restartTpm();
  for (const k of made) {
    const data = Buffer.from(`after restarts ${k.store}`);
    const digest = createHash('sha256').update(data).digest();
    const sig = await d.client().call(Opcode.SIGN_DIGEST, { store: k.store, key_id: k.id, scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest });
    assert.ok(verifies(k.spki, 'ECDSA', 'SHA-256', data, sig), k.store);
    await d.client().call(Opcode.DELETE_KEY, { store: k.store, key_id: k.id });
  }
});

t('no PIN appears in any log: keystored\'s or the simulators\'', async () => {
  const pins = sims.pins();
  assert.ok(pins.every((p) => p.length >= 6));
  const logs = [d.logs(), ...readdirSync(sims.dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(sims.dir, f), 'utf8'))];
  for (const pin of pins) for (const log of logs) assert.not.ok(log.includes(pin), 'a PIN reached a log');
});

t.run();
