// Reading certificates and verifying chains through the crypto core (cc_x509.h). The
// objects keep the core's snake_case JSON names, which the HTTP API serves as they are.
import type { Core } from './core';
import { CoreError } from './errors';
import type { PublicKeyInfo } from './keys';

export interface NameAttribute {
  /** CN, C, ST, L, O, OU, emailAddress, serialNumber, DC, UID, street, else the dotted OID. */
  type: string;
  oid: string;
  /** The text (U+FFFD for octets that are not UTF-8), or "#" + hex DER for a non-string value. */
  value: string;
}

export interface SubjectAltName {
  type: 'DNS' | 'IP' | 'email' | 'URI';
  /** IPv4 dotted, IPv6 in RFC 5952 form. */
  value: string;
}

export type KeyUsage =
  | 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement'
  | 'keyCertSign' | 'cRLSign' | 'encipherOnly' | 'decipherOnly';

export interface CertificateInfo {
  /** RFC 4514 escaping, RDNs in DER order joined with ",": "C=SE,O=Axis,CN=cam1". */
  subject: string;
  subject_attrs: NameAttribute[];
  issuer: string;
  issuer_attrs: NameAttribute[];
  /** Uppercase hex, no colons, no leading zero octets. */
  serial: string;
  version: number;
  /** "2026-11-24T16:00:00Z" */
  not_before: string;
  not_after: string;
  not_before_unix: number;
  not_after_unix: number;
  subject_alt_names: SubjectAltName[];
  /** Empty when the certificate has no keyUsage extension. */
  key_usage: KeyUsage[];
  /** serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning or a dotted OID. */
  extended_key_usage: string[];
  basic_constraints: { ca: boolean; path_len: number | null } | null;
  /** Dotted OIDs of critical extensions the core does not enforce. */
  unsupported_critical_extensions: string[];
  /** e.g. "ecdsa-with-SHA256", "sha256WithRSAEncryption", "rsassaPss". */
  signature_algorithm: string;
  key: PublicKeyInfo;
  /** Base64 of the SubjectPublicKeyInfo DER. */
  spki: string;
  /** Fingerprints of the DER, uppercase hex with colons. */
  sha1: string;
  sha256: string;
  self_signed: boolean;
  /** Base64 of the certificate DER. */
  der: string;
}

export type ChainFlag =
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'NOT_TRUSTED'
  | 'BAD_SIGNATURE_ALG'
  | 'BAD_KEY'
  | 'UNSUPPORTED_CRITICAL_EXTENSION'
  | 'PATH_TOO_LONG'
  | 'OTHER';

export interface PathEntry {
  subject: string;
  sha256: string;
  flags: ChainFlag[];
}

export interface ChainResult {
  /** True exactly when flags is empty. */
  trusted: boolean;
  /** The union of the path's flags. */
  flags: ChainFlag[];
  /** The depth of the top of the path: 0 for the leaf alone. */
  depth: number;
  /** The leaf first, up to the anchor when one was reached. */
  path: PathEntry[];
}

/** At most this many certificates per parse input and per chain (more: BAD_ARGUMENT). */
export const MAX_CERTS = 16;
/** At most this many trust anchors per verification. */
export const MAX_ANCHORS = 256;

const STATUS_TIME = -14;

/** "YYYYMMDDhhmmss" in UTC; milliseconds are dropped. */
function timeText(d: Date): Uint8Array {
  const year = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || year < 0 || year > 9999) throw CoreError.fromStatus(STATUS_TIME, 'cc_x509_verify_chain');
  const two = (n: number) => String(n).padStart(2, '0');
  const text = String(year).padStart(4, '0') + two(d.getUTCMonth() + 1) + two(d.getUTCDate())
    + two(d.getUTCHours()) + two(d.getUTCMinutes()) + two(d.getUTCSeconds());
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

function json<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;
}

export class X509 {
  constructor(private readonly core: Core) {}

  /** Describes one DER certificate, or every CERTIFICATE block of PEM text, in order. */
  parse(pemOrDer: Uint8Array): CertificateInfo[] {
    return json<CertificateInfo[]>(this.core.call('cc_x509_parse', [pemOrDer], 1).out[0]!);
  }

  /**
   * Verifies a chain (the leaf first, then its issuers as TLS sends them; PEM or one DER)
   * against trust anchors (PEM bundle or one DER; may be empty) at `now`. Failed checks
   * are flags in the result; only input that does not parse throws.
   */
  verifyChain(chain: Uint8Array, anchors: Uint8Array, now: Date): ChainResult {
    const { out } = this.core.call('cc_x509_verify_chain', [chain, anchors, timeText(now)], 1);
    return json<ChainResult>(out[0]!);
  }
}
