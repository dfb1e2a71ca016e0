// The keystore protocol between certd and keystored: one place for its id, version,
// opcodes and statuses. Numbers are append-only: never renumber, never reuse.
//
// A request is four ZeroMQ frames:  HEADER | request id (u32 BE) | opcode (u16 BE) | body
// a reply is four frames:           HEADER | request id (u32 BE) | status (u16 BE) | body
// HEADER is the protocol id, "/" and the major version in ASCII. Bodies are msgpack
// (msgpackr) maps checked against the opcode's schema (ipc/schemas.ts) on both sides.

export const PROTOCOL_ID = 'certd-keystore';
export const PROTOCOL_MAJOR = 1;
export const HEADER = `${PROTOCOL_ID}/${PROTOCOL_MAJOR}`;

/** Most bytes a body may have; larger frames get TOO_LARGE and are not decoded. */
export const MAX_BODY_BYTES = 256 * 1024;

export enum Opcode {
  DESCRIBE_STORES = 1,
  GENERATE_KEY = 2,
  IMPORT_KEY = 3,
  PUBLIC_KEY = 4,
  SIGN_DIGEST = 5,
  DELETE_KEY = 6,
  LIST_KEYS = 7,
  HEALTH = 8,
  /** Where a device service (nginx, wpa_supplicant) finds a key: a file keystored writes (SOFTWARE) or a PKCS#11 URI. */
  SERVICE_KEY = 9,
  /** The service no longer uses those keys: keystored wipes and removes the files it wrote for it. */
  SERVICE_KEY_RELEASE = 10,
  /** Seals a user's password under a key of keystored's (WS-UsernameToken, password-seal.ts). */
  SEAL_PASSWORD = 11,
  /** Checks a UsernameToken PasswordDigest against a sealed password: true or false, nothing else. */
  CHECK_PASSWORD_DIGEST = 12,
}

export enum Status {
  OK = 0,
  /** The store cannot do this operation (it says so in DESCRIBE_STORES too). */
  NOT_SUPPORTED = 1,
  /** The body does not match the opcode's schema. */
  BAD_REQUEST = 2,
  UNKNOWN_OPCODE = 3,
  /** Another protocol or major version. */
  BAD_VERSION = 4,
  TOO_LARGE = 5,
  UNKNOWN_STORE = 6,
  UNKNOWN_KEY = 7,
  KEY_EXISTS = 8,
  UNSUPPORTED_KEY_TYPE = 9,
  WRONG_PIN = 10,
  TOKEN_MISSING = 11,
  SLOT_NOT_FOUND = 12,
  OUT_OF_HANDLES = 13,
  /** The store failed in a way none of the above names; the message says how. */
  STORE_FAILURE = 14,
  /** No reply in time (set by the client, never sent). */
  TIMEOUT = 15,
  /** The daemon is not reachable (set by the client, never sent). */
  UNAVAILABLE = 16,
  /** The key material given for import is not a usable key. */
  BAD_KEY = 17,
  INTERNAL = 18,
  PIN_LOCKED = 19,
}

// The key types are the crypto core's (wasm/keys.ts): one list for the whole project.
export { KEY_TYPES, type KeyType } from '../wasm/keys';
import type { KeyType } from '../wasm/keys';
export type SecurityLevel = 'SOFTWARE' | 'TRUSTED_ENVIRONMENT' | 'STRONG';
export type SignatureScheme = 'ECDSA' | 'RSA-PKCS1-V1_5' | 'RSA-PSS';
export type DigestAlgorithm = 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface StoreDescription {
  id: string;
  security_level: SecurityLevel;
  certifications: string[];
  key_types: KeyType[];
  can_generate: boolean;
  can_import: boolean;
  can_secure_wipe: boolean;
}

/** Request and reply bodies, by opcode. */
export interface Bodies {
  [Opcode.DESCRIBE_STORES]: { req: Record<string, never>; res: { stores: StoreDescription[] } };
  [Opcode.GENERATE_KEY]: { req: { store: string; key_id: string; key_type: KeyType }; res: { spki: Uint8Array } };
  [Opcode.IMPORT_KEY]: { req: { store: string; key_id: string; private_key: Uint8Array }; res: { spki: Uint8Array; key_type: KeyType } };
  [Opcode.PUBLIC_KEY]: { req: { store: string; key_id: string }; res: { spki: Uint8Array } };
  [Opcode.SIGN_DIGEST]: {
    req: { store: string; key_id: string; scheme: SignatureScheme; digest_algorithm: DigestAlgorithm; digest: Uint8Array };
    /** ECDSA from a PKCS#11 token comes raw (r||s); from software as DER. */
    res: { signature: Uint8Array; format: 'der' | 'raw' };
  };
  [Opcode.DELETE_KEY]: { req: { store: string; key_id: string }; res: Record<string, never> };
  [Opcode.LIST_KEYS]: { req: { store: string }; res: { key_ids: string[] } };
  [Opcode.HEALTH]: { req: Record<string, never>; res: { stores: { id: string; ok: boolean; detail?: string }[] } };
  [Opcode.SERVICE_KEY]: {
    /** uid/gid: the service's user, who gets the key file (SOFTWARE) or PIN file (tokens); default keystored's own. */
    req: { service: string; store: string; key_id: string; uid?: number; gid?: number };
    res: ServiceKeyAnswer;
  };
  /** keep: the one key of the service whose file stays (the binding's current key). */
  [Opcode.SERVICE_KEY_RELEASE]: { req: { service: string; keep?: { store: string; key_id: string } }; res: Record<string, never> };
  [Opcode.SEAL_PASSWORD]: { req: { password: Uint8Array }; res: { sealed: Uint8Array } };
  [Opcode.CHECK_PASSWORD_DIGEST]: {
    /** digest = SHA-1(nonce | created | password), as the client sent it (Base64-decoded). */
    req: { sealed: Uint8Array; nonce: Uint8Array; created: string; digest: Uint8Array };
    res: { ok: boolean };
  };
}

/** A key file written for the service (PEM, PKCS#8, 0600, the service user's) or a token key and the PIN file written for it alike. */
export type ServiceKeyAnswer =
  | { kind: 'file'; path: string }
  | { kind: 'pkcs11'; module: string; uri: string; pin_file: string };

/** The body of every reply whose status is not OK. */
export interface ErrorBody {
  message: string;
}
