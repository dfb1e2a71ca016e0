// /api/configuration/management/root_password: PUT the key of a password object of the
// session's transaction, as a JSON string (the seed's curl); the commit stores the root
// password's salted hash in the same batch as the rest (auth/root-password.ts). No GET: the
// seed shows none, and the node holds nothing to show but a secret's hash (405).
import type { App } from '../http/app';
import type { Sessions } from '../auth/sessions';
import { SpsError } from './sps-errors';
import { meta, object, ref, spsHandler } from './sps-format';
import type { Transactions } from './sps-transaction';
import { PASSWORDS, usablePassword } from './sps-users';
import { jsonBody } from './sps-x509';

export const ROOT_PASSWORD = '/api/configuration/management/root_password';

export function registerSpsRootPassword(app: App, sessions: Sessions, tx: Transactions, realm: string): void {
  app.route('PUT', ROOT_PASSWORD, 'admin', spsHandler(sessions, (req, session) => {
    const key = jsonBody(req);
    if (typeof key !== 'string') throw new SpsError('SyntacticError', 'the body must be the key of a password object, as a JSON string');
    usablePassword(tx.of(session), key, 'root', realm);
    tx.stageRootPassword(session, key);
    return object('root_password', ref(PASSWORDS, key), meta(ROOT_PASSWORD));
  }), ['application/json']);
}
