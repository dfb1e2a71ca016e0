// The KeyStore port: what keystored's dispatcher asks of every key store. One conformance
// suite (test/keystored/conformance.ts) runs against every implementation.
import { KeystoreError } from '../../ipc/errors';
import {
  Status,
  type DigestAlgorithm,
  type KeyType,
  type SignatureScheme,
  type StoreDescription,
} from '../../ipc/protocol';

export interface Signature {
  signature: Uint8Array;
  /** ECDSA: 'der' (ECDSA-Sig-Value) or 'raw' (r||s, as PKCS#11 gives it). RSA: always 'der'. */
  format: 'der' | 'raw';
}

/**
 * How a device service reaches a key: the private key itself (SOFTWARE; keystored writes it
 * to the service's file and wipes `privateDer`) or the token's PKCS#11 reference and a copy
 * of the token's PIN (keystored writes it to the service's PIN file and wipes `pin`).
 */
export type ServiceKeySource =
  | { kind: 'der'; privateDer: Uint8Array; spki: Uint8Array }
  | { kind: 'pkcs11'; module: string; uri: string; pin: Uint8Array };

export interface KeyStore {
  readonly description: StoreDescription;
  /** Generates a key inside the store under `keyId`; KEY_EXISTS if the id is taken. Returns its SPKI. */
  generate(keyId: string, type: KeyType): Promise<Uint8Array>;
  /** Imports a private key (the core's canonical DER); the caller wipes its copy. */
  import(keyId: string, privateDer: Uint8Array): Promise<{ spki: Uint8Array; keyType: KeyType }>;
  publicKey(keyId: string): Promise<Uint8Array>;
  sign(keyId: string, scheme: SignatureScheme, digest: DigestAlgorithm, hash: Uint8Array): Promise<Signature>;
  /** Deletes the key; UNKNOWN_KEY if there is none. */
  delete(keyId: string): Promise<void>;
  list(): Promise<string[]>;
  /** What a device service needs to use the key (service_key); UNKNOWN_KEY if there is none. */
  serviceKey(keyId: string): Promise<ServiceKeySource>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

const notSupported = (what: string, id: string) =>
  Promise.reject(new KeystoreError(Status.NOT_SUPPORTED, `${id} does not support ${what}`));

/** A store that can do nothing: backends override what they support, the rest says NOT_SUPPORTED. */
export abstract class BaseKeyStore implements KeyStore {
  abstract readonly description: StoreDescription;

  generate(_keyId: string, _type: KeyType): Promise<Uint8Array> {
    return notSupported('key generation', this.description.id);
  }
  import(_keyId: string, _privateDer: Uint8Array): Promise<{ spki: Uint8Array; keyType: KeyType }> {
    return notSupported('key import', this.description.id);
  }
  publicKey(_keyId: string): Promise<Uint8Array> {
    return notSupported('reading public keys', this.description.id);
  }
  sign(_keyId: string, _scheme: SignatureScheme, _digest: DigestAlgorithm, _hash: Uint8Array): Promise<Signature> {
    return notSupported('signing', this.description.id);
  }
  delete(_keyId: string): Promise<void> {
    return notSupported('key deletion', this.description.id);
  }
  list(): Promise<string[]> {
    return notSupported('listing keys', this.description.id);
  }
  serviceKey(_keyId: string): Promise<ServiceKeySource> {
    return notSupported('keys for device services', this.description.id);
  }
  health(): Promise<{ ok: boolean; detail?: string }> {
    return Promise.resolve({ ok: true });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** UNSUPPORTED_KEY_TYPE unless the store lists `type`. */
  protected requireType(type: KeyType): void {
    if (!this.description.key_types.includes(type)) {
      throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id} does not offer ${type}`);
    }
  }
}

/** The key type of a public key as the core describes it. */
export function keyTypeOf(info: { type: 'EC' | 'RSA'; curve?: string; bits: number }): KeyType {
  return (info.type === 'EC' ? `EC-${info.curve!.replace('-', '')}` : `RSA-${info.bits}`) as KeyType;
}
