// Stateless Digest nonces and nonce-count replay protection.
// nonce = base64url(issuedAt ms, 8 bytes BE ‖ 16 random bytes ‖ HMAC-SHA-256(secret, both)).
// The secret lives only in this process, so a restart invalidates every nonce (clients get
// a fresh challenge) and the clock may be monotonic. The clock is shifted by a random
// per-process offset (up to ~8900 years), so a nonce does not tell how long the device has
// been up; differences between nonces of one process stay true, which the TTL needs.
// A nonce answered wrongly `maxFailures` times is used up: guessing needs fresh challenges.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const TS = 8;
const RAND = 16;
const MAC = 32;
const NONCE_CHARS = Math.ceil(((TS + RAND + MAC) * 4) / 3);

export class Nonces {
  private readonly secret = randomBytes(32);
  private readonly offset = randomBytes(6).readUIntBE(0, 6);
  /** Highest nc seen and wrong answers per nonce, for nonces that were used at least once. */
  private readonly seen = new Map<string, { issuedAt: number; nc: number; failures: number }>();
  /** Nonces issued at or before this time and not in `seen` were evicted: refuse them. */
  private floor = -Infinity;

  private readonly now: () => number;

  constructor(
    private readonly ttlMs: number,
    clock: () => number,
    private readonly maxTracked: number,
    private readonly maxFailures: number,
  ) {
    this.now = () => clock() + this.offset;
  }

  issue(): string {
    const head = Buffer.alloc(TS + RAND);
    head.writeBigUInt64BE(BigInt(Math.floor(this.now())));
    randomBytes(RAND).copy(head, TS);
    return Buffer.concat([head, this.mac(head)]).toString('base64url');
  }

  /** When the nonce was issued, if this process issued it; undefined for anything else. */
  issuedAt(nonce: string): number | undefined {
    if (nonce.length !== NONCE_CHARS || !/^[A-Za-z0-9_-]+$/.test(nonce)) return undefined;
    const raw = Buffer.from(nonce, 'base64url');
    const head = raw.subarray(0, TS + RAND);
    // Canonical encoding only, so one nonce has one spelling (the nc map is keyed by it).
    if (raw.length !== TS + RAND + MAC || raw.toString('base64url') !== nonce) return undefined;
    if (!timingSafeEqual(raw.subarray(TS + RAND), this.mac(head))) return undefined;
    const at = Number(head.readBigUInt64BE(0));
    return at <= this.now() ? at : undefined;
  }

  isFresh(issuedAt: number): boolean {
    return this.now() - issuedAt <= this.ttlMs;
  }

  /** Records nc for the nonce; false when nc does not exceed the highest seen (a replay). */
  advance(nonce: string, issuedAt: number, nc: number): boolean {
    const entry = this.seen.get(nonce);
    if (nc <= (entry?.nc ?? 0)) return false; // nc counts from 1
    if (entry) {
      entry.nc = nc;
      return true;
    }
    if (issuedAt <= this.floor) return false;
    this.track(nonce, { issuedAt, nc, failures: 0 });
    return true;
  }

  /** Counts a wrong answer to the nonce. */
  failed(nonce: string, issuedAt: number): void {
    const entry = this.seen.get(nonce);
    if (entry) entry.failures++;
    // A forgotten nonce (below the floor) keeps refusing every nc.
    else this.track(nonce, { issuedAt, nc: issuedAt <= this.floor ? Infinity : 0, failures: 1 });
  }

  /** True once the nonce was answered wrongly maxFailures times. */
  usedUp(nonce: string): boolean {
    return (this.seen.get(nonce)?.failures ?? 0) >= this.maxFailures;
  }

  private track(nonce: string, entry: { issuedAt: number; nc: number; failures: number }): void {
    if (this.seen.size >= this.maxTracked) this.makeRoom();
    this.seen.set(nonce, entry);
  }

  // Expired entries go first (their nonces fail the TTL anyway); if that is not enough,
  // the oldest-inserted one goes and the floor rises so that it cannot be replayed.
  private makeRoom(): void {
    for (const [k, v] of this.seen) if (!this.isFresh(v.issuedAt)) this.seen.delete(k);
    if (this.seen.size < this.maxTracked) return;
    const [k, v] = this.seen.entries().next().value as [string, { issuedAt: number }];
    this.seen.delete(k);
    this.floor = Math.max(this.floor, v.issuedAt);
  }

  private mac(head: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(head).digest();
  }
}
