// Request bodies of cert.v1 as JSON schemas. Compiled to code at build time
// (compile-schemas.ts); the same objects go into the OpenAPI document, so the document
// and the server cannot disagree. Unknown fields inside `data` are refused unless the
// request says `?strict=false` (then the lax variants below apply and they are ignored);
// unknown keys beside `data` are always allowed: the device's own OpenAPI document puts no
// additionalProperties limit on the body object, only on `data` (PROTOCOL-NOTES §1.5).
import { KEY_TYPES } from '../../../ipc/protocol';

const alias = { type: 'string', minLength: 1, maxLength: 128 };
const pem = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength });
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });
const sanList = { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^(DNS|IP):.+$', maxLength: 256 } };
const id = { type: 'string', minLength: 1, maxLength: 64 };
const input = (fields: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties: { data: { type: 'object', properties: fields, required, additionalProperties: false } },
  required: ['data'],
});
const value = (schema: Record<string, unknown>) => ({
  type: 'object',
  properties: { data: schema },
  required: ['data'],
});

export const CERT_V1_SCHEMAS = {
  addCertificate: input({ alias, certificate: pem(65536), private_key: pem(16384), keystore: nullable(id) }, ['alias', 'certificate', 'private_key']),
  addCaCertificate: input({ alias, certificate: pem(16384) }, ['alias', 'certificate']),
  setCertificateEntry: input({ certificate: pem(65536) }, []),
  setCertificate: value(pem(65536)),
  createCertificate: input(
    {
      alias,
      subject: { type: 'string', minLength: 1, maxLength: 1024 },
      // The device doc's example "NIST-P256" is a mistake of the doc; devices take these names.
      key_type: nullable({ enum: KEY_TYPES }),
      keystore: nullable(id),
      subject_alt_names: nullable(sanList),
      valid_from: nullable({ type: 'integer', minimum: 0, maximum: 253402300799 }),
      valid_to: nullable({ type: 'integer', minimum: 0, maximum: 253402300799 }),
    },
    ['alias', 'subject'],
  ),
  getCsr: input({ subject: nullable({ type: 'string', maxLength: 1024 }), subject_alt_names: nullable(sanList) }, []),
  installFromPkcs12: input(
    { alias, pkcs12: { type: 'string', minLength: 1, maxLength: 1_000_000, pattern: '^[A-Za-z0-9+/=\\s]+$' }, passphrase: { type: 'string', maxLength: 1024 }, keystore: nullable(id) },
    ['alias', 'pkcs12', 'passphrase'],
  ),
  setSettings: input({ keystore: id }, []),
  setKeystore: value(id),
} as const;

export type CertV1SchemaName = keyof typeof CERT_V1_SCHEMAS;

/** The same schemas without the limit on `data`'s fields: what `?strict=false` checks. */
export const CERT_V1_LAX_SCHEMAS = Object.fromEntries(
  Object.entries(CERT_V1_SCHEMAS).map(([name, s]) => {
    const data = s.properties.data as Record<string, unknown>;
    const { additionalProperties: _, ...lax } = data;
    return [name, { ...s, properties: { data: lax } }];
  }),
) as Record<CertV1SchemaName, object>;
