// /api/configuration/private_keys: a private key POSTed as a bare JSON string (PKCS#1 PEM as
// the seed asks; the other unencrypted forms the core reads are taken too; an encrypted key
// is a SyntacticError), read back by key as its type and public-key fingerprint, never the
// key. It lives in the session's transaction until an x509 object references it (its
// `private_key` = this object's key); at the commit it enters keystored as that entry's key.
// No listing, no PUT, no DELETE (405), as the seed says.
import { createHash, randomUUID } from 'node:crypto';
import type { App } from '../http/app';
import type { Certificates } from '../domain/certificates';
import type { Sessions } from '../auth/sessions';
import { SpsError } from './sps-errors';
import { meta, object, spsHandler } from './sps-format';
import type { Transactions } from './sps-transaction';
import { jsonBody } from './sps-x509';

export const PRIVATE_KEYS = '/api/configuration/private_keys';

export function registerSpsPrivateKeys(app: App, certs: Certificates, sessions: Sessions, tx: Transactions): void {
  app.route('POST', PRIVATE_KEYS, 'admin', spsHandler(sessions, (req, session) => {
    const body = jsonBody(req);
    if (typeof body !== 'string' || body.length === 0) throw new SpsError('SyntacticError', 'the body must be the private key as one JSON string (PEM, newlines as \\n)');
    const pem = Buffer.from(body, 'utf8');
    let described;
    try {
      described = certs.describeKey(pem);
    } catch (e) {
      pem.fill(0);
      throw e;
    }
    const key = randomUUID();
    try {
      tx.stagePrivateKey(session, key, { pem, type: described.type, spkiSha256: createHash('sha256').update(described.spki).digest('hex') });
    } catch (e) {
      pem.fill(0); // not staged (no session, another's lock): nothing else holds it
      throw e;
    }
    return { status: 201, body: { key, meta: meta(`${PRIVATE_KEYS}/${key}`) } };
  }), ['application/json']);

  app.route('GET', `${PRIVATE_KEYS}/:key`, 'admin', spsHandler(sessions, (req, session) => {
    const key = req.params.key!;
    const k = tx.of(session)?.privateKeys.get(key);
    if (!k) throw new SpsError('NotFound', `no private key object ${key} in this session's transaction`);
    const digest = k.spkiSha256.match(/../g)!.join(':');
    return object(key, { 'public-key-fingerprint': { digest, hash_algorithm: 'sha256' }, type: k.type }, meta(`${PRIVATE_KEYS}/${key}`));
  }));
}
