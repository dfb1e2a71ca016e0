// The SPS `session_id` cookie as an authentication scheme. A cookie that names no live
// session counts as absent (not as a failed login): the next scheme (Basic) may still take
// the request, and a client without credentials gets the 401 that makes it log in again.
import type { Attempt, AuthScheme, SchemeInput } from './scheme';
import type { Sessions } from './sessions';
import type { UserStore } from './users';

const ID = /^[0-9a-f]{40}$/;

/** The value of the cookie `name` in a Cookie header (RFC 6265 §5.4 form), first one wins. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

export class SessionScheme implements AuthScheme {
  readonly name = 'session';

  constructor(private readonly sessions: Sessions, private readonly users: UserStore) {}

  challenges(): string[] {
    return [];
  }

  attempt(req: SchemeInput): Attempt | 'absent' {
    const id = cookieValue(req.headers.cookie, 'session_id');
    if (id === undefined || !ID.test(id)) return 'absent';
    const session = this.sessions.use(id);
    // A user removed since the login has no session left.
    const user = session && this.users.get(session.user);
    if (!user) return 'absent';
    return { name: user.name, verify: () => user };
  }
}
