// Brute-force throttle of password logins. Failures are counted per (user, source), per
// source and per user name (unknown names too) within a window. Past `freeFailures` the
// answer to each further failure is held back, doubling up to `maxDelayMs`; at `lockAfter`
// failures the (user, source) pair, and at `addressLockAfter` the source, is refused for
// `lockSeconds` without the password being looked at. The user alone is never locked: an
// attacker could otherwise lock the admin out from anywhere. A source is an IPv4 address
// or an IPv6 /64 (one host usually holds a whole /64). Memory is bounded: each table keeps
// at most `maxTracked` keys and forgets the least recently failed one first.
import { isIP, isIPv4, isIPv6 } from 'node:net';

export interface ThrottleOptions {
  /** Failures answered without delay. */
  freeFailures: number;
  /** Delay of the first delayed failure; it doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures of one user from one source that lock that pair. */
  lockAfter: number;
  /** Failures from one source (any user names) that lock the source. */
  addressLockAfter: number;
  /** Failures older than this (counted from the first one) are forgotten. */
  windowSeconds: number;
  lockSeconds: number;
  /** Keys per table (pairs, sources, user names). */
  maxTracked: number;
}

interface Entry {
  failures: number;
  since: number;
  lockedUntil: number;
}

/** How far the eviction looks for an entry that is not locked before taking the oldest. */
const EVICTION_SCAN = 64;
/** User names longer than this are no user's (users.ts allows 64): one key for all of them. */
const MAX_NAME = 64;

export class Throttle {
  private readonly pairs: Counters;
  private readonly sources: Counters;
  private readonly users: Counters;

  constructor(private readonly opts: ThrottleOptions, private readonly now: () => number = () => performance.now()) {
    for (const [k, v] of Object.entries(opts)) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`throttle ${k} must be a non-negative integer`);
    }
    if (opts.lockAfter < 1 || opts.addressLockAfter < 1 || opts.maxTracked < 1) throw new Error('throttle lockAfter, addressLockAfter and maxTracked must be at least 1');
    const windowMs = opts.windowSeconds * 1000;
    this.pairs = new Counters(opts.maxTracked, windowMs);
    this.sources = new Counters(opts.maxTracked, windowMs);
    this.users = new Counters(opts.maxTracked, windowMs);
  }

  /** Whole seconds until `user` may try again from `remote`; undefined when it may now. */
  lockedFor(user: string, remote: string): number | undefined {
    const t = this.now();
    const until = Math.max(this.pairs.lockedUntil(pairKey(user, remote), t), this.sources.lockedUntil(sourceOf(remote), t));
    return until > t ? Math.max(1, Math.ceil((until - t) / 1000)) : undefined;
  }

  /** Counts a failed login; returns how long to hold its answer back, ms. */
  failure(user: string, remote: string): number {
    const t = this.now();
    const lockMs = this.opts.lockSeconds * 1000;
    const counts = [
      this.pairs.fail(pairKey(user, remote), t, this.opts.lockAfter, lockMs),
      this.sources.fail(sourceOf(remote), t, this.opts.addressLockAfter, lockMs),
      this.users.fail(nameKey(user), t, Infinity, 0),
    ];
    return this.delayMs(Math.max(...counts));
  }

  /** A right password: the pair starts over (the source and user counts stay). */
  success(user: string, remote: string): void {
    this.pairs.forget(pairKey(user, remote));
  }

  /** Tracked keys per table (for tests and diagnostics). */
  sizes(): { pairs: number; sources: number; users: number } {
    return { pairs: this.pairs.size, sources: this.sources.size, users: this.users.size };
  }

  private delayMs(failures: number): number {
    const over = failures - this.opts.freeFailures;
    if (over <= 0) return 0;
    // 2 ** 31 and more is far past any cap; keep the arithmetic finite.
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(over - 1, 30));
  }
}

/** Failure counts with bounded memory; Map order is least recently failed first. */
class Counters {
  private readonly map = new Map<string, Entry>();

  constructor(private readonly cap: number, private readonly windowMs: number) {}

  get size(): number {
    return this.map.size;
  }

  lockedUntil(key: string, now: number): number {
    const e = this.map.get(key);
    return e && e.lockedUntil > now ? e.lockedUntil : -Infinity;
  }

  /** Records a failure at `now`; returns the failures within the window, this one included. */
  fail(key: string, now: number, lockAfter: number, lockMs: number): number {
    let e = this.map.get(key);
    if (e) {
      this.map.delete(key);
      if (now - e.since > this.windowMs && e.lockedUntil <= now) e = undefined;
    } else if (this.map.size >= this.cap) {
      this.evict(now);
    }
    e ??= { failures: 0, since: now, lockedUntil: -Infinity };
    e.failures++;
    if (e.failures >= lockAfter) e.lockedUntil = now + lockMs;
    this.map.set(key, e);
    return e.failures;
  }

  forget(key: string): void {
    this.map.delete(key);
  }

  // The least recently failed entry that is not locked goes; a flood of fresh keys must
  // not be a way to unlock a locked one. If the oldest few are all locked, the oldest goes.
  private evict(now: number): void {
    let n = 0;
    for (const [k, e] of this.map) {
      if (e.lockedUntil <= now) {
        this.map.delete(k);
        return;
      }
      if (++n >= EVICTION_SCAN) break;
    }
    this.map.delete(this.map.keys().next().value as string);
  }
}

function nameKey(user: string): string {
  return user.length <= MAX_NAME ? user : '\0long';
}

function pairKey(user: string, remote: string): string {
  return `${nameKey(user)}\0${sourceOf(remote)}`;
}

/**
 * Who the client is: the socket's peer, or, when that peer is a trusted proxy (on a camera its
 * web server, on 127.0.0.1) and says so, the last X-Forwarded-For hop, the address the proxy
 * saw. Without this every client behind the proxy would be one source to the throttle.
 */
export function clientAddress(socket: string, forwardedFor: string | string[] | undefined, trustedProxies: ReadonlySet<string>): string {
  if (forwardedFor === undefined || !trustedProxies.has(displayAddress(socket))) return socket;
  const hops = [forwardedFor].flat().join(',');
  const last = hops.slice(hops.lastIndexOf(',') + 1).trim();
  return isIP(last.replace(/%.*$/, '')) ? last : socket;
}

/** The address as a log shows it: IPv4-mapped IPv6 as IPv4, zone index dropped. */
export function displayAddress(remote: string): string {
  const a = remote.replace(/%.*$/, '');
  if (!isIPv6(a)) return a;
  const g = ipv6Groups(a);
  return isMapped(g) ? mappedIPv4(g) : a;
}

/** The throttle's source key: IPv4 address, or the IPv6 /64 prefix. */
export function sourceOf(remote: string): string {
  const a = remote.replace(/%.*$/, '');
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return a === '' ? 'unknown' : a;
  const g = ipv6Groups(a);
  if (isMapped(g)) return mappedIPv4(g);
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (a dotted IPv4 tail included). */
function ipv6Groups(a: string): number[] {
  let text = a;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)));
  const h = parse(head);
  if (tail === undefined) return h;
  const t = parse(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function isMapped(g: number[]): boolean {
  return g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
}

function mappedIPv4(g: number[]): string {
  return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.');
}
