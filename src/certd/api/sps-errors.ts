// The SPS API's errors, in one place: `{"error": {"type", "message", "details"}, "meta"}`
// with SPS's type names and statuses, the mapping of domain error codes to them, and the
// form of the HTTP core's errors (authentication, role, path, method, size) under /api/.
import type { IncomingHttpHeaders } from 'node:http';
import { DomainError, type DomainErrorCode } from '../domain/errors';
import type { HttpError } from '../http/errors';

export type SpsErrorType =
  | 'SyntacticError' | 'SemanticError' | 'InvalidQuery' | 'Unauthenticated' | 'AuthenticationFailure'
  | 'Forbidden' | 'NotFound' | 'MethodNotAllowed' | 'LengthRequired' | 'Locked' | 'Conflict'
  | 'TooLarge' | 'TooManyRequests' | 'InternalError';

const STATUS: Record<SpsErrorType, number> = {
  SyntacticError: 400, SemanticError: 400, InvalidQuery: 400, Unauthenticated: 401, AuthenticationFailure: 401,
  Forbidden: 403, NotFound: 404, MethodNotAllowed: 405, LengthRequired: 411, Locked: 409, Conflict: 409,
  TooLarge: 413, TooManyRequests: 429, InternalError: 500,
};

/** An error of the SPS front-end itself. */
export class SpsError extends Error {
  constructor(readonly type: SpsErrorType, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'SpsError';
  }

  get status(): number {
    return STATUS[this.type];
  }
}

const DOMAIN_TYPES: Record<DomainErrorCode, SpsErrorType> = {
  NOT_FOUND: 'NotFound',
  ALIAS_EXISTS: 'SemanticError',
  INVALID: 'SyntacticError',
  BAD_CERTIFICATE: 'SyntacticError',
  BAD_PRIVATE_KEY: 'SyntacticError',
  // An encrypted key: SPS takes none.
  WRONG_PASSPHRASE: 'SyntacticError',
  BAD_PKCS12: 'SyntacticError',
  UNSUPPORTED_KEY_TYPE: 'SyntacticError',
  KEY_MISMATCH: 'SemanticError',
  IN_USE: 'SemanticError',
  PREFLIGHT_FAILED: 'SemanticError',
  PROTECTED: 'SemanticError',
  UNKNOWN_KEYSTORE: 'InternalError',
  KEYSTORE_UNAVAILABLE: 'InternalError',
  KEYSTORE_FAILURE: 'InternalError',
  APPLY_FAILED: 'InternalError',
};

export interface SpsErrorOut {
  status: number;
  body: { error: { type: SpsErrorType; message: string; details: Record<string, unknown> }; meta: Record<string, string> };
  headers?: Record<string, string | string[]>;
}

function out(type: SpsErrorType, message: string, details: Record<string, unknown>, path: string): SpsErrorOut {
  return { status: STATUS[type], body: { error: { type, message, details }, meta: { href: path, transaction: '/api/transaction' } } };
}

/** A domain error or the front-end's own in SPS's form; anything else is not ours to word. */
export function spsErrorOf(e: unknown, path: string): SpsErrorOut | undefined {
  if (e instanceof SpsError) return out(e.type, e.message, e.details, path);
  if (!(e instanceof DomainError)) return undefined;
  // A chain that does not link reads well: SPS calls that semantic.
  const type = e.code === 'INVALID' && e.field === 'issuer_chain' ? 'SemanticError' : DOMAIN_TYPES[e.code];
  return out(type, e.message, e.field ? { field: e.field } : {}, path);
}

const CORE_TYPES: Record<number, SpsErrorType> = {
  403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 413: 'TooLarge', 414: 'TooLarge', 429: 'TooManyRequests',
};

/**
 * The HTTP core's errors under /api/ (App.errorForm). A 401 is AuthenticationFailure when
 * the request carried credentials, Unauthenticated when it did not; its details name the
 * path, as SPS's do.
 */
export function spsErrorForm(e: HttpError, req: { url: string; headers: IncomingHttpHeaders }): SpsErrorOut {
  const path = req.url.split('?')[0]!.slice(0, 256);
  if (e.status === 401) {
    const type = req.headers.authorization !== undefined ? 'AuthenticationFailure' : 'Unauthenticated';
    const message = type === 'Unauthenticated' ? 'Authentication required; log in at /api/authentication' : 'Authentication with the given credentials failed';
    return { ...out(type, message, { path }, path), headers: e.headers };
  }
  const type = CORE_TYPES[e.status] ?? 'InternalError';
  const message = type === 'MethodNotAllowed' ? `The method ${e.message.split(' ')[1] ?? ''} is not allowed for this node.` : e.message;
  return { ...out(type, message, {}, path), status: e.status, headers: e.headers };
}
