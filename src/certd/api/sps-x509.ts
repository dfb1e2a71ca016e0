// /api/configuration/x509: a certificate with its private key and issuer chain, POSTed into
// the session's transaction (the key answered is the entry's id from the commit on), read by
// key (any entry of the store, whichever API made it; a staged one by its session only).
// No listing, no PUT, no DELETE (405), as the seed says.
import { randomUUID } from 'node:crypto';
import type { App, Request } from '../http/app';
import type { Certificates, EntryDetails } from '../domain/certificates';
import type { Sessions } from '../auth/sessions';
import type { NameAttribute } from '../../../wasm/x509';
import { fingerprintsOf } from '../store/records';
import { SpsError } from './sps-errors';
import { meta, object, spsHandler } from './sps-format';
import type { StagedX509, Transactions } from './sps-transaction';
import { parseJson } from './validate';

export const X509 = '/api/configuration/x509';

/** `C=RO/ST=State/…/CN=example.com/emailAddress=…`: the attributes in the certificate's order. */
export function slashSubject(attrs: NameAttribute[]): string {
  return attrs.map((a) => `${a.type}=${a.value}`).join('/');
}

const colonHex = (hex: string) => hex.toLowerCase().match(/../g)!.join(':');

/** The JSON body of a request; malformed JSON is a SyntacticError. */
export function jsonBody(req: Request): unknown {
  try {
    return parseJson(req.body);
  } catch {
    throw new SpsError('SyntacticError', 'the body is not JSON');
  }
}

function pemText(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new SpsError('SyntacticError', `${field} must be a PEM string`, { field });
  return v;
}

export function registerSpsX509(app: App, certs: Certificates, sessions: Sessions, tx: Transactions): void {
  const view = (d: Pick<EntryDetails, 'info' | 'sha256'>) => ({
    fingerprint: { digest: colonHex(d.sha256), hash_algorithm: 'sha256' },
    subject: slashSubject(d.info.subject_attrs),
  });
  const stagedView = (x: StagedX509) => view({ info: certs.parse(x.certificate), sha256: fingerprintsOf(x.certificate).sha256 });

  app.route('POST', X509, 'admin', spsHandler(sessions, (req, session) => {
    const body = jsonBody(req) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SpsError('SyntacticError', 'the body must be an object {certificate, private_key, issuer_chain}');
    const extra = Object.keys(body).filter((k) => !['certificate', 'private_key', 'issuer_chain'].includes(k));
    if (extra.length) throw new SpsError('SyntacticError', `unknown field ${extra[0]}`, { field: extra[0] });
    const certificate = pemText(body.certificate, 'certificate');
    // A private_keys object of this transaction by its key, or the PEM itself.
    const keyObject = typeof body.private_key === 'string' ? tx.of(session)?.privateKeys.get(body.private_key) : undefined;
    if (keyObject?.usedBy !== undefined) throw new SpsError('SemanticError', 'a private key object is referenced once', { field: 'private_key' });
    const chain = body.issuer_chain ?? [];
    if (!Array.isArray(chain) || chain.some((c) => typeof c !== 'string')) throw new SpsError('SyntacticError', 'issuer_chain must be a list of PEM strings', { field: 'issuer_chain' });
    const privateKey = keyObject ? Buffer.from(keyObject.pem) : Buffer.from(pemText(body.private_key, 'private_key'), 'utf8');
    try {
      // The same checks the commit's batch makes: the certificate reads, the key reads
      // unencrypted and belongs to it.
      const up = certs.checkUpload([certificate, ...chain].join('\n'), privateKey);
      up.privateDer.fill(0);
      certs.requireChainLinks(up.certificate, up.chain);
    } catch (e) {
      privateKey.fill(0);
      throw e;
    }
    const key = randomUUID();
    try {
      tx.stageX509(session, { key, certificate, issuerChain: chain as string[], privateKey });
    } catch (e) {
      privateKey.fill(0);
      throw e;
    }
    if (keyObject) keyObject.usedBy = key;
    return { status: 201, body: { key, meta: meta(`${X509}/${key}`) } };
  }), ['application/json']);

  app.route('GET', `${X509}/:key`, 'viewer', spsHandler(sessions, (req, session) => {
    const key = req.params.key!;
    const staged = tx.of(session)?.x509.get(key);
    if (staged) return object(key, stagedView(staged), meta(`${X509}/${key}`));
    const entry = certs.names.spsKey(key);
    // Siblings in the order of their keys.
    const keys = certs.details().map((d) => d.entry.id).sort();
    const at = keys.indexOf(entry.id);
    const href = (i: number) => (i >= 0 && i < keys.length ? `${X509}/${keys[i]}` : null);
    return object(key, view(certs.find(entry.id)!), meta(`${X509}/${key}`, { first: href(0), last: href(keys.length - 1), next: href(at + 1), previous: href(at - 1) }));
  }));
}
