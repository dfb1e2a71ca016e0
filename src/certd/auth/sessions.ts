// SPS-style sessions: `GET /api/authentication` with Basic opens one, named by a random
// 160-bit id sent back as the `session_id` cookie; it lives while it is used within its
// idle time (20 minutes, as SPS documents). Held in memory only: a restart logs everyone
// out, which is what a lapsed cookie does anyway. The count is bounded: past it the
// session used longest ago goes.
import { randomBytes } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  /** Milliseconds (the store's clock) when it lapses unless used. */
  expires: number;
}

export const IDLE_MS = 20 * 60_000;
const MAX_SESSIONS = 256;

export class Sessions {
  // Insertion order is the order of last use (a used session is moved to the end).
  private readonly open = new Map<string, Session>();
  private readonly closeHooks: ((id: string) => void)[] = [];
  private readonly useHooks: ((id: string) => void)[] = [];

  constructor(private readonly now: () => number = Date.now, private readonly idleMs = IDLE_MS) {}

  /** A new session for `user`. */
  start(user: string): Session {
    this.sweep();
    while (this.open.size >= MAX_SESSIONS) this.end(this.open.keys().next().value as string);
    const s = { id: randomBytes(20).toString('hex'), user, expires: this.now() + this.idleMs };
    this.open.set(s.id, s);
    return s;
  }

  /** The live session of `id`, its idle time started again; undefined when unknown or lapsed. */
  use(id: string): Session | undefined {
    const s = this.open.get(id);
    if (!s) return undefined;
    if (s.expires <= this.now()) {
      this.end(id);
      return undefined;
    }
    this.open.delete(id);
    s.expires = this.now() + this.idleMs;
    this.open.set(id, s);
    for (const hook of this.useHooks) hook(id);
    return s;
  }

  /** The live session of `id`, its idle time left as it is. */
  peek(id: string): Session | undefined {
    const s = this.open.get(id);
    return s && s.expires > this.now() ? s : undefined;
  }

  end(id: string): void {
    if (!this.open.delete(id)) return;
    for (const hook of this.closeHooks) hook(id);
  }

  /** Ends every session of `user` but `keep`: a new password logs the user's other sessions out. */
  endUser(user: string, keep?: string): void {
    for (const s of [...this.open.values()]) if (s.user === user && s.id !== keep) this.end(s.id);
  }

  /** Told of every session that ends (logout, lapse, eviction). */
  onEnd(hook: (id: string) => void): void {
    this.closeHooks.push(hook);
  }

  /** Told of every call a live session makes (its idle time started again). */
  onUse(hook: (id: string) => void): void {
    this.useHooks.push(hook);
  }

  /** Ends the lapsed sessions. */
  private sweep(): void {
    const now = this.now();
    for (const s of [...this.open.values()]) if (s.expires <= now) this.end(s.id);
  }
}
