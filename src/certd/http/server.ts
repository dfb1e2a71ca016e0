// certd's HTTP(S) server with what a hostile client may hold of it bounded: connections in
// all and per source address, the time to send headers (all an unauthenticated client gets),
// the time to send a request, idle keep-alive time, and requests pipelined on a connection.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { HttpLimits } from '../config';
import { oneAtATime } from './pipeline';

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
}

export function createCertdServer(opts: ServerOptions, listener: RequestListener): { server: Server; maxConnections: number } {
  const l = opts.limits;
  const http = {
    headersTimeout: l.header_timeout_ms,
    requestTimeout: Math.max(l.request_timeout_ms, l.header_timeout_ms),
    keepAliveTimeout: l.keep_alive_timeout_ms,
    // How often node:http looks for connections over those timeouts (30 s by default).
    connectionsCheckingInterval: Math.min(1000, l.header_timeout_ms),
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
