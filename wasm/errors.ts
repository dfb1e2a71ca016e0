// The crypto core's statuses (crypto-core/include/cc.h) as one catalogue of stable codes.
// This is the only place core statuses are interpreted.

export type CoreErrorCode =
  | 'BAD_ARGUMENT'
  | 'OUT_OF_MEMORY'
  | 'RANDOM_FAILED'
  | 'BAD_PEM'
  | 'BAD_DER'
  | 'BAD_KEY'
  | 'UNSUPPORTED_KEY_TYPE'
  | 'PASSPHRASE_REQUIRED'
  | 'WRONG_PASSPHRASE'
  | 'UNSUPPORTED_ALGORITHM'
  | 'BAD_CERTIFICATE'
  | 'BAD_SUBJECT'
  | 'BAD_SUBJECT_ALT_NAME'
  | 'BAD_VALIDITY'
  | 'BAD_SIGNATURE'
  | 'BAD_PKCS12'
  | 'PKCS12_NO_KEY'
  | 'PKCS12_NO_CERTIFICATE'
  | 'BAD_CSR'
  | 'NOT_AUTHENTIC'
  | 'TOO_MANY_ITERATIONS'
  | 'INTERNAL';

const CATALOGUE: Record<number, [CoreErrorCode, string]> = {
  [-1]: ['BAD_ARGUMENT', 'an argument is out of range'],
  [-2]: ['OUT_OF_MEMORY', 'the crypto core ran out of memory'],
  [-3]: ['RANDOM_FAILED', 'the random generator failed'],
  [-4]: ['BAD_PEM', 'malformed PEM or base64'],
  [-5]: ['BAD_DER', 'malformed DER'],
  [-6]: ['BAD_KEY', 'not a private key in a supported form'],
  [-7]: ['UNSUPPORTED_KEY_TYPE', 'key type, size or curve not supported'],
  [-8]: ['PASSPHRASE_REQUIRED', 'the key is encrypted and needs a passphrase'],
  [-9]: ['WRONG_PASSPHRASE', 'wrong passphrase'],
  [-10]: ['UNSUPPORTED_ALGORITHM', 'an encryption, digest or MAC algorithm that is not supported'],
  [-11]: ['BAD_CERTIFICATE', 'not a valid X.509 certificate'],
  [-12]: ['BAD_SUBJECT', 'the distinguished name does not parse'],
  [-13]: ['BAD_SUBJECT_ALT_NAME', 'a subject alternative name does not parse'],
  [-14]: ['BAD_VALIDITY', 'the validity period is malformed or out of order'],
  [-15]: ['BAD_SIGNATURE', 'the signature is malformed or of the wrong size'],
  [-16]: ['BAD_PKCS12', 'not a valid PKCS#12 file'],
  [-17]: ['PKCS12_NO_KEY', 'the PKCS#12 file holds no private key'],
  [-18]: ['PKCS12_NO_CERTIFICATE', 'the PKCS#12 file holds no certificate for its key'],
  [-19]: ['BAD_CSR', 'not a valid certificate signing request'],
  [-20]: ['NOT_AUTHENTIC', 'sealed data does not authenticate'],
  [-21]: ['TOO_MANY_ITERATIONS', 'the key derivation iteration count is over the cap (600000 per run, 3000000 per file)'],
  [-99]: ['INTERNAL', 'internal crypto core error'],
};

/** An error of the crypto core: a stable code, a fixed message, never any input data. */
export class CoreError extends Error {
  readonly code: CoreErrorCode;
  readonly status: number;
  readonly fn: string;

  constructor(code: CoreErrorCode, message: string, status: number, fn: string) {
    super(message);
    this.name = 'CoreError';
    this.code = code;
    this.status = status;
    this.fn = fn;
  }

  static fromStatus(status: number, fn: string): CoreError {
    const [code, message] = CATALOGUE[status] ?? ['INTERNAL', `crypto core status ${status}`];
    return new CoreError(code, message, status, fn);
  }
}
