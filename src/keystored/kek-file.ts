// The key-encryption key file of a SOFTWARE store. Plain, it is the 32 KEK bytes. Sealed
// (seal_kek_with: a PKCS#11 store, the TPM), it is "CKK1" | u8 id length | the sealing store's
// id | the KEK encrypted by that token's key: the file alone, or the flash it is on, opens
// nothing. A plain file is sealed at the first start with sealing configured (atomic rename
// over it); a sealed file whose token does not open it is never replaced by a plain one.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeystoreError } from '../../ipc/errors';
import { Status } from '../../ipc/protocol';
import { wipe } from '../../wasm/keys';
import type { StoreCrypto } from '../../wasm/store';
import { unlinkDurable, writeFileAtomic } from '../common/atomic-file';

const KEK_BYTES = 32;
const SEALED = Buffer.from('CKK1');

/** A token that encrypts a secret under a key it keeps, and decrypts it again. */
export interface KekSealer {
  readonly sealerId: string;
  seal(secret: Uint8Array): Promise<Uint8Array>;
  unseal(sealed: Uint8Array): Promise<Uint8Array>;
}

/** The sealing token did not open (or seal) the KEK: the store stays closed, nothing is rewritten. */
export class KekUnavailable extends Error {}

export interface KekFileOptions {
  storeId: string;
  path: string;
  /** Where stores made before kek_file kept it (moved from there once). */
  legacyPath: string;
  crypto: StoreCrypto;
  sealer?: KekSealer;
}

export async function loadKek(o: KekFileOptions): Promise<Uint8Array> {
  mkdirSync(dirname(o.path), { recursive: true, mode: 0o700 });
  if (!existsSync(o.path) && existsSync(o.legacyPath)) {
    const moved = new Uint8Array(readFileSync(o.legacyPath));
    writeFileAtomic(o.path, moved, 0o600);
    wipe(moved);
    unlinkDurable(o.legacyPath);
  }
  if (!existsSync(o.path)) {
    const fresh = o.crypto.random(KEK_BYTES);
    await writeKek(o, fresh);
    return fresh;
  }
  const st = statSync(o.path);
  if (st.uid !== process.getuid!() || (st.mode & 0o077) !== 0) {
    throw new Error(`${o.storeId}: key-encryption key ${o.path} must be 0600 and owned by keystored's user`);
  }
  const file = new Uint8Array(readFileSync(o.path));
  if (file.length === KEK_BYTES) {
    if (o.sealer) await writeKek(o, file);
    return file;
  }
  if (file.length < SEALED.length + 2 || !SEALED.equals(file.subarray(0, SEALED.length))) {
    throw new KeystoreError(Status.STORE_FAILURE, `${o.storeId}: key-encryption key file is damaged`);
  }
  const idEnd = SEALED.length + 1 + file[SEALED.length]!;
  const by = Buffer.from(file.subarray(SEALED.length + 1, idEnd)).toString('ascii');
  if (!o.sealer || o.sealer.sealerId !== by) {
    throw new Error(`${o.storeId}: key-encryption key ${o.path} is sealed by store ${by}: set seal_kek_with to ${by}`);
  }
  const kek = await unsealWith(o, o.sealer, file.subarray(idEnd));
  if (kek.length !== KEK_BYTES) {
    wipe(kek);
    throw new KeystoreError(Status.STORE_FAILURE, `${o.storeId}: the sealed key-encryption key has the wrong length`);
  }
  return kek;
}

/** Writes `kek` to the file, sealed when a sealer is configured (checked to unseal first). */
async function writeKek(o: KekFileOptions, kek: Uint8Array): Promise<void> {
  if (!o.sealer) {
    writeFileAtomic(o.path, kek, 0o600);
    return;
  }
  let sealed: Uint8Array;
  try {
    sealed = await o.sealer.seal(kek);
  } catch (e) {
    throw new KekUnavailable(`${o.storeId}: cannot seal its key-encryption key with ${o.sealer.sealerId}: ${(e as Error).message}`);
  }
  // The file is replaced only by what the token is known to open again.
  const back = await unsealWith(o, o.sealer, sealed);
  const same = Buffer.from(back).equals(Buffer.from(kek));
  wipe(back);
  if (!same) throw new KekUnavailable(`${o.storeId}: ${o.sealer.sealerId} did not give back the key-encryption key it sealed`);
  const id = Buffer.from(o.sealer.sealerId, 'ascii');
  writeFileAtomic(o.path, Buffer.concat([SEALED, Buffer.from([id.length]), id, sealed]), 0o600);
}

async function unsealWith(o: KekFileOptions, sealer: KekSealer, sealed: Uint8Array): Promise<Uint8Array> {
  try {
    return await sealer.unseal(sealed);
  } catch (e) {
    throw new KekUnavailable(`${o.storeId}: cannot unseal its key-encryption key with ${sealer.sealerId}: ${(e as Error).message}`);
  }
}
