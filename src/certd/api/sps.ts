// The SPS-style configuration REST (../shared/spec/sps-rest-certificates.txt, sps-facts.md):
// sessions. `GET /api/authentication` with Basic opens a session and answers its
// `session_id` cookie; every other call under /api/authentication, /api/transaction and
// /api/configuration needs the cookie (or Basic again: a client may send it every time).
import type { App } from '../http/app';
import { cookieValue } from '../auth/session-scheme';
import type { Sessions } from '../auth/sessions';
import { SpsError, spsErrorForm } from './sps-errors';
import { meta, object, sessionCookie, spsHandler } from './sps-format';
import type { Transactions } from './sps-transaction';
import { jsonBody } from './sps-x509';

const MAX_COMMIT_MESSAGE = 1024;

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

/** /api/transaction: status, open, commit, rollback, changes. */
export function registerSpsTransaction(app: App, sessions: Sessions, tx: Transactions): void {
  const href = '/api/transaction';
  app.route('GET', href, 'viewer', spsHandler(sessions, (_req, session) => {
    const s = tx.status(session);
    const more = s.status === 'open' ? { remaining_seconds: s.remainingSeconds, changes: `${href}/changes` } : {};
    return object('transaction', { status: s.status, commit_message: 'optional' }, meta(href, { parent: '/api', ...more }));
  }));
  app.route('POST', href, 'admin', spsHandler(sessions, (req, session) => {
    // SPS wants a body (any) on this POST, or at least its length.
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) throw new SpsError('LengthRequired', 'Length Required');
    tx.begin(session);
    return object('transaction', { status: 'open', commit_message: 'optional' }, meta(href, { parent: '/api' }));
  }));
  app.route('PUT', href, 'admin', spsHandler(sessions, async (req, session) => {
    const body = jsonBody(req) as { status?: unknown; message?: unknown };
    if (typeof body !== 'object' || body === null || body.status !== 'commit') throw new SpsError('SyntacticError', 'the body must be {"status": "commit", "message"?: "…"}', { field: 'status' });
    // commit_message is "optional": certd has no commit log to require one for (SPS's
    // require_commitlog); a message is checked and not kept.
    if (body.message !== undefined && (typeof body.message !== 'string' || body.message.length > MAX_COMMIT_MESSAGE)) {
      throw new SpsError('SyntacticError', `message must be a string of at most ${MAX_COMMIT_MESSAGE} characters`, { field: 'message' });
    }
    await tx.commit(session);
    return object('transaction', { status: 'closed', commit_message: 'optional' }, meta(href, { parent: '/api' }));
  }), ['application/json']);
  app.route('DELETE', href, 'admin', spsHandler(sessions, (_req, session) => {
    tx.rollback(session);
    return object('transaction', { status: 'closed', commit_message: 'optional' }, meta(href, { parent: '/api' }));
  }));
  app.route('GET', `${href}/changes`, 'viewer', spsHandler(sessions, (_req, session) => ({
    status: 200, body: { changes: tx.of(session)?.changes ?? [], meta: meta(`${href}/changes`) },
  })));
}
