// The schema of the config file, as data (compiled at build time by src/common/compile-schemas.ts).
import { KEY_TYPES } from '../../ipc/protocol';
const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' };
const strings = { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 16 };
const keyTypes = { type: 'array', items: { enum: KEY_TYPES }, minItems: 1, uniqueItems: true };

export const KEYSTORED_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data_dir: { type: 'string', minLength: 1 },
    socket_dir: { type: 'string', minLength: 1 },
    service_key_dir: { type: 'string', minLength: 1 },
    service_key_users: {
      type: 'object', maxProperties: 16,
      propertyNames: { pattern: '^[A-Za-z0-9._-]{1,64}$' },
      additionalProperties: { type: 'string', minLength: 1, maxLength: 64 },
    },
    allowed_uids: { type: 'array', items: { type: 'integer', minimum: 0 } },
    allowed_users: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 }, maxItems: 16 },
    socket_group: { oneOf: [{ type: 'string', minLength: 1, maxLength: 64 }, { type: 'integer', minimum: 0 }] },
    stores: {
      type: 'array',
      minItems: 1,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['kind', 'id'],
            properties: { kind: { const: 'software' }, id, kek_file: { type: 'string', minLength: 1 }, seal_kek_with: id, certifications: strings, key_types: keyTypes },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['kind', 'id', 'security_level', 'key_types', 'module', 'token_label', 'pin_file'],
            properties: {
              kind: { const: 'pkcs11' },
              id,
              security_level: { enum: ['SOFTWARE', 'TRUSTED_ENVIRONMENT', 'STRONG'] },
              certifications: strings,
              key_types: keyTypes,
              module: { type: 'string', minLength: 1 },
              token_label: { type: 'string', minLength: 1, maxLength: 32 },
              pin_file: { type: 'string', minLength: 1 },
              can_import: { type: 'boolean' },
              can_secure_wipe: { type: 'boolean' },
            },
          },
        ],
      },
    },
  },
};
