// Keys through the crypto core: generation, parsing every common private-key form,
// signing and verifying digests. Private key bytes returned here belong to the caller,
// who hands them to a key store and wipes them (`wipe`).
import type { Arg, Core } from './core';
import type { CoreWorkers } from './core-workers';

export type KeyType = 'EC-P256' | 'EC-P384' | 'EC-P521' | 'RSA-1024' | 'RSA-2048' | 'RSA-3072' | 'RSA-4096';
export const KEY_TYPES: readonly KeyType[] = ['EC-P256', 'EC-P384', 'EC-P521', 'RSA-1024', 'RSA-2048', 'RSA-3072', 'RSA-4096'];

export type Digest = 'SHA-256' | 'SHA-384' | 'SHA-512';
export type SignatureScheme = 'ECDSA' | 'RSA-PKCS1-V1_5' | 'RSA-PSS';

export interface PublicKeyInfo {
  type: 'EC' | 'RSA';
  curve?: 'P-256' | 'P-384' | 'P-521';
  bits: number;
}

/** A private key in the core's canonical DER (RSAPrivateKey or ECPrivateKey) and its SPKI. */
export interface KeyPair {
  privateDer: Uint8Array;
  spki: Uint8Array;
}

const KIND = { EC: 1, RSA: 2 } as const;
export const DIGEST_ID: Record<Digest, number> = { 'SHA-256': 1, 'SHA-384': 2, 'SHA-512': 3 };
const SCHEME_ID: Record<SignatureScheme, number> = { ECDSA: 1, 'RSA-PKCS1-V1_5': 2, 'RSA-PSS': 3 };
const EMPTY = new Uint8Array(0);

/** Zeroes bytes that held a secret. */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

function kindAndSize(type: KeyType): [number, number] {
  const [family, size] = type.split(/-P?/) as [string, string];
  return [family === 'EC' ? KIND.EC : KIND.RSA, Number(size)];
}

const generateArgs = (type: KeyType, seed: Uint8Array): Arg[] => [...kindAndSize(type), seed];
const signArgs = (privateDer: Uint8Array, scheme: SignatureScheme, digest: Digest, hash: Uint8Array): Arg[] =>
  [privateDer, SCHEME_ID[scheme], DIGEST_ID[digest], hash];

export class Keys {
  constructor(private readonly core: Core) {}

  /** Generates a key. `seed` makes it deterministic: benchmarks and tests only. */
  generate(type: KeyType, seed: Uint8Array = EMPTY): KeyPair {
    const { out } = this.core.call('cc_pk_generate', generateArgs(type, seed), 2);
    return { privateDer: out[0]!, spki: out[1]! };
  }

  /**
   * Reads a private key, PEM or DER: PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 and legacy
   * encrypted PEM. The passphrase bytes are the caller's to wipe.
   */
  parse(key: Uint8Array, passphrase: Uint8Array = EMPTY): KeyPair {
    const { out } = this.core.call('cc_pk_parse', [key, passphrase], 2);
    return { privateDer: out[0]!, spki: out[1]! };
  }

  describe(spki: Uint8Array): PublicKeyInfo {
    const { out } = this.core.call('cc_pk_describe', [spki], 1);
    return JSON.parse(Buffer.from(out[0]!).toString('utf8')) as PublicKeyInfo;
  }

  /** Signs a digest; ECDSA signatures come as DER. */
  sign(privateDer: Uint8Array, scheme: SignatureScheme, digest: Digest, hash: Uint8Array): Uint8Array {
    return this.core.call('cc_pk_sign', signArgs(privateDer, scheme, digest, hash), 1).out[0]!;
  }

  verify(spki: Uint8Array, scheme: SignatureScheme, digest: Digest, hash: Uint8Array, signature: Uint8Array): boolean {
    return this.core.call('cc_pk_verify', [spki, SCHEME_ID[scheme], DIGEST_ID[digest], hash, signature]).value === 1;
  }

  /** Whether two public keys (SPKI, DER or PEM) are the same key. */
  same(a: Uint8Array, b: Uint8Array): boolean {
    return this.core.call('cc_pk_same', [a, b]).value === 1;
  }
}

/**
 * Key generation and signing in a worker thread (CoreWorkers), for the calls that would
 * hold the event loop: in the wasm core on x86 an RSA-4096 keygen takes ~10 s, an RSA-2048
 * one ~1 s, an RSA signature 40-150 ms (ARM: 5-10x that); EC calls take a few ms.
 */
export class KeyJobs {
  constructor(private readonly workers: CoreWorkers) {}

  async generate(type: KeyType, seed: Uint8Array = EMPTY): Promise<KeyPair> {
    const { out } = await this.workers.call('cc_pk_generate', generateArgs(type, seed), 2);
    return { privateDer: out[0]!, spki: out[1]! };
  }

  async sign(privateDer: Uint8Array, scheme: SignatureScheme, digest: Digest, hash: Uint8Array): Promise<Uint8Array> {
    return (await this.workers.call('cc_pk_sign', signArgs(privateDer, scheme, digest, hash), 1)).out[0]!;
  }
}
