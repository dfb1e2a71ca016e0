// /api/configuration/management/certificates: which x509 objects serve as SPS's internal
// CA (`ca`), web and REST TLS certificate (`server`, the https binding) and timestamping
// authority (`tsa`). A PUT, in the session's transaction, re-points the bindings at the
// commit, in the same batch as the transaction's new objects (pre-flight checks included).
import type { App, Request } from '../http/app';
import type { Bindings } from '../domain/bindings';
import type { Certificates } from '../domain/certificates';
import type { Sessions } from '../auth/sessions';
import { SpsError } from './sps-errors';
import { meta, object, ref, spsHandler } from './sps-format';
import type { Transactions } from './sps-transaction';
import { jsonBody, X509 } from './sps-x509';

export const MANAGEMENT_CERTIFICATES = '/api/configuration/management/certificates';

/** The SPS roles and the bindings behind them. */
export const ROLE_BINDINGS = { ca: 'sps-ca', server: 'https', tsa: 'sps-tsa' } as const;
type SpsRole = keyof typeof ROLE_BINDINGS;
const ROLES = Object.keys(ROLE_BINDINGS) as SpsRole[];

/** The siblings SPS lists around this node. */
const SIBLINGS = {
  first: MANAGEMENT_CERTIFICATES, last: '/api/configuration/management/webinterface',
  next: '/api/configuration/management/disk_fillup_prevention', previous: null,
};

export function registerSpsManagement(app: App, certs: Certificates, bindings: Bindings, sessions: Sessions, tx: Transactions): void {
  const recorded = (name: string) => bindings.recorded().find((b) => b.name === name)?.certificate;

  const render = (ids: Record<SpsRole, string | undefined>) => ({
    ca: { selection: 'identity', x509_identity: ids.ca ? ref(X509, ids.ca) : null },
    server: ids.server ? ref(X509, ids.server) : null,
    tsa: ids.tsa ? ref(X509, ids.tsa) : null,
  });

  /** What the session sees: its pending re-pointing over what is on record. */
  const current = (session: string | undefined) => {
    const pending = tx.of(session)?.bindings;
    return Object.fromEntries(ROLES.map((r) => [r, pending?.get(ROLE_BINDINGS[r]) ?? recorded(ROLE_BINDINGS[r])])) as Record<SpsRole, string | undefined>;
  };

  app.route('GET', MANAGEMENT_CERTIFICATES, 'viewer', spsHandler(sessions, (_req, session) =>
    object('certificates', render(current(session)), meta(MANAGEMENT_CERTIFICATES, SIBLINGS))));

  app.route('PUT', MANAGEMENT_CERTIFICATES, 'admin', spsHandler(sessions, (req: Request, session) => {
    const body = jsonBody(req) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SpsError('SyntacticError', 'the body must be an object {ca, server, tsa}');
    const unknown = Object.keys(body).find((k) => !(ROLES as string[]).includes(k));
    if (unknown !== undefined) throw new SpsError('SyntacticError', `unknown field ${unknown}`, { field: unknown });
    const ca = body.ca as { selection?: unknown; x509_identity?: unknown } | undefined;
    if (typeof ca !== 'object' || ca === null || ca.selection !== 'identity') throw new SpsError('SyntacticError', 'ca must be {"selection": "identity", "x509_identity": <key>}', { field: 'ca' });
    const given: Record<SpsRole, unknown> = { ca: ca.x509_identity, server: body.server, tsa: body.tsa };
    const staged = tx.of(session)?.x509;
    const seen = new Map<string, SpsRole>();
    for (const role of ROLES) {
      const key = given[role];
      if (typeof key !== 'string') throw new SpsError('SyntacticError', `${role} must be the key of an x509 object`, { field: role });
      if (seen.has(key)) throw new SpsError('SemanticError', `an x509 object is referenced once: ${key} is ${seen.get(key)} and ${role}`, { field: role });
      seen.set(key, role);
      // An object of this session's transaction, or else an entry with a key (NotFound).
      if (!staged?.has(key)) certs.names.spsKey(key, 'certificate');
    }
    const before = current(session);
    const next = new Map(ROLES.filter((r) => given[r] !== before[r]).map((r) => [ROLE_BINDINGS[r], given[r] as string]));
    const after = Object.fromEntries(ROLES.map((r) => [r, given[r]])) as Record<SpsRole, string>;
    tx.stageBindings(session, next, { type: 'replace', path: MANAGEMENT_CERTIFICATES, old_value: render(before), new_value: render(after) });
    return object('certificates', render(after), meta(MANAGEMENT_CERTIFICATES, SIBLINGS));
  }), ['application/json']);
}
