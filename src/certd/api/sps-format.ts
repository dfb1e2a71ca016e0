// SPS's message format: objects `{"key", "body", "meta"}`, references `{"key", "meta":
// {"href"}}`, and the wrapper every SPS handler runs in (errors in SPS's form, the session
// cookie's lifetime renewed on each answer).
import type { Request, Response } from '../http/app';
import { cookieValue } from '../auth/session-scheme';
import type { Sessions } from '../auth/sessions';
import { spsErrorOf } from './sps-errors';

export const TRANSACTION = '/api/transaction';

export interface Meta {
  href: string;
  parent?: string;
  first?: string | null;
  last?: string | null;
  next?: string | null;
  previous?: string | null;
  transaction: string;
  [more: string]: unknown;
}

export function meta(href: string, more: Partial<Meta> = {}): Meta {
  return { href, parent: href.slice(0, href.lastIndexOf('/')) || '/api', transaction: TRANSACTION, ...more };
}

export function ref(collection: string, key: string): { key: string; meta: { href: string } } {
  return { key, meta: { href: `${collection}/${key}` } };
}

export function object(key: string, body: unknown, m: Meta, status = 200): Response {
  return { status, body: { key, body, meta: m } };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `EEE, d MMM yyyy HH:mm:ss z` (java.text.SimpleDateFormat), the only form SPS's Java client keeps. */
export function cookieDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} GMT`;
}

/** The session cookie; one Set-Cookie header, the id first (a Java client splits it on ';' and '='). */
export function sessionCookie(id: string, expiresMs: number, secure: boolean): string {
  return `session_id=${id}; expires=${cookieDate(expiresMs)}; Path=/; HttpOnly${secure ? '; Secure' : ''}`;
}

/** Wraps an SPS handler: SPS and domain errors leave in SPS's form; a session's cookie is sent again with its new expiry. */
export function spsHandler(sessions: Sessions, fn: (req: Request, session: string | undefined) => Promise<Response> | Response) {
  return async (req: Request): Promise<Response> => {
    const id = cookieValue(req.headers.cookie, 'session_id');
    const session = id === undefined ? undefined : sessions.peek(id);
    const own = session?.user === req.principal.user ? session : undefined;
    let res: Response;
    try {
      res = await fn(req, own?.id);
    } catch (e) {
      const err = spsErrorOf(e, req.url.split('?')[0]!);
      if (!err) throw e;
      res = err;
    }
    if (own && !res.headers?.['set-cookie']) {
      const live = sessions.peek(own.id);
      if (live) res = { ...res, headers: { ...res.headers, 'set-cookie': sessionCookie(live.id, live.expires, req.secure) } };
    }
    return res;
  };
}
