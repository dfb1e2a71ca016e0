// A key store on a PKCS#11 token: a secure element (SE0; SoftHSM2 stands in for it in
// development) or the TPM through tpm2-pkcs11 (TPM0). This file is the KeyStore port's
// operations; the token connection (login, relogin, recovery, queue) is pkcs11-session.ts,
// the handle checks pkcs11-objects.ts, the object layout and mechanisms pkcs11-templates.ts.
//
// Long calls use pkcs11js's *Async forms (key generation, signing), so the event loop does
// not wait for the token. SPKIs are built by the crypto core from the public object's
// attributes. Every operation may run twice (the session's retry), so generate and import
// remove what a failed first attempt left (claimId).
import * as pkcs11js from 'pkcs11js';
import { KeystoreError } from '../../ipc/errors';
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
import type { StoreCrypto } from '../../wasm/store';
import { isCkr } from './pkcs11-errors';
import { StaleHandles, type Handle, type TokenObjects } from './pkcs11-objects';
import { Pkcs11Session } from './pkcs11-session';
import { DIGESTS, generateTemplates, importTemplates, OAEP_SHA256, SEAL_KEY_ID, sealKeyTemplates, signMechanism } from './pkcs11-templates';
import type { KekSealer } from './kek-file';
import { BaseKeyStore, keyTypeOf, type ServiceKeySource, type Signature } from './port';

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

/** Large enough for any signature here (RSA-4096: 512 bytes; ECDSA P-521 raw: 132). */
const SIGNATURE_BUFFER = 1024;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export class Pkcs11Store extends BaseKeyStore implements KekSealer {
  readonly description: StoreDescription;
  private readonly token: Pkcs11Session;
  private readonly reference: { module: string; label: string };

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
    this.reference = { module: config.module, label: config.token_label };
    this.token = new Pkcs11Session({
      storeId: config.id,
      module: config.module,
      label: config.token_label,
      pin: config.pin,
      reloginEvery: config.relogin_every,
    });
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
    return this.token.run('open the token', {}, async () => undefined);
  }

  /** Log out and in after this many key-loading operations (0 = never). */
  get reloginPolicy(): number {
    return this.token.reloginPolicy;
  }

  override async generate(keyId: string, type: KeyType): Promise<Uint8Array> {
    this.requireType(type);
    const { mechanism, what, pub, priv } = generateTemplates(keyId, type);
    let checkedFree = false;
    return this.token.run(`generate ${type} key ${keyId}`, { loadsKey: true, kind: 'generate' }, async (t) => {
      checkedFree = this.claimId(t, keyId, checkedFree);
      this.token.requireMechanism(mechanism, what);
      const pair = await this.cleaningUp(t, keyId, () => t.p11.C_GenerateKeyPairAsync(t.session, { mechanism }, pub, priv));
      t.checkId(pair.privateKey, keyId);
      return this.cleaningUp(t, keyId, async () => {
        const spki = this.spkiOf(t, pair.publicKey, keyId);
        const got = keyTypeOf(this.keys.describe(spki));
        if (got !== type) throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id}: asked for ${type}, the token made ${got}`);
        return spki;
      });
    });
  }

  override async import(keyId: string, privateDer: Uint8Array): Promise<{ spki: Uint8Array; keyType: KeyType }> {
    if (!this.description.can_import) return super.import(keyId, privateDer);
    const parts = badKey(() => this.crypto.keyParts(privateDer));
    try {
      const spki = badKey(() => (parts.kind === 'EC' ? this.crypto.spkiFromEc(parts.params, parts.point) : this.crypto.spkiFromRsa(parts.n, parts.e)));
      const keyType = keyTypeOf(this.keys.describe(spki));
      this.requireType(keyType);
      const templates = importTemplates(keyId, parts);
      let checkedFree = false;
      await this.token.run(`import ${keyType} key ${keyId}`, { loadsKey: true, kind: 'import' }, async (t) => {
        checkedFree = this.claimId(t, keyId, checkedFree);
        const handles = await this.cleaningUp(t, keyId, async () => templates.map((tpl) => t.p11.C_CreateObject(t.session, tpl)));
        for (const h of handles) t.checkId(h, keyId);
      });
      return { spki, keyType };
    } finally {
      parts.wipe();
    }
  }

  override async publicKey(keyId: string): Promise<Uint8Array> {
    return this.token.run(`read public key ${keyId}`, {}, async (t) => {
      const pub = t.find(keyId, pkcs11js.CKO_PUBLIC_KEY)[0];
      if (pub) return this.spkiOf(t, pub, keyId);
      const priv = t.find(keyId, pkcs11js.CKO_PRIVATE_KEY)[0];
      if (!priv) throw this.unknownKey(keyId);
      // No public object (made by another tool): RSA private keys carry n and e.
      return this.spkiOf(t, priv, keyId);
    });
  }

  /**
   * The key stays in the token: services reach it by its RFC 7512 URI (the key's label is its
   * id) and log in with a copy of the PIN the caller writes to the service's file and wipes.
   */
  override async serviceKey(keyId: string): Promise<ServiceKeySource> {
    const { module, label } = this.reference;
    await this.publicKey(keyId);
    const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    return { kind: 'pkcs11', module, uri: `pkcs11:token=${enc(label)};object=${enc(keyId)};type=private`, pin: this.token.pinCopy() };
  }

  override async sign(keyId: string, scheme: SignatureScheme, digest: DigestAlgorithm, hash: Uint8Array): Promise<Signature> {
    const d = DIGESTS[digest];
    if (!d) throw new KeystoreError(Status.BAD_REQUEST, `unknown digest algorithm ${String(digest)}`);
    if (hash.length !== d.length) {
      throw new KeystoreError(Status.BAD_REQUEST, `a ${digest} digest has ${d.length} bytes, not ${hash.length}`);
    }
    const input = Buffer.from(hash);
    return this.token.run(`sign with key ${keyId} (${scheme}, ${digest})`, { loadsKey: true }, async (t) => {
      const key = t.find(keyId, pkcs11js.CKO_PRIVATE_KEY)[0];
      if (!key) throw this.unknownKey(keyId);
      const ec = this.isEc(t, key, keyId);
      if ((scheme === 'ECDSA') !== ec) {
        throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id}: key ${keyId} is an ${ec ? 'EC' : 'RSA'} key and cannot sign with ${scheme}`);
      }
      const { mechanism, what, data } = signMechanism(scheme, d, input);
      this.token.requireMechanism(mechanism.mechanism, what);
      if (scheme === 'RSA-PSS') {
        const modulus = t.p11.C_GetAttributeValue(t.session, key, [{ type: pkcs11js.CKA_MODULUS }])[0]!.value as Buffer;
        if (modulus.length < 2 * d.length + 2) {
          throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id}: key ${keyId} is too small for RSA-PSS with ${digest} and a salt as long as the hash`);
        }
      }
      t.p11.C_SignInit(t.session, mechanism, key);
      const sig = await t.p11.C_SignAsync(t.session, data, Buffer.alloc(SIGNATURE_BUFFER));
      return { signature: new Uint8Array(sig), format: ec ? ('raw' as const) : ('der' as const) };
    });
  }

  override async delete(keyId: string): Promise<void> {
    return this.token.run(`delete key ${keyId}`, {}, async (t) => {
      const objects = [...t.find(keyId, pkcs11js.CKO_PRIVATE_KEY), ...t.find(keyId, pkcs11js.CKO_PUBLIC_KEY)];
      if (objects.length === 0) throw this.unknownKey(keyId);
      t.destroy(keyId, objects);
    });
  }

  override async list(): Promise<string[]> {
    return this.token.run('list keys', {}, async (t) => {
      const ids = new Set<string>();
      for (const h of t.findAll([{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }])) {
        const id = t.p11.C_GetAttributeValue(t.session, h, [{ type: pkcs11js.CKA_ID }])[0]!.value as Buffer;
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

  get sealerId(): string {
    return this.description.id;
  }

  /** Encrypts `secret` under the token's KEK sealing key, made on first use. */
  seal(secret: Uint8Array): Promise<Uint8Array> {
    const plain = Buffer.from(secret);
    return this.token.run('seal a key-encryption key', { loadsKey: true }, async (t) => {
      try {
        this.token.requireMechanism(pkcs11js.CKM_RSA_PKCS_OAEP, 'RSA-OAEP');
        let pub = t.find(SEAL_KEY_ID, pkcs11js.CKO_PUBLIC_KEY)[0];
        if (!pub || t.find(SEAL_KEY_ID, pkcs11js.CKO_PRIVATE_KEY).length === 0) {
          this.token.requireMechanism(pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN, 'RSA key generation');
          t.destroy(SEAL_KEY_ID, t.find(SEAL_KEY_ID));
          const { pub: pubTpl, priv } = sealKeyTemplates();
          pub = (await t.p11.C_GenerateKeyPairAsync(t.session, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN }, pubTpl, priv)).publicKey;
        }
        t.checkId(pub, SEAL_KEY_ID);
        // An output buffer larger than the modulus: tpm2-pkcs11 1.9 reports its whole length.
        const modulus = t.p11.C_GetAttributeValue(t.session, pub, [{ type: pkcs11js.CKA_MODULUS }])[0]!.value as Buffer;
        t.p11.C_EncryptInit(t.session, OAEP_SHA256, pub);
        return new Uint8Array(t.p11.C_Encrypt(t.session, plain, Buffer.alloc(modulus.length)));
      } finally {
        plain.fill(0);
      }
    });
  }

  /** Decrypts what `seal` made, inside the token. */
  unseal(sealed: Uint8Array): Promise<Uint8Array> {
    return this.token.run('unseal a key-encryption key', { loadsKey: true }, async (t) => {
      const key = t.find(SEAL_KEY_ID, pkcs11js.CKO_PRIVATE_KEY)[0];
      if (!key) throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id}: the token has no KEK sealing key (certd-kek-seal); was it cleared?`);
      t.checkId(key, SEAL_KEY_ID);
      const out = Buffer.alloc(sealed.length);
      try {
        t.p11.C_DecryptInit(t.session, OAEP_SHA256, key);
        return new Uint8Array(t.p11.C_Decrypt(t.session, Buffer.from(sealed), out));
      } finally {
        out.fill(0);
      }
    });
  }

  override async health(): Promise<{ ok: boolean; detail?: string }> {
    if (this.token.closed) return { ok: false, detail: 'store closed' };
    try {
      await this.token.check();
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }

  override close(): Promise<void> {
    return this.token.close();
  }

  /**
   * Before making key `keyId`: KEY_EXISTS if any object has its CKA_ID. On a retry after
   * the id was found free, objects with it are leftovers of the failed first attempt and
   * are removed. Returns whether the id was checked free.
   */
  private claimId(t: TokenObjects, keyId: string, checkedFree: boolean): boolean {
    const objects = t.find(keyId);
    if (objects.length === 0) return true;
    if (!checkedFree) throw new KeystoreError(Status.KEY_EXISTS, `key ${keyId} exists in ${this.description.id}`);
    t.destroy(keyId, objects);
    // New objects in this session could get reused handles: start over on fresh ones.
    if (t.handlesStale) throw new StaleHandles();
    return true;
  }

  /** Runs `step` of making key `keyId`; if it fails, removes what it left (quietly: its error matters) and rethrows. */
  private async cleaningUp<T>(t: TokenObjects, keyId: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (e) {
      try {
        t.destroy(keyId, t.find(keyId));
      } catch {
        // a retry removes leftovers (claimId)
      }
      throw e;
    }
  }

  /** Whether key `keyId`'s object `handle` is EC (else RSA; UNSUPPORTED_KEY_TYPE if neither). */
  private isEc(t: TokenObjects, handle: Handle, keyId: string): boolean {
    const keyType = t.keyType(handle, keyId);
    if (keyType !== pkcs11js.CKK_EC && keyType !== pkcs11js.CKK_RSA) {
      throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `${this.description.id}: key ${keyId} is neither EC nor RSA`);
    }
    return keyType === pkcs11js.CKK_EC;
  }

  private spkiOf(t: TokenObjects, key: Handle, keyId: string): Uint8Array {
    const ec = this.isEc(t, key, keyId);
    const attrs = ec ? [pkcs11js.CKA_EC_PARAMS, pkcs11js.CKA_EC_POINT] : [pkcs11js.CKA_MODULUS, pkcs11js.CKA_PUBLIC_EXPONENT];
    try {
      const [a, b] = t.p11.C_GetAttributeValue(t.session, key, attrs.map((type) => ({ type }))).map((x) => x.value as Buffer);
      return ec ? this.crypto.spkiFromEc(a!, b!) : this.crypto.spkiFromRsa(a!, b!);
    } catch (e) {
      if (e instanceof CoreError) {
        throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id}: the token's public key of ${keyId} does not parse (${e.code})`);
      }
      if (isCkr(e, 'CKR_ATTRIBUTE_TYPE_INVALID')) {
        throw new KeystoreError(Status.STORE_FAILURE, `${this.description.id}: key ${keyId} has no public key object`);
      }
      throw e;
    }
  }

  private unknownKey(keyId: string): KeystoreError {
    return new KeystoreError(Status.UNKNOWN_KEY, `no key ${keyId} in ${this.description.id}`);
  }
}

/** `f()`, with the core's refusal of the key as BAD_KEY. */
function badKey<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CoreError) throw new KeystoreError(Status.BAD_KEY, `not a usable private key (${e.code})`);
    throw e;
  }
}
