// A private key as the PEM "PRIVATE KEY" (PKCS#8) text nginx and wpa_supplicant read,
// built in byte buffers only: a JS string of the key could never be wiped. The core gives
// RSAPrivateKey / ECPrivateKey DER; PKCS#8 wraps it with the algorithm identifier, which
// is the same as the SPKI's (rsaEncryption + NULL, or id-ecPublicKey + the curve's OID).
import { wipe } from '../../wasm/keys';

const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'ascii');

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>>= 8) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Offset of the content and total end of the DER element starting at `at`. */
function element(der: Uint8Array, at: number): { content: number; end: number } {
  const first = der[at + 1] ?? 0;
  let len = first;
  let content = at + 2;
  if (first & 0x80) {
    len = 0;
    for (let i = 0; i < (first & 0x7f); i++) len = len * 256 + (der[content++] ?? 0);
  }
  if (content + len > der.length) throw new Error('truncated DER');
  return { content, end: content + len };
}

/** The bytes of `parts` in one buffer; the parts are the caller's to wipe. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function base64Lines(data: Uint8Array): Uint8Array {
  const chars = Math.ceil(data.length / 3) * 4;
  const out = new Uint8Array(chars + Math.ceil(chars / 64));
  let o = 0;
  let col = 0;
  const put = (c: number) => {
    out[o++] = c;
    if (++col === 64) {
      out[o++] = 0x0a;
      col = 0;
    }
  };
  for (let i = 0; i < data.length; i += 3) {
    const n = (data[i]! << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0);
    put(B64[(n >> 18) & 63]!);
    put(B64[(n >> 12) & 63]!);
    put(i + 1 < data.length ? B64[(n >> 6) & 63]! : 0x3d);
    put(i + 2 < data.length ? B64[n & 63]! : 0x3d);
  }
  if (col !== 0) out[o++] = 0x0a;
  return out.subarray(0, o);
}

/** PEM PKCS#8 of `privateDer` (whose public key is `spki`). Wipes every intermediate copy. */
export function pkcs8Pem(privateDer: Uint8Array, spki: Uint8Array): Uint8Array {
  const outer = element(spki, 0);
  const algorithm = spki.subarray(outer.content, element(spki, outer.content).end);
  const octets = concat([Uint8Array.of(0x04), derLength(privateDer.length), privateDer]);
  const body = concat([Uint8Array.of(0x02, 0x01, 0x00), algorithm, octets]);
  const info = concat([Uint8Array.of(0x30), derLength(body.length), body]);
  const b64 = base64Lines(info);
  try {
    return concat([Buffer.from('-----BEGIN PRIVATE KEY-----\n'), b64, Buffer.from('-----END PRIVATE KEY-----\n')]);
  } finally {
    wipe(octets, body, info, b64);
  }
}
