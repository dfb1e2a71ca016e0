// Grammar-based generators for the fuzzers: JSON bodies walked from the cert.v1 request
// schemas (values at and past every bound, wrong types, unknown and prototype-named fields,
// duplicate keys, deep nesting, broken syntax), and Authorization headers of the Digest
// and Basic grammars (RFC 9110 auth-param, quoted strings with escapes and obs-text,
// token68, repeated parameters, over-long values).
import type { Rng } from '../rng';
import { mutate } from './mutate';

type Schema = Record<string, unknown>;

const STRINGS = ['', ' ', 'a', 'CN=x', 'C=SE,CN=cam1.local', 'DNS:cam1.local', 'IP:10.0.0.1', 'IP:::1', 'EC-P256', 'RSA-4096', 'SOFTWARE0', 'SE0',
  '\u0000', '\ud800', '\udfff', '\u2028', 'ü/é', '../../etc/passwd', '%00', 'null', 'true', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  '__proto__', 'constructor', 'A'.repeat(129), 'x'.repeat(1025), '\n\r\t', '"', '\\', '{}', 'DNS:', 'URI:http://x', 'AAAA', '====', 'QQ=='];
const FIELD_NAMES = ['data', 'alias', 'subject', 'certificate', 'private_key', 'keystore', 'key_type', 'subject_alt_names', 'valid_from', 'valid_to',
  'pkcs12', 'passphrase', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'a.b', 'x'.repeat(70), 'data\n', '$ref'];
const NUMBERS = [0, -1, 1, 0.5, -0, 1e308, 253402300799, 253402300800, 2 ** 53, -(2 ** 53), 4294967296, 1e21];

function randomString(rng: Rng, s?: Schema): string {
  if (s?.enum && rng.chance(0.6)) return rng.pick(s.enum as string[]);
  if (rng.chance(0.5)) return rng.pick(STRINGS);
  const min = (s?.minLength as number | undefined) ?? 0;
  const max = (s?.maxLength as number | undefined) ?? 64;
  const len = rng.chance(0.03) ? rng.pick([max, max + 1]) : rng.pick([min, Math.max(0, min - 1), Math.min(max, 64), rng.int(40)]);
  const chars = [...rng.pick(['abcXYZ09 =,.:/-_', '\u0000\u001f\u007f\u00ff\u0100\u2028\ud83d\ude00', 'A'])];
  // A random piece repeated: long values (up to 1 MB) cost no more to make than short ones.
  let piece = '';
  for (let i = 0; i < Math.min(len, 64); i++) piece += chars[rng.int(chars.length)];
  return piece.length === 0 ? '' : piece.repeat(Math.ceil(len / piece.length)).slice(0, len);
}

function wrongType(rng: Rng, depth: number): unknown {
  switch (rng.int(7)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick(NUMBERS);
    case 3: return randomString(rng);
    case 4: return depth > 3 ? [] : Array.from({ length: rng.int(4) }, () => wrongType(rng, depth + 1));
    case 5: return depth > 3 ? {} : Object.fromEntries(Array.from({ length: rng.int(3) }, () => [rng.pick(FIELD_NAMES), wrongType(rng, depth + 1)]));
    default: return rng.chance(0.5) ? NaN : 'NaN';
  }
}

/** A value for a JSON schema: mostly near what it accepts, sometimes anything. */
export function valueFor(rng: Rng, s: Schema, depth = 0): unknown {
  if (rng.chance(0.08)) return wrongType(rng, depth);
  if (s.anyOf) return valueFor(rng, rng.pick(s.anyOf as Schema[]), depth);
  if (s.enum) return rng.chance(0.8) ? rng.pick(s.enum as unknown[]) : randomString(rng);
  switch (s.type) {
    case 'null': return null;
    case 'string': return randomString(rng, s);
    case 'integer': {
      const min = (s.minimum as number | undefined) ?? -1000;
      const max = (s.maximum as number | undefined) ?? 1000;
      return rng.pick([min, max, min - 1, max + 1, rng.range(0, 2_000_000_000), 1.5, min + rng.int(1000)]);
    }
    case 'array': {
      const maxItems = (s.maxItems as number | undefined) ?? 8;
      const n = rng.pick([0, 1, 2, maxItems, maxItems + 1, rng.int(5)]);
      return Array.from({ length: n }, () => valueFor(rng, (s.items as Schema | undefined) ?? {}, depth + 1));
    }
    case 'object': {
      const props = (s.properties as Record<string, Schema> | undefined) ?? {};
      const required = new Set((s.required as string[] | undefined) ?? []);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) {
        if (required.has(k) ? rng.chance(0.95) : rng.chance(0.5)) out[k] = valueFor(rng, v, depth + 1);
      }
      if (rng.chance(0.1)) out[rng.pick(FIELD_NAMES)] = wrongType(rng, depth + 1);
      return out;
    }
    default: return wrongType(rng, depth);
  }
}

/** A request body for a schema, as bytes: valid or nearly, sometimes syntactically broken. */
export function jsonBody(rng: Rng, schema: Schema): Uint8Array {
  let text = JSON.stringify(valueFor(rng, schema)) ?? 'null';
  switch (rng.int(12)) {
    case 0: text = text.replace(/^\{/, rng.pick(['{"data":{},', '{"__proto__":{"data":1},', '{"data":null,'])); break; // duplicate / prototype keys
    case 1: text = '['.repeat(rng.pick([10, 1000, 10_000])) + ']'.repeat(rng.int(3)); break; // deep nesting
    case 2: text = `{"data":${'{"a":'.repeat(rng.pick([100, 5000]))}1${'}'.repeat(rng.pick([100, 5000]))}}`; break;
    case 3: return mutate(rng, new Uint8Array(Buffer.from(text, 'utf8')), []); // broken syntax, odd bytes
    case 4: return new Uint8Array(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])); // a BOM
    case 5: text = text.replace(/"(\w)/, '"\\u0000$1'); break;
    default: break;
  }
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

// --- Authorization headers -----------------------------------------------------------------

export interface DigestContext {
  realm: string;
  nonce: string;
  opaque: string;
  uri: string;
  method: string;
  user: string;
  password: string;
  /** Computes the RFC 7616 response for the given fields. */
  response(alg: 'MD5' | 'SHA-256', user: string, password: string, nonce: string, nc: string, cnonce: string, uri: string): string;
}

const TOKEN_CHARS = "!#$%&'*+-.^_`|~09AZaz";
const token = (rng: Rng, max = 12) => Array.from({ length: rng.range(1, max) }, () => TOKEN_CHARS[rng.int(TOKEN_CHARS.length)]).join('');

function quoted(rng: Rng, value: string): string {
  if (rng.chance(0.9)) return `"${value}"`;
  switch (rng.int(5)) {
    case 0: return `"${value.replace(/(.)/g, (c) => (rng.chance(0.2) ? `\\${c}` : c))}"`; // needless escapes
    case 1: return `"${value}\\"`; // escape eats the closing quote
    case 2: return `"${value}`; // unterminated
    case 3: return `"${value}\u0000\u00ff\u007f"`; // CTL and obs-text
    default: return `"${value}"`;
  }
}

const sep = (rng: Rng) => rng.pick([', ', ',', ' , ', ',,', ', \t', ' ', '']);

/** A Digest header: correct, forged (wrong password, or an edited response) or malformed. One for a wrong password must never authenticate. */
export function digestHeader(rng: Rng, ctx: DigestContext): { header: string; forged: boolean } {
  const alg = rng.pick(['SHA-256', 'MD5'] as const);
  const wrong = rng.chance(0.5);
  const password = wrong && rng.chance(0.7) ? `${ctx.password}${rng.pick(['x', ' ', 'X'])}` : ctx.password;
  const nc = rng.pick(['00000001', '00000002', 'ffffffff', '0000000g', '1', '000000001']);
  const cnonce = rng.chance(0.9) ? token(rng) : '';
  const nonce = rng.chance(0.85) ? ctx.nonce : token(rng, 40);
  const uri = rng.chance(0.9) ? ctx.uri : `${ctx.uri}${rng.pick(['/', '?x', '%2F', ''])}`;
  let response = ctx.response(alg, ctx.user, password, nonce, nc, cnonce, uri);
  if (wrong && password === ctx.password) response = response.slice(0, -1) + (response.endsWith('0') ? '1' : '0');
  const params: [string, string][] = [
    ['username', quoted(rng, rng.chance(0.9) ? ctx.user : token(rng))], ['realm', quoted(rng, ctx.realm)], ['nonce', quoted(rng, nonce)],
    ['uri', quoted(rng, uri)], ['algorithm', rng.chance(0.9) ? alg : rng.pick(['md5', 'sha-256', 'SHA-512', 'MD5-sess', '"MD5"'])],
    ['qop', rng.pick(['auth', '"auth"', 'auth-int', 'auth,auth-int'])], ['nc', nc], ['cnonce', quoted(rng, cnonce)],
    ['response', quoted(rng, response)], ['opaque', quoted(rng, rng.chance(0.9) ? ctx.opaque : token(rng))],
  ];
  if (rng.chance(0.1)) params.push(['userhash', rng.pick(['true', 'false', '"false"'])]);
  if (rng.chance(0.1)) params.push([rng.pick(params)[0], token(rng)]); // a repeated parameter
  if (rng.chance(0.1)) params.push([token(rng), rng.chance(0.5) ? token(rng) : quoted(rng, 'x'.repeat(rng.pick([10, 5000])))]);
  for (let i = params.length - 1; i > 0 && rng.chance(0.3); i--) {
    const j = rng.int(i + 1);
    [params[i], params[j]] = [params[j]!, params[i]!];
  }
  const kept = params.filter(() => rng.chance(0.97));
  const scheme = rng.chance(0.9) ? 'Digest' : rng.pick(['digest', 'DIGEST', 'Digest\t', 'Digestx', '']);
  let header = `${scheme} ${kept.map(([k, v]) => `${k}${rng.chance(0.95) ? '=' : rng.pick([' = ', '==', ''])}${v}`).join(sep(rng))}`;
  if (rng.chance(0.1)) header = Buffer.from(mutate(rng, new Uint8Array(Buffer.from(header, 'latin1')), [])).toString('latin1');
  // The password is not in the header, so no mutation makes a response for a wrong one
  // right; a response only edited in one digit could be edited back, so it is not asserted on.
  return { header, forged: password !== ctx.password };
}

/** A Basic header: correct, wrong password, or malformed base64/UTF-8/colon; forged unless it carries exactly the right credentials. */
export function basicHeader(rng: Rng, user: string, password: string): { header: string; forged: boolean } {
  const pw = rng.chance(0.5) ? rng.pick([`${password}x`, password.slice(0, -1), '', password.toUpperCase(), `${password}\u0000`]) : password;
  const name = rng.chance(0.9) ? user : rng.pick(['', 'admin ', 'ADMIN', token(rng), 'a:b']);
  let raw = Buffer.from(`${name}:${pw}`, 'utf8');
  switch (rng.int(10)) {
    case 0: raw = Buffer.from(rng.bytes(rng.int(64))); break; // not UTF-8 perhaps, no colon perhaps
    case 1: raw = Buffer.from(`${name}${pw}`, 'utf8'); break;
    case 2: raw = Buffer.from(mutate(rng, new Uint8Array(raw), [])); break;
    default: break;
  }
  let b64 = raw.toString('base64');
  switch (rng.int(10)) {
    case 0: b64 = b64.replace(/=+$/, ''); break;
    case 1: b64 = `${b64}=`; break;
    case 2: b64 = b64.replace(/\+/g, '-').replace(/\//g, '_'); break;
    case 3: b64 = 'A'.repeat(rng.pick([1, 4095, 4100, 8000])); break;
    case 4: b64 = `${b64} ${b64}`; break;
    default: break;
  }
  const scheme = rng.chance(0.9) ? 'Basic' : rng.pick(['basic', 'BASIC', 'Basic\t', '', 'Bearer']);
  let header = `${scheme}${rng.pick([' ', ' ', '  ', '\t', ''])}${b64}`;
  if (rng.chance(0.05)) header = Buffer.from(mutate(rng, new Uint8Array(Buffer.from(header, 'latin1')), [])).toString('latin1');
  // Mutations can make a wrong password right (a cut "passx"): forged is decided on the
  // final header, read as leniently as can be. Only the exact credentials may get in.
  const decoded = Buffer.from(header.replace(/^\S*\s*/, ''), 'base64').toString('utf8');
  return { header, forged: decoded !== `${user}:${password}` };
}
