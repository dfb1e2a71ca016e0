// RFC 7515 flattened JWS for ACME (RFC 8555 §6.2), ES256 or RS256. The account key stays
// in keystored: this file hashes the signing input (a digest is no key operation) and hands
// the digest to a signer; ECDSA comes back as DER or r‖s and JWS wants r‖s; an RSA
// PKCS#1 v1.5 signature goes in as it is.
import { createHash } from 'node:crypto';

export interface DigestSigner {
  /** Signs a SHA-256 digest with the account key (ECDSA P-256 or RSA PKCS#1 v1.5). */
  sign(digest: Uint8Array): Promise<{ signature: Uint8Array; format: 'der' | 'raw' }>;
}

export type Jwk = { crv: 'P-256'; kty: 'EC'; x: string; y: string } | { kty: 'RSA'; n: string; e: string };

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
/** id-ecPublicKey + prime256v1 SubjectPublicKeyInfo header, then the 65-byte point 04‖x‖y. */
const P256_SPKI_HEADER = '3059301306072a8648ce3d020106082a8648ce3d030107034200';

/** rsaEncryption AlgorithmIdentifier (with its NULL parameters). */
const RSA_ALGORITHM = '300d06092a864886f70d0101010500';

/** The JWK of a P-256 or RSA public key given as SPKI DER. */
export function jwkOf(spki: Uint8Array): Jwk {
  const hex = Buffer.from(spki).toString('hex');
  if (spki.length === 91 && hex.startsWith(P256_SPKI_HEADER) && spki[26] === 0x04) {
    return { crv: 'P-256', kty: 'EC', x: b64url(spki.subarray(27, 59)), y: b64url(spki.subarray(59, 91)) };
  }
  const fail = () => new Error('the account key is neither EC P-256 nor RSA');
  const outer = tlv(spki, 0, 0x30, fail);
  const alg = tlv(spki, outer.start, 0x30, fail);
  if (Buffer.from(spki.subarray(outer.start, alg.end)).toString('hex') !== RSA_ALGORITHM) throw fail();
  const bits = tlv(spki, alg.end, 0x03, fail);
  if (spki[bits.start] !== 0) throw fail();
  const seq = tlv(spki, bits.start + 1, 0x30, fail);
  const n = tlv(spki, seq.start, 0x02, fail);
  const e = tlv(spki, n.end, 0x02, fail);
  // JWK integers are unsigned big-endian without leading zeros (RFC 7518 §6.3.1).
  const unsigned = (v: Uint8Array) => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    return v.subarray(i);
  };
  return { kty: 'RSA', n: b64url(unsigned(spki.subarray(n.start, n.end))), e: b64url(unsigned(spki.subarray(e.start, e.end))) };
}

/** One DER element with tag `tag` at `at`: where its contents start and end. */
function tlv(der: Uint8Array, at: number, tag: number, fail: () => Error): { start: number; end: number } {
  if (der[at] !== tag) throw fail();
  let len = der[at + 1] ?? 0;
  let start = at + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (count < 1 || count > 3) throw fail();
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + (der[start + i] ?? 0);
    start += count;
  }
  if (start + len > der.length) throw fail();
  return { start, end: start + len };
}

/** The JWS algorithm of an account key. */
export const algOf = (jwk: Jwk): 'ES256' | 'RS256' => (jwk.kty === 'EC' ? 'ES256' : 'RS256');

/** RFC 7638 thumbprint (required members in lexical order, no spaces). */
export function thumbprint(jwk: Jwk): string {
  const canonical = jwk.kty === 'EC'
    ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
    : JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
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

/** `key`: the JWK (newAccount) or the account URL (every other request), `alg` the account key's. `payload` undefined: POST-as-GET. */
export async function signJws(
  signer: DigestSigner,
  alg: 'ES256' | 'RS256',
  key: { jwk: Jwk } | { kid: string },
  nonce: string,
  url: string,
  payload: unknown,
): Promise<string> {
  const header = b64url(JSON.stringify({ alg, nonce, url, ...key }));
  const body = payload === undefined ? '' : b64url(JSON.stringify(payload));
  const digest = createHash('sha256').update(`${header}.${body}`).digest();
  const sig = await signer.sign(new Uint8Array(digest));
  if (alg === 'RS256') return JSON.stringify({ protected: header, payload: body, signature: b64url(sig.signature) });
  const raw = sig.format === 'raw' ? sig.signature : rawSignature(sig.signature);
  if (raw.length !== 64) throw new Error('malformed ECDSA signature from the key store');
  return JSON.stringify({ protected: header, payload: body, signature: b64url(raw) });
}
