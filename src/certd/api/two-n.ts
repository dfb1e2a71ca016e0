// The 2N HTTP API's certificate functions, /api/cert/user and /api/cert/ca, over the one
// store (../shared/spec/2n-api-cert-user.txt, 2n-facts.md): every entry is listed whatever
// API made it, named by "@alias", "#alias" (protected) or its SHA-1. An upload replaces
// the entry of the same id, or else the entry holding the same certificate, in one atomic
// batch (new key, entry kept with its id and bindings, old key deleted). The System
// Control privilege is the admin role; viewers and operators may read.
import type { App, Request, Response } from '../http/app';
import type { Batches } from '../domain/batches';
import type { Certificates, EntryDetails } from '../domain/certificates';
import { TWO_N_NAME } from '../domain/lookup';
import { type EntryKind, fingerprintsOf } from '../store/records';
import type { NameAttribute } from '../../../wasm/x509';
import { derToPem } from '../../../wasm/pem';
import { TWO_N, TwoNError, twoNErrorForm, twoNErrorOf } from './two-n-errors';
import { readParts, wipeParts, type PartLimits } from './two-n-multipart';

export const TWO_N_BASE = '/api/cert';

/** A certificate with its chain is a few KiB; a key, less. */
export const PART_LIMITS: PartLimits = { partSize: 64 * 1024, parts: 8 };

/** The subject and issuer keys 2N shows (S is the state, X.509's ST). */
const NAME_KEYS: [ours: string, theirs: string][] = [['CN', 'CN'], ['O', 'O'], ['OU', 'OU'], ['L', 'L'], ['ST', 'S'], ['C', 'C']];

function nameDict(attrs: NameAttribute[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [ours, theirs] of NAME_KEYS) {
    const a = attrs.filter((x) => x.type === ours).pop();
    if (a) out[theirs] = a.value;
  }
  return out;
}

export const ok = (result?: unknown): Response => ({ status: 200, body: result === undefined ? { success: true } : { success: true, result } });

/** Wraps a handler: domain and 2N errors leave as 2N's body, with HTTP 200. */
export const h = (fn: (req: Request) => Promise<Response> | Response) => async (req: Request): Promise<Response> => {
  try {
    return await fn(req);
  } catch (e) {
    const body = twoNErrorOf(e);
    if (!body) throw e;
    return { status: 200, body };
  }
};

/** One query parameter, once. */
export function queryParam(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (Array.isArray(v)) throw new TwoNError(TWO_N.PARAMETER_COLLISION, name, 'given more than once');
  return v;
}

/** A certificate blob, PEM or DER, as PEM text (the domain reads PEM). */
export function certificateText(blob: Uint8Array): string {
  const text = Buffer.from(blob).toString('latin1');
  return text.includes('-----BEGIN ') ? text : derToPem('CERTIFICATE', blob);
}

/**
 * The id of an upload, from the query string or a part (both: they must agree). Only a
 * user-defined "@name" can be given: "#" ids are the device's own.
 */
export function uploadId(req: Request, parts: Map<string, Uint8Array>): string | undefined {
  const inQuery = queryParam(req, 'id');
  const part = parts.get('id');
  const inPart = part && Buffer.from(part).toString('utf8');
  if (inQuery !== undefined && inPart !== undefined && inQuery !== inPart) throw new TwoNError(TWO_N.PARAMETER_COLLISION, 'id', 'the query string and the id part differ');
  const id = inQuery ?? inPart;
  return id === undefined || id === '' ? undefined : userName(id);
}

/** The name in a user-defined id, "@name". */
export function userName(id: string): string {
  if (!id.startsWith('@') || !TWO_N_NAME.test(id.slice(1))) throw new TwoNError(TWO_N.INVALID_PARAMETER, 'id', 'an id is @ and 1 to 40 characters of A-Z a-z 0-9 _ -');
  return id.slice(1);
}

/** A mandatory part, not empty. */
export function need(parts: Map<string, Uint8Array>, name: string): Uint8Array {
  const v = parts.get(name);
  if (!v || v.length === 0) throw new TwoNError(TWO_N.MISSING_PARAMETER, name, 'missing mandatory parameter');
  return v;
}

export function registerTwoN(app: App, certs: Certificates, batches: Batches): void {
  app.errorForm(`${TWO_N_BASE}/`, twoNErrorForm);

  const view = (d: EntryDetails) => ({
    fingerprint: d.sha1,
    subject: nameDict(d.info.subject_attrs),
    issuer: nameDict(d.info.issuer_attrs),
    id: certs.names.twoNId(d.entry, d.sha1),
    startDate: d.info.not_before,
    endDate: d.info.not_after,
    protected: d.entry.protected === true,
    // No entry is hidden from a service's choice: any may be bound through some API.
    systemUseOnly: false,
  });

  /** The entry of `kind` a 2N id names (a missing one: 15, no data). */
  const named = (kind: EntryKind, id: string) => certs.find(certs.names.twoN(id, kind).id)!;

  /**
   * Where an upload goes: the entry of its id, else the entry of `kind` holding the same
   * certificate, else a new alias made from the CN. `replaced`: that entry's fingerprint.
   */
  const placeOf = (kind: EntryKind, id: string | undefined, leafPem: string) => {
    const sha1 = fingerprintsOf(leafPem).sha1;
    if (id !== undefined) {
      const existing = certs.byAlias(id);
      return { alias: id, sha1, replaced: existing && certs.find(existing.id)!.sha1 };
    }
    const same = certs.withFingerprint(sha1).find((d) => d.entry.kind === kind);
    if (same) return { alias: same.entry.alias, sha1, replaced: sha1 };
    const cn = certs.parse(leafPem).subject_attrs.filter((a) => a.type === 'CN').pop()?.value;
    return { alias: certs.names.newTwoNAlias(cn), sha1, replaced: undefined };
  };

  const uploaded = (alias: string, sha1: string, replaced: string | undefined) =>
    ok({ certificates: [{ fingerprint: sha1, id: certs.names.twoNId(certs.byAlias(alias)!, sha1), ...(replaced ? { replaced } : {}) }] });

  for (const [fn, kind] of [['user', 'certificate'], ['ca', 'ca']] as const) {
    const path = `${TWO_N_BASE}/${fn}`;
    app.route('GET', path, 'viewer', h((r) => {
      const id = queryParam(r, 'id');
      const found = id === undefined ? certs.details().filter((d) => d.entry.kind === kind) : [named(kind, id)];
      return ok({ certificates: found.map(view) });
    }));
    app.route('DELETE', path, 'admin', h(async (r) => {
      const byId = queryParam(r, 'id');
      const byPrint = queryParam(r, 'fingerprint');
      if (byId !== undefined && byPrint !== undefined && byId !== byPrint) throw new TwoNError(TWO_N.PARAMETER_COLLISION, 'fingerprint', 'id and fingerprint name different certificates');
      const id = byId ?? byPrint;
      if (id === undefined || id === '') throw new TwoNError(TWO_N.MISSING_PARAMETER, 'id', 'missing mandatory parameter');
      await certs.delete(kind, named(kind, id).entry.alias);
      return ok();
    }));
  }

  app.route('PUT', `${TWO_N_BASE}/user`, 'admin', h(async (r) => {
    const parts = await readParts(r.body, r.headers['content-type'], ['blob-cert', 'blob-pk', 'password', 'id'], PART_LIMITS);
    try {
      const pem = certificateText(need(parts, 'blob-cert'));
      const key = need(parts, 'blob-pk');
      const id = uploadId(r, parts);
      const place = placeOf('certificate', id, certs.readCertificates(pem, 'certificate')[0]!.pem);
      await batches.apply([{ op: 'add_certificate', alias: place.alias, certificate: pem, privateKey: key, passphrase: parts.get('password'), overwrite: true }]);
      return uploaded(place.alias, place.sha1, place.replaced);
    } finally {
      wipeParts(parts);
    }
  }));

  app.route('PUT', `${TWO_N_BASE}/ca`, 'admin', h(async (r) => {
    const parts = await readParts(r.body, r.headers['content-type'], ['blob-cert', 'id'], PART_LIMITS);
    try {
      const pem = certificateText(need(parts, 'blob-cert'));
      const id = uploadId(r, parts);
      const place = placeOf('ca', id, certs.readCertificates(pem, 'certificate')[0]!.pem);
      await batches.apply([{ op: 'add_ca_certificate', alias: place.alias, certificate: pem, overwrite: true }]);
      return uploaded(place.alias, place.sha1, place.replaced);
    } finally {
      wipeParts(parts);
    }
  }));
}
