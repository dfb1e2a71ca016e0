// The 2N API's errors, in one place: its envelope, the mapping of domain error codes to 2N
// codes (with the request parameter at fault), and the form of the HTTP core's errors
// (authentication, role, path, method, size) under /api/cert/. 2N answers HTTP 200 with
// `success: false`, except 401 for missing or wrong credentials (code 9). Codes 5, 6 and 16
// are never sent: 2N client libraries take them for "unsupported device".
import { DomainError, type DomainErrorCode } from '../domain/errors';
import type { HttpError } from '../http/errors';

/** The codes this front-end sends, as 2N documents them. */
export const TWO_N = {
  INVALID_PATH: 2,
  INVALID_METHOD: 3,
  AUTHORISATION_REQUIRED: 9,
  INSUFFICIENT_PRIVILEGES: 10,
  MISSING_PARAMETER: 11,
  INVALID_PARAMETER: 12,
  DATA_TOO_BIG: 13,
  PROCESSING_ERROR: 14,
  NO_DATA: 15,
  PARAMETER_COLLISION: 17,
  REJECTED: 18,
} as const;

/** An error of the 2N front-end itself (a request parameter it refuses). */
export class TwoNError extends Error {
  constructor(readonly code: number, readonly param: string | undefined, message: string) {
    super(message);
    this.name = 'TwoNError';
  }
}

const DOMAIN_CODES: Record<DomainErrorCode, number> = {
  NOT_FOUND: TWO_N.NO_DATA,
  ALIAS_EXISTS: TWO_N.PARAMETER_COLLISION,
  INVALID: TWO_N.INVALID_PARAMETER,
  BAD_CERTIFICATE: TWO_N.INVALID_PARAMETER,
  BAD_PRIVATE_KEY: TWO_N.INVALID_PARAMETER,
  KEY_MISMATCH: TWO_N.INVALID_PARAMETER,
  WRONG_PASSPHRASE: TWO_N.INVALID_PARAMETER,
  BAD_PKCS12: TWO_N.INVALID_PARAMETER,
  UNSUPPORTED_KEY_TYPE: TWO_N.INVALID_PARAMETER,
  UNKNOWN_KEYSTORE: TWO_N.PROCESSING_ERROR,
  KEYSTORE_UNAVAILABLE: TWO_N.PROCESSING_ERROR,
  KEYSTORE_FAILURE: TWO_N.PROCESSING_ERROR,
  APPLY_FAILED: TWO_N.PROCESSING_ERROR,
  // The entry's state refuses the change: bound, a binding's check, factory material.
  IN_USE: TWO_N.REJECTED,
  PREFLIGHT_FAILED: TWO_N.REJECTED,
  PROTECTED: TWO_N.REJECTED,
};

/** The domain's field names as 2N's parameters. */
const PARAMS: Record<string, string> = {
  certificate: 'blob-cert', private_key: 'blob-pk', passphrase: 'password', alias: 'id', id: 'id',
  // A CSR's (/api/cert/csr).
  subject: 'commonName', subject_alt_names: 'sanMdns', key_type: 'algorithm',
};

/** The parameter a domain error concerns when it names no field. */
const DEFAULT_PARAMS: Partial<Record<DomainErrorCode, string>> = {
  BAD_CERTIFICATE: 'blob-cert', BAD_PRIVATE_KEY: 'blob-pk', KEY_MISMATCH: 'blob-pk', WRONG_PASSPHRASE: 'password', PROTECTED: 'id', IN_USE: 'id',
};

export interface TwoNErrorBody {
  success: false;
  error: { code: number; param?: string; description: string };
}

export function errorBody(code: number, param: string | undefined, description: string): TwoNErrorBody {
  return { success: false, error: { code, ...(param ? { param } : {}), description } };
}

/** A domain error or the front-end's own as the 2N body; anything else is not ours to word. */
export function twoNErrorOf(e: unknown): TwoNErrorBody | undefined {
  if (e instanceof TwoNError) return errorBody(e.code, e.param, e.message);
  if (!(e instanceof DomainError)) return undefined;
  // A batch names the field "steps[0].private_key": the step is ours, the field the client's.
  const field = e.field?.replace(/^steps\[\d+\]\.?/, '');
  const description = e.field ? e.message.slice(e.field.length + 2) : e.message;
  const param = (field ? PARAMS[field] : undefined) ?? DEFAULT_PARAMS[e.code];
  return errorBody(DOMAIN_CODES[e.code], param, description);
}

const CORE_CODES: Record<number, number> = {
  401: TWO_N.AUTHORISATION_REQUIRED,
  403: TWO_N.INSUFFICIENT_PRIVILEGES,
  404: TWO_N.INVALID_PATH,
  405: TWO_N.INVALID_METHOD,
  413: TWO_N.DATA_TOO_BIG,
  414: TWO_N.DATA_TOO_BIG,
  429: TWO_N.REJECTED,
};
/** The core's code of a cross-site refusal (http/app.ts): the request, not the role, is refused. */
const CROSS_SITE = 20;

/** The HTTP core's errors under /api/cert/ (App.errorForm): HTTP 200, but 401 stays 401. */
export function twoNErrorForm(e: HttpError): { status: number; body: unknown; headers: Record<string, string | string[]> } {
  const code = e.status === 403 && e.code === CROSS_SITE ? TWO_N.REJECTED : CORE_CODES[e.status] ?? TWO_N.PROCESSING_ERROR;
  return { status: e.status === 401 ? 401 : 200, body: errorBody(code, undefined, e.message), headers: e.headers };
}
