// Every rule about certificates, whichever API asked: aliases, uniqueness across the two
// collections, same-key replacement, the get_csr field rules, default keystore, and the
// order of steps that keeps the store and keystored consistent (see store/journal.ts).
import { randomUUID } from 'node:crypto';
import { crashPoint } from '../../common/crash-point';
import type { KeyType, StoreDescription } from '../../../ipc/protocol';
import { CoreError } from '../../../wasm/errors';
import { type Keys, wipe } from '../../../wasm/keys';
import { derToPem } from '../../../wasm/pem';
import type { Pkcs12 } from '../../../wasm/pkcs12';
import type { CertificateInfo, X509 } from '../../../wasm/x509';
import type { X509Writer } from '../../../wasm/x509write';
import type { Journal, Intent, PendingRequest } from '../store/journal';
import type { Entry, EntryKind, RecordStore } from '../store/records';
import type { Audit, AuditTarget } from './audit';
import { DomainError } from './errors';
import type { Keystores } from './keystores';
import { EntryNames } from './lookup';
import { checkAlias, lookupForm } from './names';

export interface Crypto {
  keys: Keys;
  x509: X509;
  writer: X509Writer;
  pkcs12: Pkcs12;
}

export interface CreateCertificate {
  alias: string;
  subject: string;
  subjectAltNames?: string[];
  keyType?: KeyType;
  keystore?: string;
  /** Unix seconds. */
  validFrom?: number;
  validTo?: number;
}

/** A checked create (planCreate). */
export interface CreatePlan {
  keystore: string;
  keyType: KeyType;
  notBefore: number;
  notAfter: number;
}

export interface CsrRequest {
  /** Absent: copied from the certificate; "": left out. */
  subject?: string;
  /** Absent: copied from the certificate; []: left out. */
  subjectAltNames?: string[];
}

/** A CSR made on the device (2N /api/cert/csr): a new key, kept pending until its certificate comes. */
export interface CertificateRequest {
  alias: string;
  subject: string;
  subjectAltNames?: string[];
  keyType?: KeyType;
  keystore?: string;
}

export interface EntryView {
  alias: string;
  /** The leaf, then any chain that came with it. */
  certificate: string;
  keystore?: string;
}

const DEFAULT_KEY_TYPE: KeyType = 'EC-P256';
/** Parsed certificates remembered (oldest forgotten first). */
const PARSED_MAX = 1024;
/** How often an unfinished journal is retried while keystored is away. */
const RETRY_MS = 1000;
const YEAR_S = 365 * 24 * 3600;

/** Core errors of input the user gave, named by the field that held it. */
function inputError(e: unknown, field: string): never {
  if (!(e instanceof CoreError)) throw e;
  switch (e.code) {
    case 'WRONG_PASSPHRASE':
      throw new DomainError('WRONG_PASSPHRASE', 'wrong passphrase', field === 'pkcs12' || field === 'private_key' ? 'passphrase' : field);
    case 'PASSPHRASE_REQUIRED':
      throw new DomainError('BAD_PRIVATE_KEY', 'the private key is encrypted; upload it decrypted or as PKCS#12', field);
    case 'BAD_PKCS12':
    case 'PKCS12_NO_KEY':
    case 'PKCS12_NO_CERTIFICATE':
      throw new DomainError('BAD_PKCS12', e.message, field);
    case 'BAD_SUBJECT':
      throw new DomainError('INVALID', e.message, 'subject');
    case 'BAD_SUBJECT_ALT_NAME':
      throw new DomainError('INVALID', e.message, 'subject_alt_names');
    case 'BAD_VALIDITY':
      throw new DomainError('INVALID', e.message, 'valid_to');
    case 'UNSUPPORTED_KEY_TYPE':
    case 'UNSUPPORTED_ALGORITHM':
      throw new DomainError(field === 'private_key' ? 'BAD_PRIVATE_KEY' : 'BAD_CERTIFICATE', e.message, field);
    default:
      throw new DomainError(field === 'private_key' ? 'BAD_PRIVATE_KEY' : field === 'pkcs12' ? 'BAD_PKCS12' : 'BAD_CERTIFICATE', e.message, field);
  }
}

function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** A key of ours that no entry uses and no intent of this store generation names. */
export interface UnownedKey {
  keystore: string;
  key_id: string;
}

/** How a declared factory entry fared at start (domain/factory.ts). */
export interface FactoryStatus {
  alias: string;
  ok: boolean;
  detail?: string;
}

/** What the bindings (domain/bindings.ts) answer about entries they use. */
export interface Usage {
  /** Names of the bindings that use the entry. */
  usedBy(entryId: string): string[];
  /** Applies again every binding that uses the entry (its certificate was replaced). */
  reapply(entryId: string): Promise<void>;
}

/** An entry as the bindings and /certd/v1 see it. */
export interface EntryDetails {
  entry: Entry;
  info: CertificateInfo;
  sha1: string;
  sha256: string;
}

export class Certificates {
  /**
   * Mutations run one at a time (uniqueness checks and multi-step writes do not
   * interleave), except the slow part of adding an entry with a key: that runs outside
   * the queue under an alias reserved in it, so a key generated in one store does not
   * hold up writes in another.
   */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly reserved = new Set<string>();
  /** Key ids of adds running outside the queue: their intents are theirs to finish. */
  private readonly inFlight = new Set<string>();
  private retry: NodeJS.Timeout | undefined;
  private readonly parsed = new Map<string, CertificateInfo>();
  /** What the last reconcile found and left alone (reported, never deleted). */
  unowned: UnownedKey[] = [];
  /** The factory entries the last start declared (see domain/factory.ts). */
  factory: FactoryStatus[] = [];
  /** Each API's names for entries. */
  readonly names: EntryNames;
  private usage: Usage = { usedBy: () => [], reapply: async () => undefined };

  constructor(
    private readonly store: RecordStore,
    private readonly journal: Journal,
    private readonly keystores: Keystores,
    private readonly crypto: Crypto,
    private readonly audit: Audit,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.names = new EntryNames(store, (pem) => this.info(pem));
  }

  /** Connects the bindings (the composition root does, once both exist). */
  attach(usage: Usage): void {
    this.usage = usage;
  }

  // --- reading ---------------------------------------------------------------------------

  /** Every entry with its parsed certificate and fingerprints, in alias order. */
  details(): EntryDetails[] {
    return [...this.store.list('certificate'), ...this.store.list('ca')].map((e) => this.detail(e));
  }

  /** The entry a /certd/v1 name finds: its id, or else its alias. */
  find(name: string): EntryDetails | undefined {
    const e = this.store.getById(name) ?? this.byAlias(name);
    return e && this.detail(e);
  }

  /** Entries whose leaf has this SHA-1 or SHA-256 fingerprint (hex, any case, colons allowed). */
  withFingerprint(hex: string): EntryDetails[] {
    return this.store.getByFingerprint(hex.replace(/:/g, '').toLowerCase()).map((e) => this.detail(e));
  }

  /** Proves the entry's key is in its key store and signs for the certificate's public key. */
  async keySigns(e: Entry): Promise<void> {
    const info = this.info(e.certificate);
    const tbs = this.build(() => this.crypto.writer.csrTbs({ spki: base64(info.spki), subject: info.subject, subjectAltNames: [] }));
    // Assembly verifies the signature against the certificate's public key.
    await this.signWith(e.keystore!, e.key_id!, tbs, (t, sig, f) => this.crypto.writer.assembleCsr(t, sig, f));
  }

  /** Verifies the entry's chain against `anchors` (PEM) now; flags are data. */
  verifyChain(e: Entry, anchors: string[]): ReturnType<X509['verifyChain']> {
    return this.chainCheck([e.certificate, ...e.chain], anchors);
  }

  private chainCheck(pems: string[], anchors: string[]): ReturnType<X509['verifyChain']> {
    return this.crypto.x509.verifyChain(Buffer.from(pems.join('\n')), Buffer.from(anchors.join('\n')), new Date(this.now() * 1000));
  }

  /** A certificate's details (PEM), parsed once. */
  parse(pem: string): CertificateInfo {
    return this.info(pem);
  }

  nowSeconds(): number {
    return this.now();
  }

  private detail(e: Entry): EntryDetails {
    return { entry: e, info: this.info(e.certificate), ...this.store.fingerprints(e) };
  }

  list(kind: EntryKind): EntryView[] {
    return this.store.list(kind).map(view);
  }

  get(kind: EntryKind, alias: string): EntryView {
    return view(this.entry(kind, alias));
  }

  /**
   * keystored's stores as they answer now, and what the last start found and kept: keys
   * of ours no entry uses (see reconcile) and journal intents set aside.
   */
  async health(): Promise<{
    ok: boolean; keystores: { id: string; ok: boolean; detail?: string }[]; factory: FactoryStatus[]; unowned_keys: UnownedKey[]; journal_pending: number;
  }> {
    const keystores = await this.keystores.health().catch((e: DomainError) => [{ id: 'keystored', ok: false, detail: e.message }]);
    const ok = keystores.every((k) => k.ok) && this.factory.every((f) => f.ok);
    return { ok, keystores, factory: this.factory, unowned_keys: this.unowned, journal_pending: this.journal.pending().length + this.journal.batches().length };
  }

  async listKeystores(): Promise<StoreDescription[]> {
    return this.keystores.describe();
  }

  async keystore(id: string): Promise<StoreDescription> {
    const s = (await this.keystores.describe()).find((k) => k.id === id);
    if (!s) throw new DomainError('NOT_FOUND', `no keystore ${id}`);
    return s;
  }

  async defaultKeystore(): Promise<string> {
    const stores = await this.keystores.describe();
    const chosen = this.store.defaultKeystore();
    return chosen && stores.some((s) => s.id === chosen) ? chosen : stores[0]!.id;
  }

  setDefaultKeystore(id: string): Promise<void> {
    return this.audit.change('set_default_keystore', () => ({ keystore: id }), () => this.serial(async () => {
      await this.keystore(id).catch(() => {
        throw new DomainError('UNKNOWN_KEYSTORE', 'no such keystore', 'keystore');
      });
      this.store.setDefaultKeystore(id);
    }));
  }

  // --- certificates with keys ---------------------------------------------------------------

  createCertificate(req: CreateCertificate): Promise<void> {
    return this.audit.change('create_certificate', () => this.target(req.alias), () => this.reserving(req.alias, async (alias) => {
      const plan = await this.planCreate(req);
      await this.withNewKey(alias, plan.keystore, (keyId) => this.makeCreated(req, plan, keyId));
    }));
  }

  /** Checks a create request: the key store, key type and dates it will use. */
  async planCreate(req: CreateCertificate): Promise<CreatePlan> {
    if (req.subject.trim() === '') throw new DomainError('INVALID', 'must not be empty', 'subject');
    const notBefore = req.validFrom ?? this.now();
    const notAfter = req.validTo ?? notBefore + YEAR_S;
    if (notAfter <= notBefore) throw new DomainError('INVALID', 'must be after valid_from', 'valid_to');
    const store = await this.usableStore(req.keystore, 'can_generate');
    const keyType = req.keyType ?? DEFAULT_KEY_TYPE;
    if (!store.key_types.includes(keyType)) {
      throw new DomainError('UNSUPPORTED_KEY_TYPE', `${keyType} is not offered by ${store.id}`, 'key_type');
    }
    return { keystore: store.id, keyType, notBefore, notAfter };
  }

  /** Generates the key `keyId` of a checked create and the self-signed certificate for it. */
  async makeCreated(req: CreateCertificate, plan: CreatePlan, keyId: string): Promise<{ certificate: string; chain: string[] }> {
    const { spki } = await this.keystores.generate(plan.keystore, keyId, plan.keyType);
    const tbs = this.build(() =>
      this.crypto.writer.certificateTbs({
        spki,
        subject: req.subject,
        subjectAltNames: req.subjectAltNames ?? [],
        notBefore: new Date(plan.notBefore * 1000),
        notAfter: new Date(plan.notAfter * 1000),
      }),
    );
    const der = await this.signWith(plan.keystore, keyId, tbs, (t, s, f) => this.crypto.writer.assembleCertificate(t, s, f));
    return { certificate: derToPem('CERTIFICATE', der), chain: [] };
  }

  addCertificate(name: string, certificatePem: string, privateKeyPem: Uint8Array, keystore?: string): Promise<void> {
    return this.audit.change('add_certificate', () => this.target(name), () => this.reserving(name, async (alias) => {
      const up = this.checkUpload(certificatePem, privateKeyPem);
      try {
        await this.importEntry(alias, keystore, up.privateDer, up.certificate, up.chain);
      } finally {
        wipe(up.privateDer);
      }
    }));
  }

  /**
   * A certificate (with any chain) and the private key that belongs to it (PEM or DER, any
   * form keys.parse reads; `passphrase` for an encrypted one); the caller wipes `privateDer`.
   */
  checkUpload(certificatePem: string, privateKey: Uint8Array, passphrase?: Uint8Array): { certificate: string; chain: string[]; privateDer: Uint8Array } {
    const [leaf, ...chain] = this.readCertificates(certificatePem, 'certificate');
    let pair;
    try {
      pair = this.crypto.keys.parse(privateKey, passphrase);
    } catch (e) {
      inputError(e, 'private_key');
    }
    if (!this.crypto.keys.same(pair.spki, base64(leaf!.info.spki))) {
      wipe(pair.privateDer);
      throw new DomainError('KEY_MISMATCH', 'the private key does not belong to the certificate', 'private_key');
    }
    return { certificate: leaf!.pem, chain: chain.map((c) => c.pem), privateDer: pair.privateDer };
  }

  /** What a private key is (PEM or DER, unencrypted): its kind and SubjectPublicKeyInfo DER; nothing kept. */
  describeKey(privateKey: Uint8Array): { type: 'rsa' | 'ec'; spki: Uint8Array } {
    let pair;
    try {
      pair = this.crypto.keys.parse(privateKey);
    } catch (e) {
      inputError(e, 'private_key');
    }
    wipe(pair.privateDer);
    return { type: this.crypto.keys.describe(pair.spki).type === 'RSA' ? 'rsa' : 'ec', spki: pair.spki };
  }

  /**
   * Refuses a chain in which a certificate is not issued and signed by the next one (the
   * core checks the signatures; validity times are pre-flight's concern, not an upload's).
   */
  requireChainLinks(leaf: string, chain: string[]): void {
    if (chain.length === 0) return;
    const result = this.chainCheck([leaf, ...chain], [chain[chain.length - 1]!]);
    const broken = result.flags.filter((f) => f !== 'EXPIRED' && f !== 'NOT_YET_VALID');
    if (broken.length > 0) throw new DomainError('INVALID', `each certificate must be issued and signed by the next one of the chain (${broken.join(', ')})`, 'issuer_chain');
  }

  /** The key store an import goes to (`id`, or the default), once it can import. */
  async importStore(id: string | undefined): Promise<string> {
    return (await this.usableStore(id, 'can_import')).id;
  }

  /** Imports `privateDer` as the key `keyId`. */
  async importKey(keystore: string, keyId: string, privateDer: Uint8Array): Promise<void> {
    await this.keystores.import(keystore, keyId, privateDer);
  }

  installPkcs12(name: string, pfx: Uint8Array, passphrase: Uint8Array, keystore?: string): Promise<void> {
    return this.audit.change('install_pkcs12', () => this.target(name), () => this.reserving(name, async (alias) => {
      let contents;
      try {
        contents = await this.crypto.pkcs12.decode(pfx, passphrase);
      } catch (e) {
        inputError(e, 'pkcs12');
      }
      try {
        const chain = contents.chainPem ? this.readCertificates(contents.chainPem, 'pkcs12').map((c) => c.pem) : [];
        await this.importEntry(alias, keystore, contents.privateDer, derToPem('CERTIFICATE', contents.certificateDer), chain);
      } finally {
        wipe(contents.privateDer);
      }
    }));
  }

  /** get_csr: a CSR for the entry's key, fields absent copied from its certificate, "" / [] left out. */
  async csr(alias: string, req: CsrRequest): Promise<string> {
    const entry = this.entry('certificate', alias);
    const info = this.info(entry.certificate);
    const subject = req.subject ?? info.subject;
    const sans = req.subjectAltNames ?? info.subject_alt_names.filter((n) => n.type === 'DNS' || n.type === 'IP').map((n) => `${n.type}:${n.value}`);
    const tbs = this.build(() => this.crypto.writer.csrTbs({ spki: base64(info.spki), subject, subjectAltNames: sans }));
    const der = await this.signWith(entry.keystore!, entry.key_id!, tbs, (t, s, f) => this.crypto.writer.assembleCsr(t, s, f));
    return derToPem('CERTIFICATE REQUEST', der);
  }

  /** Replaces a certificate (with key) or a CA certificate with one for the same public key. */
  replace(kind: EntryKind, alias: string, certificatePem: string): Promise<void> {
    return this.audit.change('replace_certificate', () => this.target(alias), () => this.serial(async () => {
      const entry = this.entry(kind, alias);
      this.store.put(this.replacement(entry, certificatePem));
      // A service using the entry takes the new certificate now.
      await this.usage.reapply(entry.id);
    }));
  }

  /** The entry with a new certificate (and chain) for the same public key; refused for a protected entry. */
  replacement(entry: Entry, certificatePem: string): Entry {
    refuseProtected(entry);
    const [leaf, ...chain] = this.readCertificates(certificatePem, 'certificate');
    if (entry.kind === 'ca' && chain.length > 0) throw new DomainError('INVALID', 'must hold one certificate', 'certificate');
    const old = this.info(entry.certificate);
    if (!this.crypto.keys.same(base64(old.spki), base64(leaf!.info.spki))) {
      throw new DomainError('KEY_MISMATCH', `the new certificate is not for the same ${entry.kind === 'ca' ? 'public key' : 'key pair'}`, 'certificate');
    }
    return { ...entry, certificate: leaf!.pem, chain: chain.map((c) => c.pem) };
  }

  // --- certificate requests ------------------------------------------------------------------
  // A request is a key with no entry, named by the journal (store/journal.ts) until the
  // CA's certificate makes it an entry or the request is dropped with its key.

  /** Makes the key and the CSR; the alias is held for the request's entry. */
  request(req: CertificateRequest): Promise<PendingRequest> {
    return this.audit.change('request_certificate', () => this.target(req.alias), () => this.serial(async () => {
      const alias = this.requireFreeAlias(req.alias);
      const plan = await this.planCreate({ alias, subject: req.subject, keyType: req.keyType, keystore: req.keystore });
      const intent = this.intent('add', alias, plan.keystore, `${KEY_PREFIX}${randomUUID()}`);
      this.journal.begin(intent);
      let pending: PendingRequest;
      try {
        const { spki } = await this.keystores.generate(plan.keystore, intent.key_id, plan.keyType);
        crashPoint('request:key');
        const tbs = this.build(() => this.crypto.writer.csrTbs({ spki, subject: req.subject, subjectAltNames: req.subjectAltNames ?? [] }));
        const der = await this.signWith(plan.keystore, intent.key_id, tbs, (t, sig, f) => this.crypto.writer.assembleCsr(t, sig, f));
        pending = {
          alias, keystore: plan.keystore, key_id: intent.key_id, spki: Buffer.from(spki).toString('base64'), csr: derToPem('CERTIFICATE REQUEST', der),
          generation: this.store.generation, created: new Date(this.now() * 1000).toISOString(),
        };
        this.journal.addRequest(pending);
        crashPoint('request:journaled');
      } catch (e) {
        await this.keystores.delete(plan.keystore, intent.key_id).then(() => this.journal.end(intent), () => this.retryIntentsLater());
        throw e;
      }
      // From here the journal's request names the key: a restart keeps it (finishIntents).
      this.journal.end(intent);
      return pending;
    }));
  }

  pendingRequests(): PendingRequest[] {
    return this.journal.requests();
  }

  pendingRequest(alias: string): PendingRequest {
    const r = this.journal.request(alias);
    if (!r) throw new DomainError('NOT_FOUND', `no pending request with id ${JSON.stringify(alias)}`, 'id');
    return r;
  }

  /** The CA's certificate for a request's key: the request becomes an entry with that key. */
  completeRequest(alias: string, certificatePem: string): Promise<void> {
    return this.audit.change('complete_request', () => this.target(alias), () => this.serial(async () => {
      const r = this.pendingRequest(alias);
      const [leaf, ...chain] = this.readCertificates(certificatePem, 'certificate');
      if (!this.crypto.keys.same(base64(r.spki), base64(leaf!.info.spki))) {
        throw new DomainError('KEY_MISMATCH', 'the certificate is not for the request\'s key', 'certificate');
      }
      // The request held the alias; an entry may have it only from before the request's time.
      if (this.store.get(alias)) throw new DomainError('ALIAS_EXISTS', 'an entry with this alias exists', 'alias');
      this.store.put({
        id: randomUUID(), alias, kind: 'certificate', certificate: leaf!.pem, chain: chain.map((c) => c.pem),
        keystore: r.keystore, key_id: r.key_id, created: new Date(this.now() * 1000).toISOString(),
      });
      // A crash here leaves the request naming an entry's key: reconcile ends it.
      crashPoint('request:entry');
      this.journal.endRequest(alias);
    }));
  }

  /** Drops a request and deletes its key. */
  dropRequest(alias: string): Promise<void> {
    return this.audit.change('drop_request', () => this.target(alias), () => this.serial(async () => {
      const r = this.pendingRequest(alias);
      const intent = this.intent('remove', alias, r.keystore, r.key_id);
      // The remove intent first: after a crash it deletes the key and ends the request.
      this.journal.begin(intent);
      crashPoint('request:drop-intent');
      this.journal.endRequest(alias);
      crashPoint('request:dropped');
      await this.keystores.delete(r.keystore, r.key_id).then(() => this.journal.end(intent), () => this.retryIntentsLater());
    }));
  }

  // --- CA certificates --------------------------------------------------------------------

  addCa(name: string, certificatePem: string): Promise<void> {
    return this.audit.change('add_ca_certificate', () => this.target(name), () => this.serial(async () => {
      const alias = this.requireFreeAlias(name);
      this.store.put({ id: randomUUID(), alias, kind: 'ca', certificate: this.caCertificate(certificatePem), chain: [], created: new Date(this.now() * 1000).toISOString() });
    }));
  }

  /** A CA certificate upload: exactly one certificate, as PEM. */
  caCertificate(certificatePem: string): string {
    const certs = this.readCertificates(certificatePem, 'certificate');
    if (certs.length !== 1) throw new DomainError('INVALID', 'must hold exactly one certificate', 'certificate');
    return certs[0]!.pem;
  }

  // --- deleting ---------------------------------------------------------------------------

  delete(kind: EntryKind, name: string): Promise<void> {
    return this.audit.change('delete', () => this.target(name), () => this.serial(async () => {
      const entry = this.entry(kind, name);
      refuseProtected(entry);
      const users = this.usage.usedBy(entry.id);
      if (users.length > 0) throw new DomainError('IN_USE', `used by the ${users.join(', ')} binding${users.length > 1 ? 's' : ''}`);
      if (kind === 'ca' || !entry.keystore || !entry.key_id) {
        this.store.remove(entry.alias);
        return;
      }
      const intent = this.intent('remove', entry.alias, entry.keystore, entry.key_id);
      this.journal.begin(intent);
      this.store.remove(entry.alias);
      // From here the delete is done as far as any caller can see: the journal finishes
      // the key, now or, if keystored is away, as soon as it answers again.
      await this.keystores.delete(entry.keystore, entry.key_id).then(() => this.journal.end(intent), () => this.retryIntentsLater());
    }));
  }

  /**
   * Deletes a key that no entry uses any more (a committed batch's old key). If keystored
   * cannot do it now, a journaled remove finishes it once keystored answers.
   */
  async dropKey(alias: string, keystore: string, keyId: string): Promise<void> {
    try {
      await this.keystores.delete(keystore, keyId);
    } catch {
      this.journal.begin(this.intent('remove', alias, keystore, keyId));
      this.retryIntentsLater();
    }
  }

  /**
   * Finishes or undoes what a crash interrupted (the journal's intents of this store
   * generation), then looks for keys of ours that no entry uses. Those are reported, not
   * deleted: without an intent nothing proves they are orphans rather than the keys of
   * entries this store lost (a wiped or unmounted data folder). Run once at start.
   */
  async reconcile(): Promise<{ finished: number; setAside: Intent[]; unowned: UnownedKey[] }> {
    const { finished, setAside } = await this.finishIntents();
    // A request whose key an entry has was completed: a crash came before its end.
    for (const r of this.journal.requests()) {
      if (this.store.get(r.alias)?.key_id === r.key_id) this.journal.endRequest(r.alias);
    }
    const used = new Set([...this.store.all(), ...this.journal.keysNamed()].map((e) => `${e.keystore}/${e.key_id}`));
    const unowned: UnownedKey[] = [];
    for (const s of await this.keystores.describe()) {
      for (const id of await this.keystores.list(s.id).catch(() => [] as string[])) {
        if (id.startsWith(KEY_PREFIX) && !used.has(`${s.id}/${id}`)) unowned.push({ keystore: s.id, key_id: id });
      }
    }
    this.unowned = unowned;
    for (const k of unowned) this.audit.note('key_kept_unowned', { keystore: k.keystore, key_id: k.key_id });
    for (const i of setAside) this.audit.note('intent_set_aside', { alias: i.alias, keystore: i.keystore, key_id: i.key_id });
    return { finished, setAside, unowned };
  }

  /**
   * An add whose key is there but no entry is undone; a remove is completed. Intents of
   * another store generation are set aside untouched.
   */
  private async finishIntents(): Promise<{ finished: number; setAside: Intent[] }> {
    let finished = 0;
    const setAside: Intent[] = [];
    for (const intent of this.journal.pending()) {
      if (this.inFlight.has(intent.key_id)) continue;
      const owned = intent.generation !== undefined ? intent.generation === this.store.generation : this.store.opened === 'existing';
      if (!owned) {
        this.journal.setAsideIntent(intent);
        setAside.push(intent);
        continue;
      }
      const entry = this.store.get(intent.alias);
      const request = this.journal.request(intent.alias);
      // An add whose key a pending request names is done: the request holds the key.
      const done = intent.op === 'add' && (entry?.key_id === intent.key_id || request?.key_id === intent.key_id);
      if (intent.op === 'remove' && request?.key_id === intent.key_id) this.journal.endRequest(intent.alias);
      if (!done) {
        if (entry?.key_id === intent.key_id) this.store.remove(intent.alias);
        try {
          await this.keystores.delete(intent.keystore, intent.key_id);
        } catch {
          // keystored is away or busy (a delete waits for a generation of the same key to
          // end): the intent stays and is tried again; start-up goes on meanwhile.
          this.retryIntentsLater();
          continue;
        }
      }
      this.journal.end(intent);
      finished++;
    }
    return { finished, setAside };
  }

  /** keystored went away mid-operation: finish the journal once it is back, without a restart. */
  private retryIntentsLater(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.serial(() => this.finishIntents()).catch(() => this.retryIntentsLater());
    }, RETRY_MS);
    this.retry.unref();
  }

  // --- helpers ------------------------------------------------------------------------------

  /** Runs `fn` with no other change to the entries running (a batch, domain/batches.ts). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial(fn);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** The entry an alias names, as sent or in NFC (domain/names.ts). */
  byAlias(name: string): Entry | undefined {
    return this.store.get(name) ?? this.store.get(lookupForm(name));
  }

  /** An audit record's target: the entry a name finds (with its id), or the name as given. */
  private target(name: string): AuditTarget {
    const e = this.byAlias(name);
    if (e) return { id: e.id, alias: e.alias };
    // A refused name is not repeated: it is the client's text and could be anything.
    try {
      return { alias: checkAlias(name) };
    } catch {
      return {};
    }
  }

  private entry(kind: EntryKind, name: string): Entry {
    const e = this.byAlias(name);
    if (!e || e.kind !== kind) throw new DomainError('NOT_FOUND', `no ${kind === 'ca' ? 'CA certificate' : 'certificate'} with alias ${JSON.stringify(name)}`);
    return e;
  }

  /** The alias a new entry will be stored under (NFC), once it is valid and free (no entry, no pending request). */
  requireFreeAlias(name: string): string {
    const alias = checkAlias(name);
    if (this.store.get(alias) || this.reserved.has(alias)) throw new DomainError('ALIAS_EXISTS', 'an entry with this alias exists', 'alias');
    if (this.journal.request(alias)) throw new DomainError('ALIAS_EXISTS', 'a certificate request holds this alias', 'alias');
    return alias;
  }

  /** Runs `add` with a free alias reserved in the write queue, released when `add` ends. */
  private async reserving(name: string, add: (alias: string) => Promise<void>): Promise<void> {
    const alias = await this.serial(async () => {
      const a = this.requireFreeAlias(name);
      this.reserved.add(a);
      return a;
    });
    try {
      await add(alias);
    } finally {
      this.reserved.delete(alias);
    }
  }

  private intent(op: Intent['op'], alias: string, keystore: string, keyId: string): Intent {
    return { op, alias, keystore, key_id: keyId, generation: this.store.generation };
  }

  private async usableStore(id: string | undefined, can: 'can_generate' | 'can_import'): Promise<StoreDescription> {
    const stores = await this.keystores.describe();
    const wanted = id ?? (await this.defaultKeystore());
    const s = stores.find((k) => k.id === wanted);
    if (!s) throw new DomainError('UNKNOWN_KEYSTORE', 'no such keystore', 'keystore');
    if (!s[can]) throw new DomainError('UNSUPPORTED_KEY_TYPE', `${s.id} cannot ${can === 'can_import' ? 'import keys' : 'generate keys'}`, 'keystore');
    return s;
  }

  /** A stored certificate's details; remembered, since parsing checks a signature (~1.5 ms). */
  private info(pem: string): CertificateInfo {
    let info = this.parsed.get(pem);
    if (!info) {
      info = this.crypto.x509.parse(Buffer.from(pem, 'utf8'))[0]!;
      if (this.parsed.size >= PARSED_MAX) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(pem, info);
    }
    return info;
  }

  /** The PEM certificates in `text`, parsed and re-encoded; BAD_CERTIFICATE naming `field`. */
  readCertificates(text: string, field: string): { pem: string; info: CertificateInfo }[] {
    const blocks = pemCertificates(text);
    if (blocks.length === 0) throw new DomainError('BAD_CERTIFICATE', 'no PEM certificate', field);
    try {
      const infos = this.crypto.x509.parse(Buffer.from(blocks.join('\n'), 'utf8'));
      return infos.map((info) => ({ info, pem: derToPem('CERTIFICATE', base64(info.der)) }));
    } catch (e) {
      inputError(e, field);
    }
  }

  private build<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      inputError(e, 'subject');
    }
  }

  /** Has keystored sign the digest of `tbs`, then assembles the result in the core. */
  private async signWith(
    store: string,
    keyId: string,
    tbs: { tbs: Uint8Array; digest: Uint8Array; scheme: 'ECDSA' | 'RSA-PKCS1-V1_5' | 'RSA-PSS'; digestAlg: 'SHA-256' | 'SHA-384' | 'SHA-512' },
    assemble: (tbs: Uint8Array, sig: Uint8Array, format: 'der' | 'raw') => Uint8Array,
  ): Promise<Uint8Array> {
    const sig = await this.keystores.sign({ store, key_id: keyId, scheme: tbs.scheme, digest_algorithm: tbs.digestAlg, digest: tbs.digest });
    try {
      return assemble(tbs.tbs, sig.signature, sig.format);
    } catch (e) {
      // The core refuses a signature that does not verify: the key store misbehaved.
      if (e instanceof CoreError) throw new DomainError('KEYSTORE_FAILURE', `the keystore's signature was refused (${e.code})`);
      throw e;
    }
  }

  private async importEntry(alias: string, keystore: string | undefined, privateDer: Uint8Array, leaf: string, chain: string[]): Promise<void> {
    const store = await this.usableStore(keystore, 'can_import');
    await this.withNewKey(alias, store.id, async (keyId) => {
      await this.keystores.import(store.id, keyId, privateDer);
      return { certificate: leaf, chain };
    });
  }

  /** The add protocol: intent, key, entry, end of intent. A failure undoes the key. */
  private async withNewKey(alias: string, keystore: string, make: (keyId: string) => Promise<{ certificate: string; chain: string[] }>): Promise<void> {
    const intent = this.intent('add', alias, keystore, `${KEY_PREFIX}${randomUUID()}`);
    this.journal.begin(intent);
    this.inFlight.add(intent.key_id);
    try {
      const { certificate, chain } = await make(intent.key_id);
      this.store.put({ id: randomUUID(), alias, kind: 'certificate', certificate, chain, keystore, key_id: intent.key_id, created: new Date(this.now() * 1000).toISOString() });
    } catch (e) {
      // Undo the key; if keystored cannot be reached, the intent stays and is retried.
      await this.keystores.delete(keystore, intent.key_id).then(() => this.journal.end(intent), () => this.retryIntentsLater());
      throw e;
    } finally {
      this.inFlight.delete(intent.key_id);
    }
    this.journal.end(intent);
  }
}

/** Keys certd makes carry this prefix: reconciliation never touches anyone else's keys. */
export const KEY_PREFIX = 'certd-';

/** Factory entries (domain/factory.ts) are neither deleted nor replaced, by any API or batch. */
export function refuseProtected(e: Entry): void {
  if (e.protected) throw new DomainError('PROTECTED', 'the entry is factory material: it cannot be deleted or replaced');
}

function base64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function view(e: Entry): EntryView {
  const certificate = [e.certificate, ...e.chain].join('');
  return e.kind === 'certificate' ? { alias: e.alias, certificate, keystore: e.keystore! } : { alias: e.alias, certificate };
}
