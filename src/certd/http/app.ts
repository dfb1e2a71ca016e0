// A small HTTP core over node:http: routing (find-my-way), a body limit enforced before
// parsing, authentication before any handler runs, a role check per route, and one place
// where errors become responses. Front-ends register routes; they never touch node:http.
import type { IncomingMessage, ServerResponse } from 'node:http';
import Router, { type HTTPMethod } from 'find-my-way';
import { apiOf, runInContext } from './context';
import { HttpError } from './errors';

export type Role = 'admin' | 'operator' | 'viewer';
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
/** How long an oversize request may go on sending (dropped) after its 413. */
const LINGER_MS = 2000;

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
}

export interface Response {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
}

export type Handler = (req: Request) => Promise<Response> | Response;

/**
 * `client` is the client's address (AppOptions.clientAddress). A refusal with
 * retryAfterSeconds is "too many failed logins".
 */
export type Authenticate = (method: string, url: string, authorization: string | undefined, client: string) => Promise<
  | { ok: true; user: string; role: Role }
  | { ok: false; challenges: string[]; retryAfterSeconds?: number }>;

/** How a front-end turns an error into its wire body. */
export type ErrorBody = (e: HttpError) => unknown;

export interface AppOptions {
  authenticate: Authenticate;
  /**
   * The client's address from the socket's peer and the X-Forwarded-For header (a proxy's
   * word for the client); default: the peer. Used for throttling and the audit trail.
   */
  clientAddress?: (remote: string, forwardedFor: string | string[] | undefined) => string;
  /** Largest request body, bytes; larger is 413 before anything is parsed. */
  bodyLimit: number;
  errorBody: ErrorBody;
  onError?: (e: unknown, req: { method?: string; url?: string }) => void;
}

interface RouteStore {
  role: Role;
  handler: Handler;
}

export class App {
  private readonly router = Router({ ignoreTrailingSlash: true, caseSensitive: true, maxParamLength: 1024 });

  constructor(private readonly options: AppOptions) {}

  route(method: HTTPMethod, path: string, role: Role, handler: Handler): void {
    this.router.on(method, path, () => undefined, { role, handler } satisfies RouteStore);
    // HEAD wherever GET (RFC 9110 §9.1); node:http sends the headers without the body.
    if (method === 'GET') this.router.on('HEAD', path, () => undefined, { role, handler } satisfies RouteStore);
  }

  /** The node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.handle(req, res);
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer | undefined;
    try {
      const remote = req.socket.remoteAddress ?? '';
      const source = this.options.clientAddress?.(remote, req.headers['x-forwarded-for']) ?? remote;
      const auth = await this.options.authenticate(req.method ?? 'GET', req.url ?? '/', req.headers.authorization, source);
      if (!auth.ok) {
        req.resume();
        if (auth.retryAfterSeconds !== undefined) {
          throw new HttpError(429, 21, 'too many failed logins; try again later', { 'retry-after': String(auth.retryAfterSeconds) });
        }
        throw new HttpError(401, 14, 'authentication required', { 'www-authenticate': auth.challenges });
      }
      const found = this.router.find(req.method as HTTPMethod, req.url ?? '/');
      if (!found) {
        req.resume();
        const allow = (['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'] as HTTPMethod[]).filter((m) => this.router.find(m, req.url ?? '/'));
        // A 405 names the methods the resource has (RFC 9110 §15.5.6).
        throw allow.length > 0
          ? new HttpError(405, 16, `method ${req.method} not allowed here`, { allow: allow.join(', ') })
          : new HttpError(404, 1, `resource not found: ${(req.url ?? '/').split('?')[0]}`);
      }
      const route = found.store as RouteStore;
      if (RANK[auth.role] < RANK[route.role]) {
        req.resume();
        throw new HttpError(403, 15, `the ${route.role} role is required`);
      }
      const read = await this.readBody(req);
      body = read;
      const out = await runInContext({ user: auth.user, source, api: apiOf(req.url ?? '/') }, () => route.handler({
        method: req.method!,
        url: req.url!,
        params: found.params as Record<string, string>,
        query: (found.searchParams ?? {}) as Record<string, string | string[]>,
        headers: req.headers,
        body: read,
        principal: { user: auth.user, role: auth.role },
      }));
      this.send(res, out.status, out.body, out.headers);
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, 19, 'internal error');
      if (!(e instanceof HttpError)) this.options.onError?.(e, req);
      this.send(res, err.status, this.options.errorBody(err), err.headers);
    } finally {
      body?.fill(0); // it may have carried keys or passphrases
    }
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    const limit = this.options.bodyLimit;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return Promise.reject(this.tooLarge(req));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        if (size > limit) return;
        size += c.length;
        if (size > limit) {
          for (const k of chunks) k.fill(0);
          chunks.length = 0;
          reject(this.tooLarge(req));
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

  /**
   * The 413, answered at once, with a lingering close: with "Connection: close" node:http
   * would close the socket while the body still arrives, and the reset loses the answer on
   * the client's side. What else arrives is read and dropped; the socket stays for a next
   * request if the body ends, and is closed after LINGER_MS if it does not.
   */
  private tooLarge(req: IncomingMessage): HttpError {
    req.resume();
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
    req.once('end', () => clearTimeout(timer));
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
