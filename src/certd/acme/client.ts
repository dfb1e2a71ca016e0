// An ACME client (RFC 8555) over node:https with the enrollment's trust anchors only:
// directory, nonces (one retry round on badNonce), account, order, authorizations, http-01,
// finalize with a CSR made elsewhere, polling, chain download. Failures say whether the CA
// could not be reached (AcmeUnreachable) or answered no (AcmeRejected, with its problem);
// either carries the wait the CA asked for (Retry-After) when it was busy or limiting us.
import { request } from 'node:https';
import { algOf, type DigestSigner, type Jwk, signJws, thumbprint } from './jws';

export class AcmeUnreachable extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}
export class AcmeRejected extends Error {
  constructor(readonly problem: string, detail: string, readonly retryAfterMs?: number) {
    super(detail);
  }
}

export interface Identifier {
  type: 'dns' | 'ip';
  value: string;
}

export interface Order {
  url: string;
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: { type?: string; detail?: string };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const TIMEOUT_MS = 15_000;
const MAX_BODY = 1 << 20;
const POLL_MS = 250;
const POLL_LIMIT = 240;
/** RFC 8555 §6.5: a client should retry; a CA may reject any nonce (pebble does so at random). */
const BAD_NONCE_RETRIES = 5;

/** How an http-01 answer is served (certd's listener) while its challenge is pending. */
export interface ChallengeBoard {
  put(token: string, keyAuthorization: string): void;
  remove(token: string): void;
}

export class AcmeClient {
  private dir: Record<string, string> | undefined;
  private nonce: string | undefined;
  private kid: string | undefined;

  constructor(
    private readonly directoryUrl: string,
    private readonly anchors: string[],
    private readonly signer: DigestSigner,
    private readonly jwk: Jwk,
  ) {}

  /** Finds or makes the account of this key (newAccount answers the existing one). */
  async account(): Promise<string> {
    const r = await this.post(await this.endpoint('newAccount'), { termsOfServiceAgreed: true }, true);
    this.kid = header(r, 'location');
    if (!this.kid) throw new AcmeRejected('malformed', 'newAccount answered no account URL');
    return this.kid;
  }

  async newOrder(identifiers: Identifier[]): Promise<Order> {
    const r = await this.post(await this.endpoint('newOrder'), { identifiers });
    const url = header(r, 'location');
    if (!url) throw new AcmeRejected('malformed', 'newOrder answered no order URL');
    return { ...(json(r) as Omit<Order, 'url'>), url };
  }

  /** Proves every pending authorization of the order with http-01. */
  async authorize(order: Order, board: ChallengeBoard): Promise<void> {
    const keyThumb = thumbprint(this.jwk);
    for (const authzUrl of order.authorizations) {
      const authz = json(await this.post(authzUrl, undefined)) as { status: string; identifier: Identifier; challenges: { type: string; url: string; token: string }[] };
      if (authz.status === 'valid') continue;
      const ch = authz.challenges.find((c) => c.type === 'http-01');
      if (!ch) throw new AcmeRejected('unsupportedChallenge', `no http-01 challenge for ${authz.identifier.value}`);
      board.put(ch.token, `${ch.token}.${keyThumb}`);
      try {
        await this.post(ch.url, {});
        const done = await this.poll(authzUrl, (b) => b.status !== 'pending' && b.status !== 'processing');
        if (done.status !== 'valid') {
          const failed = (done.challenges as { error?: { type?: string; detail?: string } }[] | undefined)?.find((c) => c.error)?.error;
          throw new AcmeRejected(failed?.type ?? 'unauthorized', `authorization of ${authz.identifier.value} is ${String(done.status)}${failed?.detail ? `: ${failed.detail}` : ''}`);
        }
      } finally {
        board.remove(ch.token);
      }
    }
  }

  /** Finalizes with the CSR (DER) and answers the issued chain (PEM, leaf first). */
  async finalize(order: Order, csrDer: Uint8Array): Promise<string> {
    await this.post(order.finalize, { csr: Buffer.from(csrDer).toString('base64url') });
    const done = await this.poll(order.url, (b) => b.status !== 'processing' && b.status !== 'pending' && b.status !== 'ready');
    if (done.status !== 'valid' || typeof done.certificate !== 'string') {
      const err = done.error as { type?: string; detail?: string } | undefined;
      throw new AcmeRejected(err?.type ?? 'orderNotReady', `order is ${String(done.status)}${err?.detail ? `: ${err.detail}` : ''}`);
    }
    const chain = await this.post(done.certificate, undefined);
    if (!chain.text.includes('-----BEGIN CERTIFICATE-----')) throw new AcmeRejected('malformed', 'the certificate URL answered no PEM chain');
    return chain.text;
  }

  private async poll(url: string, settled: (b: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    for (let i = 0; i < POLL_LIMIT; i++) {
      const body = json(await this.post(url, undefined)) as Record<string, unknown>;
      if (settled(body)) return body;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    throw new AcmeUnreachable(`${url} did not settle`);
  }

  private async endpoint(name: 'newNonce' | 'newAccount' | 'newOrder'): Promise<string> {
    if (!this.dir) {
      const r = await this.send('GET', this.directoryUrl);
      if (r.status !== 200) throw new AcmeUnreachable(`directory answered HTTP ${r.status}`, askedWait(r, parseProblem(r).type));
      this.dir = json(r) as Record<string, string>;
    }
    const url = this.dir[name];
    if (typeof url !== 'string') throw new AcmeRejected('malformed', `the directory has no ${name}`);
    return url;
  }

  /** A signed POST; a badNonce answer is retried with the fresh nonce it carries. */
  private async post(url: string, payload: unknown, withJwk = false): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      if (!this.nonce) {
        const nonceUrl = await this.endpoint('newNonce');
        const r = await this.send('HEAD', nonceUrl);
        if (r.status >= 400) throw failure(r, nonceUrl, parseProblem(r));
        this.nonce = header(r, 'replay-nonce');
        if (!this.nonce) throw new AcmeRejected('badNonce', 'newNonce answered no nonce');
      }
      const key = withJwk ? { jwk: this.jwk } : { kid: this.kid ?? '' };
      const body = await signJws(this.signer, algOf(this.jwk), key, this.nonce, url, payload);
      this.nonce = undefined;
      const r = await this.send('POST', url, body);
      this.nonce = header(r, 'replay-nonce');
      if (r.status < 400) return r;
      const problem = parseProblem(r);
      if (problem.type.endsWith(':badNonce') && attempt < BAD_NONCE_RETRIES) continue;
      throw failure(r, url, problem);
    }
  }

  private send(method: 'GET' | 'HEAD' | 'POST', url: string, body?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method, ca: this.anchors, timeout: TIMEOUT_MS,
        headers: body === undefined ? {} : { 'content-type': 'application/jose+json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.length > MAX_BODY) req.destroy(new Error('answer over 1 MiB'));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', (e) => reject(new AcmeUnreachable(e.message)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new AcmeUnreachable(`${url}: ${e.code ?? e.message}`)));
      req.end(body);
    });
  }
}

function header(r: Reply, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function json(r: Reply): unknown {
  try {
    return JSON.parse(r.text);
  } catch {
    throw new AcmeRejected('malformed', `HTTP ${r.status}: the answer is not JSON`);
  }
}

/** A 5xx is the CA not answering; anything else is its no. */
function failure(r: Reply, url: string, problem: { type: string; detail: string }): Error {
  const wait = askedWait(r, problem.type);
  if (r.status >= 500) return new AcmeUnreachable(`HTTP ${r.status} from ${url}: ${problem.detail}`, wait);
  return new AcmeRejected(problem.type.replace(/^urn:ietf:params:acme:error:/, ''), problem.detail, wait);
}

/**
 * The wait a busy or limiting CA asks for (RFC 8555 §6.6, RFC 9110 §10.2.3): Retry-After in
 * seconds or as an HTTP date, heeded on 429, 503 and the rateLimited and serverInternal problems.
 */
function askedWait(r: Reply, problemType: string, now = Date.now()): number | undefined {
  if (r.status !== 429 && r.status !== 503 && !/:(rateLimited|serverInternal)$/.test(problemType)) return undefined;
  const v = header(r, 'retry-after')?.trim();
  if (!v) return undefined;
  if (/^\d{1,10}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function parseProblem(r: Reply): { type: string; detail: string } {
  try {
    const p = JSON.parse(r.text) as { type?: unknown; detail?: unknown };
    return { type: typeof p.type === 'string' ? p.type : 'about:blank', detail: typeof p.detail === 'string' ? p.detail : `HTTP ${r.status}` };
  } catch {
    return { type: 'about:blank', detail: `HTTP ${r.status}` };
  }
}
