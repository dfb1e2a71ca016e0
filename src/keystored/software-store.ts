// SOFTWARE0: keys as files in a folder, each sealed with AES-256-GCM (through the crypto
// core) under a key-encryption key made on first run. Files are 0600, written atomically.
// The seal binds the key id and type (AAD), so a file renamed or edited does not open.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KeystoreError } from '../../ipc/errors';
import { Status, type DigestAlgorithm, type KeyType, type SignatureScheme, type StoreDescription } from '../../ipc/protocol';
import { CoreError } from '../../wasm/errors';
import { type KeyJobs, Keys, wipe } from '../../wasm/keys';
import { StoreCrypto } from '../../wasm/store';
import { unlinkDurable, writeFileAtomic } from '../common/atomic-file';
import { loadKek, type KekSealer } from './kek-file';
import { BaseKeyStore, keyTypeOf, type ServiceKeySource, type Signature } from './port';
import { PasswordSeal } from './password-seal';

const MAGIC = Buffer.from('CKS1');
const KEY_SUFFIX = '.key';

export interface SoftwareStoreConfig {
  id: string;
  dir: string;
  /** The key-encryption key: a file apart from the key files, 0600, owned by keystored. */
  kekFile: string;
  /** The token that seals the KEK file (kek-file.ts); none: the file holds it plain. */
  sealer?: KekSealer;
  certifications?: string[];
  key_types?: KeyType[];
}

export class SoftwareStore extends BaseKeyStore {
  readonly description: StoreDescription;
  /** Seals users' passwords under a key derived from this store's KEK (password-seal.ts). */
  readonly passwords: PasswordSeal;
  private readonly dir: string;

  static describe(config: { id: string; certifications?: string[]; key_types?: KeyType[] }): StoreDescription {
    return {
      id: config.id,
      security_level: 'SOFTWARE',
      certifications: config.certifications ?? [],
      key_types: config.key_types ?? ['EC-P256', 'EC-P384', 'EC-P521', 'RSA-2048', 'RSA-3072', 'RSA-4096'],
      can_generate: true,
      can_import: true,
      // Overwriting a file on flash does not reach the old blocks: no secure wipe claimed.
      can_secure_wipe: false,
    };
  }

  /** The store with its KEK loaded (and sealed, if so configured). */
  static async open(config: SoftwareStoreConfig, keys: Keys, jobs: KeyJobs, crypto: StoreCrypto): Promise<SoftwareStore> {
    mkdirSync(config.dir, { recursive: true, mode: 0o700 });
    chmodSync(config.dir, 0o700);
    removeStaleTemporaries(config.dir);
    const kek = await loadKek({ storeId: config.id, path: config.kekFile, legacyPath: join(config.dir, 'kek'), crypto, sealer: config.sealer });
    return new SoftwareStore(config, kek, keys, jobs, crypto);
  }

  /**
   * `jobs` runs RSA keygen and signing off the event loop; EC keygen and signing take a
   * few ms and stay, sparing each create a worker round trip and, after the worker's idle
   * stop, a ~200 ms thread start.
   */
  private constructor(
    config: SoftwareStoreConfig,
    private readonly kek: Uint8Array,
    private readonly keys: Keys,
    private readonly jobs: KeyJobs,
    private readonly crypto: StoreCrypto,
  ) {
    super();
    this.description = SoftwareStore.describe(config);
    this.dir = config.dir;
    this.passwords = new PasswordSeal(config.id, kek, crypto);
  }

  override async generate(keyId: string, type: KeyType): Promise<Uint8Array> {
    this.requireType(type);
    this.requireFree(keyId);
    const pair = type.startsWith('RSA') ? await this.jobs.generate(type) : this.keys.generate(type);
    try {
      // Other requests ran during the keygen: the id may have been taken meanwhile.
      this.requireFree(keyId);
      this.write(keyId, type, pair.privateDer);
      return pair.spki;
    } finally {
      wipe(pair.privateDer);
    }
  }

  override async import(keyId: string, privateDer: Uint8Array): Promise<{ spki: Uint8Array; keyType: KeyType }> {
    this.requireFree(keyId);
    let pair;
    try {
      pair = this.keys.parse(privateDer);
    } catch (e) {
      if (e instanceof CoreError) throw new KeystoreError(Status.BAD_KEY, `not a usable private key (${e.code})`);
      throw e;
    }
    try {
      const keyType = keyTypeOf(this.keys.describe(pair.spki));
      this.requireType(keyType);
      this.write(keyId, keyType, pair.privateDer);
      return { spki: pair.spki, keyType };
    } finally {
      wipe(pair.privateDer);
    }
  }

  override async publicKey(keyId: string): Promise<Uint8Array> {
    return this.withKey(keyId, (der) => this.keys.parse(der).spki);
  }

  override async sign(keyId: string, scheme: SignatureScheme, digest: DigestAlgorithm, hash: Uint8Array): Promise<Signature> {
    return this.withKey(keyId, async (der, type) => {
      try {
        const signature = type.startsWith('RSA') ? await this.jobs.sign(der, scheme, digest, hash) : this.keys.sign(der, scheme, digest, hash);
        return { signature, format: 'der' as const };
      } catch (e) {
        if (e instanceof CoreError && e.code === 'UNSUPPORTED_ALGORITHM') {
          throw new KeystoreError(Status.UNSUPPORTED_KEY_TYPE, `key ${keyId} cannot sign with ${scheme}`);
        }
        throw e;
      }
    });
  }

  /** The key in the clear for a device service's key file; the caller wipes `privateDer`. */
  override async serviceKey(keyId: string): Promise<ServiceKeySource> {
    return this.withKey(keyId, (der) => {
      const pair = this.keys.parse(der);
      return { kind: 'der' as const, privateDer: pair.privateDer, spki: pair.spki };
    });
  }

  override async delete(keyId: string): Promise<void> {
    const path = this.pathOf(keyId);
    if (!existsSync(path)) throw new KeystoreError(Status.UNKNOWN_KEY, `no key ${keyId} in ${this.description.id}`);
    unlinkDurable(path);
  }

  override async list(): Promise<string[]> {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(KEY_SUFFIX) && !f.startsWith('.'))
      .map((f) => f.slice(0, -KEY_SUFFIX.length))
      .sort();
  }

  override async health(): Promise<{ ok: boolean; detail?: string }> {
    return existsSync(this.dir) ? { ok: true } : { ok: false, detail: 'key folder missing' };
  }

  override async close(): Promise<void> {
    this.passwords.close();
    wipe(this.kek);
  }

  private pathOf(keyId: string): string {
    return join(this.dir, keyId + KEY_SUFFIX);
  }

  private requireFree(keyId: string): void {
    if (existsSync(this.pathOf(keyId))) throw new KeystoreError(Status.KEY_EXISTS, `key ${keyId} exists in ${this.description.id}`);
  }

  private aad(keyId: string, type: string): Uint8Array {
    return Buffer.from(`certd-software-key|${this.description.id}|${keyId}|${type}`, 'utf8');
  }

  // File: "CKS1" | type length (u8) | type (ASCII) | nonce || ciphertext || tag
  private write(keyId: string, type: KeyType, privateDer: Uint8Array): void {
    const sealed = this.crypto.seal(this.kek, this.aad(keyId, type), privateDer);
    const t = Buffer.from(type, 'ascii');
    writeFileAtomic(this.pathOf(keyId), Buffer.concat([MAGIC, Buffer.from([t.length]), t, sealed]));
  }

  private async withKey<T>(keyId: string, use: (der: Uint8Array, type: string) => T | Promise<T>): Promise<T> {
    const path = this.pathOf(keyId);
    if (!existsSync(path)) throw new KeystoreError(Status.UNKNOWN_KEY, `no key ${keyId} in ${this.description.id}`);
    const file = readFileSync(path);
    const tlen = file[4] ?? 0;
    if (!file.subarray(0, 4).equals(MAGIC) || file.length < 5 + tlen) {
      throw new KeystoreError(Status.STORE_FAILURE, `key file of ${keyId} is damaged`);
    }
    const type = file.subarray(5, 5 + tlen).toString('ascii');
    let der: Uint8Array;
    try {
      der = this.crypto.open(this.kek, this.aad(keyId, type), file.subarray(5 + tlen));
    } catch (e) {
      if (e instanceof CoreError) throw new KeystoreError(Status.STORE_FAILURE, `key file of ${keyId} does not authenticate`);
      throw e;
    }
    try {
      return await use(der, type);
    } finally {
      wipe(der);
    }
  }
}

// A write cut short by a crash leaves only its temporary file; the key it was for never
// existed as far as anyone was told.
function removeStaleTemporaries(dir: string): void {
  for (const f of readdirSync(dir)) if (f.startsWith('.') && f.endsWith('.tmp')) unlinkDurable(join(dir, f));
}
