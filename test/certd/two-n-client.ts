// A 2N provisioning script's HTTP client, as python-requests with HTTPDigestAuth behaves
// (what the public 2N client library uses): the first request goes without credentials,
// the 401's first challenge is answered with MD5 Digest, and every later request reuses
// that nonce with nc counting up, sent before any challenge. Bodies of uploads are framed
// byte for byte as requests' `files=` frames them (see requestsMultipart).
import { createHash, randomBytes } from 'node:crypto';
import { raw, type Reply } from './client';

/** A part as requests' `files={name: (filename, bytes)}` sends it; `filename` absent: a `data=` field. */
export interface Part {
  name: string;
  data: Buffer | string;
  filename?: string;
}

/**
 * The body and Content-Type requests makes of `data=` fields (first) and `files=` parts:
 * boundary 32 lowercase hex, no Content-Type header in any part.
 */
export function requestsMultipart(parts: Part[], boundary = randomBytes(16).toString('hex')): { body: Buffer; contentType: string } {
  const ordered = [...parts.filter((p) => p.filename === undefined), ...parts.filter((p) => p.filename !== undefined)];
  const chunks: Buffer[] = [];
  for (const p of ordered) {
    const disposition = `Content-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\n${disposition}\r\n\r\n`), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function challengeParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  // The first value of each parameter: the first challenge's (MD5, offered first).
  for (const m of header.matchAll(/([a-z]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/gi)) out[m[1]!.toLowerCase()] ??= m[2] ?? m[3]!;
  return out;
}

export class TwoNSession {
  private challenge: Record<string, string> | undefined;
  private nc = 0;
  /** 401 answers seen: one per session when the nonce is reused as it should be. */
  unauthorized = 0;

  constructor(private readonly port: number, private readonly user: string, private readonly password: string) {}

  async call(method: string, path: string, upload?: { body: Buffer; contentType: string }): Promise<Reply> {
    const headers: Record<string, string> = upload ? { 'content-type': upload.contentType } : {};
    if (this.challenge) headers.authorization = this.authorization(method, path);
    const first = await raw(this.port, method, path, upload?.body, headers);
    if (first.status !== 401) return first;
    this.unauthorized++;
    const www = first.headers['www-authenticate'];
    // requests reads the challenges as one header and answers with MD5.
    const text = Array.isArray(www) ? www.join(', ') : www ?? '';
    if (!/^Digest /i.test(text) || headers.authorization) return first;
    this.challenge = challengeParams(text);
    this.nc = 0;
    return raw(this.port, method, path, upload?.body, { ...headers, authorization: this.authorization(method, path) });
  }

  get(path: string) { return this.call('GET', path); }
  del(path: string) { return this.call('DELETE', path); }
  put(path: string, parts: Part[]) { return this.call('PUT', path, requestsMultipart(parts)); }

  private authorization(method: string, path: string): string {
    const p = this.challenge!;
    const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
    const nc = (++this.nc).toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const response = md5(`${md5(`${this.user}:${p.realm}:${this.password}`)}:${p.nonce}:${nc}:${cnonce}:auth:${md5(`${method}:${path}`)}`);
    return `Digest username="${this.user}", realm="${p.realm}", nonce="${p.nonce}", uri="${path}", response="${response}", opaque="${p.opaque}", algorithm="MD5", qop="auth", nc=${nc}, cnonce="${cnonce}"`;
  }
}
