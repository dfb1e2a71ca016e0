// One way of proving who the client is (Digest, Basic, the SOAP body's WS-UsernameToken, the
// SPS session cookie). The Authenticator runs a chain of them per front-end:
// the first scheme that finds its credentials in the request decides, the throttle and the
// failure log see every scheme alike. A new scheme is one file implementing AuthScheme.
import type { IncomingHttpHeaders } from 'node:http';
import type { Credentials } from './auth-header';
import type { UserRecord } from './users';

export interface AuthRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The client's address (after a trusted proxy's X-Forwarded-For). */
  remote: string;
  /** The connection is TLS: certd's own, or the front web server's (forwarded-tls.ts). */
  secure: boolean;
  /** The parsed body, where the front-end authenticates after parsing it (SOAP). */
  body?: unknown;
}

/** What a scheme sees: the request and its Authorization header, parsed once. */
export interface SchemeInput extends AuthRequest {
  /** undefined when there is no header, or one over the size limit or off the grammar. */
  authorization?: Credentials;
}

/** Credentials that parsed, for a user name; the password is not looked at yet. */
export interface Attempt {
  name: string;
  /** Refuses before any password is looked at (Digest: a nonce answered wrongly too often). */
  refusal?(): 'nonce used up' | undefined;
  /** The user, if the password (Digest: the response) is right; a UsernameToken asks keystored, so it may be a promise. */
  verify(): UserRecord | undefined | Promise<UserRecord | undefined>;
  /** Told of a wrong password. */
  wrong?(): void;
  /** After a right password: false when the client must renew its credentials (a stale nonce). */
  current?(): boolean;
}

export interface AuthScheme {
  /** As the failure log and audit show it: digest, basic, … */
  readonly name: string;
  /**
   * 'absent': the request carries nothing for this scheme (or nothing it may take here: Basic
   * on plain HTTP); 'malformed': it does, and it does not parse (refused, not counted).
   */
  attempt(req: SchemeInput): Attempt | 'absent' | 'malformed';
  /** The WWW-Authenticate challenges of this scheme for a refusal of `req`. */
  challenges(req: AuthRequest, stale: boolean): string[];
}
