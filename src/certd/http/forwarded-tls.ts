// Whether a request came over TLS. certd's own HTTPS listener says so itself; behind the
// camera's web server (which terminates TLS and proxies to certd on loopback), that server
// says so with `X-Forwarded-Proto: https`. The header is believed only from a peer that is
// a trusted proxy and on loopback: from anywhere else any client could claim it.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { displayAddress } from '../auth/throttle';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 and ::1, IPv4-mapped forms included. */
export function isLoopback(address: string): boolean {
  const a = displayAddress(address);
  return isIPv4(a) ? LOOPBACK.check(a, 'ipv4') : isIPv6(a) && LOOPBACK.check(a, 'ipv6');
}

/**
 * True when `peer` (the socket's own peer, not X-Forwarded-For) is loopback and listed in
 * `trusted`, and the last `X-Forwarded-Proto` value is https: a proxy that appends to a
 * client's forged header still has the last word.
 */
export function tlsByProxy(peer: string, forwardedProto: string | string[] | undefined, trusted: ReadonlySet<string>): boolean {
  if (forwardedProto === undefined || !isLoopback(peer) || !trusted.has(displayAddress(peer))) return false;
  const values = [forwardedProto].flat().join(',');
  return values.slice(values.lastIndexOf(',') + 1).trim().toLowerCase() === 'https';
}
