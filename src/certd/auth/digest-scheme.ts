// HTTP Digest (RFC 7616, qop=auth, MD5 and SHA-256) as an Axis camera does it. The
// challenges go out in the configured order, MD5 first by default: a common client library
// reads only the first challenge and always hashes MD5. Unknown users and wrong passwords
// take the same path (a dummy HA1).
import { randomBytes } from 'node:crypto';
import { digestResponse, safeEqual, type DigestAlgorithm } from './digest';
import { Nonces } from './nonces';
import type { Attempt, AuthScheme, SchemeInput } from './scheme';
import type { UserRecord, UserStore } from './users';

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'SHA-256'];

export interface DigestOptions {
  realm: string;
  /** Offered in this order. */
  algorithms: DigestAlgorithm[];
  nonceTtlSeconds: number;
  /** Wrong responses one nonce takes before it is used up. */
  nonceFailures: number;
  /** Milliseconds on a clock that does not go back. */
  now: () => number;
  /** How many used nonces to track for nc replay protection. */
  maxTrackedNonces: number;
}

export class DigestScheme implements AuthScheme {
  readonly name = 'digest';
  private readonly nonces: Nonces;
  private readonly opaque = randomBytes(16).toString('base64url');
  private readonly dummy: UserRecord = {
    name: '', role: 'viewer', ha1_md5: randomBytes(16).toString('hex'), ha1_sha256: randomBytes(32).toString('hex'),
  };

  constructor(private readonly store: UserStore, private readonly opts: DigestOptions) {
    if (!opts.algorithms.every((a) => DIGEST_ALGORITHMS.includes(a)) || new Set(opts.algorithms).size !== opts.algorithms.length) {
      throw new Error('digestAlgorithms: SHA-256 and/or MD5, each once');
    }
    if (!Number.isInteger(opts.nonceTtlSeconds) || opts.nonceTtlSeconds <= 0) throw new Error('nonceTtlSeconds must be a positive integer');
    if (!Number.isInteger(opts.nonceFailures) || opts.nonceFailures <= 0) throw new Error('nonceFailures must be a positive integer');
    this.nonces = new Nonces(opts.nonceTtlSeconds * 1000, opts.now, opts.maxTrackedNonces, opts.nonceFailures);
  }

  /** One fresh nonce for all of this answer's challenges. */
  challenges(_req: unknown, stale: boolean): string[] {
    if (this.opts.algorithms.length === 0) return [];
    const nonce = this.nonces.issue();
    return this.opts.algorithms.map((a) =>
      `Digest realm="${this.opts.realm}", qop="auth", algorithm=${a}, nonce="${nonce}", opaque="${this.opaque}"${stale ? ', stale=true' : ''}`);
  }

  attempt(req: SchemeInput): Attempt | 'absent' | 'malformed' {
    const cred = req.authorization;
    if (cred?.scheme !== 'digest' || this.opts.algorithms.length === 0) return 'absent';
    const p = cred.params;
    if (!p) return 'malformed';
    const algorithm = this.opts.algorithms.find((a) => a.toLowerCase() === (p.get('algorithm') ?? 'MD5').toLowerCase());
    const [username, nonce, nc, cnonce, response, uri] = ['username', 'nonce', 'nc', 'cnonce', 'response', 'uri'].map((k) => p.get(k) ?? '');
    const opaque = p.get('opaque');
    const wellFormed = algorithm !== undefined && username !== '' && cnonce !== '' && /^[0-9a-fA-F]{8}$/.test(nc)
      && p.get('realm') === this.opts.realm && p.get('qop') === 'auth' && (p.get('userhash') ?? 'false').toLowerCase() === 'false'
      && (opaque === undefined || opaque === this.opaque) && uriMatches(uri, req.url);
    const issuedAt = wellFormed ? this.nonces.issuedAt(nonce) : undefined;
    if (!algorithm || issuedAt === undefined) return 'malformed';
    const count = parseInt(nc, 16);
    return {
      name: username,
      refusal: () => (this.nonces.usedUp(nonce) ? 'nonce used up' : undefined),
      verify: () => {
        const user = this.store.get(username);
        const stored = user ?? this.dummy;
        // The uri the client signed: the request-target, or its path (uriMatches).
        const expected = digestResponse(algorithm, algorithm === 'MD5' ? stored.ha1_md5 : stored.ha1_sha256,
          { method: req.method, uri, nonce, nc, cnonce, qop: 'auth' });
        return safeEqual(expected, response.toLowerCase()) ? user : undefined;
      },
      wrong: () => this.nonces.failed(nonce, issuedAt),
      // Right credentials on an expired nonce or a used nc: stale=true lets the client retry
      // with a new nonce without asking the user again (RFC 7616 §3.3).
      current: () => this.nonces.isFresh(issuedAt) && this.nonces.advance(nonce, issuedAt, count),
    };
  }
}

/**
 * The Digest uri is the request-target (RFC 7616 §3.4.6). Some clients sign the path
 * without the query; like Apache's mod_auth_digest, that is taken when the request has a
 * query. Any other difference is refused.
 */
export function uriMatches(uri: string, url: string): boolean {
  if (uri === url) return true;
  const q = url.indexOf('?');
  return q >= 0 && uri === url.slice(0, q);
}
