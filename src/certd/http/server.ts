// certd's HTTP(S) server with what a hostile client may hold of it bounded: connections in
// all and per source address, the time to send headers (all an unauthenticated client gets),
// the time to send a request, idle keep-alive time, and requests pipelined on a connection.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { HttpLimits } from '../config';
import { MAX_URL } from './app';
import { HttpError } from './errors';
import { oneAtATime } from './pipeline';

/**
 * Largest request head (request line and headers), bytes; node:http's default is 16 KiB,
 * too little for an 8 KiB URL (app.ts MAX_URL) that a Digest Authorization header repeats.
 */
export const MAX_HEAD = 32 * 1024;

/**
 * Descriptors kept for the daemon itself whatever the connection limit: keystored's socket
 * and ZeroMQ's own, the store and journal files, the wasm module, stdio, TLS files.
 */
export const FD_RESERVE = 64;

/** The soft "Max open files" of /proc/<pid>/limits, or undefined where there is none. */
export function softFdLimit(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

/** The connection cap: the configured one, lowered so that FD_RESERVE descriptors stay free. */
export function connectionCap(configured: number, softLimit: number | undefined): number {
  return softLimit === undefined ? configured : Math.max(1, Math.min(configured, softLimit - FD_RESERVE));
}

function readLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return '';
  }
}

export interface ServerOptions {
  limits: HttpLimits;
  tls?: { cert: Buffer; key: Buffer };
  /** The API's error body, for a request head over MAX_HEAD (node:http would answer an empty 431). */
  errorBody: (e: HttpError) => unknown;
}

export function createCertdServer(opts: ServerOptions, listener: RequestListener): { server: Server; maxConnections: number } {
  const l = opts.limits;
  const http = {
    headersTimeout: l.header_timeout_ms,
    requestTimeout: Math.max(l.request_timeout_ms, l.header_timeout_ms),
    keepAliveTimeout: l.keep_alive_timeout_ms,
    // How often node:http looks for connections over those timeouts (30 s by default).
    connectionsCheckingInterval: Math.min(1000, l.header_timeout_ms),
    maxHeaderSize: MAX_HEAD,
  };
  const pipelined = oneAtATime(listener, l.max_pipelined_requests);
  const requested = new WeakSet<Socket>();
  const handler: RequestListener = (req, res) => {
    requested.add(req.socket);
    pipelined(req, res);
  };
  const server: Server = opts.tls
    ? createHttpsServer({ ...http, cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: l.header_timeout_ms }, handler)
    : createHttpServer(http, handler);
  // A connection making no progress (a client that stops reading its answer) is closed.
  server.timeout = l.request_timeout_ms;
  server.maxConnections = connectionCap(l.max_connections, softFdLimit(readLimits()));

  // node:http's headersTimeout runs from a request's first byte: a connection that sends
  // nothing has header_timeout_ms (HTTPS: after the handshake) for its first request head.
  server.on(opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    const timer = setTimeout(() => requested.has(socket) || socket.destroy(), l.header_timeout_ms).unref();
    socket.once('close', () => clearTimeout(timer));
  });

  // As node:http's own handler: answer only when no answer of this connection is under way.
  server.on('clientError', (e: Error & { code?: string; rawPacket?: Buffer }, socket: Socket & { _httpMessage?: ServerResponse }) => {
    if (socket.writable && !socket._httpMessage?.headersSent) socket.write(clientErrorAnswer(e, opts.errorBody));
    socket.destroy();
  });

  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const n = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, n);
    socket.once('close', () => {
      const left = perAddress.get(address)! - 1;
      if (left === 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
    if (n > l.max_connections_per_address) socket.destroy();
  });
  return { server, maxConnections: server.maxConnections };
}

/**
 * What node:http answers a request it cannot parse, except that a head over MAX_HEAD gets
 * the API's error body: 414 when its request line alone is over MAX_URL (as far as the
 * bytes at hand show), 431 otherwise.
 */
export function clientErrorAnswer(e: { code?: string; rawPacket?: Buffer }, errorBody: (e: HttpError) => unknown): string {
  if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';
  if (e.code !== 'HPE_HEADER_OVERFLOW') return 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
  const raw = e.rawPacket ?? Buffer.alloc(0);
  const line = raw.indexOf('\r\n');
  const longUrl = /^[A-Z]+ /.test(raw.subarray(0, 16).toString('latin1')) && (line < 0 ? raw.length : line) > MAX_URL;
  const err = longUrl ? new HttpError(414, 12, `URL over ${MAX_URL} bytes`) : new HttpError(431, 12, `request head over ${MAX_HEAD} bytes`);
  const body = JSON.stringify(errorBody(err));
  return `HTTP/1.1 ${err.status} ${longUrl ? 'URI Too Long' : 'Request Header Fields Too Large'}\r\nContent-Type: application/json\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`;
}
