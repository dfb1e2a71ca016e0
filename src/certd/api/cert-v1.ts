// The Certificate Management API (cert.v1) under /config/rest/cert/v1, as Axis devices
// serve it (Device Configuration API style). It translates HTTP into domain calls and
// domain errors into the API's envelope; it holds no certificate rule itself.
//
// Where the vendor's page and real devices disagree we follow the devices
// (../shared/spec/PROTOCOL-NOTES.md §1-2): a collection add answers 201; get_csr answers
// `data` as a bare PEM string (the page wraps it in {"alias": …}); key types are
// EC-P256 … RSA-4096 (the page's "NIST-P256" is a mistake); the settings path is
// `settings` (the page's "setttings" is a typo).
import type { App, Request, Response } from '../http/app';
import { HttpError } from '../http/errors';
import type { Certificates } from '../domain/certificates';
import { DomainError, type DomainErrorCode } from '../domain/errors';
import type { StoreDescription } from '../../../ipc/protocol';
import { base64Bytes, isBase64Text, NotUtf8, takeSecretFields } from './secret-fields';
import { validBody } from './validate';

export const CERT_V1_BASE = '/config/rest/cert/v1';
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
};

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
function property(resource: object, name: string): unknown {
  if (!Object.hasOwn(resource, name)) throw new HttpError(404, 1, `resource not found: ${name}`);
  return (resource as Record<string, unknown>)[name];
}

/** Wraps a handler so that domain errors leave as the API's errors. */
const h = (fn: (req: Request) => Promise<Response> | Response) => async (req: Request): Promise<Response> => {
  try {
    return await fn(req);
  } catch (e) {
    return toHttp(e);
  }
};

export function registerCertV1(app: App, certs: Certificates): void {
  const B = CERT_V1_BASE;

  app.route('GET', B, 'viewer', h(async () => {
    const [keystores, keystore] = await Promise.all([certs.listKeystores(), certs.defaultKeystore()]);
    return ok({ certificates: certs.list('certificate'), ca_certificates: certs.list('ca'), keystores: keystores.map(keystoreView), settings: { keystore } });
  }));

  for (const [coll, kind] of [['certificates', 'certificate'], ['ca_certificates', 'ca']] as const) {
    app.route('GET', `${B}/${coll}`, 'viewer', h(() => ok(certs.list(kind))));
    app.route('GET', `${B}/${coll}/:alias`, 'viewer', h((r) => ok(certs.get(kind, r.params.alias!))));
    app.route('GET', `${B}/${coll}/:alias/:prop`, 'viewer', h((r) => ok(property(certs.get(kind, r.params.alias!), r.params.prop!))));
    app.route('PATCH', `${B}/${coll}/:alias`, 'admin', h(async (r) => {
      const data = validBody<{ certificate?: string }>('setCertificateEntry', r.body);
      if (data.certificate !== undefined) await certs.replace(kind, r.params.alias!, data.certificate);
      else certs.get(kind, r.params.alias!);
      return ok();
    }), JSON_BODY);
    app.route('PATCH', `${B}/${coll}/:alias/certificate`, 'admin', h(async (r) => {
      await certs.replace(kind, r.params.alias!, validBody<string>('setCertificate', r.body));
      return ok();
    }), JSON_BODY);
    app.route('DELETE', `${B}/${coll}/:alias`, 'admin', h(async (r) => {
      await certs.delete(kind, r.params.alias!);
      return ok();
    }));
  }

  app.route('POST', `${B}/certificates`, 'admin', h(async (r) => {
    const secrets = takeSecretFields(r.body, ['private_key']);
    try {
      const d = validBody<{ alias: string; certificate: string; keystore?: string | null }>('addCertificate', r.body);
      await certs.addCertificate(d.alias, d.certificate, secret(secrets, 'private_key'), d.keystore ?? undefined);
      return ok(certs.get('certificate', d.alias), 201);
    } finally {
      wipeAll(secrets);
    }
  }), JSON_BODY);
  app.route('POST', `${B}/ca_certificates`, 'admin', h(async (r) => {
    const d = validBody<{ alias: string; certificate: string }>('addCaCertificate', r.body);
    await certs.addCa(d.alias, d.certificate);
    return ok(certs.get('ca', d.alias), 201);
  }), JSON_BODY);
  app.route('POST', `${B}/certificates/:alias/get_csr`, 'admin', h(async (r) => {
    const d = validBody<{ subject?: string | null; subject_alt_names?: string[] | null }>('getCsr', r.body);
    return ok(await certs.csr(r.params.alias!, { subject: d.subject ?? undefined, subjectAltNames: d.subject_alt_names ?? undefined }));
  }), JSON_BODY);
  app.route('POST', `${B}/create_certificate`, 'admin', h(async (r) => {
    const d = validBody<{
      alias: string; subject: string; key_type?: string | null; keystore?: string | null;
      subject_alt_names?: string[] | null; valid_from?: number | null; valid_to?: number | null;
    }>('createCertificate', r.body);
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
  }), JSON_BODY);
  app.route('POST', `${B}/install_from_pkcs12`, 'admin', h(async (r) => {
    // The file is a secret too: with the passphrase (or none) it opens to the key.
    const secrets = takeSecretFields(r.body, ['pkcs12', 'passphrase']);
    let pfx: Uint8Array | undefined;
    try {
      const d = validBody<{ alias: string; keystore?: string | null }>('installFromPkcs12', r.body);
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
  }), JSON_BODY);

  app.route('GET', `${B}/keystores`, 'viewer', h(async () => ok((await certs.listKeystores()).map(keystoreView))));
  app.route('GET', `${B}/keystores/:id`, 'viewer', h(async (r) => ok(keystoreView(await certs.keystore(r.params.id!)))));
  app.route('GET', `${B}/keystores/:id/:prop`, 'viewer', h(async (r) => ok(property(keystoreView(await certs.keystore(r.params.id!)), r.params.prop!))));
  app.route('GET', `${B}/settings`, 'viewer', h(async () => ok({ keystore: await certs.defaultKeystore() })));
  app.route('GET', `${B}/settings/keystore`, 'viewer', h(async () => ok(await certs.defaultKeystore())));
  app.route('PATCH', `${B}/settings`, 'admin', h(async (r) => {
    const d = validBody<{ keystore?: string }>('setSettings', r.body);
    if (d.keystore !== undefined) await certs.setDefaultKeystore(d.keystore);
    return ok();
  }), JSON_BODY);
  app.route('PATCH', `${B}/settings/keystore`, 'admin', h(async (r) => {
    await certs.setDefaultKeystore(validBody<string>('setKeystore', r.body));
    return ok();
  }), JSON_BODY);
}
