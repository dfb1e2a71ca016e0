// Passwords for WS-Security UsernameToken (certd's SOAP front-end). A PasswordDigest is
// Base64(SHA-1(nonce | created | password)): checking one needs the password itself, which
// certd must never hold at rest. So certd stores only what this file seals, and hands it
// back with each token; the password is opened here, used for one SHA-1 and wiped.
//
// The sealing key is derived (HKDF-SHA-256, its own label) from the KEK of the first open
// SOFTWARE store: the KEK itself never seals anything but key files, and a KEK sealed by a
// token (kek-file.ts) protects the passwords as well. AES-256-GCM is the crypto core's, as
// for key files. A blob is "CPW1" | u8 id length | store id | nonce | ciphertext | tag, the
// magic and id bound as AAD: a blob names the store whose KEK opens it.
import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import { KeystoreError } from '../../ipc/errors';
import { Status } from '../../ipc/protocol';
import { wipe } from '../../wasm/keys';
import type { StoreCrypto } from '../../wasm/store';

const MAGIC = Buffer.from('CPW1');
const LABEL = 'certd password seal for WS-UsernameToken v1';

/** The seal of one store's KEK. */
export class PasswordSeal {
  private readonly key: Uint8Array;

  constructor(readonly storeId: string, kek: Uint8Array, private readonly crypto: StoreCrypto) {
    this.key = new Uint8Array(hkdfSync('sha256', kek, new Uint8Array(0), LABEL, 32));
  }

  seal(password: Uint8Array): Uint8Array {
    const head = this.head();
    return Buffer.concat([head, this.crypto.seal(this.key, head, password)]);
  }

  /** Whether `digest` is SHA-1(nonce | created | the sealed password); compared in constant time. */
  checkDigest(sealed: Uint8Array, nonce: Uint8Array, created: string, digest: Uint8Array): boolean {
    const head = this.head();
    if (sealed.length <= head.length || !Buffer.from(head).equals(sealed.subarray(0, head.length))) {
      throw new KeystoreError(Status.BAD_REQUEST, `the sealed password is not one of ${this.storeId}`);
    }
    let password: Uint8Array;
    try {
      password = this.crypto.open(this.key, head, sealed.subarray(head.length));
    } catch {
      throw new KeystoreError(Status.BAD_REQUEST, 'the sealed password does not open');
    }
    const h = createHash('sha1');
    h.update(nonce).update(Buffer.from(created, 'utf8')).update(password);
    wipe(password);
    const want = h.digest();
    return digest.length === want.length && timingSafeEqual(want, digest);
  }

  close(): void {
    wipe(this.key);
  }

  private head(): Buffer {
    const id = Buffer.from(this.storeId, 'ascii');
    return Buffer.concat([MAGIC, Buffer.from([id.length]), id]);
  }
}

/** The store id a blob names, for finding its seal; undefined for anything else. */
export function sealedBy(sealed: Uint8Array): string | undefined {
  if (sealed.length < MAGIC.length + 2 || !MAGIC.equals(sealed.subarray(0, MAGIC.length))) return undefined;
  const end = MAGIC.length + 1 + sealed[MAGIC.length]!;
  return end <= sealed.length ? Buffer.from(sealed.subarray(MAGIC.length + 1, end)).toString('ascii') : undefined;
}
