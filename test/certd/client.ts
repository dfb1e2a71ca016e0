// An HTTP client for the tests that authenticates as a VMS does: the request first, then,
// on 401, RFC 7616 Digest (SHA-256 or MD5) or Basic. Written from the RFC here, not with
// the server's own code.
import { createHash, randomBytes } from 'node:crypto';
import { type IncomingMessage, request } from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Credentials {
  user: string;
  password: string;
  scheme?: 'digest-sha256' | 'digest-md5' | 'basic';
}

/** A response read whole: its text, its JSON if it is some, the WWW-Authenticate challenges apart. */
export function replyOf(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      // Node folds repeated headers into one line; challenges are kept apart from rawHeaders.
      const www = res.rawHeaders.filter((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]!.toLowerCase() === 'www-authenticate');
      resolve({ status: res.statusCode!, headers: { ...res.headers, 'www-authenticate': www }, text, json });
    });
  });
}

/** localAddress: the client's own address (any of 127/8 on Linux), so tests can be two sources. */
export function raw(port: number, method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string>, localAddress?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sized = body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {};
    // A content-type in `headers` wins over the JSON default.
    const req = request({ host: '127.0.0.1', port, method, path, localAddress, headers: { ...headers, ...sized, ...(headers['content-type'] ? { 'content-type': headers['content-type'] } : {}) } }, (res) => {
      void replyOf(res).then(resolve, reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function params(challenge: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of challenge.matchAll(/([a-z]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/gi)) out[m[1]!.toLowerCase()] = m[2] ?? m[3]!;
  return out;
}

export function digestHeader(c: Credentials, method: string, path: string, challenges: string[]): string {
  const alg = c.scheme === 'digest-md5' ? 'MD5' : 'SHA-256';
  const ch = challenges.find((x) => x.startsWith('Digest') && params(x).algorithm === alg);
  if (!ch) throw new Error(`no Digest ${alg} challenge in ${challenges.join(' | ')}`);
  const p = params(ch);
  const H = (s: string) => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s, 'utf8').digest('hex');
  const cnonce = randomBytes(12).toString('hex');
  const nc = '00000001';
  const response = H(`${H(`${c.user}:${p.realm}:${c.password}`)}:${p.nonce}:${nc}:${cnonce}:auth:${H(`${method}:${path}`)}`);
  return `Digest username="${c.user}", realm="${p.realm}", nonce="${p.nonce}", uri="${path}", algorithm=${alg}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}", opaque="${p.opaque}"`;
}

export class Client {
  constructor(readonly port: number, readonly creds?: Credentials, readonly localAddress?: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const text = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const first = await raw(this.port, method, path, text, {}, this.localAddress);
    if (first.status !== 401 || !this.creds) return first;
    const www = first.headers['www-authenticate'];
    const challenges = Array.isArray(www) ? www : www ? [www] : [];
    const authorization = this.creds.scheme === 'basic'
      ? `Basic ${Buffer.from(`${this.creds.user}:${this.creds.password}`).toString('base64')}`
      : digestHeader(this.creds, method, path, challenges);
    return raw(this.port, method, path, text, { authorization }, this.localAddress);
  }

  get(path: string) { return this.call('GET', path); }
  post(path: string, data: unknown) { return this.call('POST', path, { data }); }
  patch(path: string, data: unknown) { return this.call('PATCH', path, { data }); }
  del(path: string) { return this.call('DELETE', path); }
}
