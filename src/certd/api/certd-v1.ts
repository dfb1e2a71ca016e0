// certd's own management API under /certd/v1 (what no camera API has): the audit trail
// and the service's health. Errors use the same envelope as cert.v1.
import type { App } from '../http/app';
import { HttpError } from '../http/errors';
import type { Audit } from '../domain/audit';
import type { Certificates } from '../domain/certificates';

export const CERTD_V1_BASE = '/certd/v1';
const MAX_AUDIT = 1000;

function one(q: string | string[] | undefined): string | undefined {
  return Array.isArray(q) ? q[q.length - 1] : q;
}

export function registerCertdV1(app: App, certs: Certificates, audit: Audit): void {
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
}
