// One schema per opcode, for its request and its reply, checked by both sides (as data:
// compiled at build time by src/common/compile-schemas.ts, loaded by ipc/schemas.ts).
import { KEY_TYPES, Opcode } from './protocol';

const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' };
const path = { type: 'string', minLength: 1, maxLength: 4096 };
const account = { type: 'integer', minimum: 0, maximum: 0xfffffffe };
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
  [Opcode.SERVICE_KEY]: {
    req: obj({ service: id, store: id, key_id: id, uid: account, gid: account }, ['service', 'store', 'key_id']),
    res: {
      oneOf: [
        obj({ kind: { const: 'file' }, path }),
        obj({ kind: { const: 'pkcs11' }, module: path, uri: { type: 'string', minLength: 1, maxLength: 1024 }, pin_file: path }),
      ],
    },
  },
  [Opcode.SERVICE_KEY_RELEASE]: {
    req: obj({ service: id, keep: obj({ store: id, key_id: id }) }, ['service']),
    res: obj({}),
  },
  // Passwords are at most 1,024 characters (users.ts), 4 UTF-8 bytes each at most.
  [Opcode.SEAL_PASSWORD]: { req: obj({ password: bytes(4096) }), res: obj({ sealed: bytes(4096 + 128) }) },
  [Opcode.CHECK_PASSWORD_DIGEST]: {
    req: obj({ sealed: bytes(4096 + 128), nonce: bytes(256), created: { type: 'string', maxLength: 64 }, digest: bytes(64) }),
    res: obj({ ok: { type: 'boolean' } }),
  },
};

export const ERROR_SCHEMA = obj({ message: { type: 'string', maxLength: 512 } });

