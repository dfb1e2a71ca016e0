// ACME enrollments (RFC 8555), tracked as certmonger tracks requests: each names a CA
// (directory + trust anchors), identifiers, a key store and the bindings to feed, and
// moves through certmonger's states. An issued certificate becomes a new entry made from a
// new key's CSR (split-signed like every CSR); the bindings then move to it in one batch,
// which pre-flights them; the entry it replaced is kept for rollback until the next
// renewal. Any failure leaves the old certificate serving and says why in the state.
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { KeyType } from '../../../ipc/protocol';
import { writeFileAtomic } from '../../common/atomic-file';
import { AcmeClient, AcmeRejected, AcmeUnreachable, type ChallengeBoard, type Identifier, type Order } from '../acme/client';
import { jwkOf } from '../acme/jws';
import type { Audit } from './audit';
import type { Batches, BatchStep } from './batches';
import type { Bindings } from './bindings';
import type { Certificates } from './certificates';
import { DomainError } from './errors';
import type { Keystores } from './keystores';

export const ACCOUNT_KEY_TYPES = ['EC-P256', 'RSA-2048', 'RSA-3072', 'RSA-4096'] as const;
export type AccountKeyType = (typeof ACCOUNT_KEY_TYPES)[number];

export const ENROLLMENT_STATES = ['NEED_TO_SUBMIT', 'SUBMITTING', 'CA_UNREACHABLE', 'CA_REJECTED', 'NEED_TO_RENEW', 'MONITORING'] as const;
export type EnrollmentState = (typeof ENROLLMENT_STATES)[number];

export interface EnrollmentRequest {
  directory_url: string;
  trust_anchors: string[];
  identifiers: Identifier[];
  key_type?: KeyType;
  account_key_type?: AccountKeyType;
  keystore?: string;
  bindings?: string[];
  renew_fraction?: number;
  new_key?: boolean;
}

export interface Enrollment {
  id: string;
  directory_url: string;
  trust_anchors: string[];
  identifiers: Identifier[];
  key_type: KeyType;
  /** The account key's type: ES256 or RS256 JWS (absent in enrollments saved before it existed: EC-P256). */
  account_key_type: AccountKeyType;
  keystore: string;
  bindings: string[];
  renew_fraction: number;
  /** false: a renewal requests for the current entry's key and replaces its certificate in place. */
  new_key: boolean;
  state: EnrollmentState;
  /** Why the last attempt failed (the CA's problem or the network error). */
  why?: string;
  account_key: string;
  account_url?: string;
  /** The entry the last issuance made, and the one it replaced (kept for rollback). */
  current?: { id: string; alias: string; not_before: string; not_after: string };
  previous?: { id: string; alias: string };
  /** Issuances so far (names the entries). */
  issued: number;
  failures: number;
  next_attempt?: string;
}

const DEFAULT_FRACTION = 1 / 3;

/** Retries after a failure: the first after first_ms, doubling up to max_ms. */
export interface RetryTimes {
  first_ms: number;
  max_ms: number;
}
/** setTimeout's limit; a later renewal is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const FILE = 'enrollments.json';

/** The http-01 answers pending now, by token (served anonymously by the HTTP layer). */
export class Challenges implements ChallengeBoard {
  private readonly answers = new Map<string, string>();
  put(token: string, keyAuthorization: string): void {
    this.answers.set(token, keyAuthorization);
  }
  remove(token: string): void {
    this.answers.delete(token);
  }
  answer(token: string): string | undefined {
    return this.answers.get(token);
  }
}

function pemToDer(pem: string): Uint8Array {
  return new Uint8Array(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export class Enrollments {
  private readonly all = new Map<string, Enrollment>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<string>();
  private readonly file: string;
  private stopped = false;

  constructor(
    dataDir: string,
    private readonly certs: Certificates,
    private readonly keystores: Keystores,
    private readonly bindings: Bindings,
    private readonly batches: Batches,
    private readonly audit: Audit,
    readonly challenges: Challenges,
    private readonly retry: RetryTimes,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.file = join(dataDir, FILE);
  }

  /** Loads the enrollments and arms their timers; one cut short by a stop is submitted again. */
  start(): void {
    let saved: Enrollment[] = [];
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8')) as Enrollment[];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const e of saved) {
      e.account_key_type ??= 'EC-P256';
      e.new_key ??= true;
      if (e.state === 'SUBMITTING') e.state = e.current ? 'NEED_TO_RENEW' : 'NEED_TO_SUBMIT';
      this.all.set(e.id, e);
    }
    for (const e of this.all.values()) this.arm(e);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  list(): Enrollment[] {
    return [...this.all.values()];
  }

  get(id: string): Enrollment {
    const e = this.all.get(id);
    if (!e) throw new DomainError('NOT_FOUND', `no enrollment ${id}`, 'id');
    return e;
  }

  create(req: EnrollmentRequest): Promise<Enrollment> {
    const id = randomUUID();
    return this.audit.change('create_enrollment', () => ({ id }), async () => {
      const checked = await this.check(req);
      const e: Enrollment = { id, ...checked, state: 'NEED_TO_SUBMIT', account_key: `acme-account-${id}`, issued: 0, failures: 0 };
      // The account key is made like every key: in keystored, never seen here.
      await this.keystores.generate(e.keystore, e.account_key, e.account_key_type);
      this.all.set(id, e);
      this.save();
      this.arm(e);
      return e;
    });
  }

  /** Stops tracking; the entries it made stay (bindings may use them), its account key goes. */
  remove(id: string): Promise<void> {
    return this.audit.change('delete_enrollment', () => ({ id }), async () => {
      const e = this.get(id);
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
      this.all.delete(id);
      this.save();
      await this.keystores.delete(e.keystore, e.account_key);
    });
  }

  private async check(req: EnrollmentRequest): Promise<Omit<Enrollment, 'id' | 'state' | 'account_key' | 'issued' | 'failures'>> {
    let url: URL;
    try {
      url = new URL(req.directory_url);
    } catch {
      throw new DomainError('INVALID', 'not a URL', 'directory_url');
    }
    if (url.protocol !== 'https:') throw new DomainError('INVALID', 'must be https', 'directory_url');
    const anchors = req.trust_anchors.map((a, i) => {
      if (this.certs.readCertificates(a, 'trust_anchors').length !== 1) throw new DomainError('BAD_CERTIFICATE', `trust anchor ${i}: one PEM certificate each`, 'trust_anchors');
      return a;
    });
    for (const id of req.identifiers) {
      if (id.type === 'ip' ? isIP(id.value) === 0 : !DNS_NAME.test(id.value)) {
        throw new DomainError('INVALID', `${JSON.stringify(id.value)} is not a ${id.type === 'ip' ? 'IP address' : 'DNS name'}`, 'identifiers');
      }
    }
    const bindings = req.bindings ?? [];
    for (const b of bindings) this.bindings.get(b);
    const fraction = req.renew_fraction ?? DEFAULT_FRACTION;
    const keystore = (await this.certs.keystore(req.keystore ?? await this.certs.defaultKeystore())).id;
    return {
      directory_url: url.href, trust_anchors: anchors, identifiers: req.identifiers, key_type: req.key_type ?? 'EC-P256',
      account_key_type: req.account_key_type ?? 'EC-P256',
      keystore, bindings, renew_fraction: fraction, new_key: req.new_key ?? true,
    };
  }

  private save(): void {
    writeFileAtomic(this.file, Buffer.from(JSON.stringify([...this.all.values()], null, 1)));
  }

  /** When the enrollment acts next: now, after a backoff, or when its renewal window opens. */
  private arm(e: Enrollment): void {
    clearTimeout(this.timers.get(e.id));
    if (this.stopped) return;
    let at: number;
    if (e.state === 'MONITORING' && e.current) {
      const nb = Date.parse(e.current.not_before);
      const na = Date.parse(e.current.not_after);
      at = na - e.renew_fraction * (na - nb);
    } else if (e.state === 'CA_UNREACHABLE' || e.state === 'CA_REJECTED') {
      at = e.next_attempt ? Date.parse(e.next_attempt) : this.now();
    } else {
      at = this.now();
    }
    const delay = Math.min(Math.max(0, at - this.now()), MAX_TIMER_MS);
    this.timers.set(e.id, setTimeout(() => {
      this.timers.delete(e.id);
      if (!this.all.has(e.id)) return;
      if (at > this.now()) return this.arm(e);
      void this.run(e);
    }, delay).unref());
  }

  private set(e: Enrollment, state: EnrollmentState, why?: string): void {
    e.state = state;
    if (why === undefined) delete e.why;
    else e.why = why;
    this.save();
    this.audit.note(`enrollment_${state.toLowerCase()}`, { id: e.id, ...(e.current ? { alias: e.current.alias } : {}) }, why === undefined ? 'ok' : state);
  }

  /** One attempt: issue, make the entry, move the bindings. */
  private async run(e: Enrollment): Promise<void> {
    if (this.running.has(e.id)) return;
    this.running.add(e.id);
    try {
      if (e.state === 'MONITORING') this.set(e, 'NEED_TO_RENEW');
      this.set(e, 'SUBMITTING');
      await this.issue(e);
      e.failures = 0;
      delete e.next_attempt;
      this.set(e, 'MONITORING');
    } catch (err) {
      if (!this.all.has(e.id)) return;
      e.failures += 1;
      // The CA's Retry-After, when it gave one, is the earliest; the max bounds both.
      const backoff = this.retry.first_ms * 2 ** Math.min(e.failures - 1, 40);
      const asked = err instanceof AcmeUnreachable || err instanceof AcmeRejected ? err.retryAfterMs ?? 0 : 0;
      const wait = Math.min(Math.max(backoff, asked), this.retry.max_ms);
      e.next_attempt = new Date(this.now() + wait).toISOString();
      const unreachable = err instanceof AcmeUnreachable || (err instanceof DomainError && err.code === 'KEYSTORE_UNAVAILABLE');
      this.set(e, unreachable ? 'CA_UNREACHABLE' : 'CA_REJECTED', reason(err));
    } finally {
      this.running.delete(e.id);
      if (this.all.has(e.id)) this.arm(e);
    }
  }

  private async issue(e: Enrollment): Promise<void> {
    // An attempt cut short by a crash after its entry was made left it under the next number:
    // adopted when its batch moved the bindings (no new order), else dropped and made again.
    const leftover = e.new_key ? this.certs.find(`acme-${e.id.slice(0, 8)}-${e.issued + 1}`) : undefined;
    if (leftover) {
      if (e.bindings.every((name) => this.bindings.get(name).certificate?.id === leftover.entry.id)) return this.adopt(e, leftover);
      await this.certs.delete('certificate', leftover.entry.alias);
    }
    const { spki } = await this.keystores.publicKey(e.keystore, e.account_key);
    const signer = {
      sign: (digest: Uint8Array) => this.keystores.sign({
        store: e.keystore, key_id: e.account_key, scheme: e.account_key_type === 'EC-P256' ? 'ECDSA' : 'RSA-PKCS1-V1_5', digest_algorithm: 'SHA-256', digest,
      }),
    };
    const client = new AcmeClient(e.directory_url, e.trust_anchors, signer, jwkOf(spki));
    e.account_url = await client.account();
    const order = await client.newOrder(e.identifiers);
    this.audit.note('enrollment_order', { id: e.id });
    await client.authorize(order, this.challenges);
    if (!e.new_key && e.current && this.certs.find(e.current.id)) return this.renewInPlace(e, client, order, e.current);
    const alias = `acme-${e.id.slice(0, 8)}-${e.issued + 1}`;
    // A request left by an attempt that was cut short goes first, with its key.
    if (this.certs.pendingRequests().some((r) => r.alias === alias)) await this.certs.dropRequest(alias);
    const dns = e.identifiers.filter((i) => i.type === 'dns');
    const pending = await this.certs.request({
      alias, subject: dns.length ? `CN=${dns[0]!.value}` : '', keyType: e.key_type, keystore: e.keystore,
      subjectAltNames: e.identifiers.map((i) => `${i.type === 'dns' ? 'DNS' : 'IP'}:${i.value}`),
    });
    let chain: string;
    try {
      chain = await client.finalize(order, pemToDer(pending.csr));
      await this.certs.completeRequest(alias, chain);
    } catch (err) {
      await this.certs.dropRequest(alias).catch(() => undefined);
      throw err;
    }
    const made = this.certs.find(alias)!;
    const steps: BatchStep[] = e.bindings.map((name) => {
      const b = this.bindings.get(name);
      return { op: 'set_binding', name, binding: { certificate: made.entry.id, ca: b.ca.map((c) => c.id), settings: b.settings } };
    });
    // The entry before the one now replaced: its rollback time is over (unless someone bound it by hand).
    if (e.previous && this.certs.find(e.previous.id) && this.bindings.usedBy(e.previous.id).length === 0) steps.push({ op: 'delete', alias: e.previous.alias });
    try {
      if (steps.length) await this.batches.apply(steps);
    } catch (err) {
      // The bindings stay on the old entry; the new one is dropped so the next try makes another.
      await this.certs.delete('certificate', alias).catch(() => undefined);
      throw err;
    }
    this.adopt(e, made);
  }

  /** `made` is the enrollment's certificate from now on; the one it replaces is kept for rollback. */
  private adopt(e: Enrollment, made: NonNullable<ReturnType<Certificates['find']>>): void {
    e.issued += 1;
    e.previous = e.current ? { id: e.current.id, alias: e.current.alias } : undefined;
    if (!e.previous) delete e.previous;
    e.current = { id: made.entry.id, alias: made.entry.alias, not_before: made.info.not_before, not_after: made.info.not_after };
  }

  /**
   * new_key false: a CSR for the current entry's key, and the issued chain replaces the
   * entry's certificate (same id and alias; its bindings are applied again). No earlier
   * certificate is kept, so there is no rollback entry: if applying fails, the old
   * certificate is put back and the attempt fails.
   */
  private async renewInPlace(e: Enrollment, client: AcmeClient, order: Order, current: NonNullable<Enrollment['current']>): Promise<void> {
    const csr = await this.certs.csr(current.alias, {
      subjectAltNames: e.identifiers.map((i) => `${i.type === 'dns' ? 'DNS' : 'IP'}:${i.value}`),
    });
    const chain = await client.finalize(order, pemToDer(csr));
    const before = this.certs.find(current.id)!.entry;
    try {
      await this.certs.replace('certificate', current.alias, chain);
    } catch (err) {
      await this.certs.replace('certificate', current.alias, [before.certificate, ...before.chain].join('\n')).catch(() => undefined);
      throw err;
    }
    e.issued += 1;
    const made = this.certs.find(current.id)!;
    e.current = { ...current, not_before: made.info.not_before, not_after: made.info.not_after };
  }
}

function reason(err: unknown): string {
  if (err instanceof AcmeRejected) return `${err.problem}: ${err.message}`;
  if (err instanceof DomainError) return `${err.code}: ${err.message}`;
  return (err as Error).message;
}
