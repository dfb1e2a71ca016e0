// The RFC 7616 digest arithmetic, shared by the users file (HA1) and the authenticator.
// HA1 = H(username:realm:password) is password-equivalent for Digest: whoever holds it can
// answer challenges, so it is kept as secret as a password would be.
import { createHash, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'SHA-256' | 'MD5';

const NODE_HASH: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

/** H(data) of RFC 7616 §3.4.1: the lowercase hex hash of the UTF-8 bytes. */
export function hexHash(algorithm: DigestAlgorithm, data: string): string {
  return createHash(NODE_HASH[algorithm]).update(data, 'utf8').digest('hex');
}

export function ha1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hexHash(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestInput {
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: 'auth';
}

/** response = KD(HA1, nonce:nc:cnonce:qop:H(method:uri)) (RFC 7616 §3.4.1, qop=auth). */
export function digestResponse(algorithm: DigestAlgorithm, ha1Hex: string, d: DigestInput): string {
  const ha2 = hexHash(algorithm, `${d.method}:${d.uri}`);
  return hexHash(algorithm, `${ha1Hex}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`);
}

/** Constant-time equality of two strings of the same (public) length. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
