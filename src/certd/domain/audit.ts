// The audit trail: one record for every change, whichever API asked, and for every failed
// login. A record says who (user, source address, API, request id), what (operation and
// target: the entry's id and alias) and how it ended (ok, or the domain's error code).
// Never a secret: records are built here from names and codes only, never from request
// bodies or error messages.
import { DomainError } from './errors';

export interface Actor {
  user: string;
  source: string;
  api: string;
  request_id: string;
}

export interface AuditTarget {
  id?: string;
  alias?: string;
  keystore?: string;
  key_id?: string;
}

export interface AuditRecord {
  time: string;
  user: string;
  source: string;
  api: string;
  operation: string;
  target?: AuditTarget;
  /** "ok" or an error code (a DomainErrorCode, "INTERNAL", or the login failure's reason). */
  outcome: string;
  request_id?: string;
}

export interface AuditSink {
  append(record: AuditRecord): void;
  read(): unknown[];
}

export class Audit {
  constructor(
    private readonly sink: AuditSink,
    /** Who is asking; undefined for what certd does by itself (then user "certd"). */
    private readonly actor: () => Actor | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Runs a change and records its outcome. `target` is asked before and after the change:
   * after, for a new entry's id; before, for what a removal took away.
   */
  async change<T>(operation: string, target: () => AuditTarget, run: () => Promise<T>): Promise<T> {
    const before = target();
    const pick = () => {
      const after = target();
      return after.id !== undefined ? after : before;
    };
    try {
      const result = await run();
      this.write(operation, pick(), 'ok');
      return result;
    } catch (e) {
      this.write(operation, pick(), e instanceof DomainError ? e.code : 'INTERNAL');
      throw e;
    }
  }

  /** Something certd found or did by itself (at start: a key it kept, an intent set aside). */
  note(operation: string, target: AuditTarget, outcome = 'ok'): void {
    this.write(operation, target, outcome);
  }

  /** A failed login: `user` is the name the client sent (it may not exist). */
  failedLogin(user: string, source: string, api: string, reason: string): void {
    this.sink.append({ time: this.now().toISOString(), user, source, api, operation: 'login', outcome: reason });
  }

  /** Records at or after `since` (ISO time), oldest first, at most `limit` of the newest. */
  list(since: string | undefined, limit: number): unknown[] {
    const all = this.sink.read() as AuditRecord[];
    const from = since === undefined ? all : all.filter((r) => r.time >= since);
    return from.slice(Math.max(0, from.length - limit));
  }

  private write(operation: string, target: AuditTarget, outcome: string): void {
    const a = this.actor();
    this.sink.append({
      time: this.now().toISOString(),
      user: a?.user ?? 'certd',
      source: a?.source ?? '',
      api: a?.api ?? 'internal',
      operation,
      target,
      outcome,
      ...(a ? { request_id: a.request_id } : {}),
    });
  }
}
