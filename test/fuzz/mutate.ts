// Mutations of valid inputs for the fuzzers: bit flips, interesting bytes, truncation,
// splicing with another seed, insertion, deletion and duplication of ranges, edits of
// DER length fields, and subtrees replaced by random DER from a small ASN.1 grammar.
import type { Rng } from '../rng';

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0xff, 0x30, 0x31, 0x02, 0x04, 0x05, 0x06, 0xa0, 0x2d, 0x0a, 0x3d];

/** A DER TLV found in the input: where its header and length field are. */
interface Tlv {
  start: number;
  lenAt: number;
  lenBytes: number;
  end: number;
}

/** The TLVs of a DER (or DER-like) input, depth first; stops quietly at what does not parse. */
export function tlvs(b: Uint8Array, from = 0, to = b.length, out: Tlv[] = [], depth = 0): Tlv[] {
  let i = from;
  while (i + 2 <= to && out.length < 512 && depth < 16) {
    const tag = b[i]!;
    if ((tag & 0x1f) === 0x1f) return out;
    let len = b[i + 1]!;
    let lenBytes = 1;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || i + 2 + n > to) return out;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + b[i + 2 + k]!;
      lenBytes = 1 + n;
    }
    const body = i + 1 + lenBytes;
    const end = body + len;
    if (end > to) return out;
    out.push({ start: i, lenAt: i + 1, lenBytes, end });
    // Constructed (0x20), and OCTET/BIT STRINGs that often wrap DER.
    if (tag & 0x20 || tag === 0x04 || tag === 0x03) tlvs(b, tag === 0x03 ? body + 1 : body, end, out, depth + 1);
    i = end;
  }
  return out;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

const concat = (...parts: (Uint8Array | number[])[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const OIDS = [
  [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01], [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01], [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
  [0x55, 0x04, 0x03], [0x55, 0x1d, 0x11], [0x55, 0x1d, 0x13], [0x55, 0x1d, 0x0f], [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01],
  [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02], [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d],
  [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c], [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a], [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03],
];

/** Random DER from a small grammar: SEQUENCE/SET/[n] of children, INTEGER, OID, strings, times, BIT/OCTET STRING wrapping DER. */
export function randomAsn1(rng: Rng, depth = 0): Uint8Array {
  const leaf = depth > 4 || rng.chance(0.4);
  const tlv = (tag: number, body: Uint8Array) => concat([tag], derLength(body.length), body);
  if (!leaf) {
    const children = Array.from({ length: rng.int(5) }, () => randomAsn1(rng, depth + 1));
    const tag = rng.pick([0x30, 0x31, 0xa0, 0xa1, 0xa3, 0x04, 0x03]);
    const body = concat(...(tag === 0x03 ? [[0]] : []), ...children);
    return tlv(tag, body);
  }
  switch (rng.int(9)) {
    case 0: return tlv(0x02, rng.bytes(rng.pick([0, 1, 2, 8, 33, 65, 129, 257, 513])));
    case 1: return tlv(0x06, rng.chance(0.7) ? new Uint8Array(rng.pick(OIDS)) : rng.bytes(rng.int(12)));
    case 2: return tlv(rng.pick([0x0c, 0x13, 0x16, 0x1e, 0x14]), rng.bytes(rng.int(40)));
    case 3: return tlv(rng.pick([0x17, 0x18]), new Uint8Array(Buffer.from(rng.pick(['250101000000Z', '20500101000000Z', '991332256161Z', '', '0000000000000', '19700101000000+0100']), 'latin1')));
    case 4: return tlv(0x05, new Uint8Array(rng.int(2)));
    case 5: return tlv(0x01, new Uint8Array([rng.pick([0, 0xff, 1])]));
    case 6: return tlv(0x03, concat([rng.int(9)], rng.bytes(rng.int(70))));
    case 7: return tlv(0x04, rng.bytes(rng.int(64)));
    default: return tlv(rng.pick([0x80, 0x81, 0x82, 0x86, 0x87, 0x88]), rng.bytes(rng.int(20)));
  }
}

/** One mutation of `b`; `other` is another seed for splicing. */
function mutateOnce(rng: Rng, b: Uint8Array, other: Uint8Array): Uint8Array {
  const n = b.length;
  const at = () => rng.int(n + 1);
  switch (rng.int(11)) {
    case 0: { // bit flips
      const out = b.slice();
      for (let k = rng.range(1, 8); k > 0 && n > 0; k--) out[rng.int(n)]! ^= 1 << rng.int(8);
      return out;
    }
    case 1: { // interesting bytes
      const out = b.slice();
      for (let k = rng.range(1, 4); k > 0 && n > 0; k--) out[rng.int(n)] = rng.pick(INTERESTING);
      return out;
    }
    case 2: return b.subarray(0, at()).slice(); // truncation
    case 3: return concat(b.subarray(0, at()), other.subarray(rng.int(other.length + 1))); // splice
    case 4: { const i = at(); return concat(b.subarray(0, i), rng.bytes(rng.range(1, 32)), b.subarray(i)); }
    case 5: { const i = at(); return concat(b.subarray(0, i), b.subarray(Math.min(n, i + rng.range(1, 64)))); }
    case 6: { const i = at(); const j = Math.min(n, i + rng.range(1, 256)); return concat(b.subarray(0, j), b.subarray(i, j), b.subarray(j)); }
    case 7: case 8: { // a DER length field
      const t = tlvs(b);
      if (t.length === 0) return mutateOnce(rng, b, other);
      const x = rng.pick(t);
      const bodyLen = x.end - x.lenAt - x.lenBytes;
      const newLen = rng.pick<number[]>([[0], [0x80], [0x81, 0xff], [0x84, 0xff, 0xff, 0xff, 0xff], [0x83, 0x7f, 0xff, 0xff], derLength(bodyLen + 1), derLength(Math.max(0, bodyLen - 1)), derLength(rng.int(0x10000)), [0x81, bodyLen & 0x7f]]);
      return concat(b.subarray(0, x.lenAt), newLen, b.subarray(x.lenAt + x.lenBytes));
    }
    case 9: { // a subtree replaced by random DER, with the enclosing lengths left as they were
      const t = tlvs(b);
      if (t.length === 0) return concat(b, randomAsn1(rng));
      const x = rng.pick(t);
      return concat(b.subarray(0, x.start), randomAsn1(rng), b.subarray(x.end));
    }
    default: { // a subtree of another seed (or this one) put in place of one of ours
      const t = tlvs(b);
      const u = tlvs(other);
      if (t.length === 0 || u.length === 0) return mutateOnce(rng, b, other);
      const x = rng.pick(t);
      const y = rng.pick(u);
      return concat(b.subarray(0, x.start), other.subarray(y.start, y.end), b.subarray(x.end));
    }
  }
}

/** 1 to 4 stacked mutations of a seed. */
export function mutate(rng: Rng, seed: Uint8Array, seeds: readonly Uint8Array[]): Uint8Array {
  let b = seed;
  for (let k = rng.range(1, 4); k > 0; k--) b = mutateOnce(rng, b, seeds.length > 0 ? rng.pick(seeds) : seed);
  return b.length > 1 << 20 ? b.subarray(0, 1 << 20) : b;
}

/** The DER inside PEM armor, mutated, armored again (reaches the DER parser more often than flipping base64). */
export function mutatePem(rng: Rng, pem: string, seeds: readonly Uint8Array[]): Uint8Array {
  const m = /^([\s\S]*?-----BEGIN ([A-Z0-9 ]+)-----\r?\n)([\s\S]*?)(-----END [A-Z0-9 ]+-----[\s\S]*)$/.exec(pem);
  if (!m || rng.chance(0.3)) return mutate(rng, new Uint8Array(Buffer.from(pem, 'latin1')), seeds);
  const headers = /^((?:[A-Za-z-]+:.*\r?\n)+\r?\n)?([\s\S]*)$/.exec(m[3]!)!;
  const der = new Uint8Array(Buffer.from(headers[2]!.replace(/\s+/g, ''), 'base64'));
  const body = Buffer.from(mutate(rng, der, seeds)).toString('base64').replace(/.{64}/g, '$&\n');
  return new Uint8Array(Buffer.from(`${m[1]}${headers[1] ?? ''}${body}\n${m[4]}`, 'latin1'));
}
