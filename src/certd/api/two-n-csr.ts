// 2N's /api/cert/csr: a key made on the device and a CSR for it (POST), the pending CSR
// (GET), the CA's certificate for it, which makes it an entry with that key (PUT), and
// dropping a request with its key (DELETE). A pending request is a journaled key without
// an entry (domain/certificates.ts "certificate requests"); its id is held for its entry.
// Parameters come in the query string or as multipart/form-data parts (not both).
import { isIP } from 'node:net';
import type { App, Request } from '../http/app';
import type { Certificates } from '../domain/certificates';
import type { KeyType } from '../../../ipc/protocol';
import type { PendingRequest } from '../store/journal';
import { fingerprintsOf } from '../store/records';
import { TWO_N, TwoNError } from './two-n-errors';
import { readParts, wipeParts } from './two-n-multipart';
import { certificateText, h, need, ok, PART_LIMITS, queryParam, TWO_N_BASE, uploadId, userName } from './two-n';
import { escapeDnValue } from './dn';

const ALGORITHMS: Record<string, KeyType> = { 'P-256': 'EC-P256', 'P-384': 'EC-P384', 'RSA-2048': 'RSA-2048', 'RSA-3072': 'RSA-3072' };

/** Subject parameters, in the order the CSR's subject lists them, with their attribute type. */
const SUBJECT: [param: string, type: string][] = [['country', 'C'], ['state', 'ST'], ['locality', 'L'], ['organization', 'O'], ['commonName', 'CN']];

/** The POST parameters taken; "commmonName" is how 2N's page spells it, "organisation" the British form. */
const POST_PARAMS = ['id', 'commonName', 'commmonName', 'algorithm', 'sanMdns', 'sanIp', 'country', 'state', 'locality', 'organization', 'organisation'];

/** A comma-separated list parameter, empty items dropped. */
const list = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');

/** The POST's parameters from the query string, or from the multipart parts when the body is one. */
async function postParams(r: Request): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of POST_PARAMS) {
    const v = queryParam(r, name);
    if (v !== undefined) out.set(name, v);
  }
  if (r.body.length === 0) return out;
  const parts = await readParts(r.body, r.headers['content-type'], POST_PARAMS, PART_LIMITS);
  try {
    for (const [name, bytes] of parts) {
      if (out.has(name)) throw new TwoNError(TWO_N.PARAMETER_COLLISION, name, 'given in the query string and as a part');
      out.set(name, Buffer.from(bytes).toString('utf8'));
    }
  } finally {
    wipeParts(parts);
  }
  return out;
}

const requestView = (r: PendingRequest) => ({ id: `@${r.alias}`, csr: r.csr, created: r.created.replace(/\.\d{3}Z$/, 'Z') });

/** The pending request `?id=@name` names. */
function requestId(r: Request): string {
  const id = queryParam(r, 'id');
  if (id === undefined || id === '') throw new TwoNError(TWO_N.MISSING_PARAMETER, 'id', 'missing mandatory parameter');
  if (!id.startsWith('@')) throw new TwoNError(TWO_N.INVALID_PARAMETER, 'id', 'a request is named by its @id');
  return id.slice(1);
}

export function registerTwoNCsr(app: App, certs: Certificates): void {
  const path = `${TWO_N_BASE}/csr`;

  app.route('POST', path, 'admin', h(async (r) => {
    const p = await postParams(r);
    const id = p.get('id');
    if (id === undefined || id === '') throw new TwoNError(TWO_N.MISSING_PARAMETER, 'id', 'missing mandatory parameter');
    const alias = userName(id);
    if (p.has('commmonName') && !p.has('commonName')) p.set('commonName', p.get('commmonName')!);
    if (p.has('organisation') && !p.has('organization')) p.set('organization', p.get('organisation')!);
    if (!p.get('commonName')) throw new TwoNError(TWO_N.MISSING_PARAMETER, 'commonName', 'missing mandatory parameter');
    const algorithm = p.get('algorithm') ?? 'P-256';
    const keyType = ALGORITHMS[algorithm];
    if (!keyType) throw new TwoNError(TWO_N.INVALID_PARAMETER, 'algorithm', `must be one of ${Object.keys(ALGORITHMS).join(', ')}`);
    const ips = list(p.get('sanIp'));
    if (ips.some((ip) => isIP(ip) === 0)) throw new TwoNError(TWO_N.INVALID_PARAMETER, 'sanIp', 'a comma-separated list of IP addresses');
    const subject = SUBJECT.flatMap(([param, type]) => (p.get(param) ? [`${type}=${escapeDnValue(p.get(param)!)}`] : [])).join(',');
    const pending = await certs.request({
      alias, subject, keyType, subjectAltNames: [...list(p.get('sanMdns')).map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)],
    });
    return ok(requestView(pending));
  }));

  app.route('GET', path, 'viewer', h((r) => {
    const found = queryParam(r, 'id') === undefined ? certs.pendingRequests() : [certs.pendingRequest(requestId(r))];
    return ok({ requests: found.map(requestView) });
  }));

  app.route('PUT', path, 'admin', h(async (r) => {
    const parts = await readParts(r.body, r.headers['content-type'], ['blob-cert', 'id'], PART_LIMITS);
    try {
      const pem = certificateText(need(parts, 'blob-cert'));
      const alias = uploadId(r, parts);
      if (alias === undefined) throw new TwoNError(TWO_N.MISSING_PARAMETER, 'id', 'missing mandatory parameter');
      await certs.completeRequest(alias, pem);
      const sha1 = fingerprintsOf(certs.byAlias(alias)!.certificate).sha1;
      return ok({ certificates: [{ fingerprint: sha1, id: `@${alias}` }] });
    } finally {
      wipeParts(parts);
    }
  }));

  app.route('DELETE', path, 'admin', h(async (r) => {
    await certs.dropRequest(requestId(r));
    return ok();
  }));
}
