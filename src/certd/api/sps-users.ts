// /api/configuration/passwords and /api/configuration/aaa/local_database/users: a password
// object is POSTed (plain, or a hash), then referenced once by a user's PUT; the commit sets
// that user's password in certd's one users table (Digest HA1s and all), so the new password
// logs in over every API. Password objects live in their transaction only and never show
// their secret; a user's key is the user's name.
import type { App } from '../http/app';
import type { Sessions } from '../auth/sessions';
import type { UserStore } from '../auth/users';
import { passwordProblem } from '../auth/password-policy';
import { randomUUID } from 'node:crypto';
import { SpsError } from './sps-errors';
import { meta, object, ref, spsHandler } from './sps-format';
import type { Open, Transactions } from './sps-transaction';
import { jsonBody } from './sps-x509';

export const PASSWORDS = '/api/configuration/passwords';
export const USERS = '/api/configuration/aaa/local_database/users';
const MAX_PASSWORD = 1024;

export function registerSpsUsers(app: App, users: UserStore, sessions: Sessions, tx: Transactions): void {
  app.route('POST', PASSWORDS, 'admin', spsHandler(sessions, (req, session) => {
    const body = jsonBody(req) as Record<string, unknown>;
    const keys = typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body) : [];
    const kind = keys[0];
    const value = kind === undefined ? undefined : body[kind];
    if (keys.length !== 1 || (kind !== 'plain' && kind !== 'hash') || typeof value !== 'string' || value.length === 0 || value.length > MAX_PASSWORD) {
      throw new SpsError('SyntacticError', `the body must be {"plain": "…"} or {"hash": "…"}, 1-${MAX_PASSWORD} characters`);
    }
    const key = randomUUID();
    tx.stagePassword(session, key, { [kind]: value });
    return { status: 201, body: { key, meta: meta(`${PASSWORDS}/${key}`) } };
  }), ['application/json']);

  app.route('GET', `${PASSWORDS}/:key`, 'admin', spsHandler(sessions, (req, session) => {
    const p = tx.of(session)?.passwords.get(req.params.key!);
    if (!p) throw new SpsError('NotFound', `no password object ${req.params.key}`);
    return object(req.params.key!, { kind: p.plain !== undefined ? 'plain' : 'hash' }, meta(`${PASSWORDS}/${req.params.key}`));
  }));

  app.route('GET', USERS, 'admin', spsHandler(sessions, () => ({
    status: 200, body: { items: users.list().map((u) => ref(USERS, u.name)), meta: meta(USERS) },
  })));

  app.route('GET', `${USERS}/:key`, 'admin', spsHandler(sessions, (req) => {
    const u = users.get(req.params.key!);
    if (!u) throw new SpsError('NotFound', `no user ${req.params.key}`);
    return object(u.name, { name: u.name, role: u.role }, meta(`${USERS}/${u.name}`));
  }));

  app.route('PUT', `${USERS}/:key`, 'admin', spsHandler(sessions, (req, session) => {
    const name = req.params.key!;
    if (!users.get(name)) throw new SpsError('NotFound', `no user ${name}`);
    const body = jsonBody(req) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || typeof body.name !== 'string' || typeof body.password !== 'string') {
      throw new SpsError('SyntacticError', 'the body must be {"name": "…", "password": "<key of a password object>"}');
    }
    if (body.name !== name) throw new SpsError('SemanticError', 'a user cannot be renamed here', { field: 'name' });
    usablePassword(tx.of(session), body.password, name, users.realm);
    tx.stageUserPassword(session, name, body.password);
    const u = users.get(name)!;
    return object(name, { name, role: u.role, password: ref(PASSWORDS, body.password) }, meta(`${USERS}/${name}`));
  }), ['application/json']);
}

/**
 * The plain password of the password object `key` for `holder` (a user's name, or root):
 * it must be in the session's transaction, referenced by nothing else, given plain and pass
 * the policy.
 */
export function usablePassword(t: Open | undefined, key: string, holder: string, realm: string): string {
  const password = t?.passwords.get(key);
  if (!t || !password) throw new SpsError('NotFound', `no password object ${key} in this transaction`, { field: 'password' });
  if ([...t.userPasswords.values(), t.rootPassword].includes(key)) throw new SpsError('SemanticError', 'a password object is referenced once', { field: 'password' });
  // Digest needs HA1s made from the password itself, the root hash its own salt: a hash cannot give them.
  if (password.plain === undefined) throw new SpsError('SemanticError', 'the password must be given plain (certd hashes it its own way)', { field: 'password' });
  const problem = passwordProblem(password.plain, holder, realm);
  if (problem) throw new SpsError('SemanticError', problem, { field: 'password' });
  return password.plain;
}
