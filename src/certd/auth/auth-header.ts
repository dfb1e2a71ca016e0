// Parser of an Authorization header value (RFC 9110 §11.4, §11.6.2):
//   credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param  = token BWS "=" BWS ( token / quoted-string )
// Anything that does not follow the grammar, or names a parameter twice, gives undefined.

export interface Credentials {
  /** Lowercase. */
  scheme: string;
  token68?: string;
  /** Lowercase names; quoted-string values unescaped. */
  params?: Map<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const OWS = /^[ \t]*/;

export function parseAuthorization(header: string): Credentials | undefined {
  const scheme = TOKEN.exec(header)?.[0];
  if (!scheme) return undefined;
  const rest = header.slice(scheme.length);
  if (rest.trim() === '') return { scheme: scheme.toLowerCase() };
  if (rest[0] !== ' ') return undefined;
  const body = rest.replace(/^ +/, '').replace(/[ \t]+$/, '');
  if (TOKEN68.test(body)) return { scheme: scheme.toLowerCase(), token68: body };
  const params = parseParams(body);
  return params && { scheme: scheme.toLowerCase(), params };
}

function parseParams(s: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  let i = 0;
  const skip = (re: RegExp) => { i += re.exec(s.slice(i))![0].length; };
  for (;;) {
    // #rule: empty list elements are allowed ("a=1, ,b=2").
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i === s.length) return params;
    const name = TOKEN.exec(s.slice(i))?.[0];
    if (!name) return undefined;
    i += name.length;
    skip(OWS);
    if (s[i] !== '=') return undefined;
    i++;
    skip(OWS);
    let value: string;
    if (s[i] === '"') {
      const q = readQuoted(s, i);
      if (!q) return undefined;
      [value, i] = q;
    } else {
      const t = TOKEN.exec(s.slice(i))?.[0];
      if (!t) return undefined;
      value = t;
      i += t.length;
    }
    const key = name.toLowerCase();
    if (params.has(key)) return undefined;
    params.set(key, value);
    skip(OWS);
    if (i < s.length && s[i] !== ',') return undefined;
  }
}

/** quoted-string at s[start] === '"'; returns the unescaped value and the index after it. */
function readQuoted(s: string, start: number): [string, number] | undefined {
  let out = '';
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return [out, i + 1];
    if (c === 0x5c) {
      i++;
      if (i === s.length || !isTextChar(s.charCodeAt(i))) return undefined;
      out += s[i];
    } else if (isTextChar(c)) {
      out += s[i];
    } else {
      return undefined;
    }
  }
  return undefined; // unterminated
}

/** HTAB, SP, VCHAR, obs-text (Node hands header bytes over as latin1). */
function isTextChar(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}
