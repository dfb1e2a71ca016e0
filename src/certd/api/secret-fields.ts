// Secret fields of a JSON body as bytes, never as strings: a JS string cannot be wiped and
// lingers in the heap (and a core dump) long after the request. Before the body is parsed,
// the named string fields of its `data` object are decoded from the raw bytes into
// Uint8Arrays (escapes resolved, UTF-8) and blanked in place with spaces, as many as the
// string had UTF-16 units, so the schema still checks their type and length. The caller
// owns the bytes and wipes them. Malformed JSON stops the scan; JSON.parse then refuses it.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

class Malformed extends Error {}

/** A secret field whose bytes are not UTF-8: refused, since no length for its blank is right. */
export class NotUtf8 extends Error {
  constructor(readonly field: string) {
    super(`data.${field}: not valid UTF-8`);
  }
}

/**
 * Bytes outside V8's heap: `new Uint8Array(n)` of up to 64 bytes lives in the heap, and a
 * garbage collection moves it, leaving the old copy behind where no fill(0) reaches.
 */
const offHeap = (n: number) => new Uint8Array(new ArrayBuffer(n));

/** Takes `names` out of `body.data`; the last of duplicate fields wins, as in JSON.parse. */
export function takeSecretFields(body: Buffer, names: readonly string[]): Map<string, Uint8Array> {
  const found = new Map<string, Uint8Array>();
  const s = new Scanner(body);
  try {
    s.members((key) => {
      if (key !== 'data' || body[s.i] !== 0x7b) return false;
      s.members((field) => {
        if (!names.includes(field) || body[s.i] !== QUOTE) return false;
        found.get(field)?.fill(0);
        try {
          found.set(field, s.takeString());
        } catch (e) {
          if (e === INVALID_UTF8) throw new NotUtf8(field);
          throw e;
        }
        return true;
      });
      return true;
    });
  } catch (e) {
    if (e instanceof NotUtf8) for (const v of found.values()) v.fill(0);
    if (!(e instanceof Malformed)) throw e;
  }
  return found;
}

/** Only base64 characters and whitespace (the schema's pattern for a base64 field). */
export function isBase64Text(text: Uint8Array): boolean {
  return text.every((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x2b && c <= 0x39 && c !== 0x2c && c !== 0x2d && c !== 0x2e) || c === 0x3d || c === 0x20 || (c >= 0x09 && c <= 0x0d));
}

/** Standard base64 (whitespace ignored, ends at "=") to bytes, with no string between. */
export function base64Bytes(text: Uint8Array): Uint8Array {
  const out = offHeap(Math.floor((text.length * 3) / 4));
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (const c of text) {
    const v = c >= 0x41 && c <= 0x5a ? c - 0x41 : c >= 0x61 && c <= 0x7a ? c - 0x47 : c >= 0x30 && c <= 0x39 ? c + 4 : c === 0x2b ? 62 : c === 0x2f ? 63 : c === 0x3d ? -2 : -1;
    if (v === -2) break;
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

class Scanner {
  i = 0;
  constructor(private readonly b: Buffer) {}

  /** An object's members; `member` consumes the value and says so, or leaves it to be skipped. */
  members(member: (key: string) => boolean): void {
    this.expect(0x7b);
    if (this.peek() === 0x7d) {
      this.i++;
      return;
    }
    for (;;) {
      if (this.peek() !== QUOTE) throw new Malformed();
      const key = this.name();
      this.expect(0x3a);
      this.peek();
      if (!member(key)) this.skipValue();
      const c = this.peek();
      this.i++;
      if (c === 0x7d) return;
      if (c !== 0x2c) throw new Malformed();
    }
  }

  /** A member's name (not a secret), read as JSON.parse reads it: bytes that are not UTF-8 become U+FFFD. */
  private name(): string {
    return Buffer.from(this.decode(false).bytes).toString('utf8');
  }

  /** The string at `i` as UTF-8 bytes; its place in the body is blanked. */
  takeString(): Uint8Array {
    const start = this.i;
    const { bytes, units } = this.decode();
    const b = this.b;
    b[start] = QUOTE;
    b.fill(SPACE, start + 1, start + 1 + units);
    b[start + 1 + units] = QUOTE;
    b.fill(SPACE, start + 2 + units, this.i);
    return bytes;
  }

  /**
   * The string at `i`, decoded to UTF-8, and its length in UTF-16 units; `i` moves past it.
   * Strict (secrets): bytes that are not UTF-8 throw; otherwise they are kept as they are.
   */
  private decode(strict = true): { bytes: Uint8Array; units: number } {
    const b = this.b;
    const start = this.i;
    const out = offHeap(this.stringEnd(start) - start);
    let n = 0;
    let units = 0;
    let i = start + 1;
    for (;;) {
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c !== BACKSLASH) {
        // A whole UTF-8 sequence at a time, checked: its UTF-16 length is what JSON.parse
        // sees, and the blank must have that many spaces and stay inside the string.
        const len = utf8Length(b, i) || (strict ? 0 : 1);
        if (len === 0) {
          out.fill(0);
          throw INVALID_UTF8;
        }
        for (let k = 0; k < len; k++) out[n++] = b[i + k]!;
        units += len === 4 ? 2 : 1;
        i += len;
        continue;
      }
      const e = b[i + 1]!;
      if (e !== 0x75) {
        out[n++] = ESCAPES[e]!;
        units++;
        i += 2;
        continue;
      }
      let cp = this.hex4(i + 2);
      i += 6;
      if (cp >= 0xd800 && cp < 0xdc00 && b[i] === BACKSLASH && b[i + 1] === 0x75) {
        const low = this.hex4(i + 2);
        if (low >= 0xdc00 && low < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i += 6;
        }
      }
      // A lone surrogate becomes U+FFFD, as Buffer.from(string) would make it.
      if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
      n = utf8(out, n, cp);
      units += cp >= 0x10000 ? 2 : 1;
    }
    this.i = i + 1;
    return { bytes: out.subarray(0, n), units };
  }

  private skipValue(): void {
    const b = this.b;
    const c = this.peek();
    if (c === QUOTE) {
      this.i = this.stringEnd(this.i);
    } else if (c === 0x7b || c === 0x5b) {
      // Nesting is only counted, never recursed into: no stack to exhaust.
      let depth = 0;
      do {
        const d = b[this.i];
        if (d === undefined) throw new Malformed();
        if (d === QUOTE) {
          this.i = this.stringEnd(this.i);
          continue;
        }
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) depth--;
        this.i++;
      } while (depth > 0);
    } else {
      while (this.i < b.length && ![0x2c, 0x7d, 0x5d, 0x20, 0x09, 0x0a, 0x0d].includes(b[this.i]!)) this.i++;
    }
  }

  /** Index after the closing quote of the string at `start`; checks its escapes. */
  private stringEnd(start: number): number {
    const b = this.b;
    for (let i = start + 1; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) return i + 1;
      if (c < 0x20) throw new Malformed();
      if (c === BACKSLASH) {
        const e = b[i + 1];
        if (e === 0x75) {
          this.hex4(i + 2);
          i += 5;
        } else if (e !== undefined && ESCAPES[e] !== undefined) {
          i++;
        } else {
          throw new Malformed();
        }
      }
    }
    throw new Malformed();
  }

  private hex4(at: number): number {
    let v = 0;
    for (let k = at; k < at + 4; k++) {
      const c = this.b[k];
      const d = c === undefined ? -1 : c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) throw new Malformed();
      v = (v << 4) | d;
    }
    return v;
  }

  /** The next byte after whitespace, with `i` on it. */
  private peek(): number | undefined {
    const b = this.b;
    while (this.i < b.length && (b[this.i] === 0x20 || b[this.i] === 0x09 || b[this.i] === 0x0a || b[this.i] === 0x0d)) this.i++;
    return b[this.i];
  }

  private expect(c: number): void {
    if (this.peek() !== c) throw new Malformed();
    this.i++;
  }
}

const INVALID_UTF8 = new Error('invalid UTF-8');

/** Length of the well-formed UTF-8 sequence at b[i] (RFC 3629: no overlongs, surrogates or past U+10FFFF), or 0. */
function utf8Length(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => b[i + k] !== undefined && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function utf8(out: Uint8Array, n: number, cp: number): number {
  if (cp < 0x80) {
    out[n++] = cp;
  } else if (cp < 0x800) {
    out[n++] = 0xc0 | (cp >> 6);
    out[n++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    out[n++] = 0xe0 | (cp >> 12);
    out[n++] = 0x80 | ((cp >> 6) & 0x3f);
    out[n++] = 0x80 | (cp & 0x3f);
  } else {
    out[n++] = 0xf0 | (cp >> 18);
    out[n++] = 0x80 | ((cp >> 12) & 0x3f);
    out[n++] = 0x80 | ((cp >> 6) & 0x3f);
    out[n++] = 0x80 | (cp & 0x3f);
  }
  return n;
}
