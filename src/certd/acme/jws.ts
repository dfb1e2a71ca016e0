// RFC 7515 flattened JWS for ACME (RFC 8555 §6.2), ES256 only. The account key stays in
// keystored: this file hashes the signing input (a digest is no key operation) and hands
// the digest to a signer; ECDSA comes back as DER or r‖s and JWS wants r‖s.
import { createHash } from 'node:crypto';

export interface DigestSigner {
  /** Signs a SHA-256 digest with the account key (ECDSA P-256). */
  sign(digest: Uint8Array): Promise<{ signature: Uint8Array; format: 'der' | 'raw' }>;
}

export interface Jwk {
  crv: 'P-256';
  kty: 'EC';
  x: string;
  y: string;
}

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
/** id-ecPublicKey + prime256v1 SubjectPublicKeyInfo header, then the 65-byte point 04‖x‖y. */
const P256_SPKI_HEADER = '3059301306072a8648ce3d020106082a8648ce3d030107034200';

/** The JWK of a P-256 public key given as SPKI DER. */
export function jwkOf(spki: Uint8Array): Jwk {
  const hex = Buffer.from(spki).toString('hex');
  if (spki.length !== 91 || !hex.startsWith(P256_SPKI_HEADER) || spki[26] !== 0x04) throw new Error('the account key is not EC P-256');
  return { crv: 'P-256', kty: 'EC', x: b64url(spki.subarray(27, 59)), y: b64url(spki.subarray(59, 91)) };
}

/** RFC 7638 thumbprint (members in lexical order, no spaces). */
export function thumbprint(jwk: Jwk): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** An ECDSA-Sig-Value (DER) as the fixed 64-byte r‖s JWS uses. */
export function rawSignature(der: Uint8Array): Uint8Array {
  const fail = () => new Error('malformed ECDSA signature from the key store');
  let i = 0;
  if (der[i++] !== 0x30) throw fail();
  const seqLen = der[i++]!;
  if (seqLen & 0x80 || seqLen + 2 !== der.length) throw fail();
  const out = new Uint8Array(64);
  for (const at of [0, 32]) {
    if (der[i++] !== 0x02) throw fail();
    const n = der[i++]!;
    let v = der.subarray(i, i + n);
    i += n;
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32 || v.length === 0) throw fail();
    out.set(v, at + 32 - v.length);
  }
  if (i !== der.length) throw fail();
  return out;
}

/** `key`: the JWK (newAccount) or the account URL (every other request). `payload` undefined: POST-as-GET. */
export async function signJws(
  signer: DigestSigner,
  key: { jwk: Jwk } | { kid: string },
  nonce: string,
  url: string,
  payload: unknown,
): Promise<string> {
  const header = b64url(JSON.stringify({ alg: 'ES256', nonce, url, ...key }));
  const body = payload === undefined ? '' : b64url(JSON.stringify(payload));
  const digest = createHash('sha256').update(`${header}.${body}`).digest();
  const sig = await signer.sign(new Uint8Array(digest));
  const raw = sig.format === 'raw' ? sig.signature : rawSignature(sig.signature);
  if (raw.length !== 64) throw new Error('malformed ECDSA signature from the key store');
  return JSON.stringify({ protected: header, payload: body, signature: b64url(raw) });
}
