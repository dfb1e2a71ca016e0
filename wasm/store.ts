// Key-store support through the crypto core: random key-encryption keys, key files sealed
// with AES-256-GCM, and keys as PKCS#11 components. Used by keystored's backends only.
import type { Core } from './core';

export interface EcParts {
  kind: 'EC';
  /** DER OID of the curve (CKA_EC_PARAMS). */
  params: Uint8Array;
  d: Uint8Array;
  /** Uncompressed point 04||X||Y. */
  point: Uint8Array;
}

export interface RsaParts {
  kind: 'RSA';
  n: Uint8Array; e: Uint8Array; d: Uint8Array; p: Uint8Array; q: Uint8Array;
  dp: Uint8Array; dq: Uint8Array; qinv: Uint8Array;
}

/** Views into one buffer: `wipe()` zeroes every component at once. */
export type KeyParts = (EcParts | RsaParts) & { wipe(): void };

const KIND = { EC: 1, RSA: 2 } as const;

function splitFields(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0; off < buf.length; ) {
    const len = view.getUint32(off);
    out.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

export class StoreCrypto {
  constructor(private readonly core: Core) {}

  random(length: number): Uint8Array {
    return this.core.call('cc_store_random', [length], 1).out[0]!;
  }

  /** AES-256-GCM under `key` (32 bytes), bound to `aad`; nonce || ciphertext || tag. */
  seal(key: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array {
    return this.core.call('cc_store_seal', [key, aad, plain], 1).out[0]!;
  }

  /** The plaintext of `seal`; throws NOT_AUTHENTIC when key, aad or data were changed. */
  open(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
    return this.core.call('cc_store_open', [key, aad, sealed], 1).out[0]!;
  }

  /** A private key (core DER) as the components a PKCS#11 token imports. */
  keyParts(privateDer: Uint8Array): KeyParts {
    const { value, out } = this.core.call('cc_store_key_parts', [privateDer], 1);
    const buf = out[0]!;
    const f = splitFields(buf);
    const wipe = () => buf.fill(0);
    if (value === KIND.EC) return { kind: 'EC', params: f[0]!, d: f[1]!, point: f[2]!, wipe };
    return { kind: 'RSA', n: f[0]!, e: f[1]!, d: f[2]!, p: f[3]!, q: f[4]!, dp: f[5]!, dq: f[6]!, qinv: f[7]!, wipe };
  }

  /** SubjectPublicKeyInfo from a token's EC params + point, or modulus + exponent. */
  spkiFromEc(params: Uint8Array, point: Uint8Array): Uint8Array {
    return this.core.call('cc_store_spki', [KIND.EC, params, point], 1).out[0]!;
  }

  spkiFromRsa(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
    return this.core.call('cc_store_spki', [KIND.RSA, modulus, exponent], 1).out[0]!;
  }
}
