// HTTP authentication as an Axis camera does it: Digest (RFC 7616, qop=auth, SHA-256 and
// MD5) and, where enabled, Basic (RFC 7617). check() never throws: every malformed header
// is 'bad'. Unknown users and wrong passwords take the same path (a dummy HA1).
import { randomBytes } from 'node:crypto';
import { parseAuthorization } from './auth-header';
import { digestResponse, ha1, safeEqual, type DigestAlgorithm } from './digest';
import { Nonces } from './nonces';
import type { Role, UserRecord, UserStore } from './users';

export interface AuthOptions {
  realm: string;
  basic: boolean;
  digestAlgorithms: DigestAlgorithm[];
  nonceTtlSeconds: number;
}

export interface AuthHooks {
  /** Milliseconds on a clock that does not go back; default performance.now(). */
  now?: () => number;
  /** How many used nonces to track for nc replay protection; default 10000. */
  maxTrackedNonces?: number;
}

export type AuthResult =
  | { ok: true; user: string; role: Role }
  | { ok: false; challenges: string[]; reason: 'missing' | 'bad' | 'stale' };

// Preference order of the challenges, most preferred first (RFC 7616 §3.7).
const PREFERENCE: DigestAlgorithm[] = ['SHA-256', 'MD5'];
const MAX_HEADER = 4096;

export class Authenticator {
  private readonly algorithms: DigestAlgorithm[];
  private readonly nonces: Nonces;
  private readonly opaque = randomBytes(16).toString('base64url');
  private readonly dummy: UserRecord = {
    name: '', role: 'viewer', ha1_md5: randomBytes(16).toString('hex'), ha1_sha256: randomBytes(32).toString('hex'),
  };

  constructor(private readonly store: UserStore, private readonly opts: AuthOptions, hooks: AuthHooks = {}) {
    if (opts.realm !== store.realm) throw new Error('realm differs from the users file realm (HA1 depends on it)');
    if (!Number.isInteger(opts.nonceTtlSeconds) || opts.nonceTtlSeconds <= 0) throw new Error('nonceTtlSeconds must be a positive integer');
    this.algorithms = PREFERENCE.filter((a) => opts.digestAlgorithms.includes(a));
    if (this.algorithms.length !== opts.digestAlgorithms.length) throw new Error('digestAlgorithms: SHA-256 and/or MD5');
    if (this.algorithms.length === 0 && !opts.basic) throw new Error('no authentication scheme enabled');
    const now = hooks.now ?? (() => performance.now());
    this.nonces = new Nonces(opts.nonceTtlSeconds * 1000, now, hooks.maxTrackedNonces ?? 10000);
  }

  check(method: string, uri: string, authorization: string | undefined): AuthResult {
    if (authorization === undefined) return this.fail('missing');
    const cred = authorization.length <= MAX_HEADER ? parseAuthorization(authorization) : undefined;
    if (cred?.scheme === 'digest' && cred.params && this.algorithms.length > 0) return this.digest(method, uri, cred.params);
    if (cred?.scheme === 'basic' && cred.token68 !== undefined && this.opts.basic) return this.basic(cred.token68);
    return this.fail('bad');
  }

  /** One fresh nonce for all Digest challenges of this answer. */
  private challenges(stale: boolean): string[] {
    const nonce = this.nonces.issue();
    const out = this.algorithms.map((a) =>
      `Digest realm="${this.opts.realm}", qop="auth", algorithm=${a}, nonce="${nonce}", opaque="${this.opaque}"${stale ? ', stale=true' : ''}`);
    if (this.opts.basic) out.push(`Basic realm="${this.opts.realm}", charset="UTF-8"`);
    return out;
  }

  private digest(method: string, uri: string, p: Map<string, string>): AuthResult {
    const algorithm = this.algorithms.find((a) => a.toLowerCase() === (p.get('algorithm') ?? 'MD5').toLowerCase());
    const [username, nonce, nc, cnonce, response] = ['username', 'nonce', 'nc', 'cnonce', 'response'].map((k) => p.get(k) ?? '');
    const opaque = p.get('opaque');
    const wellFormed = algorithm !== undefined && username !== '' && cnonce !== '' && /^[0-9a-fA-F]{8}$/.test(nc)
      && p.get('realm') === this.opts.realm && p.get('qop') === 'auth' && (p.get('userhash') ?? 'false').toLowerCase() === 'false'
      && (opaque === undefined || opaque === this.opaque)
      && p.get('uri') === uri; // exactly the request-target (RFC 7616 §3.4.6)
    const issuedAt = wellFormed ? this.nonces.issuedAt(nonce) : undefined;
    if (!algorithm || issuedAt === undefined) return this.fail('bad');

    const user = this.store.get(username);
    const stored = user ?? this.dummy;
    const expected = digestResponse(algorithm, algorithm === 'MD5' ? stored.ha1_md5 : stored.ha1_sha256,
      { method, uri, nonce, nc, cnonce, qop: 'auth' });
    if (!safeEqual(expected, response.toLowerCase()) || !user) return this.fail('bad');
    // Right credentials on an expired nonce or a used nc: stale=true lets the client retry
    // with a new nonce without asking the user again (RFC 7616 §3.3).
    if (!this.nonces.isFresh(issuedAt) || !this.nonces.advance(nonce, issuedAt, parseInt(nc, 16))) return this.fail('stale');
    return { ok: true, user: user.name, role: user.role };
  }

  private basic(token68: string): AuthResult {
    if (token68.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token68)) return this.fail('bad');
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(token68, 'base64'));
    } catch {
      return this.fail('bad');
    }
    const colon = text.indexOf(':');
    if (colon < 0) return this.fail('bad');
    const name = text.slice(0, colon);
    const user = this.store.get(name);
    const got = ha1('SHA-256', name, this.opts.realm, text.slice(colon + 1));
    if (!safeEqual((user ?? this.dummy).ha1_sha256, got) || !user) return this.fail('bad');
    return { ok: true, user: user.name, role: user.role };
  }

  private fail(reason: 'missing' | 'bad' | 'stale'): AuthResult {
    return { ok: false, challenges: this.challenges(reason === 'stale'), reason };
  }
}
