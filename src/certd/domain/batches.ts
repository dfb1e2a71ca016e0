// Atomic batches: several changes (entries made with a new or imported key, CA entries
// added, entries overwritten with a new key, certificates renewed for the key they have,
// entries removed, bindings set, users' passwords) applied under
// one journal intent, so that after a crash or power cut at any point either all of them
// are there or none, and no key is orphaned. ONVIF's all-or-nothing LoadCACertificates /
// DeleteCertificates and LoadCertificates, a 2N overwrite (new key, entry replaced, old key deleted) and an SPS
// commit (its objects, bindings and users' passwords) are batches.
//
// The order of steps, and what a restart does after a crash at each:
//   1. check every step (aliases, inputs, key stores)       refused: nothing was written
//   2. journal: the batch's intent, naming the keys to make  (fsync)
//   3. make the keys (generate or import) and certificates  crash: roll back
//   4. pre-flight the bindings against the planned entries   refused: roll back
//   5. journal: the commit mark, with every record to write  (fsync)  <- the commit point
//   6. write the entries (one folder fsync for all), remove  crash: roll forward
//      the removed, set the bindings, write the users' records and root hash
//   7. delete the old keys (replaced or removed entries')    crash: roll forward
//   8. journal: the end of the batch                         (fsync)
// Roll back deletes the keys the intent names, nothing else (no record was touched before
// the commit mark). Roll forward writes the commit's records again (idempotent: whole
// entries by alias, removals only of the entry id the batch planned to remove) and deletes
// the old keys; a key keystored cannot delete now passes to a journaled remove
// (certificates.ts), so no key is deleted before its entry is gone from flash, and none is
// left behind. As everywhere, only intents of this store generation act: another
// generation's batch is set aside, never rolled either way.
//
// A password step journals the user's record as the users file keeps it (HA1 digests, never
// the password), the root password step its salted hash; the journal is as private as that
// file (0600 in a 0700 folder).
//
// A batch runs in the entries' write queue from step 1 to 8 (key generation included), so
// no other change interleaves with it and replaying its records can never overwrite a
// later change.
import { randomUUID } from 'node:crypto';
import { crashPoint } from '../../common/crash-point';
import type { Binding } from '../store/bindings';
import type { BatchCommit, BatchIntent, Journal, KeyRef } from '../store/journal';
import type { Entry, RecordStore } from '../store/records';
import type { UserRecord } from '../auth/users';
import type { Audit } from './audit';
import { checkShape, type Bindings, type SetBinding } from './bindings';
import { type Certificates, type CreateCertificate, type EntryDetails, KEY_PREFIX, refuseProtected } from './certificates';
import { DomainError } from './errors';
import type { Keystores } from './keystores';
import { lookupForm } from './names';

export type BatchStep =
  /** A new key and a self-signed certificate; `overwrite`: an existing certificate entry of that alias gets them (same id). */
  | { op: 'create_certificate'; request: CreateCertificate; overwrite?: boolean }
  /**
   * A certificate with its private key (PEM or DER, encrypted with `passphrase` or not; the
   * caller wipes both, the batch the key it decoded); `overwrite` as above.
   */
  | { op: 'add_certificate'; alias: string; certificate: string; privateKey: Uint8Array; passphrase?: Uint8Array; keystore?: string; overwrite?: boolean; id?: string }
  /** `overwrite`: an existing CA certificate entry of that alias gets the certificate (same id). */
  | { op: 'add_ca_certificate'; alias: string; certificate: string; overwrite?: boolean }
  /** A certificate entry's new certificate (and chain) for the key it has: no key made or deleted. */
  | { op: 'replace_certificate'; alias: string; certificate: string }
  /** Removes an entry of either kind; its key goes once the batch is committed. */
  | { op: 'delete'; alias: string }
  | { op: 'set_binding'; name: string; binding: SetBinding }
  /** A user's new password, as the record the users file will hold (already hashed). */
  | { op: 'set_user_password'; record: UserRecord }
  /** The device's root password, as its salted hash (auth/root-password.ts). */
  | { op: 'set_root_password'; hash: string };

/** The users table as a batch writes it. */
export interface BatchUsers {
  get(name: string): UserRecord | undefined;
  /** One atomic write; idempotent. */
  putRecords(records: UserRecord[]): void;
  /** The root password's hash, one atomic write; idempotent. */
  putRootPassword(hash: string): void;
}

export interface BatchResult {
  id: string;
  /** The entries the batch wrote, in step order. */
  entries: { alias: string; id: string }[];
  warnings: string[];
}

/** An entry to make with a new key. */
interface Make {
  step: number;
  alias: string;
  /** The entry it overwrites. */
  existing?: Entry;
  /** The new entry's id, when the caller named it before (an SPS object key). */
  id?: string;
  keystore: string;
  keyId: string;
  make: (keyId: string) => Promise<{ certificate: string; chain: string[] }>;
}

/** How often a batch keystored could not finish is tried again. */
const RETRY_MS = 1000;

function keyOf(e: Entry): KeyRef {
  return { keystore: e.keystore!, key_id: e.key_id!, alias: e.alias };
}

/** A step's error, its field prefixed with the step's place. */
function inStep(e: unknown, step: number): unknown {
  if (!(e instanceof DomainError)) return e;
  const message = e.field ? e.message.slice(e.field.length + 2) : e.message;
  return new DomainError(e.code, message, `steps[${step}]${e.field ? `.${e.field}` : ''}`);
}

export class Batches {
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: RecordStore,
    private readonly journal: Journal,
    private readonly keystores: Keystores,
    private readonly certs: Certificates,
    private readonly bindings: Bindings,
    private readonly audit: Audit,
    private readonly users: BatchUsers,
    /** A committed batch that could not be written while running: certd must stop and finish it at start. */
    private readonly fatal: (e: Error) => void,
  ) {}

  apply(steps: BatchStep[]): Promise<BatchResult> {
    let id: string | undefined;
    return this.audit.change('batch', () => (id ? { id } : {}), () => this.certs.exclusive(async () => {
      id = randomUUID();
      return this.run(id, steps);
    }));
  }

  /**
   * At start, before anything is served: every batch a crash interrupted is rolled back
   * (no commit mark) or forward (commit mark). Another generation's is set aside.
   */
  async recover(): Promise<{ rolledBack: number; rolledForward: number; setAside: number }> {
    const counts = { rolledBack: 0, rolledForward: 0, setAside: 0 };
    for (const b of this.journal.batches()) {
      if (b.intent.generation !== this.store.generation) {
        this.journal.setAsideBatch(b);
        this.audit.note('batch_set_aside', { id: b.intent.id });
        counts.setAside++;
      } else if (b.commit) {
        await this.rollForward(b.intent, b.commit);
        counts.rolledForward++;
      } else if (await this.rollBack(b.intent)) {
        counts.rolledBack++;
      }
    }
    return counts;
  }

  private async run(id: string, steps: BatchStep[]): Promise<BatchResult> {
    if (steps.length === 0) throw new DomainError('INVALID', 'a batch needs at least one step', 'steps');
    const secrets: Uint8Array[] = [];
    try {
      const makes: Make[] = [];
      const cas: { step: number; alias: string; existing?: Entry; pem: string }[] = [];
      const removes: { step: number; entry: Entry }[] = [];
      const binds: { step: number; name: string; req: SetBinding }[] = [];
      const passwords: UserRecord[] = [];
      let rootPassword: string | undefined;
      const replaced: Entry[] = [];
      const seen = new Set<string>();
      const claim = (alias: string, what: string) => {
        const name = what === 'alias' ? alias : `${what} ${alias}`;
        if (seen.has(name)) throw new DomainError('INVALID', `the batch names this ${what} twice`, what === 'alias' ? 'alias' : 'name');
        seen.add(name);
      };

      // 1. Every step checked before anything is written.
      for (const [i, step] of steps.entries()) {
        try {
          if (step.op === 'create_certificate') {
            const { alias, existing } = this.target(step.request.alias, step.overwrite === true, claim);
            const plan = await this.certs.planCreate(step.request);
            makes.push({ step: i, alias, existing, keystore: plan.keystore, keyId: newKeyId(), make: (k) => this.certs.makeCreated(step.request, plan, k) });
          } else if (step.op === 'add_certificate') {
            const { alias, existing } = this.target(step.alias, step.overwrite === true, claim);
            const up = this.certs.checkUpload(step.certificate, step.privateKey, step.passphrase);
            secrets.push(up.privateDer);
            const keystore = await this.certs.importStore(step.keystore);
            if (step.id !== undefined && (existing || this.certs.find(step.id))) throw new DomainError('INVALID', 'an entry has this id', 'id');
            makes.push({ step: i, alias, existing, ...(step.id !== undefined ? { id: step.id } : {}), keystore, keyId: newKeyId(), make: async (k) => {
              await this.certs.importKey(keystore, k, up.privateDer);
              return { certificate: up.certificate, chain: up.chain };
            } });
          } else if (step.op === 'add_ca_certificate') {
            const existing = step.overwrite ? this.certs.byAlias(step.alias) : undefined;
            if (existing && existing.kind !== 'ca') throw new DomainError('ALIAS_EXISTS', 'a certificate with a key has this alias', 'alias');
            if (existing) refuseProtected(existing);
            const alias = existing?.alias ?? this.certs.requireFreeAlias(step.alias);
            claim(alias, 'alias');
            cas.push({ step: i, alias, existing, pem: this.certs.caCertificate(step.certificate) });
          } else if (step.op === 'replace_certificate') {
            const entry = this.certs.byAlias(step.alias);
            if (!entry || entry.kind !== 'certificate') throw new DomainError('NOT_FOUND', `no certificate entry with alias ${JSON.stringify(step.alias)}`, 'alias');
            claim(entry.alias, 'alias');
            replaced.push(this.certs.replacement(entry, step.certificate));
          } else if (step.op === 'delete') {
            const entry = this.certs.byAlias(step.alias);
            if (!entry) throw new DomainError('NOT_FOUND', `no entry with alias ${JSON.stringify(step.alias)}`, 'alias');
            refuseProtected(entry);
            claim(entry.alias, 'alias');
            removes.push({ step: i, entry });
          } else if (step.op === 'set_user_password') {
            if (!this.users.get(step.record.name)) throw new DomainError('NOT_FOUND', `no user ${JSON.stringify(step.record.name)}`, 'name');
            claim(step.record.name, 'user');
            passwords.push(step.record);
          } else if (step.op === 'set_root_password') {
            claim('root', 'root password');
            rootPassword = step.hash;
          } else {
            checkShape(step.name, step.binding);
            claim(step.name, 'binding');
            binds.push({ step: i, name: step.name, req: step.binding });
          }
        } catch (e) {
          throw inStep(e, i);
        }
      }

      // 2. The intent, naming every key the batch will make.
      const intent: BatchIntent = { op: 'batch', id, generation: this.store.generation, new_keys: makes.map((m) => ({ keystore: m.keystore, key_id: m.keyId })) };
      this.journal.beginBatch(intent);
      crashPoint('batch:begun');

      let commit: BatchCommit;
      const warnings: string[] = [];
      try {
        // 3. Keys and certificates.
        const created = new Date(this.certs.nowSeconds() * 1000).toISOString();
        const puts: Entry[] = [];
        for (const [k, m] of makes.entries()) {
          const made = await m.make(m.keyId).catch((e: unknown) => Promise.reject(inStep(e, m.step)));
          puts.push({
            id: m.existing?.id ?? m.id ?? randomUUID(), alias: m.alias, kind: 'certificate', certificate: made.certificate, chain: made.chain,
            keystore: m.keystore, key_id: m.keyId, created: m.existing?.created ?? created,
          });
          crashPoint(`batch:key:${k}`);
        }
        puts.push(...replaced);
        for (const c of cas) puts.push({ id: c.existing?.id ?? randomUUID(), alias: c.alias, kind: 'ca', certificate: c.pem, chain: [], created: c.existing?.created ?? created });

        // 4. Bindings, checked against the entries as they will be.
        const find = this.plannedView(puts, removes.map((r) => r.entry.id));
        const bound: Binding[] = [];
        for (const b of binds) {
          const r = await this.bindings.check(b.name, b.req, find).catch((e: unknown) => Promise.reject(inStep(e, b.step)));
          bound.push(r.binding);
          warnings.push(...r.warnings.map((w) => `steps[${b.step}]: ${w}`));
        }
        const after = new Map(this.bindings.recorded().map((b) => [b.name, b]));
        for (const b of bound) after.set(b.name, b);
        for (const r of removes) {
          const users = [...after.values()].filter((b) => b.certificate === r.entry.id || b.ca.includes(r.entry.id)).map((b) => b.name);
          if (users.length > 0) throw inStep(new DomainError('IN_USE', `used by the ${users.join(', ')} binding${users.length > 1 ? 's' : ''}`), r.step);
        }
        commit = {
          puts,
          removes: removes.map((r) => ({ alias: r.entry.alias, id: r.entry.id })),
          bindings: bound,
          ...(passwords.length > 0 ? { users: passwords } : {}),
          ...(rootPassword !== undefined ? { root_password: rootPassword } : {}),
          old_keys: [...makes.flatMap((m) => (m.existing?.key_id ? [keyOf(m.existing)] : [])), ...removes.flatMap((r) => (r.entry.key_id ? [keyOf(r.entry)] : []))],
        };
      } catch (e) {
        await this.rollBack(intent);
        throw e;
      }

      // 5. The commit point.
      this.journal.commitBatch(id, commit);
      crashPoint('batch:committed');
      await this.rollForward(intent, commit).catch((e: Error) => {
        if (e instanceof DomainError) throw e;
        this.fatal(e);
        throw e;
      });
      return { id, entries: commit.puts.map((p) => ({ alias: p.alias, id: p.id })), warnings };
    } finally {
      for (const s of secrets) s.fill(0);
    }
  }

  /** The alias a make step writes: a free one, or an existing certificate entry's when it overwrites. */
  private target(name: string, overwrite: boolean, claim: (alias: string, what: string) => void): { alias: string; existing?: Entry } {
    const existing = overwrite ? this.certs.byAlias(name) : undefined;
    if (existing && existing.kind !== 'certificate') throw new DomainError('ALIAS_EXISTS', 'a CA certificate has this alias', 'alias');
    if (existing) refuseProtected(existing);
    const alias = existing?.alias ?? this.certs.requireFreeAlias(name);
    claim(alias, 'alias');
    return { alias, existing };
  }

  /** Entry lookup (id, alias as sent, alias in NFC) over the store as the batch will leave it. */
  private plannedView(puts: Entry[], removedIds: string[]): (name: string) => EntryDetails | undefined {
    const byId = new Map(puts.map((e) => [e.id, e]));
    const byAlias = new Map(puts.map((e) => [e.alias, e]));
    const gone = new Set(removedIds);
    return (name) => {
      const planned = byId.get(name) ?? byAlias.get(name) ?? byAlias.get(lookupForm(name));
      if (planned) return { entry: planned, info: this.certs.parse(planned.certificate), ...this.store.fingerprints(planned) };
      const d = this.certs.find(name);
      return d && !gone.has(d.entry.id) ? d : undefined;
    };
  }

  /** Deletes the keys the batch made and ends it. False: keystored could not; tried again later. */
  private async rollBack(intent: BatchIntent): Promise<boolean> {
    try {
      for (const k of intent.new_keys) await this.keystores.delete(k.keystore, k.key_id);
    } catch {
      this.retryLater();
      return false;
    }
    this.journal.endBatch(intent.id);
    return true;
  }

  /** Writes a committed batch's records (again), deletes its old keys and ends it. */
  private async rollForward(intent: BatchIntent, commit: BatchCommit): Promise<void> {
    this.store.putAll(commit.puts);
    crashPoint('batch:put');
    for (const [i, r] of commit.removes.entries()) {
      if (this.store.get(r.alias)?.id === r.id) this.store.remove(r.alias);
      crashPoint(`batch:removed:${i}`);
    }
    const failures: unknown[] = [];
    for (const [i, b] of commit.bindings.entries()) {
      await this.bindings.recordAndApply(b).catch((e: unknown) => failures.push(e));
      crashPoint(`batch:bound:${i}`);
    }
    if (commit.users) {
      this.users.putRecords(commit.users);
      crashPoint('batch:users');
    }
    if (commit.root_password !== undefined) {
      this.users.putRootPassword(commit.root_password);
      crashPoint('batch:root-password');
    }
    // Bindings that use an overwritten entry take its new certificate.
    const rebound = new Set(commit.bindings.map((b) => b.name));
    for (const e of commit.puts) {
      if (this.bindings.usedBy(e.id).some((n) => !rebound.has(n))) await this.bindings.reapply(e.id).catch((err: unknown) => failures.push(err));
    }
    for (const [i, k] of commit.old_keys.entries()) {
      await this.certs.dropKey(k.alias ?? '', k.keystore, k.key_id);
      crashPoint(`batch:old-key:${i}`);
    }
    this.journal.endBatch(intent.id);
    crashPoint('batch:ended');
    if (failures.length > 0) throw failures[0];
  }

  private retryLater(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.certs.exclusive(() => this.rollBackPending()).catch(() => this.retryLater());
    }, RETRY_MS);
    this.retry.unref();
  }

  /** While running, only uncommitted batches wait for keystored (a committed one never does: its old keys pass to journaled removes). */
  private async rollBackPending(): Promise<void> {
    for (const b of this.journal.batches()) {
      if (!b.commit && b.intent.generation === this.store.generation) await this.rollBack(b.intent);
    }
  }
}

function newKeyId(): string {
  return `${KEY_PREFIX}${randomUUID()}`;
}
