// The KeyStore conformance suite: run through the IPC client against every store a
// keystored serves. Oracles: Node's crypto and openssl, never the store itself.
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KeystoreClient } from '../../ipc/client';
import { KeystoreError } from '../../ipc/errors';
import { KEY_TYPES, Opcode, type DigestAlgorithm, type KeyType, type SignatureScheme, type StoreDescription } from '../../ipc/protocol';
import { Keys } from '../../wasm/keys';
import { core, openssl } from '../helpers';

export async function status(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeystoreError) return e.code;
    throw e;
  }
  return 'OK';
}

const DIGESTS: DigestAlgorithm[] = ['SHA-256', 'SHA-384', 'SHA-512'];

export function verifies(spki: Uint8Array, scheme: SignatureScheme, d: DigestAlgorithm, data: Uint8Array, sig: { signature: Uint8Array; format: 'der' | 'raw' }): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const alg = d.replace('-', '').toLowerCase();
  if (scheme === 'RSA-PSS') return nodeVerify(alg, data, { key, padding: 6, saltLength: -2 }, sig.signature);
  if (scheme === 'ECDSA') return nodeVerify(alg, data, { key, dsaEncoding: sig.format === 'raw' ? 'ieee-p1363' : 'der' }, sig.signature);
  return nodeVerify(alg, data, key, sig.signature);
}

export const keyId = () => `t-${randomUUID()}`;

/** Registers the conformance tests for store `storeId` on suite `t`; `client()` gives a connected client. */
export function conformance(t: Test, storeId: string, client: () => KeystoreClient, opts: { slowTypes?: KeyType[] } = {}): void {
  let desc: StoreDescription;
  const data = Buffer.from('conformance: to be signed');

  t(`${storeId}: describes itself`, async () => {
    const { stores } = await client().call(Opcode.DESCRIBE_STORES, {});
    desc = stores.find((s) => s.id === storeId)!;
    assert.ok(desc, `${storeId} listed`);
    assert.ok(desc.key_types.length > 0);
  });

  t(`${storeId}: every claimed key type generates and signs; Node crypto verifies`, async () => {
    const keys = new Keys(await core());
    for (const type of desc.key_types.filter((k) => !(opts.slowTypes ?? []).includes(k))) {
      if (!desc.can_generate) break;
      const id = keyId();
      const { spki } = await client().call(Opcode.GENERATE_KEY, { store: storeId, key_id: id, key_type: type });
      const info = keys.describe(spki);
      assert.is(type.startsWith('EC') ? `EC-${info.curve!.replace('-', '')}` : `RSA-${info.bits}`, type);
      assert.equal((await client().call(Opcode.PUBLIC_KEY, { store: storeId, key_id: id })).spki, spki);
      const schemes: SignatureScheme[] = type.startsWith('EC') ? ['ECDSA'] : ['RSA-PKCS1-V1_5', 'RSA-PSS'];
      for (const scheme of schemes) {
        for (const d of DIGESTS) {
          const digest = createHash(d.replace('-', '').toLowerCase()).update(data).digest();
          const sig = await client().call(Opcode.SIGN_DIGEST, { store: storeId, key_id: id, scheme, digest_algorithm: d, digest }).catch((e: KeystoreError) => e);
          if (sig instanceof KeystoreError && sig.code === 'NOT_SUPPORTED' && scheme === 'RSA-PSS') continue;
          assert.ok(!(sig instanceof Error), `${type} ${scheme} ${d}: ${(sig as Error).message}`);
          assert.ok(verifies(spki, scheme, d, data, sig as { signature: Uint8Array; format: 'der' | 'raw' }), `${type} ${scheme} ${d}`);
        }
      }
      await client().call(Opcode.DELETE_KEY, { store: storeId, key_id: id });
    }
  });

  t(`${storeId}: an imported key signs like the original (or import is NOT_SUPPORTED, as described)`, async () => {
    const keys = new Keys(await core());
    const pem = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const pair = keys.parse(new Uint8Array(pem));
    const id = keyId();
    const result = client().call(Opcode.IMPORT_KEY, { store: storeId, key_id: id, private_key: pair.privateDer });
    if (!desc.can_import) {
      assert.is(await status(result), 'NOT_SUPPORTED');
      return;
    }
    const { spki, key_type } = await result;
    assert.is(key_type, 'EC-P256');
    assert.equal(new Uint8Array(spki), pair.spki);
    const digest = createHash('sha256').update(data).digest();
    const sig = await client().call(Opcode.SIGN_DIGEST, { store: storeId, key_id: id, scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest });
    assert.ok(verifies(pair.spki, 'ECDSA', 'SHA-256', data, sig));
    await client().call(Opcode.DELETE_KEY, { store: storeId, key_id: id });
  });

  t(`${storeId}: deleted keys are gone; ids are unique; errors are named`, async () => {
    const type = desc.key_types.includes('EC-P256') ? 'EC-P256' : desc.key_types[0]!;
    const id = keyId();
    await client().call(Opcode.GENERATE_KEY, { store: storeId, key_id: id, key_type: type });
    assert.ok((await client().call(Opcode.LIST_KEYS, { store: storeId })).key_ids.includes(id));
    assert.is(await status(client().call(Opcode.GENERATE_KEY, { store: storeId, key_id: id, key_type: type })), 'KEY_EXISTS');
    await client().call(Opcode.DELETE_KEY, { store: storeId, key_id: id });
    assert.not.ok((await client().call(Opcode.LIST_KEYS, { store: storeId })).key_ids.includes(id));
    assert.is(await status(client().call(Opcode.PUBLIC_KEY, { store: storeId, key_id: id })), 'UNKNOWN_KEY');
    assert.is(await status(client().call(Opcode.DELETE_KEY, { store: storeId, key_id: id })), 'UNKNOWN_KEY');
    assert.is(await status(client().call(Opcode.SIGN_DIGEST, { store: storeId, key_id: id, scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest: Buffer.alloc(32) })), 'UNKNOWN_KEY');
    const missing = KEY_TYPES.find((k) => !desc.key_types.includes(k));
    if (missing) assert.is(await status(client().call(Opcode.GENERATE_KEY, { store: storeId, key_id: keyId(), key_type: missing })), 'UNSUPPORTED_KEY_TYPE');
  });
}
