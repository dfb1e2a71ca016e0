// The token connection of one PKCS#11 store: finds the slot by label, opens the session, logs
// in, logs out and in to free key handles, recovers from a lost session or device, and runs
// every operation through one queue. Apart from the key operations so that they see only a
// logged-in session and a retry loop, never the state it takes to keep one.
//
// One R/W session per store, logged in as the user; every call goes through one promise
// chain (`enqueue`), so the token sees one operation at a time (SoftHSM2 fails under
// concurrent key generation in one token, tpm2-pkcs11 serializes on the TPM anyway).
//
// Handles: tpm2-pkcs11 keeps every key it used loaded in the TPM (behind tpm2-abrmd) until
// C_Logout; after 13 generated keys tpm2-abrmd is out of object memory for the connection
// (27 transient objects; the module answers CKR_GENERAL_ERROR). So after every
// `relogin_every` operations that load a key (sign, generate, import) the store logs out and
// in again. Default for tpm2-pkcs11: every 8 (at most 16 keys' objects loaded). A login costs
// about 15 ms on swtpm (an unseal), and more on a real TPM: after every operation it would
// make a sign 22 ms instead of 10 (measured, swtpm). Other modules: never. Should the limit be
// hit anyway, the CKR_GENERAL_ERROR recovery below logs in afresh and retries.
//
// Recovery: a failure that means the session, the login or the module's device/broker was
// lost (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_ERROR, CKR_GENERAL_ERROR, ...; see
// recoveryOf) re-opens once and retries the operation once: the module is re-initialized
// (C_Finalize + C_Initialize) when this store is its only user, so a TPM reset (swtpm and
// tpm2-abrmd restarted) leaves keys usable; otherwise only the session is re-opened. Stale
// handles (pkcs11-objects.ts) re-initialize the module and retry as well.
//
// PIN: the session keeps a copy of the configured PIN bytes (wiped by close()). pkcs11js's
// C_Login only takes a JavaScript string, which cannot be wiped: the string is made at each
// login and dropped right after. A PIN the token rejected is not tried again (that would run
// the token into its PIN lock; a TPM locks after 3 failures, and each power loss counts as
// one): the store answers WRONG_PIN until it is configured anew.
import * as pkcs11js from 'pkcs11js';
import { KeystoreError } from '../../ipc/errors';
import { Status } from '../../ipc/protocol';
import { createLogger } from '../common/log';
import { ckrName, isCkr, recoveryOf, toKeystoreError } from './pkcs11-errors';
import {
  acquireModule,
  claimToken,
  reinitializeModule,
  releaseModule,
  releaseToken,
  type Pkcs11Module,
} from './pkcs11-module';
import { StaleHandles, TokenObjects, type Handle, type HandleGuard } from './pkcs11-objects';

const TPM2_PKCS11 = /^tpm2-software/i;
/** Key-loading operations between logins on tpm2-pkcs11 (see "Handles" above). */
const TPM2_RELOGIN_EVERY = 8;
/** CK_STATE of a logged-in R/W session (pkcs11js exports no CKS_* constants). */
const CKS_RW_USER_FUNCTIONS = 3;

// The store's log name: the lines are about the store.
const log = createLogger('pkcs11-store');

export interface Pkcs11SessionConfig {
  storeId: string;
  /** Path of the PKCS#11 module (.so). */
  module: string;
  /** Token label, without the blank padding. */
  label: string;
  /** User PIN. The session copies it. */
  pin: Uint8Array;
  /** Key-loading operations between logins; undefined = by module. */
  reloginEvery: number | undefined;
}

export class Pkcs11Session implements HandleGuard {
  private readonly storeId: string;
  private readonly module: string;
  private readonly label: string;
  private readonly pin: Uint8Array;
  private readonly reloginEvery: number | undefined;

  private mod: Pkcs11Module | undefined;
  private slot: Handle | undefined;
  private session: Handle | undefined;
  /** The module generation the session belongs to. */
  private sessionGeneration = 0;
  private mechanisms = new Set<number>();
  /** Operations that loaded a key since the last login. */
  private loads = 0;
  /** The token was found once: its absence now is TOKEN_MISSING, not SLOT_NOT_FOUND. */
  private seen = false;
  private pinRejected: KeystoreError | undefined;
  /** Handles may be reused (pkcs11-objects.ts): re-initialize the module before the next operation. */
  reinitPending = false;
  private isClosed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(config: Pkcs11SessionConfig) {
    this.storeId = config.storeId;
    this.module = config.module;
    this.label = config.label;
    this.pin = new Uint8Array(config.pin);
    this.reloginEvery = config.reloginEvery;
  }

  /** A copy of the PIN, for a device service's PIN file (the caller wipes it). */
  pinCopy(): Uint8Array {
    if (this.isClosed) throw new KeystoreError(Status.STORE_FAILURE, `${this.storeId} is closed`);
    return new Uint8Array(this.pin);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get isTpm2Pkcs11(): boolean {
    return !!this.mod && TPM2_PKCS11.test(this.mod.manufacturer);
  }

  /** Log out and in after this many key-loading operations (0 = never). */
  get reloginPolicy(): number {
    if (this.reloginEvery !== undefined) return this.reloginEvery;
    return this.isTpm2Pkcs11 ? TPM2_RELOGIN_EVERY : 0;
  }

  /**
   * One queued operation: opens the session if needed, runs `fn`, and on a failure that
   * means the session or device was lost re-opens once and runs `fn` once more. Maps every
   * PKCS#11 error to a KeystoreError. `fn` must be safe to run twice.
   */
  run<T>(what: string, opts: { loadsKey?: boolean; kind?: 'import' | 'generate' }, fn: (t: TokenObjects) => Promise<T>): Promise<T> {
    const context = `${this.storeId}: ${what}`;
    return this.enqueue(async () => {
      let sessionRetries = 0;
      let handleRetries = 0;
      for (;;) {
        try {
          this.ensureOpen();
          const result = await fn(new TokenObjects(this.mod!.p11, this.session!, this));
          if (opts.loadsKey) this.afterLoad();
          return result;
        } catch (e) {
          if (e instanceof KeystoreError) throw e;
          if (this.isClosed) throw toKeystoreError(e, context, opts.kind);
          if (e instanceof StaleHandles) {
            // ensureOpen re-initializes the module first (reinitPending). Twice: a generation
            // retried after one clears its leftovers (which may need one more).
            if (handleRetries++ < 2) continue;
            throw new KeystoreError(Status.STORE_FAILURE, `${context}: ${e.message}, and it happened again`);
          }
          if (recoveryOf(e) === 'session' && sessionRetries++ === 0) {
            log.warn('token session lost or token busy: opening afresh and retrying once', {
              store: this.storeId,
              operation: what,
              ckr: ckrName(e) ?? (e instanceof Error ? e.name : 'error'),
            });
            this.recover();
            continue;
          }
          throw toKeystoreError(e, context, opts.kind);
        }
      }
    });
  }

  /** Whether the token still answers, logged in (recovering like any operation). */
  check(): Promise<void> {
    return this.run('health check', {}, async ({ p11, session }) => {
      const info = p11.C_GetSessionInfo(session);
      if (info.state !== CKS_RW_USER_FUNCTIONS) this.login(session);
      try {
        // Reaches the device itself (tpm2-pkcs11: TPM2_GetRandom), not only the module.
        p11.C_GenerateRandom(session, Buffer.alloc(1));
      } catch (e) {
        if (!isCkr(e, 'CKR_FUNCTION_NOT_SUPPORTED') && !isCkr(e, 'CKR_RANDOM_NO_RNG')) throw e;
      }
    });
  }

  /** NOT_SUPPORTED unless the token offers `mechanism` (`what` names it). */
  requireMechanism(mechanism: number, what: string): void {
    if (!this.mechanisms.has(mechanism)) {
      throw new KeystoreError(Status.NOT_SUPPORTED, `${this.storeId}: token '${this.label}' does not offer ${what}`);
    }
  }

  /** After the operations queued before it: closes the session, releases module and token, wipes the PIN. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.isClosed) return;
      this.isClosed = true;
      // No C_Logout: login is per token, and during a reload the next store of this id
      // already uses the token; closing the token's last session logs out anyway.
      this.dropSession(false);
      if (this.mod) {
        releaseModule(this.mod);
        releaseToken(this.module, this.label, this.storeId);
        this.mod = undefined;
      }
      this.pin.fill(0);
    });
  }

  /** Runs `task` after every task queued before it. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Throws a KeystoreError (closed, PIN rejected, module or token missing) or a raw PKCS#11 error. */
  private ensureOpen(): void {
    if (this.isClosed) throw new KeystoreError(Status.STORE_FAILURE, `${this.storeId} is closed`);
    if (this.pinRejected) {
      throw new KeystoreError(
        this.pinRejected.status,
        `${this.pinRejected.message}; not tried again so as not to lock the token: configure the right PIN and reload`,
      );
    }
    if (!this.mod) {
      claimToken(this.module, this.label, this.storeId);
      try {
        this.mod = acquireModule(this.module);
      } catch (e) {
        releaseToken(this.module, this.label, this.storeId);
        throw toKeystoreError(e, `${this.storeId}`);
      }
    }
    if (this.reinitPending) {
      this.reinitPending = false;
      log.debug('re-initializing the PKCS#11 module so that object handles are unique again', { store: this.storeId });
      this.recover(true);
    }
    if (this.session && this.sessionGeneration === this.mod.generation) return;
    this.openSession();
  }

  private openSession(): void {
    const mod = this.mod!;
    const p11 = mod.p11;
    this.session = undefined;
    const slot = this.findSlot();
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.slot = slot;
      this.login(session);
      this.mechanisms = new Set(p11.C_GetMechanismList(slot));
    } catch (e) {
      try {
        p11.C_CloseSession(session);
      } catch {
        // closing is best effort
      }
      throw e;
    }
    this.session = session;
    this.sessionGeneration = mod.generation;
    this.seen = true;
  }

  private findSlot(): Handle {
    const p11 = this.mod!.p11;
    const labels: string[] = [];
    for (const slot of p11.C_GetSlotList(true)) {
      let label: string;
      try {
        label = p11.C_GetTokenInfo(slot).label.replace(/[ \0]+$/, '');
      } catch {
        continue; // token went away between the two calls
      }
      if (label === this.label) return slot;
      labels.push(label === '' ? '(no label)' : `'${label}'`);
    }
    const where = `no token labelled '${this.label}' in ${this.module} (tokens present: ${labels.join(', ') || 'none'})`;
    if (this.seen) throw new KeystoreError(Status.TOKEN_MISSING, `${this.storeId}: token went away: ${where}`);
    throw new KeystoreError(Status.SLOT_NOT_FOUND, `${this.storeId}: ${where}`);
  }

  private login(session: Handle): void {
    const p11 = this.mod!.p11;
    const what = `${this.storeId}: log in to token '${this.label}'`;
    const info = p11.C_GetTokenInfo(this.slot!);
    // A locked PIN is not latched like a wrong one: a TPM's dictionary-attack lockout heals
    // with time, and a login attempt on a locked token counts against nothing.
    if (info.flags & pkcs11js.CKF_USER_PIN_LOCKED) throw new KeystoreError(Status.PIN_LOCKED, `${what}: the user PIN is locked`);
    try {
      // pkcs11js takes the PIN only as a string (see the note at the top).
      p11.C_Login(session, pkcs11js.CKU_USER, Buffer.from(this.pin).toString('utf8'));
    } catch (e) {
      if (!isCkr(e, 'CKR_USER_ALREADY_LOGGED_IN')) {
        const err = toKeystoreError(e, what);
        if (err.status === Status.WRONG_PIN) this.pinRejected = err;
        throw recoveryOf(e) === 'session' ? e : err;
      }
    }
    this.loads = 0;
  }

  /** After an operation that loaded a key: log out and in when the policy says so. */
  private afterLoad(): void {
    this.loads++;
    const every = this.reloginPolicy;
    if (every <= 0 || this.loads < every || !this.session) return;
    const p11 = this.mod!.p11;
    try {
      p11.C_Logout(this.session);
    } catch {
      // not logged in any more: the login below is what matters
    }
    try {
      this.login(this.session);
    } catch {
      // the next operation finds the session unusable and recovers (or reports WRONG_PIN)
      this.session = undefined;
    }
  }

  private dropSession(logout = true): void {
    const s = this.session;
    this.session = undefined;
    if (!s || !this.mod || this.sessionGeneration !== this.mod.generation) return;
    if (logout) {
      try {
        this.mod.p11.C_Logout(s);
      } catch {
        // best effort
      }
    }
    try {
      this.mod.p11.C_CloseSession(s);
    } catch {
      // best effort
    }
  }

  /** After a lost session/device: a fresh start for the next attempt (opened by ensureOpen). */
  private recover(force = false): void {
    this.dropSession();
    if (this.mod && (this.mod.users === 1 || force)) {
      try {
        reinitializeModule(this.mod);
      } catch {
        // the retry reports what is wrong
      }
    }
  }
}
