// A key store on a PKCS#11 token: a secure element (SE0; SoftHSM2 stands in for it in
// development) or the TPM through tpm2-pkcs11 (TPM0).
//
// One R/W session per store, logged in as the user; every call goes through one promise
// chain (`enqueue`), so the token sees one operation at a time (SoftHSM2 fails under
// concurrent key generation in one token, tpm2-pkcs11 serializes on the TPM anyway). Long
// calls use pkcs11js's *Async forms (key generation, signing), so the event loop does not
// wait for the token.
//
// Key objects are token objects with CKA_ID = the key id's UTF-8 bytes and CKA_LABEL = the key
// id: the private key CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_SIGN; the public key
// CKA_VERIFY. SPKIs are built by the crypto core from the public object's attributes.
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
// Handle reuse (tpm2-pkcs11 1.9): when the object with the lowest handle is destroyed, the
// module gives the next new object a handle an existing object already has (its
// token_add_tobject does not see the gap before the list head), so a handle may name
// another key. After destroying objects on tpm2-pkcs11 the store checks the handles and, if
// the lowest is not 1 any more, re-initializes the module before the next operation (handles
// are then numbered 1..n afresh). As a safety net for every module, each handle is checked to
// carry the key's CKA_ID before it is used (sign, SPKI, destroy) and right after generation;
// a mismatch re-initializes and retries once, and never signs with another key.
//
// Recovery: a failure that means the session, the login or the module's device/broker was
// lost (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_ERROR, CKR_GENERAL_ERROR, ...; see
// recoveryOf) re-opens once and retries the operation once: the module is re-initialized
// (C_Finalize + C_Initialize) when this store is its only user, so a TPM reset (swtpm and
// tpm2-abrmd restarted) leaves keys usable; otherwise only the session is re-opened.
//
// PIN: the store keeps a copy of the configured PIN bytes (wiped by close()). pkcs11js's
// C_Login only takes a JavaScript string, which cannot be wiped: the string is made at each
// login and dropped right after. A PIN the token rejected is not tried again (that would run
// the token into its PIN lock; a TPM locks after 3 failures, and each power loss counts as
// one): the store answers WRONG_PIN until it is configured anew.
import { endianness } from 'node:os';
import * as pkcs11js from 'pkcs11js';
import { KeystoreError } from '../../ipc/errors';
import { createLogger } from '../common/log';
import {
  Status,
  type DigestAlgorithm,
  type KeyType,
  type SecurityLevel,
  type SignatureScheme,
  type StoreDescription,
} from '../../ipc/protocol';
import { CoreError } from '../../wasm/errors';
import type { Keys } from '../../wasm/keys';
import type { KeyParts, StoreCrypto } from '../../wasm/store';
import { ckrName, isCkr, recoveryOf, toKeystoreError } from './pkcs11-errors';
import {
  acquireModule,
  claimToken,
  reinitializeModule,
  releaseModule,
  releaseToken,
  type Pkcs11Module,
} from './pkcs11-module';
import { BaseKeyStore, keyTypeOf, type Signature } from './port';

export interface Pkcs11StoreConfig {
  id: string;
  security_level: SecurityLevel;
  certifications: string[];
  key_types: KeyType[];
  /** Path of the PKCS#11 module (.so). */
  module: string;
  /** Token label, without the blank padding. */
  token_label: string;
  /** User PIN. The store copies it; the caller wipes its own copy. */
  pin: Uint8Array;
  can_import: boolean;
  can_secure_wipe: boolean;
  /**
   * Log out and in after this many operations that load a key (sign, generate, import), to
   * free the token's key handles; 0 = never. Default: 8 for tpm2-pkcs11, 0 for other modules.
   */
  relogin_every?: number;
}

type Handle = Buffer;
type Template = pkcs11js.Template;

const CURVE_OID: Record<string, string> = {
  'EC-P256': '06082a8648ce3d030107',
  'EC-P384': '06052b81040022',
  'EC-P521': '06052b81040023',
};

interface DigestInfo {
  length: number;
  ckm: number;
  mgf: number;
  /** DER of DigestInfo up to the hash (RFC 8017 §9.2 note 1). */
  prefix: Buffer;
}

const DIGESTS: Record<DigestAlgorithm, DigestInfo> = {
  'SHA-256': {
    length: 32,
    ckm: pkcs11js.CKM_SHA256,
    mgf: pkcs11js.CKG_MGF1_SHA256,
    prefix: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  },
  'SHA-384': {
    length: 48,
    ckm: pkcs11js.CKM_SHA384,
    mgf: pkcs11js.CKG_MGF1_SHA384,
    prefix: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  },
  'SHA-512': {
    length: 64,
    ckm: pkcs11js.CKM_SHA512,
    mgf: pkcs11js.CKG_MGF1_SHA512,
    prefix: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
  },
};

/** Large enough for any signature here (RSA-4096: 512 bytes; ECDSA P-521 raw: 132). */
const SIGNATURE_BUFFER = 1024;
const TPM2_PKCS11 = /^tpm2-software/i;
/** Key-loading operations between logins on tpm2-pkcs11 (see "Handles" above). */
const TPM2_RELOGIN_EVERY = 8;
/** CK_STATE of a logged-in R/W session (pkcs11js exports no CKS_* constants). */
const CKS_RW_USER_FUNCTIONS = 3;

/** A Buffer over the same memory (no copy), so wiping the original wipes what the module saw. */
const view = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** CK_ULONG attribute value (native byte order) as a number. */
function ulong(b: Buffer): number {
  const le = endianness() === 'LE';
  if (b.length === 8) return Number(le ? b.readBigUInt64LE() : b.readBigUInt64BE());
  if (b.length === 4) return le ? b.readUInt32LE() : b.readUInt32BE();
  return b.length > 0 ? b[0]! : -1;
}

/** DER OCTET STRING around `v` (CKA_EC_POINT). */
function derOctetString(v: Uint8Array): Buffer {
  const n = v.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([0x04, ...len]), view(v)]);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const log = createLogger('pkcs11-store');

/** A handle named another object than the one looked up (see "Handle reuse" above). */
class StaleHandles extends Error {
  constructor() {
    super('the module gave one handle to two objects (tpm2-pkcs11 handle reuse); re-initialized it');
  }
}

export class Pkcs11Store extends BaseKeyStore {
  readonly description: StoreDescription;
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
  /** Handles may be reused (see above): re-initialize the module before the next operation. */
  private reinitPending = false;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(config: Pkcs11StoreConfig, private readonly keys: Keys, private readonly crypto: StoreCrypto) {
    super();
    this.description = {
      id: config.id,
      security_level: config.security_level,
      certifications: [...config.certifications],
      key_types: [...config.key_types],
      can_generate: true,
      can_import: config.can_import,
      can_secure_wipe: config.can_secure_wipe,
    };
    this.module = config.module;
    this.label = config.token_label;
    this.pin = new Uint8Array(config.pin);
    this.reloginEvery = config.relogin_every;
  }

  /** A store with its session open and logged in; throws the reason (WRONG_PIN, SLOT_NOT_FOUND, ...) if not. */
  static async open(config: Pkcs11StoreConfig, keys: Keys, crypto: StoreCrypto): Promise<Pkcs11Store> {
    const store = new Pkcs11Store(config, keys, crypto);
    try {
      await store.connect();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /** Opens the session and logs in (every operation also does this when needed). */
  connect(): Promise<void> {
    return this.op('open the token', {}, async () => undefined);
  }

  /** Log out and in after this many key-loading operations (0 = never). */
  get reloginPolicy(): number {
    if (this.reloginEvery !== undefined) return this.reloginEvery;
    return this.mod && TPM2_PKCS11.test(this.mod.manufacturer) ? TPM2_RELOGIN_EVERY : 0;
  }

  // ------------------------------------------------------------------ operations

  override async generate(keyId: string, type: KeyType): Promise<Uint8Array> {
    this.requireType(type);
    const ec = type.startsWith('EC-');
    const idBytes = Buffer.from(keyId, 'utf8');
    let checkedFree = false;
    return this.op(`generate ${type} key ${keyId}`, { loadsKey: true, kind: 'generate' }, async (p11, s) => {
      checkedFree = this.claimId(s, keyId, checkedFree);
      const mechanism = ec ? pkcs11js.CKM_EC_KEY_PAIR_GEN : pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN;
      this.requireMechanism(mechanism, `${ec ? 'EC' : 'RSA'} key generation`);
      const common: Template = [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_ID, value: idBytes },
        { type: pkcs11js.CKA_LABEL, value: keyId },
      ];
      const pub: Template = [
        ...common,
        { type: pkcs11js.CKA_PRIVATE, value: false },
        { type: pkcs11js.CKA_VERIFY, value: true },
        ...(ec
          ? [{ type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(CURVE_OID[type]!, 'hex') }]
          : [
              { type: pkcs11js.CKA_MODULUS_BITS, value: Number(type.slice(4)) },
              { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
            ]),
      ];
      const priv: Template = [
        ...common,
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_SIGN, value: true },
      ];
      let pair: pkcs11js.KeyPair;
      try {
        pair = await p11.C_GenerateKeyPairAsync(s, { mechanism }, pub, priv);
      } catch (e) {
        this.destroyQuietly(s, keyId);
        throw e;
      }
      this.checkId(s, pair.privateKey, idBytes);
      let spki: Uint8Array;
      try {
        spki = this.spkiOf(p11, s, pair.publicKey, keyId);
        const got = keyTypeOf(this.keys.describe(spki));
        if (got !== type) throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id}: asked for ${type}, the token made ${got}`);
      } catch (e) {
        this.destroyQuietly(s, keyId);
        throw e;
      }
      return spki;
    });
  }

  override async import(keyId: string, privateDer: Uint8Array): Promise<{ spki: Uint8Array; keyType: KeyType }> {
    if (!this.description.can_import) return super.import(keyId, privateDer);
    let parts: KeyParts;
    try {
      parts = this.crypto.keyParts(privateDer);
    } catch (e) {
      if (e instanceof CoreError) throw new KeystoreError(Status.BAD_KEY, `not a usable private key (${e.code})`);
      throw e;
    }
    try {
      let spki: Uint8Array;
      try {
        spki = parts.kind === 'EC' ? this.crypto.spkiFromEc(parts.params, parts.point) : this.crypto.spkiFromRsa(parts.n, parts.e);
      } catch (e) {
        if (e instanceof CoreError) throw new KeystoreError(Status.BAD_KEY, `not a usable private key (${e.code})`);
        throw e;
      }
      const keyType = keyTypeOf(this.keys.describe(spki));
      this.requireType(keyType);
      const idBytes = Buffer.from(keyId, 'utf8');
      let checkedFree = false;
      await this.op(`import ${keyType} key ${keyId}`, { loadsKey: true, kind: 'import' }, async (p11, s) => {
        checkedFree = this.claimId(s, keyId, checkedFree);
        const keyType11 = parts.kind === 'EC' ? pkcs11js.CKK_EC : pkcs11js.CKK_RSA;
        const common: Template = [
          { type: pkcs11js.CKA_KEY_TYPE, value: keyType11 },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_ID, value: idBytes },
          { type: pkcs11js.CKA_LABEL, value: keyId },
        ];
        const priv: Template = [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          ...common,
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          { type: pkcs11js.CKA_SIGN, value: true },
          ...(parts.kind === 'EC'
            ? [
                { type: pkcs11js.CKA_EC_PARAMS, value: view(parts.params) },
                { type: pkcs11js.CKA_VALUE, value: view(parts.d) },
              ]
            : [
                { type: pkcs11js.CKA_MODULUS, value: view(parts.n) },
                { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: view(parts.e) },
                { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: view(parts.d) },
                { type: pkcs11js.CKA_PRIME_1, value: view(parts.p) },
                { type: pkcs11js.CKA_PRIME_2, value: view(parts.q) },
                { type: pkcs11js.CKA_EXPONENT_1, value: view(parts.dp) },
                { type: pkcs11js.CKA_EXPONENT_2, value: view(parts.dq) },
                { type: pkcs11js.CKA_COEFFICIENT, value: view(parts.qinv) },
              ]),
        ];
        const pub: Template = [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
          ...common,
          { type: pkcs11js.CKA_PRIVATE, value: false },
          { type: pkcs11js.CKA_VERIFY, value: true },
          ...(parts.kind === 'EC'
            ? [
                { type: pkcs11js.CKA_EC_PARAMS, value: view(parts.params) },
                { type: pkcs11js.CKA_EC_POINT, value: derOctetString(parts.point) },
              ]
            : [
                { type: pkcs11js.CKA_MODULUS, value: view(parts.n) },
                { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: view(parts.e) },
              ]),
        ];
        let handles: Handle[];
        try {
          handles = [p11.C_CreateObject(s, priv), p11.C_CreateObject(s, pub)];
        } catch (e) {
          this.destroyQuietly(s, keyId);
          throw e;
        }
        for (const h of handles) this.checkId(s, h, idBytes);
      });
      return { spki, keyType };
    } finally {
      parts.wipe();
    }
  }

  override async publicKey(keyId: string): Promise<Uint8Array> {
    return this.op(`read public key ${keyId}`, {}, async (p11, s) => {
      const pub = this.find(s, keyId, pkcs11js.CKO_PUBLIC_KEY)[0];
      if (pub) return this.spkiOf(p11, s, pub, keyId);
      const priv = this.find(s, keyId, pkcs11js.CKO_PRIVATE_KEY)[0];
      if (!priv) throw this.unknownKey(keyId);
      // No public object (made by another tool): RSA private keys carry n and e.
      return this.spkiOf(p11, s, priv, keyId);
    });
  }

  override async sign(keyId: string, scheme: SignatureScheme, digest: DigestAlgorithm, hash: Uint8Array): Promise<Signature> {
    const d = DIGESTS[digest];
    if (!d) throw new KeystoreError(Status.BAD_REQUEST, `unknown digest algorithm ${String(digest)}`);
    if (hash.length !== d.length) {
      throw new KeystoreError(Status.BAD_REQUEST, `a ${digest} digest has ${d.length} bytes, not ${hash.length}`);
    }
    const input = Buffer.from(hash);
    return this.op(`sign with key ${keyId} (${scheme}, ${digest})`, { loadsKey: true }, async (p11, s) => {
      const key = this.find(s, keyId, pkcs11js.CKO_PRIVATE_KEY)[0];
      if (!key) throw this.unknownKey(keyId);
      const keyType = this.keyTypeAttr(s, key, keyId);
      const ec = keyType === pkcs11js.CKK_EC;
      if (!ec && keyType !== pkcs11js.CKK_RSA) {
        throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id}: key ${keyId} is neither EC nor RSA`);
      }
      if ((scheme === 'ECDSA') !== ec) {
        throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id}: key ${keyId} is an ${ec ? 'EC' : 'RSA'} key and cannot sign with ${scheme}`);
      }
      let mechanism: pkcs11js.Mechanism;
      let data = input;
      if (scheme === 'ECDSA') {
        this.requireMechanism(pkcs11js.CKM_ECDSA, 'ECDSA');
        mechanism = { mechanism: pkcs11js.CKM_ECDSA };
      } else if (scheme === 'RSA-PKCS1-V1_5') {
        this.requireMechanism(pkcs11js.CKM_RSA_PKCS, 'RSA PKCS#1 v1.5 signatures');
        mechanism = { mechanism: pkcs11js.CKM_RSA_PKCS };
        data = Buffer.concat([d.prefix, input]);
      } else if (scheme === 'RSA-PSS') {
        this.requireMechanism(pkcs11js.CKM_RSA_PKCS_PSS, 'RSA-PSS signatures');
        const modulus = p11.C_GetAttributeValue(s, key, [{ type: pkcs11js.CKA_MODULUS }])[0]!.value as Buffer;
        if (modulus.length < 2 * d.length + 2) {
          throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id}: key ${keyId} is too small for RSA-PSS with ${digest} and a salt as long as the hash`);
        }
        const parameter: pkcs11js.RsaPSS = { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg: d.ckm, mgf: d.mgf, saltLen: d.length };
        mechanism = { mechanism: pkcs11js.CKM_RSA_PKCS_PSS, parameter };
      } else {
        throw new KeystoreError(Status.BAD_REQUEST, `unknown signature scheme ${String(scheme)}`);
      }
      p11.C_SignInit(s, mechanism, key);
      const sig = await p11.C_SignAsync(s, data, Buffer.alloc(SIGNATURE_BUFFER));
      return { signature: new Uint8Array(sig), format: ec ? ('raw' as const) : ('der' as const) };
    });
  }

  override async delete(keyId: string): Promise<void> {
    return this.op(`delete key ${keyId}`, {}, async (p11, s) => {
      const objects = [...this.find(s, keyId, pkcs11js.CKO_PRIVATE_KEY), ...this.find(s, keyId, pkcs11js.CKO_PUBLIC_KEY)];
      if (objects.length === 0) throw this.unknownKey(keyId);
      const idBytes = Buffer.from(keyId, 'utf8');
      for (const o of objects) this.checkId(s, o, idBytes);
      for (const o of objects) p11.C_DestroyObject(s, o);
      this.afterDestroy(s);
    });
  }

  override async list(): Promise<string[]> {
    return this.op('list keys', {}, async (p11, s) => {
      const ids = new Set<string>();
      for (const h of this.findAll(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }])) {
        const id = p11.C_GetAttributeValue(s, h, [{ type: pkcs11js.CKA_ID }])[0]!.value as Buffer;
        try {
          // Keys whose CKA_ID is not UTF-8 were made by other tools, under no key id of ours.
          if (id.length > 0) ids.add(utf8Strict.decode(id));
        } catch {
          // skip
        }
      }
      return [...ids].sort();
    });
  }

  override async health(): Promise<{ ok: boolean; detail?: string }> {
    if (this.closed) return { ok: false, detail: 'store closed' };
    try {
      await this.op('health check', {}, async (p11, s) => {
        const info = p11.C_GetSessionInfo(s);
        if (info.state !== CKS_RW_USER_FUNCTIONS) this.login(s);
        try {
          // Reaches the device itself (tpm2-pkcs11: TPM2_GetRandom), not only the module.
          p11.C_GenerateRandom(s, Buffer.alloc(1));
        } catch (e) {
          if (!isCkr(e, 'CKR_FUNCTION_NOT_SUPPORTED') && !isCkr(e, 'CKR_RANDOM_NO_RNG')) throw e;
        }
      });
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }

  override async close(): Promise<void> {
    await this.enqueue(async () => {
      if (this.closed) return;
      this.closed = true;
      // No C_Logout: login is per token, and during a reload the next store of this id
      // already uses the token; closing the token's last session logs out anyway.
      this.dropSession(false);
      if (this.mod) {
        releaseModule(this.mod);
        releaseToken(this.module, this.label, this.description.id);
        this.mod = undefined;
      }
      this.pin.fill(0);
    });
  }

  // ------------------------------------------------------------------ session and queue

  /** Runs `task` after every task queued before it. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * One queued operation: opens the session if needed, runs `fn`, and on a failure that
   * means the session or device was lost re-opens once and runs `fn` once more. Maps every
   * PKCS#11 error to a KeystoreError. `fn` must be safe to run twice.
   */
  private op<T>(
    what: string,
    opts: { loadsKey?: boolean; kind?: 'import' | 'generate' },
    fn: (p11: pkcs11js.PKCS11, session: Handle) => Promise<T>,
  ): Promise<T> {
    const context = `${this.description.id}: ${what}`;
    return this.enqueue(async () => {
      let sessionRetries = 0;
      let handleRetries = 0;
      for (;;) {
        try {
          this.ensureOpen();
          const result = await fn(this.mod!.p11, this.session!);
          if (opts.loadsKey) this.afterLoad();
          return result;
        } catch (e) {
          if (e instanceof KeystoreError) throw e;
          if (this.closed) throw toKeystoreError(e, context, opts.kind);
          if (e instanceof StaleHandles) {
            // ensureOpen re-initializes the module first (reinitPending). Twice: a generation
            // retried after one clears its leftovers (which may need one more).
            if (handleRetries++ < 2) continue;
            throw new KeystoreError(Status.STORE_FAILURE, `${context}: ${e.message}, and it happened again`);
          }
          if (recoveryOf(e) === 'session' && sessionRetries++ === 0) {
            log.warn('token session lost or token busy: opening afresh and retrying once', {
              store: this.description.id,
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

  /** Throws a KeystoreError (closed, PIN rejected, module or token missing) or a raw PKCS#11 error. */
  private ensureOpen(): void {
    if (this.closed) throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id} is closed`);
    if (this.pinRejected) {
      throw new KeystoreError(
        this.pinRejected.status,
        `${this.pinRejected.message}; not tried again so as not to lock the token: configure the right PIN and reload`,
      );
    }
    if (!this.mod) {
      claimToken(this.module, this.label, this.description.id);
      try {
        this.mod = acquireModule(this.module);
      } catch (e) {
        releaseToken(this.module, this.label, this.description.id);
        throw toKeystoreError(e, `${this.description.id}`);
      }
    }
    if (this.reinitPending) {
      this.reinitPending = false;
      log.debug('re-initializing the PKCS#11 module so that object handles are unique again', { store: this.description.id });
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
    if (this.seen) throw new KeystoreError(Status.TOKEN_MISSING, `${this.description.id}: token went away: ${where}`);
    throw new KeystoreError(Status.SLOT_NOT_FOUND, `${this.description.id}: ${where}`);
  }

  private login(session: Handle): void {
    const p11 = this.mod!.p11;
    const what = `${this.description.id}: log in to token '${this.label}'`;
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

  // ------------------------------------------------------------------ objects

  private findAll(session: Handle, template: Template): Handle[] {
    const p11 = this.mod!.p11;
    p11.C_FindObjectsInit(session, template);
    const out: Handle[] = [];
    try {
      for (;;) {
        const batch = p11.C_FindObjects(session, 64);
        if (batch.length === 0) break;
        out.push(...batch);
      }
    } finally {
      p11.C_FindObjectsFinal(session);
    }
    return out;
  }

  private find(session: Handle, keyId: string, cls?: number): Handle[] {
    const template: Template = [{ type: pkcs11js.CKA_ID, value: Buffer.from(keyId, 'utf8') }];
    if (cls !== undefined) template.push({ type: pkcs11js.CKA_CLASS, value: cls });
    return this.findAll(session, template);
  }

  /**
   * Before making key `keyId`: KEY_EXISTS if any object has its CKA_ID. On a retry after
   * the id was found free, objects with it are leftovers of the failed first attempt and
   * are removed. Returns whether the id was checked free.
   */
  private claimId(session: Handle, keyId: string, checkedFree: boolean): boolean {
    const objects = this.find(session, keyId);
    if (objects.length === 0) return true;
    if (!checkedFree) throw new KeystoreError(Status.KEY_EXISTS, `key ${keyId} exists in ${this.description.id}`);
    const idBytes = Buffer.from(keyId, 'utf8');
    for (const o of objects) this.checkId(session, o, idBytes);
    for (const o of objects) this.mod!.p11.C_DestroyObject(session, o);
    this.afterDestroy(session);
    // New objects in this session could get reused handles: start over on fresh ones.
    if (this.reinitPending) throw new StaleHandles();
    return true;
  }

  /** Removes what a failed generate/import left. Never throws (the original error matters). */
  private destroyQuietly(session: Handle, keyId: string): void {
    try {
      const idBytes = Buffer.from(keyId, 'utf8');
      for (const o of this.find(session, keyId)) {
        this.checkId(session, o, idBytes);
        this.mod!.p11.C_DestroyObject(session, o);
      }
      this.afterDestroy(session);
    } catch {
      // a retry removes leftovers (claimId)
    }
  }

  private spkiOf(p11: pkcs11js.PKCS11, session: Handle, key: Handle, keyId: string): Uint8Array {
    const keyType = this.keyTypeAttr(session, key, keyId);
    try {
      if (keyType === pkcs11js.CKK_EC) {
        const [params, point] = p11.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]);
        return this.crypto.spkiFromEc(params!.value as Buffer, point!.value as Buffer);
      }
      if (keyType === pkcs11js.CKK_RSA) {
        const [n, e] = p11.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
        return this.crypto.spkiFromRsa(n!.value as Buffer, e!.value as Buffer);
      }
    } catch (e) {
      if (e instanceof CoreError) {
        throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id}: the token's public key of ${keyId} does not parse (${e.code})`);
      }
      if (isCkr(e, 'CKR_ATTRIBUTE_TYPE_INVALID')) {
        throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id}: key ${keyId} has no public key object`);
      }
      throw e;
    }
    throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id}: key ${keyId} is neither EC nor RSA`);
  }

  /** Throws StaleHandles unless the object behind `handle` has CKA_ID `id`. */
  private checkId(session: Handle, handle: Handle, id: Buffer): void {
    const got = this.mod!.p11.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_ID }])[0]!.value as Buffer;
    if (!got.equals(id)) {
      this.reinitPending = true;
      throw new StaleHandles();
    }
  }

  /** CKA_KEY_TYPE of key `keyId`'s object `handle`, checking the handle still names it. */
  private keyTypeAttr(session: Handle, handle: Handle, keyId: string): number {
    const [id, type] = this.mod!.p11.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_KEY_TYPE }]);
    if (!(id!.value as Buffer).equals(Buffer.from(keyId, 'utf8'))) {
      this.reinitPending = true;
      throw new StaleHandles();
    }
    return ulong(type!.value as Buffer);
  }

  /**
   * After destroying objects: on tpm2-pkcs11, if the lowest handle is not 1 any more the
   * next new object would get a handle in use (see "Handle reuse" above): re-initialize the
   * module before the next operation.
   */
  private afterDestroy(session: Handle): void {
    if (!this.mod || !TPM2_PKCS11.test(this.mod.manufacturer)) return;
    const handles = this.findAll(session, []);
    if (handles.length > 0 && Math.min(...handles.map(ulong)) !== 1) this.reinitPending = true;
  }

  private requireMechanism(mechanism: number, what: string): void {
    if (!this.mechanisms.has(mechanism)) {
      throw new KeystoreError(Status.NOT_SUPPORTED, `${this.description.id}: token '${this.label}' does not offer ${what}`);
    }
  }

  private unknownKey(keyId: string): KeystoreError {
    return new KeystoreError(Status.UNKNOWN_KEY, `no key ${keyId} in ${this.description.id}`);
  }
}
