// PKCS#11 modules, each loaded and initialized once per process however many stores use
// it (a second C_Initialize of the same library answers CKR_CRYPTOKI_ALREADY_INITIALIZED and a
// C_Finalize ends it for every user). A module can be re-initialized (C_Finalize +
// C_Initialize) to recover from a lost device or broker, e.g. a TPM reset behind
// tpm2-abrmd; its `generation` then changes and every store using it opens anew.
// Also keeps one store per token: login state is per token and application, so two stores on
// one token would log each other in and out.
import * as pkcs11js from 'pkcs11js';
import { KeystoreError } from '../../ipc/errors';
import { Status } from '../../ipc/protocol';
import { isCkr, toKeystoreError } from './pkcs11-errors';

export interface Pkcs11Module {
  readonly path: string;
  readonly p11: pkcs11js.PKCS11;
  /** C_GetInfo's manufacturer, trimmed (e.g. "SoftHSM", "tpm2-software.github.io"). */
  manufacturer: string;
  /** Changes at each re-initialization: sessions from an older generation are gone. */
  generation: number;
  users: number;
}

const modules = new Map<string, Pkcs11Module>();
/** module path + token label -> the store id using it, and how many instances of it (a reload overlaps two). */
const tokens = new Map<string, { storeId: string; count: number }>();

function initialize(p11: pkcs11js.PKCS11, path: string): void {
  try {
    // The module may lock with the OS: pkcs11js runs *Async calls on worker threads.
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (!isCkr(e, 'CKR_CRYPTOKI_ALREADY_INITIALIZED')) throw toKeystoreError(e, `PKCS#11 module ${path}: C_Initialize`);
  }
}

/** The module at `path`, loaded and initialized; release it with `releaseModule`. */
export function acquireModule(path: string): Pkcs11Module {
  let mod = modules.get(path);
  if (!mod) {
    const p11 = new pkcs11js.PKCS11();
    try {
      p11.load(path);
    } catch (e) {
      throw toKeystoreError(e, `cannot load PKCS#11 module ${path}`);
    }
    initialize(p11, path);
    let manufacturer = '';
    try {
      manufacturer = p11.C_GetInfo().manufacturerID.trim();
    } catch {
      // informational only
    }
    mod = { path, p11, manufacturer, generation: 1, users: 0 };
    modules.set(path, mod);
  }
  mod.users++;
  return mod;
}

/** Drops one use; the last one finalizes the module. Never throws. */
export function releaseModule(mod: Pkcs11Module): void {
  mod.users--;
  if (mod.users > 0) return;
  modules.delete(mod.path);
  try {
    mod.p11.C_Finalize();
  } catch {
    // already gone
  }
  try {
    mod.p11.close();
  } catch {
    // already closed
  }
}

/** C_Finalize + C_Initialize: ends every session of every user of the module. */
export function reinitializeModule(mod: Pkcs11Module): void {
  try {
    mod.p11.C_Finalize();
  } catch {
    // a module whose device went away may fail to finalize cleanly; initialize anyway
  }
  mod.generation++;
  initialize(mod.p11, mod.path);
}

/**
 * Reserves token `label` of module `path` for store `storeId`; STORE_FAILURE if a store of
 * another id has it. Instances of the same id may overlap (a reload opens the new stores
 * before it closes the old ones).
 */
export function claimToken(path: string, label: string, storeId: string): void {
  const key = `${path}\u0000${label}`;
  const owner = tokens.get(key);
  if (owner && owner.storeId !== storeId) {
    throw new KeystoreError(Status.STORE_FAILURE, `${storeId}: token '${label}' of ${path} is already used by store ${owner.storeId}`);
  }
  if (owner) owner.count++;
  else tokens.set(key, { storeId, count: 1 });
}

export function releaseToken(path: string, label: string, storeId: string): void {
  const key = `${path}\u0000${label}`;
  const owner = tokens.get(key);
  if (owner && owner.storeId === storeId && --owner.count <= 0) tokens.delete(key);
}
