// certd's own management API under /certd/v1 (what no camera API has): every entry with
// its id, fingerprints and the bindings that use it; the bindings; the audit trail; the
// service's health; the expiry and compliance report; its OpenAPI document (certd-v1-openapi.ts). It translates only;
// errors use cert.v1's envelope and codes.
import type { App, Request, Response } from '../http/app';
import { HttpError } from '../http/errors';
import type { Audit } from '../domain/audit';
import type { BatchStep, Batches } from '../domain/batches';
import type { Bindings, SetBinding } from '../domain/bindings';
import type { Certificates, EntryDetails } from '../domain/certificates';
import { ComplianceReports } from '../domain/report';
import { toHttp } from './cert-v1';
import { certdV1OpenApi } from './certd-v1-openapi';
import { validBody } from './validate';

export const CERTD_V1_BASE = '/certd/v1';
const MAX_AUDIT = 1000;

function one(q: string | string[] | undefined): string | undefined {
  return Array.isArray(q) ? q[q.length - 1] : q;
}

export const ok = (data: unknown, status = 200): Response => ({ status, body: { status: 'success', data } });

export const h = (fn: (req: Request) => Promise<Response> | Response) => async (req: Request): Promise<Response> => {
  try {
    return await fn(req);
  } catch (e) {
    return toHttp(e);
  }
};

function entryView(d: EntryDetails, usedBy: string[]) {
  const e = d.entry;
  return {
    id: e.id, alias: e.alias, kind: e.kind, keystore: e.keystore ?? null,
    subject: d.info.subject, issuer: d.info.issuer, not_before: d.info.not_before, not_after: d.info.not_after,
    sha1: d.sha1, sha256: d.sha256, protected: e.protected === true, used_by: usedBy,
  };
}

/** A batch step as /certd/v1/batch takes it (README "Atomic batches"). */
type WireStep =
  | { op: 'create_certificate'; alias: string; subject: string; key_type?: string; keystore?: string; subject_alt_names?: string[]; valid_from?: number; valid_to?: number; overwrite?: boolean }
  | { op: 'add_ca_certificate'; alias: string; certificate: string }
  | { op: 'delete'; alias: string }
  | { op: 'set_binding'; name: string; certificate?: string | null; ca?: string[]; settings?: Record<string, unknown> };

function batchStep(s: WireStep): BatchStep {
  switch (s.op) {
    case 'create_certificate':
      return { op: s.op, overwrite: s.overwrite, request: {
        alias: s.alias, subject: s.subject, keyType: s.key_type as never, keystore: s.keystore, subjectAltNames: s.subject_alt_names, validFrom: s.valid_from, validTo: s.valid_to,
      } };
    case 'set_binding':
      return { op: s.op, name: s.name, binding: { certificate: s.certificate ?? undefined, ca: s.ca ?? [], settings: s.settings ?? {} } };
    default:
      return s;
  }
}

/** The body of PUT /bindings/:name and of its check. */
function bindingRequest(body: Request['body']): SetBinding {
  const d = validBody<{ certificate?: string | null; ca?: string[]; settings?: Record<string, unknown> }>('setBinding', body);
  return { certificate: d.certificate ?? undefined, ca: d.ca ?? [], settings: d.settings ?? {} };
}

export function registerCertdV1(app: App, certs: Certificates, bindings: Bindings, batches: Batches, audit: Audit): void {
  app.route('GET', `${CERTD_V1_BASE}/entries`, 'viewer', h((r) => {
    const fp = one(r.query.fingerprint);
    if (fp !== undefined && !/^([0-9A-Fa-f]{2}:?){19,31}[0-9A-Fa-f]{2}$/.test(fp)) throw new HttpError(400, 5, 'fingerprint: SHA-1 or SHA-256 in hex');
    const found = fp === undefined ? certs.details() : certs.withFingerprint(fp);
    return ok(found.map((d) => entryView(d, bindings.usedBy(d.entry.id))));
  }));
  app.route('GET', `${CERTD_V1_BASE}/entries/:id`, 'viewer', h((r) => {
    const d = certs.find(r.params.id!);
    if (!d) throw new HttpError(404, 1, `no entry ${r.params.id}`);
    return ok(entryView(d, bindings.usedBy(d.entry.id)));
  }));

  const reports = new ComplianceReports(certs, bindings);
  app.route('GET', `${CERTD_V1_BASE}/report`, 'viewer', h(() => ok(reports.report())));

  app.route('GET', `${CERTD_V1_BASE}/bindings`, 'viewer', h(() => ok(bindings.list())));
  app.route('GET', `${CERTD_V1_BASE}/bindings/:name`, 'viewer', h((r) => ok(bindings.get(r.params.name!))));
  app.route('PUT', `${CERTD_V1_BASE}/bindings/:name`, 'admin', h(async (r) => {
    const { warnings } = await bindings.set(r.params.name!, bindingRequest(r.body));
    return ok({ ...bindings.get(r.params.name!), warnings });
  }));

  // Admin, like PUT: the check asks keystored to sign with the entry's key.
  app.route('POST', `${CERTD_V1_BASE}/bindings/:name/check`, 'admin', h(async (r) => {
    return ok(await bindings.preview(r.params.name!, bindingRequest(r.body)));
  }));

  app.route('POST', `${CERTD_V1_BASE}/batch`, 'admin', h(async (r) => {
    const d = validBody<{ steps: WireStep[] }>('batch', r.body);
    return ok(await batches.apply(d.steps.map(batchStep)));
  }));

  app.route('GET', `${CERTD_V1_BASE}/audit`, 'admin', (r) => {
    const since = one(r.query.since);
    const limitText = one(r.query.limit) ?? String(MAX_AUDIT);
    if (since !== undefined && Number.isNaN(Date.parse(since))) throw new HttpError(400, 5, 'since: not an ISO 8601 time');
    const limit = Number(limitText);
    if (!/^\d{1,4}$/.test(limitText) || limit < 1 || limit > MAX_AUDIT) throw new HttpError(400, 5, `limit: 1 to ${MAX_AUDIT}`);
    return { status: 200, body: { status: 'success', data: audit.list(since === undefined ? undefined : new Date(since).toISOString(), limit) } };
  });

  app.route('GET', `${CERTD_V1_BASE}/health`, 'viewer', async () => {
    const health = await certs.health();
    return { status: health.ok ? 200 : 503, body: { status: 'success', data: health } };
  });

  const openapi = certdV1OpenApi(CERTD_V1_BASE);
  app.route('GET', `${CERTD_V1_BASE}/openapi.json`, 'viewer', () => ({ status: 200, body: openapi }));
}
