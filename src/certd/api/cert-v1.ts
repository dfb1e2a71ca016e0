// The Certificate Management API (cert.v1) under /config/rest/cert/v1, as Axis devices
// serve it (Device Configuration API style). It translates HTTP into domain calls and
// domain errors into the API's envelope; it holds no certificate rule itself.
//
// Where the vendor's page and real devices disagree we follow the devices
// (../shared/spec/PROTOCOL-NOTES.md §1-2): a collection add answers 201; get_csr answers
// `data` as a bare PEM string (the page wraps it in {"alias": …}); key types are
// EC-P256 … RSA-4096 (the page's "NIST-P256" is a mistake); the settings path is
// `settings` (the page's "setttings" is a typo).
//
// Parity with a recorded AXIS OS 12.11 device (PROTOCOL-NOTES §1): the API also answers
// under `v1beta` (the device still does, 11.6–11.10 clients use it); every change that is
// a PATCH and every action POST is also taken as PUT, with the same handler (AXIS OS ≤ 11.10
// clients send PUT there; the framework moved to PATCH/POST in 11.11); `?strict=false` lets
// unknown fields of `data` through; a missing resource is "Resource not found: <path>",
// code 1, as devices word it.
import type { HTTPMethod } from 'find-my-way';
import type { App, Handler, Request, Response } from '../http/app';
import { HttpError } from '../http/errors';
import type { Certificates } from '../domain/certificates';
import { DomainError, type DomainErrorCode } from '../domain/errors';
import type { StoreDescription } from '../../../ipc/protocol';
import { base64Bytes, isBase64Text, NotUtf8, takeSecretFields } from './secret-fields';
import { validBody } from './validate';

export const CERT_V1_BASE = '/config/rest/cert/v1';
/** The bases cert.v1 answers under: released, and the beta name 12.11 devices still answer. */
export const CERT_V1_BASES = [CERT_V1_BASE, `${CERT_V1_BASE}beta`] as const;
/** What every cert.v1 body is. */
const JSON_BODY = ['application/json'];

/** Numeric error codes of the API (stable; README lists them). 1 and 5 are what devices send. */
export const ERROR_CODES: Record<DomainErrorCode, [status: number, code: number]> = {
  NOT_FOUND: [404, 1],
  ALIAS_EXISTS: [409, 2],
  INVALID: [400, 5],
  // A device answers an unsupported key type with code 5 ("Validation error: …").
  UNSUPPORTED_KEY_TYPE: [400, 5],
  BAD_CERTIFICATE: [400, 6],
  BAD_PRIVATE_KEY: [400, 7],
  KEY_MISMATCH: [400, 8],
  WRONG_PASSPHRASE: [400, 9],
  BAD_PKCS12: [400, 10],
  UNKNOWN_KEYSTORE: [400, 11],
  KEYSTORE_UNAVAILABLE: [503, 17],
  KEYSTORE_FAILURE: [500, 18],
  IN_USE: [409, 22],
  PREFLIGHT_FAILED: [400, 23],
  APPLY_FAILED: [502, 24],
  // Like IN_USE: the entry's state, not the caller's role, refuses the change.
  PROTECTED: [409, 25],
};

/**
 * The one wording of a missing resource, as devices send it ("Resource not found: " and the
 * path). The path is the one sent, still percent-encoded (so one line whatever it holds),
 * without the query, cut short: a long URL must not make a long answer.
 */
export function notFound(url: string): HttpError {
  const path = url.split('?')[0]!;
  return new HttpError(404, 1, `Resource not found: ${path.length > 256 ? `${path.slice(0, 256)}…` : path}`);
}

/**
 * cert.v1's error body for every HttpError, whoever raised it (this front-end or the HTTP
 * core: 401, 403, 405, 413, 414, 429 …): the device's envelope, with the numeric code the
 * error carries. The core's codes are listed in the README beside the ones above.
 */
export function errorEnvelope(e: HttpError): unknown {
  return { status: 'error', error: { code: e.code, message: e.message } };
}

/** A keystore as the API shows it (keystored says more: what it can generate and import). */
const keystoreView = (k: StoreDescription) => ({ id: k.id, security_level: k.security_level, certifications: k.certifications, key_types: k.key_types });

const ok = (data?: unknown, status = 200): Response => ({ status, body: data === undefined ? { status: 'success' } : { status: 'success', data } });

export function toHttp(e: unknown): never {
  if (e instanceof DomainError) {
    const [status, code] = ERROR_CODES[e.code];
    throw new HttpError(status, code, code === 5 && e.code === 'UNSUPPORTED_KEY_TYPE' ? `Validation error: ${e.message}` : e.message);
  }
  if (e instanceof NotUtf8) throw new HttpError(400, 5, e.message);
  throw e;
}

/** A secret field the schema has accepted as a string, so the scan took it. */
function secret(secrets: Map<string, Uint8Array>, name: string): Uint8Array {
  const v = secrets.get(name);
  if (!v) throw new HttpError(400, 5, `${name}: must be string`);
  return v;
}

const wipeAll = (secrets: Map<string, Uint8Array>) => secrets.forEach((v) => v.fill(0));

/**
 * One field of a resource, by the name in the path. Own fields only: `in` and plain indexing
 * would also find Object.prototype's (constructor, __proto__, toString …) and answer 200.
 */
function property(req: Request, resource: object, name: string): unknown {
  if (!Object.hasOwn(resource, name)) throw notFound(req.url);
  return (resource as Record<string, unknown>)[name];
}

/** Wraps a handler so that domain errors leave as the API's errors. */
const h = (fn: (req: Request) => Promise<Response> | Response) => async (req: Request): Promise<Response> => {
  try {
    return await fn(req);
  } catch (e) {
    if (e instanceof DomainError && e.code === 'NOT_FOUND') throw notFound(req.url);
    return toHttp(e);
  }
};

/**
 * `?strict=` of a write: absent or "true" refuses unknown fields of `data` (the default, as
 * devices), "false" ignores them; anything else is refused rather than guessed at.
 */
function strict(req: Request): boolean {
  const v = req.query.strict;
  if (v === undefined || v === 'true') return true;
  if (v === 'false') return false;
  throw new HttpError(400, 5, 'strict: must be true or false');
}

/** The whole tree, as GET on the root and `$all` answer it. */
async function tree(certs: Certificates): Promise<unknown> {
  const [keystores, keystore] = await Promise.all([certs.listKeystores(), certs.defaultKeystore()]);
  return { certificates: certs.list('certificate'), ca_certificates: certs.list('ca'), keystores: keystores.map(keystoreView), settings: { keystore } };
}

export function registerCertV1(app: App, certs: Certificates): void {
  // Every API of the device, keyed "<id>.v<major>" (the framework's global GET); certd serves one.
  app.route('GET', '/config/rest/$all', 'viewer', h(async () => ok({ 'cert.v1': await tree(certs) })));
  for (const base of CERT_V1_BASES) routes(app, certs, base);
}

function routes(app: App, certs: Certificates, B: string): void {
  /** A "set": PATCH, and PUT as AXIS OS ≤ 11.10 clients send it. */
  const set = (path: string, handler: Handler) => both(['PATCH', 'PUT'], path, handler);
  /** An action's trigger: POST, and PUT as AXIS OS ≤ 11.10 clients send it. */
  const action = (path: string, handler: Handler) => both(['POST', 'PUT'], path, handler);
  const both = (methods: HTTPMethod[], path: string, handler: Handler) => {
    for (const m of methods) app.route(m, path, 'admin', handler, JSON_BODY);
  };

  app.route('GET', B, 'viewer', h(async () => ok(await tree(certs))));

  for (const [coll, kind] of [['certificates', 'certificate'], ['ca_certificates', 'ca']] as const) {
    app.route('GET', `${B}/${coll}`, 'viewer', h(() => ok(certs.list(kind))));
    app.route('GET', `${B}/${coll}/:alias`, 'viewer', h((r) => ok(certs.get(kind, r.params.alias!))));
    app.route('GET', `${B}/${coll}/:alias/:prop`, 'viewer', h((r) => ok(property(r, certs.get(kind, r.params.alias!), r.params.prop!))));
    set(`${B}/${coll}/:alias`, h(async (r) => {
      const data = validBody<{ certificate?: string }>('setCertificateEntry', r.body, strict(r));
      if (data.certificate !== undefined) await certs.replace(kind, r.params.alias!, data.certificate);
      else certs.get(kind, r.params.alias!);
      return ok();
    }));
    set(`${B}/${coll}/:alias/certificate`, h(async (r) => {
      await certs.replace(kind, r.params.alias!, validBody<string>('setCertificate', r.body, strict(r)));
      return ok();
    }));
    app.route('DELETE', `${B}/${coll}/:alias`, 'admin', h(async (r) => {
      await certs.delete(kind, r.params.alias!);
      return ok();
    }));
  }

  app.route('POST', `${B}/certificates`, 'admin', h(async (r) => {
    const secrets = takeSecretFields(r.body, ['private_key']);
    try {
      const d = validBody<{ alias: string; certificate: string; keystore?: string | null }>('addCertificate', r.body, strict(r));
      await certs.addCertificate(d.alias, d.certificate, secret(secrets, 'private_key'), d.keystore ?? undefined);
      return ok(certs.get('certificate', d.alias), 201);
    } finally {
      wipeAll(secrets);
    }
  }), JSON_BODY);
  app.route('POST', `${B}/ca_certificates`, 'admin', h(async (r) => {
    const d = validBody<{ alias: string; certificate: string }>('addCaCertificate', r.body, strict(r));
    await certs.addCa(d.alias, d.certificate);
    return ok(certs.get('ca', d.alias), 201);
  }), JSON_BODY);
  action(`${B}/certificates/:alias/get_csr`, h(async (r) => {
    const d = validBody<{ subject?: string | null; subject_alt_names?: string[] | null }>('getCsr', r.body, strict(r));
    return ok(await certs.csr(r.params.alias!, { subject: d.subject ?? undefined, subjectAltNames: d.subject_alt_names ?? undefined }));
  }));
  action(`${B}/create_certificate`, h(async (r) => {
    const d = validBody<{
      alias: string; subject: string; key_type?: string | null; keystore?: string | null;
      subject_alt_names?: string[] | null; valid_from?: number | null; valid_to?: number | null;
    }>('createCertificate', r.body, strict(r));
    await certs.createCertificate({
      alias: d.alias,
      subject: d.subject,
      keyType: (d.key_type ?? undefined) as never,
      keystore: d.keystore ?? undefined,
      subjectAltNames: d.subject_alt_names ?? undefined,
      validFrom: d.valid_from ?? undefined,
      validTo: d.valid_to ?? undefined,
    });
    return ok();
  }));
  action(`${B}/install_from_pkcs12`, h(async (r) => {
    // The file is a secret too: with the passphrase (or none) it opens to the key.
    const secrets = takeSecretFields(r.body, ['pkcs12', 'passphrase']);
    let pfx: Uint8Array | undefined;
    try {
      const d = validBody<{ alias: string; keystore?: string | null }>('installFromPkcs12', r.body, strict(r));
      // The schema saw the blanked field: its pattern is checked here, on the bytes.
      const text = secret(secrets, 'pkcs12');
      if (!isBase64Text(text)) throw new HttpError(400, 5, 'data.pkcs12: must be base64');
      pfx = base64Bytes(text);
      await certs.installPkcs12(d.alias, pfx, secret(secrets, 'passphrase'), d.keystore ?? undefined);
      return ok();
    } finally {
      pfx?.fill(0);
      wipeAll(secrets);
    }
  }));

  app.route('GET', `${B}/keystores`, 'viewer', h(async () => ok((await certs.listKeystores()).map(keystoreView))));
  app.route('GET', `${B}/keystores/:id`, 'viewer', h(async (r) => ok(keystoreView(await certs.keystore(r.params.id!)))));
  app.route('GET', `${B}/keystores/:id/:prop`, 'viewer', h(async (r) => ok(property(r, keystoreView(await certs.keystore(r.params.id!)), r.params.prop!))));
  app.route('GET', `${B}/settings`, 'viewer', h(async () => ok({ keystore: await certs.defaultKeystore() })));
  app.route('GET', `${B}/settings/keystore`, 'viewer', h(async () => ok(await certs.defaultKeystore())));
  set(`${B}/settings`, h(async (r) => {
    const d = validBody<{ keystore?: string }>('setSettings', r.body, strict(r));
    if (d.keystore !== undefined) await certs.setDefaultKeystore(d.keystore);
    return ok();
  }));
  set(`${B}/settings/keystore`, h(async (r) => {
    await certs.setDefaultKeystore(validBody<string>('setKeystore', r.body, strict(r)));
    return ok();
  }));
}
