// SPS's one configuration transaction: opened by a session (POST /api/transaction, or its
// first change), it locks the configuration for every other session; its changes are held
// here, seen by that session only, until a commit applies them as one atomic batch of the
// domain (all or nothing after a crash) or a rollback, a logout, the session's lapse or its
// own time running out drops them. Staged private keys are only in this memory (wiped when
// dropped), never in keystored before the commit, so a dropped transaction orphans none. A
// private_keys object enters keystored at the commit as the key of the x509 object that
// references it; one that nothing references is dropped with the transaction (the seed: a
// commit deletes what no longer is referenced).
import type { BatchStep, Batches } from '../domain/batches';
import type { UserRecord } from '../auth/users';
import type { Binding } from '../store/bindings';
import { SpsError } from './sps-errors';

/**
 * Idle time after which an open transaction rolls back (SPS: the session's 20 minutes;
 * `remaining_seconds` is the time before the auto-cancel), started again by every call its
 * session makes.
 */
export const TRANSACTION_MS = 20 * 60_000;

export interface StagedX509 {
  key: string;
  certificate: string;
  issuerChain: string[];
  privateKey: Buffer;
}

export interface Change {
  type: 'create' | 'delete' | 'replace';
  path: string;
  new_value?: unknown;
  old_value?: unknown;
}

/** A private_keys object: the PEM as sent (wiped when dropped) and what GET shows of it. */
export interface StagedKey {
  pem: Buffer;
  type: 'rsa' | 'ec';
  /** SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex. */
  spkiSha256: string;
  /** The x509 object that references it (once at most). */
  usedBy?: string;
}

export interface Open {
  session: string;
  touched: number;
  x509: Map<string, StagedX509>;
  privateKeys: Map<string, StagedKey>;
  /** Password objects: key → the password, plain or hashed. */
  passwords: Map<string, { plain?: string; hash?: string }>;
  /** Users' new passwords: user name → password object key. */
  userPasswords: Map<string, string>;
  /** The root password's new password object key. */
  rootPassword?: string;
  /** Bindings re-pointed: binding name → entry id. */
  bindings: Map<string, string>;
  changes: Change[];
  /** Its commit is waiting on keystored: nothing may change, roll back or lapse it meanwhile. */
  committing?: boolean;
  /** Its session ended during the commit: the commit closes it whatever the outcome. */
  ended?: boolean;
}

export class Transactions {
  private open: Open | undefined;

  constructor(
    private readonly batches: Batches,
    /** A binding as it is on record (its CA certificates and settings stay when it is re-pointed). */
    private readonly recorded: (name: string) => Binding | undefined,
    private readonly passwords: {
      /** The user's record with this password (Digest HA1s, the sealed password for WS-UsernameToken): what the batch writes. */
      record: (user: string, password: string) => UserRecord | Promise<UserRecord>;
      /** After the commit; `session` is the committing one (kept when its own user's password changes). */
      changed: (users: string[], session: string) => void;
      /** The root password's salted hash: what the batch writes. */
      rootHash: (password: string) => string;
      /** After a commit that set the root password (its hash, for the OS hook). */
      rootChanged: (hash: string) => void;
    },
    private readonly now: () => number = Date.now, private readonly ttlMs = TRANSACTION_MS) {}

  /** The open transaction of `session`, or undefined (lapsed ones roll back here). */
  of(session: string | undefined): Open | undefined {
    this.expire();
    return this.open && session !== undefined && this.open.session === session ? this.open : undefined;
  }

  status(session: string | undefined): { status: 'open' | 'closed'; remainingSeconds?: number; lockedByOther: boolean } {
    const mine = this.of(session);
    if (!mine) return { status: 'closed', lockedByOther: this.open !== undefined };
    return { status: 'open', remainingSeconds: Math.max(0, Math.ceil((mine.touched + this.ttlMs - this.now()) / 1000)), lockedByOther: false };
  }

  /** The session made a call: its open transaction's idle time starts again (a lapsed one stays rolled back). */
  touch(session: string): void {
    this.expire();
    if (this.open?.session === session) this.open.touched = this.now();
  }

  /** Opens (or returns) the session's transaction; 409 while another session holds one. */
  begin(session: string | undefined): Open {
    if (session === undefined) throw new SpsError('SemanticError', 'a transaction needs a session: log in at /api/authentication first');
    const mine = this.of(session);
    if (mine) {
      if (mine.committing) throw new SpsError('Locked', 'the transaction is being committed');
      mine.touched = this.now();
      return mine;
    }
    if (this.open) throw new SpsError('Locked', 'the configuration is locked by the transaction of another session');
    this.open = { session, touched: this.now(), x509: new Map(), privateKeys: new Map(), passwords: new Map(), userPasswords: new Map(), bindings: new Map(), changes: [] };
    return this.open;
  }

  stageX509(session: string | undefined, x: StagedX509): void {
    const t = this.begin(session);
    t.x509.set(x.key, x);
    t.changes.push({ type: 'create', path: `/api/configuration/x509/${x.key}`, new_value: { certificate: x.certificate, issuer_chain: x.issuerChain } });
  }

  stagePrivateKey(session: string | undefined, key: string, k: StagedKey): void {
    const t = this.begin(session);
    t.privateKeys.set(key, k);
    t.changes.push({ type: 'create', path: `/api/configuration/private_keys/${key}`, new_value: { type: k.type } });
  }

  stagePassword(session: string | undefined, key: string, password: { plain?: string; hash?: string }): void {
    const t = this.begin(session);
    t.passwords.set(key, password);
    t.changes.push({ type: 'create', path: `/api/configuration/passwords/${key}`, new_value: {} });
  }

  /** A user's password becomes the password object `key` of this transaction at the commit. */
  stageUserPassword(session: string | undefined, user: string, key: string): void {
    const t = this.begin(session);
    t.userPasswords.set(user, key);
    t.changes.push({ type: 'replace', path: `/api/configuration/aaa/local_database/users/${user}`, old_value: { name: user }, new_value: { name: user, password: key } });
  }

  /** The root password becomes the password object `key` of this transaction at the commit. */
  stageRootPassword(session: string | undefined, key: string): void {
    const t = this.begin(session);
    t.rootPassword = key;
    t.changes.push({ type: 'replace', path: '/api/configuration/management/root_password', new_value: key });
  }

  /** Re-points bindings (name → entry id) at the commit; `change` is how the changes list shows it. */
  stageBindings(session: string | undefined, next: Map<string, string>, change: Change): void {
    const t = this.begin(session);
    for (const [name, id] of next) t.bindings.set(name, id);
    t.changes.push(change);
  }

  /** Applies the session's changes as one batch, then closes the transaction. */
  async commit(session: string | undefined): Promise<void> {
    const t = this.of(session);
    if (!t) throw new SpsError('SemanticError', 'no open transaction of this session to commit');
    if (t.committing) throw new SpsError('Locked', 'the transaction is being committed');
    t.committing = true;
    let done = false;
    try {
      await this.apply(t);
      done = true;
    } finally {
      t.committing = false;
      // Closed once committed; a failed one stays open for its session, unless that ended meanwhile.
      if ((done || t.ended) && this.open === t) this.drop();
    }
  }

  private async apply(t: Open): Promise<void> {
    const steps: BatchStep[] = [...t.x509.values()].map((x) => ({
      op: 'add_certificate', alias: `sps-${x.key}`, id: x.key, certificate: [x.certificate, ...x.issuerChain].join('\n'), privateKey: x.privateKey,
    }));
    for (const [name, id] of t.bindings) {
      const now = this.recorded(name);
      steps.push({ op: 'set_binding', name, binding: { certificate: id, ca: now?.ca ?? [], settings: now?.settings ?? {} } });
    }
    // The users' new records are steps of the same batch: after a crash, the new objects and
    // the new passwords are both there or neither is.
    for (const [user, key] of t.userPasswords) steps.push({ op: 'set_user_password', record: await this.passwords.record(user, t.passwords.get(key)!.plain!) });
    const rootHash = t.rootPassword === undefined ? undefined : this.passwords.rootHash(t.passwords.get(t.rootPassword)!.plain!);
    if (rootHash !== undefined) steps.push({ op: 'set_root_password', hash: rootHash });
    if (steps.length > 0) await this.batches.apply(steps);
    if (t.userPasswords.size > 0) this.passwords.changed([...t.userPasswords.keys()], t.session);
    if (rootHash !== undefined) this.passwords.rootChanged(rootHash);
  }

  rollback(session: string | undefined): void {
    const t = this.of(session);
    if (t?.committing) throw new SpsError('Locked', 'the transaction is being committed');
    if (t) this.drop();
  }

  /** A session ended: its transaction goes with it (one being committed, when the commit ends). */
  sessionEnded(session: string): void {
    if (this.open?.session !== session) return;
    if (this.open.committing) this.open.ended = true;
    else this.drop();
  }

  private expire(): void {
    if (this.open && !this.open.committing && this.now() - this.open.touched >= this.ttlMs) this.drop();
  }

  private drop(): void {
    for (const x of this.open?.x509.values() ?? []) x.privateKey.fill(0);
    for (const k of this.open?.privateKeys.values() ?? []) k.pem.fill(0);
    this.open = undefined;
  }
}
