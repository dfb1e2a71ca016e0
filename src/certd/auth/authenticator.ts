// HTTP authentication as an Axis camera does it, as a chain of schemes (scheme.ts) per
// front-end: Digest then Basic by default; a front-end may set its own chain (SOAP's
// WS-UsernameToken, SPS's session cookie). check() never throws: every malformed
// credential is 'bad'. With a Throttle, failed logins of every scheme are counted, their
// answers held back and, past its limits, the (user, source) or the source is refused
// ('locked') before any password is looked at.
import { parseAuthorization } from './auth-header';
import { BasicScheme } from './basic-scheme';
import type { DigestAlgorithm } from './digest';
import { DigestScheme } from './digest-scheme';
import { apiOf } from '../http/context';
import type { FailedLogin } from './failure-log';
import type { AuthRequest, AuthScheme } from './scheme';
import { displayAddress, type Throttle } from './throttle';
import type { Role, UserRecord, UserStore } from './users';

export type { AuthRequest } from './scheme';

export interface AuthOptions {
  realm: string;
  basic: boolean;
  /** Basic also on plain HTTP (the password in clear); default false. */
  basicOverHttp?: boolean;
  /** Offered in this order (MD5 first, as devices do). */
  digestAlgorithms: DigestAlgorithm[];
  nonceTtlSeconds: number;
  /** Wrong responses one Digest nonce takes before it is used up; default 3. */
  nonceFailures?: number;
}

export interface AuthHooks {
  /** Milliseconds on a clock that does not go back; default performance.now(). */
  now?: () => number;
  /** How many used nonces to track for nc replay protection; default 10000. */
  maxTrackedNonces?: number;
  /** Counts failures, delays and locks; without one nothing is throttled. */
  throttle?: Throttle;
  /** Every failed login: a wrong password, an unknown user, a used-up nonce, a locked source. */
  onFailure?: (f: FailedLogin) => void;
}

export type AuthResult =
  | { ok: true; user: string; role: Role }
  | Refusal
  | { ok: false; challenges: string[]; reason: 'locked'; retryAfterSeconds: number };

type Refusal = { ok: false; challenges: string[]; reason: 'missing' | 'bad' | 'stale'; delayMs?: number };

/**
 * Largest Authorization header taken: a Digest one repeats the URL (up to 8 KiB,
 * http/app.ts MAX_URL) beside about 400 bytes of its own.
 */
export const MAX_AUTHORIZATION = 12 * 1024;
const MAX_LOGGED_NAME = 64;

export class Authenticator {
  /** The chain of the front-ends that have none of their own. */
  readonly defaultChain: readonly AuthScheme[];
  private readonly chains = new Map<string, readonly AuthScheme[]>();

  constructor(private readonly store: UserStore, opts: AuthOptions, private readonly hooks: AuthHooks = {}) {
    if (opts.realm !== store.realm) throw new Error('realm differs from the users file realm (HA1 depends on it)');
    if (opts.digestAlgorithms.length === 0 && !opts.basic) throw new Error('no authentication scheme enabled');
    const digest = new DigestScheme(store, {
      realm: opts.realm, algorithms: opts.digestAlgorithms, nonceTtlSeconds: opts.nonceTtlSeconds, nonceFailures: opts.nonceFailures ?? 3,
      now: hooks.now ?? (() => performance.now()), maxTrackedNonces: hooks.maxTrackedNonces ?? 10000,
    });
    this.defaultChain = opts.basic ? [digest, new BasicScheme(store, opts.realm, opts.basicOverHttp ?? false)] : [digest];
  }

  /** The chain of one front-end (context.ts apiOf names: 'soap', 'sps', …), in the order tried and challenged. */
  setChain(api: string, schemes: readonly AuthScheme[]): void {
    if (schemes.length === 0) throw new Error(`empty authentication chain for ${api}`);
    this.chains.set(api, schemes);
  }

  /** check(), with the answer to a failure held back as long as the throttle says. */
  async authenticate(req: AuthRequest): Promise<AuthResult> {
    const r = await this.evaluate(req);
    if (!r.ok && r.reason === 'bad' && r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
    return r;
  }

  /** The decision at once, for chains whose schemes all verify synchronously (Digest, Basic). */
  check(req: AuthRequest): AuthResult {
    const r = this.evaluate(req);
    if (r instanceof Promise) throw new Error('a scheme of this chain verifies asynchronously: use authenticate()');
    return r;
  }

  // Synchronous as long as the scheme's verify() is: a UsernameToken asks keystored.
  private evaluate(req: AuthRequest): AuthResult | Promise<AuthResult> {
    const chain = this.chains.get(apiOf(req.url)) ?? this.defaultChain;
    const header = req.headers.authorization;
    const input = { ...req, authorization: header !== undefined && header.length <= MAX_AUTHORIZATION ? parseAuthorization(header) : undefined };
    let scheme: AuthScheme | undefined;
    let found: ReturnType<AuthScheme['attempt']> = 'absent';
    for (scheme of chain) {
      found = scheme.attempt(input);
      if (found !== 'absent') break;
    }
    const fail = (reason: Refusal['reason']): Refusal =>
      ({ ok: false, challenges: chain.flatMap((s) => s.challenges(req, reason === 'stale')), reason });
    if (found === 'absent') return fail(header === undefined ? 'missing' : 'bad');
    if (found === 'malformed') return fail('bad');
    const attempt = found;

    const report = (f: Pick<FailedLogin, 'reason' | 'delayMs' | 'retryAfterSeconds'>) => this.hooks.onFailure?.({
      user: attempt.name.slice(0, MAX_LOGGED_NAME), address: displayAddress(req.remote), scheme: scheme!.name, api: apiOf(req.url), ...f,
    });
    const retryAfterSeconds = this.hooks.throttle?.lockedFor(attempt.name, req.remote);
    if (retryAfterSeconds !== undefined) {
      report({ reason: 'locked', retryAfterSeconds });
      return { ok: false, challenges: [], reason: 'locked', retryAfterSeconds };
    }
    const refused = attempt.refusal?.();
    if (refused) {
      report({ reason: refused });
      return fail('bad');
    }
    const finish = (user: UserRecord | undefined): AuthResult => {
      if (!user) {
        attempt.wrong?.();
        const delayMs = this.hooks.throttle?.failure(attempt.name, req.remote) ?? 0;
        report({ reason: this.store.get(attempt.name) ? 'wrong password' : 'unknown user', delayMs });
        return { ...fail('bad'), delayMs };
      }
      this.hooks.throttle?.success(attempt.name, req.remote);
      if (attempt.current && !attempt.current()) return fail('stale');
      return { ok: true, user: user.name, role: user.role };
    };
    const verified = attempt.verify();
    return verified instanceof Promise ? verified.then(finish) : finish(verified);
  }
}
