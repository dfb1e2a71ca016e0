// The one error of the domain: a stable code, the request field it concerns (if any) and a
// one-line message without secrets. Front-ends map codes to their wire formats.
export type DomainErrorCode =
  | 'NOT_FOUND'
  | 'ALIAS_EXISTS'
  | 'INVALID'
  | 'BAD_CERTIFICATE'
  | 'BAD_PRIVATE_KEY'
  | 'KEY_MISMATCH'
  | 'WRONG_PASSPHRASE'
  | 'BAD_PKCS12'
  | 'UNKNOWN_KEYSTORE'
  | 'UNSUPPORTED_KEY_TYPE'
  | 'KEYSTORE_UNAVAILABLE'
  | 'KEYSTORE_FAILURE'
  /** The entry is used by a binding. */
  | 'IN_USE'
  /** A binding's pre-flight check failed (the field names the check). */
  | 'PREFLIGHT_FAILED'
  /** The service did not take the binding; the previous one is back. */
  | 'APPLY_FAILED'
  /** The entry is factory material (declared in config): not deleted, not replaced. */
  | 'PROTECTED';

export class DomainError extends Error {
  constructor(readonly code: DomainErrorCode, message: string, readonly field?: string) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'DomainError';
  }
}
