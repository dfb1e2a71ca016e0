// Request bodies of /certd/v1 as JSON schemas (compiled at build time, like cert.v1's).
const ref = { type: 'string', minLength: 1, maxLength: 128 };

export const CERTD_V1_SCHEMAS = {
  setBinding: {
    type: 'object',
    required: ['data'],
    additionalProperties: false,
    properties: {
      data: {
        type: 'object',
        additionalProperties: false,
        properties: {
          certificate: { anyOf: [ref, { type: 'null' }] },
          ca: { type: 'array', maxItems: 32, items: ref },
          settings: { type: 'object', maxProperties: 32, additionalProperties: { anyOf: [{ type: 'string', maxLength: 1024 }, { type: 'boolean' }, { type: 'integer' }] } },
        },
      },
    },
  },
};

export type CertdV1SchemaName = keyof typeof CERTD_V1_SCHEMAS;
