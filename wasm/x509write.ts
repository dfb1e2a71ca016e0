// Certificates and certificate requests signed by a key store: the core builds the
// to-be-signed bytes and their digest, the key store (a TPM, a secure element, or Keys.sign)
// signs the digest, and the core checks the signature and assembles the DER.
import type { Core } from './core';
import { CoreError } from './errors';
import type { Digest, SignatureScheme } from './keys';

/** How a key store returned an ECDSA signature: DER (OpenSSL, mbedTLS) or r‖s (PKCS#11). RSA: either. */
export type SignatureFormat = 'der' | 'raw';

export interface CsrFields {
  /** SubjectPublicKeyInfo, DER or PEM (bytes). EC P-256/384/521 or RSA. */
  spki: Uint8Array;
  /**
   * RFC 4514 syntax, most significant RDN first as in the DER: "C=SE,O=Axis,CN=cam1".
   * Escapes (`\,` `\+` `\XX`...), "#hex" values and "+" for multi-valued RDNs. May be
   * empty for a request, not for a certificate.
   */
  subject: string;
  /** Entries "DNS:name" or "IP:address" (IPv4 or IPv6). */
  subjectAltNames?: readonly string[];
}

export interface CertificateFields extends CsrFields {
  notBefore: Date;
  notAfter: Date;
}

/** What a key store must sign: `digest`, with `scheme` and `digestAlg`. */
export interface ToBeSigned {
  /** TBSCertificate or CertificationRequestInfo DER; goes back into assemble*. */
  tbs: Uint8Array;
  digest: Uint8Array;
  scheme: SignatureScheme;
  digestAlg: Digest;
}

const FORMAT: Record<SignatureFormat, number> = { der: 0, raw: 1 };
const STATUS_SAN = -13;
const STATUS_TIME = -14;

function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** "YYYYMMDDhhmmss" in UTC; milliseconds are dropped. */
function timeText(d: Date, fn: string): Uint8Array {
  const year = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || year < 1 || year > 9999) throw CoreError.fromStatus(STATUS_TIME, fn);
  const two = (n: number) => String(n).padStart(2, '0');
  return utf8(String(year).padStart(4, '0') + two(d.getUTCMonth() + 1) + two(d.getUTCDate())
    + two(d.getUTCHours()) + two(d.getUTCMinutes()) + two(d.getUTCSeconds()));
}

/** The core takes the names one a line: a newline inside an entry would make two. */
function sanText(names: readonly string[] | undefined, fn: string): Uint8Array {
  if (!names) return new Uint8Array(0);
  if (names.some((n) => n.length === 0 || n.includes('\n'))) throw CoreError.fromStatus(STATUS_SAN, fn);
  return utf8(names.join('\n'));
}

function toBeSigned(out: Uint8Array[]): ToBeSigned {
  const alg = JSON.parse(Buffer.from(out[2]!).toString('utf8')) as { scheme: SignatureScheme; digest: Digest };
  return { tbs: out[0]!, digest: out[1]!, scheme: alg.scheme, digestAlg: alg.digest };
}

export class X509Writer {
  constructor(private readonly core: Core) {}

  /** A self-signed end-entity certificate's TBS (serverAuth and clientAuth, v3, random serial). */
  certificateTbs(f: CertificateFields): ToBeSigned {
    const fn = 'cc_x509_crt_tbs';
    const { out } = this.core.call(fn, [f.spki, utf8(f.subject), sanText(f.subjectAltNames, fn),
      timeText(f.notBefore, fn), timeText(f.notAfter, fn)], 3);
    return toBeSigned(out);
  }

  /** The certificate DER; refuses a signature that does not verify with the TBS's key. */
  assembleCertificate(tbs: Uint8Array, signature: Uint8Array, format: SignatureFormat = 'der'): Uint8Array {
    return this.core.call('cc_x509_crt_assemble', [tbs, signature, FORMAT[format]], 1).out[0]!;
  }

  /** A PKCS#10 CertificationRequestInfo, with the SANs in an extensionRequest. */
  csrTbs(f: CsrFields): ToBeSigned {
    const fn = 'cc_x509_csr_tbs';
    const { out } = this.core.call(fn, [f.spki, utf8(f.subject), sanText(f.subjectAltNames, fn)], 3);
    return toBeSigned(out);
  }

  /** The request DER; refuses a signature that does not verify with the request's key. */
  assembleCsr(cri: Uint8Array, signature: Uint8Array, format: SignatureFormat = 'der'): Uint8Array {
    return this.core.call('cc_x509_csr_assemble', [cri, signature, FORMAT[format]], 1).out[0]!;
  }
}
