// The one place where PKCS#11 return values (CKR_*) are read and turned into keystore
// statuses. pkcs11js throws a Pkcs11Error whose message is the CKR name ("CKR_PIN_INCORRECT")
// and whose `code` is its number; both are parsed here and nowhere else. Messages name the
// store, the operation and the CKR, never a PIN or key material.
import * as pkcs11js from 'pkcs11js';
import { KeystoreError } from '../../ipc/errors';
import { Status } from '../../ipc/protocol';

/** CKR number -> name, from the constants pkcs11js exports (for errors that carry only a number). */
const CKR_NAMES: Map<number, string> = new Map(
  Object.entries(pkcs11js)
    .filter(([k, v]) => k.startsWith('CKR_') && typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);
// Not all of pkcs11js's versions export these (PKCS#11 3.0 numbers).
CKR_NAMES.set(0x140, CKR_NAMES.get(0x140) ?? 'CKR_CURVE_NOT_SUPPORTED');

/** The CKR of a pkcs11js error: its name, and its number when known; undefined for other errors. */
export function ckrOf(e: unknown): { name: string; code?: number } | undefined {
  if (!(e instanceof Error)) return undefined;
  const m = /\b(CKR_[A-Z0-9_]+)(?::(\d+))?/.exec(e.message) ?? /\b(CKR_[A-Z0-9_]+)(?::(\d+))?/.exec(e.stack ?? '');
  const raw = (e as Error & { code?: unknown }).code;
  const code = m?.[2] ? Number(m[2]) : typeof raw === 'number' ? raw : undefined;
  if (m) return code === undefined ? { name: m[1]! } : { name: m[1]!, code };
  // A Pkcs11Error whose text lost the name but kept the number.
  if (e.name === 'Pkcs11Error' && code !== undefined && code !== 0) {
    return { name: CKR_NAMES.get(code) ?? `CKR_0x${code.toString(16).toUpperCase()}`, code };
  }
  return undefined;
}

/** The CKR name of an error, or undefined when it is not a PKCS#11 error. */
export function ckrName(e: unknown): string | undefined {
  return ckrOf(e)?.name;
}

/** What the token said, in words, and the status it becomes. */
const TABLE: Record<string, [Status, string]> = {
  CKR_PIN_INCORRECT: [Status.WRONG_PIN, 'the token rejected the PIN'],
  CKR_PIN_INVALID: [Status.WRONG_PIN, 'the PIN has characters the token does not accept'],
  CKR_PIN_LEN_RANGE: [Status.WRONG_PIN, 'the PIN is too long or too short for the token'],
  CKR_PIN_LOCKED: [Status.PIN_LOCKED, 'the user PIN is locked (too many wrong PINs; a TPM in dictionary-attack lockout heals with time, a token needs its security officer)'],
  CKR_PIN_EXPIRED: [Status.PIN_LOCKED, 'the user PIN has expired and must be changed'],
  CKR_TOKEN_NOT_PRESENT: [Status.TOKEN_MISSING, 'the token is not present'],
  CKR_DEVICE_REMOVED: [Status.TOKEN_MISSING, 'the token was removed'],
  CKR_TOKEN_NOT_RECOGNIZED: [Status.TOKEN_MISSING, 'the token in the slot is not recognized'],
  CKR_SLOT_ID_INVALID: [Status.SLOT_NOT_FOUND, 'the slot does not exist'],
  CKR_DEVICE_MEMORY: [Status.OUT_OF_HANDLES, 'the token is out of memory (object handles)'],
  CKR_HOST_MEMORY: [Status.OUT_OF_HANDLES, 'the PKCS#11 module is out of memory'],
  CKR_MECHANISM_INVALID: [Status.NOT_SUPPORTED, 'the token does not offer this mechanism'],
  CKR_MECHANISM_PARAM_INVALID: [Status.NOT_SUPPORTED, 'the token does not accept these mechanism parameters'],
  CKR_FUNCTION_NOT_SUPPORTED: [Status.NOT_SUPPORTED, 'the PKCS#11 module does not implement this function'],
  CKR_KEY_TYPE_INCONSISTENT: [Status.UNSUPPORTED_KEY_TYPE, 'the key type does not fit the mechanism'],
  CKR_KEY_FUNCTION_NOT_PERMITTED: [Status.UNSUPPORTED_KEY_TYPE, 'the key may not be used for this'],
  CKR_KEY_SIZE_RANGE: [Status.UNSUPPORTED_KEY_TYPE, 'the token does not offer this key size'],
  CKR_DOMAIN_PARAMS_INVALID: [Status.UNSUPPORTED_KEY_TYPE, 'the token does not offer this curve'],
  CKR_CURVE_NOT_SUPPORTED: [Status.UNSUPPORTED_KEY_TYPE, 'the token does not offer this curve'],
  CKR_DATA_LEN_RANGE: [Status.BAD_REQUEST, 'the digest length does not fit the key'],
  CKR_SESSION_HANDLE_INVALID: [Status.STORE_FAILURE, 'the session was lost'],
  CKR_SESSION_CLOSED: [Status.STORE_FAILURE, 'the session was closed'],
  CKR_DEVICE_ERROR: [Status.STORE_FAILURE, 'the device failed'],
  CKR_GENERAL_ERROR: [Status.STORE_FAILURE, 'the module failed (for tpm2-pkcs11 also: TPM out of object memory)'],
  CKR_USER_NOT_LOGGED_IN: [Status.STORE_FAILURE, 'the session is not logged in'],
  CKR_CRYPTOKI_NOT_INITIALIZED: [Status.STORE_FAILURE, 'the module is not initialized'],
};

/** Key import: the token rejects the key material itself. */
const IMPORT_TABLE: Record<string, [Status, string]> = {
  CKR_ATTRIBUTE_VALUE_INVALID: [Status.BAD_KEY, 'the token rejected a component of the key'],
  CKR_TEMPLATE_INCONSISTENT: [Status.BAD_KEY, 'the token rejected the key components'],
  CKR_TEMPLATE_INCOMPLETE: [Status.BAD_KEY, 'the token wants key components that were not given'],
  CKR_KEY_SIZE_RANGE: [Status.UNSUPPORTED_KEY_TYPE, 'the token does not accept keys of this size'],
};

/** Key generation: the token refuses the key's size or curve. */
const GENERATE_TABLE: Record<string, [Status, string]> = {
  CKR_ATTRIBUTE_VALUE_INVALID: [Status.UNSUPPORTED_KEY_TYPE, 'the token does not offer this key size or curve'],
  CKR_TEMPLATE_INCONSISTENT: [Status.UNSUPPORTED_KEY_TYPE, 'the token does not offer this key size or curve'],
};

/**
 * What to do about a failure before giving up:
 *  - 'session': the session, the login or the module's connection was lost (or, tpm2-pkcs11,
 *    its TPM ran out of object memory, which looks the same): reopen (and log in) once, retry once;
 *  - 'final': retrying would not help (wrong PIN, unknown mechanism, ...).
 */
export function recoveryOf(e: unknown): 'session' | 'final' {
  switch (ckrName(e)) {
    case 'CKR_SESSION_HANDLE_INVALID':
    case 'CKR_SESSION_CLOSED':
    case 'CKR_DEVICE_ERROR':
    case 'CKR_DEVICE_REMOVED':
    case 'CKR_TOKEN_NOT_PRESENT':
    case 'CKR_USER_NOT_LOGGED_IN':
    case 'CKR_CRYPTOKI_NOT_INITIALIZED':
    case 'CKR_GENERAL_ERROR':
    case 'CKR_DEVICE_MEMORY':
    case 'CKR_HOST_MEMORY':
    case 'CKR_FUNCTION_FAILED':
      return 'session';
    default:
      return 'final';
  }
}

/** Whether the error is this CKR (by name). */
export function isCkr(e: unknown, name: string): boolean {
  return ckrName(e) === name;
}

/**
 * A keystore error for a failure of `what` (e.g. "TPM0: sign with key k1"). KeystoreErrors
 * pass through; PKCS#11 errors get their status from the table; anything else (the module
 * does not load, a native error) is STORE_FAILURE.
 */
export function toKeystoreError(e: unknown, what: string, op?: 'import' | 'generate'): KeystoreError {
  if (e instanceof KeystoreError) return e;
  const ckr = ckrOf(e);
  if (ckr) {
    const special = op === 'import' ? IMPORT_TABLE : op === 'generate' ? GENERATE_TABLE : undefined;
    const hit = special?.[ckr.name] ?? TABLE[ckr.name];
    if (hit) return new KeystoreError(hit[0], `${what}: ${ckr.name} (${hit[1]})`);
    return new KeystoreError(Status.STORE_FAILURE, `${what}: ${ckr.name}`);
  }
  // Native errors of pkcs11js (library not loadable, bad argument) carry no PIN: the PIN is
  // only ever an argument, never echoed.
  const msg = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
  return new KeystoreError(Status.STORE_FAILURE, `${what}: ${msg}`);
}
