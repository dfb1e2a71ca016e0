// HTTP authentication as an Axis camera does it: Digest (RFC 7616, qop=auth, SHA-256 and
// MD5) and, where enabled, Basic (RFC 7617). check() never throws: every malformed header
// is 'bad'. Unknown users and wrong passwords take the same path (a dummy HA1). With a
// Throttle, failed logins are counted, their answers held back and, past its limits, the
// (user, source) or the source is refused ('locked') before any password is looked at.
import { randomBytes } from 'node:crypto';
import { parseAuthorization } from './auth-header';
import { digestResponse, ha1, safeEqual, type DigestAlgorithm } from './digest';
import { apiOf } from '../http/context';
import type { FailedLogin } from './failure-log';
import { Nonces } from './nonces';
import { displayAddress, type Throttle } from './throttle';
import type { Role, UserRecord, UserStore } from './users';

export interface AuthOptions {
  realm: string;
  basic: boolean;
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

/** Credentials that parsed, for a user name; the password is not looked at yet. */
interface Attempt {
  scheme: FailedLogin['scheme'];
  name: string;
  /** The user, if the password (Digest: the response) is right. */
  verify(): UserRecord | undefined;
  nonce?: { value: string; issuedAt: number; nc: number };
}

// Preference order of the challenges, most preferred first (RFC 7616 §3.7).
const PREFERENCE: DigestAlgorithm[] = ['SHA-256', 'MD5'];
const MAX_HEADER = 4096;
const MAX_LOGGED_NAME = 64;

export class Authenticator {
  private readonly algorithms: DigestAlgorithm[];
  private readonly nonces: Nonces;
  private readonly opaque = randomBytes(16).toString('base64url');
  private readonly dummy: UserRecord = {
    name: '', role: 'viewer', ha1_md5: randomBytes(16).toString('hex'), ha1_sha256: randomBytes(32).toString('hex'),
  };

  constructor(private readonly store: UserStore, private readonly opts: AuthOptions, private readonly hooks: AuthHooks = {}) {
    if (opts.realm !== store.realm) throw new Error('realm differs from the users file realm (HA1 depends on it)');
    if (!Number.isInteger(opts.nonceTtlSeconds) || opts.nonceTtlSeconds <= 0) throw new Error('nonceTtlSeconds must be a positive integer');
    const nonceFailures = opts.nonceFailures ?? 3;
    if (!Number.isInteger(nonceFailures) || nonceFailures <= 0) throw new Error('nonceFailures must be a positive integer');
    this.algorithms = PREFERENCE.filter((a) => opts.digestAlgorithms.includes(a));
    if (this.algorithms.length !== opts.digestAlgorithms.length) throw new Error('digestAlgorithms: SHA-256 and/or MD5');
    if (this.algorithms.length === 0 && !opts.basic) throw new Error('no authentication scheme enabled');
    const now = hooks.now ?? (() => performance.now());
    this.nonces = new Nonces(opts.nonceTtlSeconds * 1000, now, hooks.maxTrackedNonces ?? 10000, nonceFailures);
  }

  /** check(), with the answer to a failure held back as long as the throttle says. */
  async authenticate(method: string, uri: string, authorization: string | undefined, remote: string): Promise<AuthResult> {
    const r = this.check(method, uri, authorization, remote);
    if (!r.ok && r.reason === 'bad' && r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
    return r;
  }

  /** `remote` is the client's address (req.socket.remoteAddress). */
  check(method: string, uri: string, authorization: string | undefined, remote = ''): AuthResult {
    if (authorization === undefined) return this.fail('missing');
    const cred = authorization.length <= MAX_HEADER ? parseAuthorization(authorization) : undefined;
    const attempt = cred?.scheme === 'digest' && cred.params && this.algorithms.length > 0 ? this.digest(method, uri, cred.params)
      : cred?.scheme === 'basic' && cred.token68 !== undefined && this.opts.basic ? this.basic(cred.token68) : undefined;
    if (!attempt) return this.fail('bad');

    const report = (f: Pick<FailedLogin, 'reason' | 'delayMs' | 'retryAfterSeconds'>) =>
      this.hooks.onFailure?.({ user: attempt.name.slice(0, MAX_LOGGED_NAME), address: displayAddress(remote), scheme: attempt.scheme, api: apiOf(uri), ...f });
    const retryAfterSeconds = this.hooks.throttle?.lockedFor(attempt.name, remote);
    if (retryAfterSeconds !== undefined) {
      report({ reason: 'locked', retryAfterSeconds });
      return { ok: false, challenges: [], reason: 'locked', retryAfterSeconds };
    }
    const nonce = attempt.nonce;
    if (nonce && this.nonces.usedUp(nonce.value)) {
      report({ reason: 'nonce used up' });
      return this.fail('bad');
    }
    const user = attempt.verify();
    if (!user) {
      if (nonce) this.nonces.failed(nonce.value, nonce.issuedAt);
      const delayMs = this.hooks.throttle?.failure(attempt.name, remote) ?? 0;
      report({ reason: this.store.get(attempt.name) ? 'wrong password' : 'unknown user', delayMs });
      return { ...this.fail('bad'), delayMs };
    }
    this.hooks.throttle?.success(attempt.name, remote);
    // Right credentials on an expired nonce or a used nc: stale=true lets the client retry
    // with a new nonce without asking the user again (RFC 7616 §3.3).
    if (nonce && (!this.nonces.isFresh(nonce.issuedAt) || !this.nonces.advance(nonce.value, nonce.issuedAt, nonce.nc))) return this.fail('stale');
    return { ok: true, user: user.name, role: user.role };
  }

  /** One fresh nonce for all Digest challenges of this answer. */
  private challenges(stale: boolean): string[] {
    const nonce = this.nonces.issue();
    const out = this.algorithms.map((a) =>
      `Digest realm="${this.opts.realm}", qop="auth", algorithm=${a}, nonce="${nonce}", opaque="${this.opaque}"${stale ? ', stale=true' : ''}`);
    if (this.opts.basic) out.push(`Basic realm="${this.opts.realm}", charset="UTF-8"`);
    return out;
  }

  private digest(method: string, uri: string, p: Map<string, string>): Attempt | undefined {
    const algorithm = this.algorithms.find((a) => a.toLowerCase() === (p.get('algorithm') ?? 'MD5').toLowerCase());
    const [username, nonce, nc, cnonce, response] = ['username', 'nonce', 'nc', 'cnonce', 'response'].map((k) => p.get(k) ?? '');
    const opaque = p.get('opaque');
    const wellFormed = algorithm !== undefined && username !== '' && cnonce !== '' && /^[0-9a-fA-F]{8}$/.test(nc)
      && p.get('realm') === this.opts.realm && p.get('qop') === 'auth' && (p.get('userhash') ?? 'false').toLowerCase() === 'false'
      && (opaque === undefined || opaque === this.opaque)
      && p.get('uri') === uri; // exactly the request-target (RFC 7616 §3.4.6)
    const issuedAt = wellFormed ? this.nonces.issuedAt(nonce) : undefined;
    if (!algorithm || issuedAt === undefined) return undefined;
    return {
      scheme: 'digest',
      name: username,
      nonce: { value: nonce, issuedAt, nc: parseInt(nc, 16) },
      verify: () => {
        const user = this.store.get(username);
        const stored = user ?? this.dummy;
        const expected = digestResponse(algorithm, algorithm === 'MD5' ? stored.ha1_md5 : stored.ha1_sha256,
          { method, uri, nonce, nc, cnonce, qop: 'auth' });
        return safeEqual(expected, response.toLowerCase()) ? user : undefined;
      },
    };
  }

  private basic(token68: string): Attempt | undefined {
    if (token68.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token68)) return undefined;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(token68, 'base64'));
    } catch {
      return undefined;
    }
    const colon = text.indexOf(':');
    if (colon < 0) return undefined;
    const name = text.slice(0, colon);
    return {
      scheme: 'basic',
      name,
      verify: () => {
        const user = this.store.get(name);
        const got = ha1('SHA-256', name, this.opts.realm, text.slice(colon + 1));
        return safeEqual((user ?? this.dummy).ha1_sha256, got) ? user : undefined;
      },
    };
  }

  private fail(reason: Refusal['reason']): Refusal {
    return { ok: false, challenges: this.challenges(reason === 'stale'), reason };
  }
}
