// SPS REST clients as the published ones behave (../shared/spec/sps-facts.md), written
// here from those facts:
// - 'java' (SafeguardJava, Apache HttpClient5 with a BasicCredentialsProvider): sends a
//   request bare, and Basic only after a 401 carrying `WWW-Authenticate: Basic`; keeps only
//   the first Set-Cookie, split on ';' and '=', and drops it when `expires` does not parse
//   as `EEE, d MMM yyyy HH:mm:ss z`.
// - 'dotnet' (SafeguardDotNet, HttpClient with a CookieContainer): Basic on every request
//   besides the cookie.
// - 'curl' (the seed's examples): Basic on the login call, the cookie jar after.
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { replyOf, type Reply } from './client';

export interface SpsReply extends Reply {
  /** Every Set-Cookie line, in order. */
  setCookies: string[];
}

export type Flavour = 'java' | 'dotnet' | 'curl';

const JAVA_DATE = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat), ([1-9]|[12]\d|3[01]) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d [A-Z]{3}$/;

export function send(port: number, method: string, path: string, body: string | undefined, headers: Record<string, string>, ca?: Buffer): Promise<SpsReply> {
  return new Promise((resolve, reject) => {
    const sized = body !== undefined ? { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) } : {};
    const opts = { host: '127.0.0.1', port, method, path, headers: { accept: 'application/json', ...sized, ...headers } };
    const done = (res: IncomingMessage) => {
      void replyOf(res).then((r) => resolve({ ...r, setCookies: [res.headers['set-cookie'] ?? []].flat() }), reject);
    };
    const req = ca ? httpsRequest({ ...opts, ca }, done) : httpRequest(opts, done);
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The cookie as the Java client keeps it: the first Set-Cookie only; undefined when it would drop it. */
export function javaCookie(setCookies: string[]): { value: string; path?: string; expires: Date } | undefined {
  const first = setCookies[0];
  if (!first) return undefined;
  let value: string | undefined;
  let path: string | undefined;
  let expires: Date | undefined;
  for (const part of first.split(';')) {
    const [name, v] = part.trim().split('=') as [string, string | undefined];
    if (name === 'session_id') value = v;
    else if (name.toLowerCase() === 'path') path = v;
    else if (name.toLowerCase() === 'expires') {
      if (!v || !JAVA_DATE.test(v)) return undefined;
      expires = new Date(v);
    }
  }
  return value && expires ? { value, path, expires } : undefined;
}

export class SpsClient {
  cookie: string | undefined;

  constructor(readonly port: number, readonly flavour: Flavour, readonly user: string, readonly password: string, readonly ca?: Buffer) {}

  private get basic(): string {
    return `Basic ${Buffer.from(`${this.user}:${this.password}`, 'utf8').toString('base64')}`;
  }

  private keep(r: SpsReply): void {
    if (this.flavour === 'java') {
      const c = javaCookie(r.setCookies);
      if (c) this.cookie = c.expires.getTime() > Date.now() ? c.value : undefined;
      return;
    }
    for (const line of r.setCookies) {
      const m = /^session_id=([^;]*)/.exec(line);
      if (m) this.cookie = m[1] || undefined;
    }
  }

  async call(method: string, path: string, body?: unknown): Promise<SpsReply> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = this.cookie ? { cookie: `session_id=${this.cookie}` } : {};
    const withBasic = this.flavour === 'dotnet' || (this.flavour === 'curl' && path.startsWith('/api/authentication') && method === 'GET' && !this.cookie);
    let r = await send(this.port, method, path, text, withBasic ? { ...headers, authorization: this.basic } : headers, this.ca);
    if (this.flavour === 'java' && r.status === 401 && [r.headers['www-authenticate'] ?? []].flat().some((c) => /^Basic /.test(c))) {
      r = await send(this.port, method, path, text, { ...headers, authorization: this.basic }, this.ca);
    }
    this.keep(r);
    return r;
  }

  login(): Promise<SpsReply> {
    return this.call('GET', '/api/authentication');
  }
}
