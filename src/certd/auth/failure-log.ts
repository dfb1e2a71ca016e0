// Log lines for failed logins, rate-limited so that a flood cannot fill the disk: per
// minute, the first failure of a (user, source) is one line; its further failures are
// counted and summed up in one line when the minute ends; past `linesPerMinute` new keys
// a minute only a total is kept. At most 2 × linesPerMinute + 1 lines a minute, whatever
// arrives. The event carries no password and no Digest response, so no line can.
// Each line also becomes an audit record (same bound: a flood cannot push the records of
// changes out of the rotated audit files).
import type { Logger } from '../../common/log';
import { sourceOf } from './throttle';

export interface FailedLogin {
  /** As the client sent it, cut to 64 characters. */
  user: string;
  /** The client's address (IPv4-mapped IPv6 shown as IPv4). */
  address: string;
  /** The scheme's name (scheme.ts): digest, basic, … */
  scheme: string;
  /** Which of certd's APIs the request was for. */
  api: string;
  reason: 'unknown user' | 'wrong password' | 'locked' | 'nonce used up';
  /** How long the answer was held back. */
  delayMs?: number;
  /** For 'locked': when the client may try again. */
  retryAfterSeconds?: number;
}

const MINUTE_MS = 60_000;

export class FailureLog {
  private readonly keys = new Map<string, { user: string; address: string; api: string; reason: string; more: number }>();
  private unitemised = 0;
  private minuteEnds: number;

  constructor(
    private readonly log: Logger,
    private readonly linesPerMinute: number,
    private readonly now: () => number = () => performance.now(),
    private readonly audit: (user: string, address: string, api: string, outcome: string) => void = () => undefined,
  ) {
    this.minuteEnds = now() + MINUTE_MS;
  }

  record(f: FailedLogin): void {
    if (this.now() >= this.minuteEnds) this.flush();
    const key = `${f.user}\0${sourceOf(f.address)}`;
    const seen = this.keys.get(key);
    if (seen) {
      seen.more++;
    } else if (this.keys.size < this.linesPerMinute) {
      this.keys.set(key, { user: f.user, address: f.address, api: f.api, reason: f.reason, more: 0 });
      this.audit(f.user, f.address, f.api, f.reason);
      this.log.warn('login failed', {
        user: f.user, address: f.address, scheme: f.scheme, reason: f.reason,
        ...(f.delayMs ? { delay_ms: f.delayMs } : {}), ...(f.retryAfterSeconds ? { retry_after_s: f.retryAfterSeconds } : {}),
      });
    } else {
      this.unitemised++;
    }
  }

  /** Ends the minute: one summary line per key that failed again, one for the rest. */
  flush(): void {
    for (const k of this.keys.values()) {
      if (k.more === 0) continue;
      this.log.warn('login failed again', { user: k.user, address: k.address, count: k.more });
      this.audit(k.user, k.address, k.api, `${k.reason} (${k.more} more in a minute)`);
    }
    if (this.unitemised > 0) this.log.warn('login failures not itemised', { count: this.unitemised });
    this.keys.clear();
    this.unitemised = 0;
    this.minuteEnds = this.now() + MINUTE_MS;
  }
}
