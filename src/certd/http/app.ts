// A small HTTP core over node:http: routing (find-my-way), a body limit enforced before
// parsing, authentication before any handler runs, a role check per route, the cross-site
// rule (cross-site.ts), and one place where errors become responses. Front-ends register
// routes; they never touch node:http.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import Router, { type HTTPMethod } from 'find-my-way';
import type { AuthRequest } from '../auth/scheme';
import { apiOf, runInContext } from './context';
import { crossSiteRefusal } from './cross-site';
import { HttpError } from './errors';
import { isLoopback } from './forwarded-tls';

export type Role = 'admin' | 'operator' | 'viewer';
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
/** How long a refused request may go on sending its body (dropped) after the answer. */
const LINGER_MS = 2000;
/** A refused body declared this small is read (and dropped) so that the connection stays. */
const DRAIN_LIMIT = 64 * 1024;
/**
 * Longest request-target taken, bytes; longer is 414 before authentication. 8 KiB is
 * Apache's default (LimitRequestLine), the server a camera fronts certd with.
 */
export const MAX_URL = 8192;

export interface Principal {
  user: string;
  role: Role;
}

export interface Request {
  method: string;
  /** Path and query as sent (what Digest authentication signs). */
  url: string;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: IncomingMessage['headers'];
  body: Buffer;
  principal: Principal;
  /** The client's connection is TLS (certd's own, or the front web server's). */
  secure: boolean;
}

export interface Response {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
}

export type Handler = (req: Request) => Promise<Response> | Response;

/** A refusal with retryAfterSeconds is "too many failed logins". */
export type Authenticate = (req: AuthRequest) => Promise<
  | { ok: true; user: string; role: Role }
  | { ok: false; challenges: string[]; retryAfterSeconds?: number; reason?: 'missing' | 'bad' | 'stale' | 'locked' }>;

/** A body as the front-end's body scheme reads it (SOAP: the parsed envelope); undefined: none to read. */
export type BodyCredentials = (raw: Buffer) => unknown;

/** How a front-end turns an error into its wire body. */
export type ErrorBody = (e: HttpError) => unknown;

/**
 * A front-end whose errors differ in status too (2N answers HTTP 200 for most): the status,
 * body and any headers it sends for an error of the core or its own.
 */
export type ErrorForm = (e: HttpError, req: { url: string; headers: IncomingMessage['headers'] }) => { status: number; body: unknown; headers?: Record<string, string | string[]> };

export interface AppOptions {
  authenticate: Authenticate;
  /**
   * The client's address from the socket's peer and the X-Forwarded-For header (a proxy's
   * word for the client); default: the peer. Used for throttling and the audit trail.
   */
  clientAddress?: (remote: string, forwardedFor: string | string[] | undefined) => string;
  /**
   * Whether a plain connection's peer is the front web server saying that the client's
   * connection was TLS (forwarded-tls.ts); default: never. certd's own TLS always counts.
   */
  tlsByProxy?: (remote: string, forwardedProto: string | string[] | undefined) => boolean;
  /** Largest request body, bytes; larger is 413 before anything is parsed. */
  bodyLimit: number;
  /** Origins (URL.origin form) besides the server's own whose pages may change things. */
  trustedOrigins?: readonly string[];
  errorBody: ErrorBody;
  onError?: (e: unknown, req: { method?: string; url?: string }) => void;
  /** Told of every answered request: its API (context.ts), status and time taken (metrics). */
  observe?: (api: string, status: number, seconds: number) => void;
}

interface RouteStore {
  role: Role;
  handler: Handler;
  /** Media types the body may have (cross-site.ts); undefined: any. */
  accepts?: readonly string[];
}

export class App {
  private readonly router = Router({ ignoreTrailingSlash: true, caseSensitive: true, maxParamLength: 1024 });

  private readonly trusted: ReadonlySet<string>;

  private readonly forms: [prefix: string, form: ErrorForm][] = [];

  private readonly bodyCredentials: [prefix: string, parse: BodyCredentials][] = [];

  /** Routes answered without authentication (they show nothing of the store). */
  private readonly open = Router({ ignoreTrailingSlash: true, caseSensitive: true });

  constructor(private readonly options: AppOptions) {
    this.trusted = new Set(options.trustedOrigins ?? []);
  }

  /** `accepts`: the media types the route's body may have (JSON routes: application/json). */
  route(method: HTTPMethod, path: string, role: Role, handler: Handler, accepts?: readonly string[]): void {
    const store: RouteStore = { role, handler, ...(accepts ? { accepts } : {}) };
    this.router.on(method, path, () => undefined, store);
    // HEAD wherever GET (RFC 9110 §9.1); node:http sends the headers without the body.
    if (method === 'GET') this.router.on('HEAD', path, () => undefined, store);
  }

  /**
   * A route anyone may call, before authentication; the answer gets the path's parameters,
   * never the body (SPS's login methods, ACME http-01, an open /metrics). `loopbackOnly`:
   * only for a client on loopback (after a trusted proxy's X-Forwarded-For); others go on
   * to authentication and need a route there.
   */
  anonymous(method: HTTPMethod, path: string, answer: (params: Record<string, string | undefined>) => Response | Promise<Response>, loopbackOnly = false): void {
    this.open.on(method, path, () => undefined, { answer, loopbackOnly });
  }

  /**
   * Requests under `prefix` may carry their credentials in the body (SOAP's WS-Security
   * header): one with no Authorization header has its body read (within bodyLimit) and
   * authenticated again with `parse`'s result as AuthRequest.body. A token there that is
   * refused is 400 (HttpError code 26), not a 401: the client sent credentials. The chain's
   * HTTP challenges go with it, so a client that also does Digest can fall back to it.
   */
  credentialsInBody(prefix: string, parse: BodyCredentials): void {
    this.bodyCredentials.push([prefix, parse]);
  }

  /** Errors of requests under `prefix` take this form instead of the errorBody option's. */
  errorForm(prefix: string, form: ErrorForm): void {
    this.forms.push([prefix, form]);
  }

  /** The node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.handle(req, res);
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer | undefined;
    const observe = this.options.observe;
    if (observe) {
      const started = process.hrtime.bigint();
      res.once('finish', () => observe(apiOf(req.url ?? '/'), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    }
    try {
      const url = req.url ?? '/';
      if (Buffer.byteLength(url) > MAX_URL) throw new HttpError(414, 12, `URL over ${MAX_URL} bytes`);
      const remote = req.socket.remoteAddress ?? '';
      const source = this.options.clientAddress?.(remote, req.headers['x-forwarded-for']) ?? remote;
      const secure = (req.socket as TLSSocket).encrypted === true || (this.options.tlsByProxy?.(remote, req.headers['x-forwarded-proto']) ?? false);
      const anonymous = this.open.find(req.method as HTTPMethod, url);
      const open = anonymous?.store as { answer: (params: Record<string, string | undefined>) => Response | Promise<Response>; loopbackOnly: boolean } | undefined;
      if (anonymous && open && (!open.loopbackOnly || isLoopback(source))) {
        req.resume(); // nothing in a body is read here
        const out = await open.answer(anonymous.params);
        this.send(res, out.status, out.body, out.headers);
        return;
      }
      const asked = { method: req.method ?? 'GET', url, headers: req.headers, remote: source, secure };
      let auth = await this.options.authenticate(asked);
      const parse = this.bodyCredentials.find(([prefix]) => url.startsWith(prefix))?.[1];
      if (!auth.ok && auth.reason === 'missing' && parse) {
        body = await this.readBody(req);
        const doc = parse(body);
        const second = doc === undefined ? auth : await this.options.authenticate({ ...asked, body: doc });
        if (!second.ok && (second.reason === 'bad' || second.reason === 'stale')) {
          throw new HttpError(400, 26, 'the credentials in the body were refused', { 'www-authenticate': second.challenges });
        }
        if (second.ok || second.retryAfterSeconds !== undefined) auth = second;
      }
      if (!auth.ok) {
        if (auth.retryAfterSeconds !== undefined) {
          throw new HttpError(429, 21, 'too many failed logins; try again later', { 'retry-after': String(auth.retryAfterSeconds) });
        }
        throw new HttpError(401, 14, 'authentication required', { 'www-authenticate': auth.challenges });
      }
      const found = this.router.find(req.method as HTTPMethod, req.url ?? '/');
      if (!found) {
        const allow = (['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'] as HTTPMethod[]).filter((m) => this.router.find(m, req.url ?? '/'));
        // A 405 names the methods the resource has (RFC 9110 §15.5.6).
        throw allow.length > 0
          ? new HttpError(405, 16, `method ${req.method} not allowed here`, { allow: allow.join(', ') })
          : new HttpError(404, 1, `Resource not found: ${(req.url ?? '/').split('?')[0]!.slice(0, 256)}`);
      }
      const route = found.store as RouteStore;
      if (RANK[auth.role] < RANK[route.role]) {
        throw new HttpError(403, 15, `the ${route.role} role is required`);
      }
      const crossSite = crossSiteRefusal(req.method!, req.headers, route.accepts, this.trusted);
      if (crossSite) throw new HttpError(403, 20, `cross-site request refused: ${crossSite}`);
      const read = body ?? await this.readBody(req);
      body = read;
      const out = await runInContext({ user: auth.user, source, api: apiOf(req.url ?? '/') }, () => route.handler({
        method: req.method!,
        url: req.url!,
        params: found.params as Record<string, string>,
        query: (found.searchParams ?? {}) as Record<string, string | string[]>,
        headers: req.headers,
        body: read,
        principal: { user: auth.user, role: auth.role },
        secure,
      }));
      this.send(res, out.status, out.body, out.headers);
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, 19, 'internal error');
      if (!(e instanceof HttpError)) this.options.onError?.(e, req);
      const close = this.discardBody(req, res);
      const form = this.forms.find(([prefix]) => (req.url ?? '/').startsWith(prefix))?.[1];
      const out = form ? form(err, { url: req.url ?? '/', headers: req.headers }) : { status: err.status, body: this.options.errorBody(err), headers: err.headers };
      this.send(res, out.status, out.body, close ? { ...out.headers, connection: 'close' } : out.headers);
    } finally {
      body?.fill(0); // it may have carried keys or passphrases
    }
  }

  /**
   * What is left of a refused request's body: a small declared one is read and dropped, and
   * the connection stays; any other is not read to its end. That connection is closed after
   * the answer, with a lingering close: node:http would destroy the socket right after its
   * "Connection: close" answer while the body still arrives, and the reset loses the answer
   * on the client's side. Only the FIN goes at once; what arrives after is dropped, up to
   * bodyLimit bytes (then no more is read), and the socket is destroyed after LINGER_MS.
   * True when it closes.
   */
  private discardBody(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.complete) return false;
    const declared = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length'] ?? 0) : Infinity;
    if (declared <= DRAIN_LIMIT) {
      req.resume();
      return false;
    }
    const socket = req.socket;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
    let dropped = 0;
    req.on('data', (c: Buffer) => {
      dropped += c.length;
      // Reading stops (the client's writes block); the answer can still be read meanwhile.
      if (dropped > this.options.bodyLimit) req.pause();
    });
    req.resume();
    // node:http's destroySoon() after a closing answer: end() (the FIN), then destroy on the
    // socket's 'finish'; that listener goes, the timer and the byte count above destroy it.
    res.once('finish', () => socket.removeListener('finish', socket.destroy));
    return true;
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    const limit = this.options.bodyLimit;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return Promise.reject(this.tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        if (size > limit) return;
        size += c.length;
        if (size > limit) {
          for (const k of chunks) k.fill(0);
          chunks.length = 0;
          reject(this.tooLarge());
        } else {
          chunks.push(c);
        }
      });
      req.on('end', () => {
        resolve(Buffer.concat(chunks));
        for (const k of chunks) k.fill(0);
      });
      req.on('error', reject);
    });
  }

  /** The 413, answered at once; the rest of the body is dealt with as any refused one's. */
  private tooLarge(): HttpError {
    return new HttpError(413, 13, `body over ${this.options.bodyLimit} bytes`);
  }

  /** Sends body as JSON, or as it is when the handler named a content-type. */
  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
    if (res.headersSent) return;
    const raw = headers['content-type'] !== undefined && typeof body === 'string';
    const text = body === undefined ? '' : raw ? (body as string) : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(text);
  }
}
