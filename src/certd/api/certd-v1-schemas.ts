// Request bodies of /certd/v1 as JSON schemas (compiled at build time, like cert.v1's).
import { KEY_TYPES } from '../../../ipc/protocol';
import { ACCOUNT_KEY_TYPES } from '../domain/enrollments';

const ref = { type: 'string', minLength: 1, maxLength: 128 };
const time = { type: 'integer', minimum: 0, maximum: 253402300799 };
const bindingFields = {
  certificate: { anyOf: [ref, { type: 'null' }] },
  ca: { type: 'array', maxItems: 32, items: ref },
  settings: { type: 'object', maxProperties: 32, additionalProperties: { anyOf: [{ type: 'string', maxLength: 1024 }, { type: 'boolean' }, { type: 'integer' }] } },
};
const step = (op: string, fields: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required: ['op', ...required],
  properties: { op: { const: op }, ...fields },
});

/** A body `{ "data": { ...fields } }`, nothing else. */
const body = (fields: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  required: ['data'],
  additionalProperties: false,
  properties: { data: { type: 'object', additionalProperties: false, required, properties: fields } },
});

export const CERTD_V1_SCHEMAS = {
  setBinding: body(bindingFields),
  batch: body({
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: {
        // One schema per op, chosen by `op`, so an error names the field of that op.
        type: 'object',
        required: ['op'],
        properties: { op: { enum: ['create_certificate', 'add_ca_certificate', 'delete', 'set_binding'] } },
        allOf: [
          { if: { properties: { op: { const: 'create_certificate' } } }, then: step('create_certificate', {
            alias: ref, subject: { type: 'string', minLength: 1, maxLength: 1024 }, key_type: { enum: KEY_TYPES }, keystore: { type: 'string', minLength: 1, maxLength: 64 },
            subject_alt_names: { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^(DNS|IP):.+$', maxLength: 256 } },
            valid_from: time, valid_to: time, overwrite: { type: 'boolean' },
          }, ['alias', 'subject']) },
          { if: { properties: { op: { const: 'add_ca_certificate' } } }, then: step('add_ca_certificate', { alias: ref, certificate: { type: 'string', minLength: 1, maxLength: 16384 } }, ['alias', 'certificate']) },
          { if: { properties: { op: { const: 'delete' } } }, then: step('delete', { alias: ref }, ['alias']) },
          { if: { properties: { op: { const: 'set_binding' } } }, then: step('set_binding', { name: { type: 'string', minLength: 1, maxLength: 64 }, ...bindingFields }, ['name']) },
        ],
      },
    },
  }, ['steps']),
  enrollment: body({
    directory_url: { type: 'string', minLength: 9, maxLength: 2048, pattern: '^https://' },
    trust_anchors: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'string', minLength: 1, maxLength: 16384 } },
    identifiers: {
      type: 'array', minItems: 1, maxItems: 32,
      items: { type: 'object', additionalProperties: false, required: ['type', 'value'], properties: { type: { enum: ['dns', 'ip'] }, value: { type: 'string', minLength: 1, maxLength: 253 } } },
    },
    key_type: { enum: KEY_TYPES },
    account_key_type: { enum: [...ACCOUNT_KEY_TYPES] },
    keystore: { type: 'string', minLength: 1, maxLength: 64 },
    bindings: { type: 'array', maxItems: 16, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 64 } },
    renew_fraction: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    new_key: { type: 'boolean' },
  }, ['directory_url', 'trust_anchors', 'identifiers']),
};

export type CertdV1SchemaName = keyof typeof CERTD_V1_SCHEMAS;
