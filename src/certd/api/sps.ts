// The SPS-style configuration REST (../shared/spec/sps-rest-certificates.txt, sps-facts.md):
// sessions. `GET /api/authentication` with Basic opens a session and answers its
// `session_id` cookie; every other call under /api/authentication, /api/transaction and
// /api/configuration needs the cookie (or Basic again: a client may send it every time).
import type { App } from '../http/app';
import { cookieValue } from '../auth/session-scheme';
import type { Sessions } from '../auth/sessions';
import { spsErrorForm } from './sps-errors';
import { meta, sessionCookie, spsHandler } from './sps-format';

export const SPS_PREFIXES = ['/api/authentication', '/api/transaction', '/api/configuration'] as const;

export function registerSps(app: App, sessions: Sessions): void {
  for (const prefix of SPS_PREFIXES) app.errorForm(prefix, spsErrorForm);

  // What SPS 7.x lists here; this device logs in with local users' passwords only.
  app.anonymous('GET', '/api/authentication/login_methods', () => ({
    status: 200,
    body: { key: 'login_methods', body: { methods: [{ type: 'password', login_method: 'local' }] }, meta: meta('/api/authentication/login_methods') },
  }));

  app.route('GET', '/api/authentication', 'viewer', spsHandler(sessions, (req, current) => {
    // The session the request came with, if it is the user's; otherwise a new one.
    const session = (current === undefined ? undefined : sessions.peek(current)) ?? sessions.start(req.principal.user);
    return {
      status: 200,
      body: { key: 'authentication', body: { user: session.user, role: req.principal.role }, meta: meta('/api/authentication', { parent: '/api' }) },
      headers: { 'set-cookie': sessionCookie(session.id, session.expires, req.secure) },
    };
  }));

  app.route('DELETE', '/api/authentication', 'viewer', spsHandler(sessions, (req) => {
    const id = cookieValue(req.headers.cookie, 'session_id');
    if (id !== undefined) sessions.end(id);
    return {
      status: 200,
      body: { key: 'authentication', body: null, meta: meta('/api/authentication', { parent: '/api' }) },
      headers: { 'set-cookie': sessionCookie('', 0, req.secure) },
    };
  }));
}
