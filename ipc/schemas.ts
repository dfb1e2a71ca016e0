// One schema per opcode, for its request and its reply, checked by both sides.
import Ajv, { type ValidateFunction } from 'ajv';
import { Opcode } from './protocol';

const KEY_TYPES = ['EC-P256', 'EC-P384', 'EC-P521', 'RSA-1024', 'RSA-2048', 'RSA-3072', 'RSA-4096'];
const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' };
const bytes = (maxLength: number) => ({ bytes: { maxLength } });
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const store = obj({
  id,
  security_level: { enum: ['SOFTWARE', 'TRUSTED_ENVIRONMENT', 'STRONG'] },
  certifications: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 128 } },
  key_types: { type: 'array', maxItems: 16, items: { enum: KEY_TYPES } },
  can_generate: { type: 'boolean' },
  can_import: { type: 'boolean' },
  can_secure_wipe: { type: 'boolean' },
});

export const SCHEMAS: Record<Opcode, { req: object; res: object }> = {
  [Opcode.DESCRIBE_STORES]: { req: obj({}), res: obj({ stores: { type: 'array', maxItems: 32, items: store } }) },
  [Opcode.GENERATE_KEY]: {
    req: obj({ store: id, key_id: id, key_type: { enum: KEY_TYPES } }),
    res: obj({ spki: bytes(2048) }),
  },
  [Opcode.IMPORT_KEY]: {
    req: obj({ store: id, key_id: id, private_key: bytes(8192) }),
    res: obj({ spki: bytes(2048), key_type: { enum: KEY_TYPES } }),
  },
  [Opcode.PUBLIC_KEY]: { req: obj({ store: id, key_id: id }), res: obj({ spki: bytes(2048) }) },
  [Opcode.SIGN_DIGEST]: {
    req: obj({
      store: id,
      key_id: id,
      scheme: { enum: ['ECDSA', 'RSA-PKCS1-V1_5', 'RSA-PSS'] },
      digest_algorithm: { enum: ['SHA-256', 'SHA-384', 'SHA-512'] },
      digest: bytes(64),
    }),
    res: obj({ signature: bytes(1024), format: { enum: ['der', 'raw'] } }),
  },
  [Opcode.DELETE_KEY]: { req: obj({ store: id, key_id: id }), res: obj({}) },
  [Opcode.LIST_KEYS]: {
    req: obj({ store: id }),
    res: obj({ key_ids: { type: 'array', maxItems: 100000, items: id } }),
  },
  [Opcode.HEALTH]: {
    req: obj({}),
    res: obj({
      stores: {
        type: 'array',
        maxItems: 32,
        items: obj({ id, ok: { type: 'boolean' }, detail: { type: 'string', maxLength: 256 } }, ['id', 'ok']),
      },
    }),
  },
};

export const ERROR_SCHEMA = obj({ message: { type: 'string', maxLength: 512 } });

const ajv = new Ajv({ allErrors: false, strict: true });
// msgpack carries binary as bin; msgpackr hands it back as a Uint8Array (Buffer).
ajv.addKeyword({
  keyword: 'bytes',
  schemaType: 'object',
  validate: (schema: { maxLength: number }, data: unknown) =>
    data instanceof Uint8Array && data.length > 0 && data.length <= schema.maxLength,
  errors: false,
});

type Validators = Record<Opcode, { req: ValidateFunction; res: ValidateFunction }>;
export const VALIDATORS = Object.fromEntries(
  Object.entries(SCHEMAS).map(([op, s]) => [op, { req: ajv.compile(s.req), res: ajv.compile(s.res) }]),
) as unknown as Validators;
export const validateError = ajv.compile(ERROR_SCHEMA);

/** "field: reason" of the first schema error, for a one-line BAD_REQUEST message. */
export function firstError(v: ValidateFunction): string {
  const e = v.errors?.[0];
  if (!e) return 'invalid body';
  const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : (e.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ?? (e.params as { additionalProperty?: string }).additionalProperty ?? 'body';
  return `${field}: ${e.message ?? 'invalid'}`;
}
