// The OpenAPI 3.1 document of /certd/v1, served at /certd/v1/openapi.json. Request bodies
// are the very schemas the API validates with (certd-v1-schemas.ts), so they cannot drift;
// response bodies are written once here. test/certd/openapi.test.ts checks that every
// route certd-v1.ts registers is described and that real answers fit their schemas.
import { CERTD_V1_SCHEMAS } from './certd-v1-schemas';
import { ACCOUNT_KEY_TYPES } from '../domain/enrollments';

const str = { type: 'string' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const success = (data: unknown) => ({
  type: 'object', required: ['status', 'data'], properties: { status: { const: 'success' }, data },
});
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const answer = (description: string, data: unknown) => ({ description, ...json(success(data)) });
const error = (description: string) => ({ description, ...json(ref('Error')) });
const ERRORS = { 401: error('authentication required'), 403: error('the route needs a higher role') };
const path = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: str });
const query = (name: string, description: string, schema: unknown) => ({ name, in: 'query', required: false, description, schema });

const SCHEMAS = {
  Error: {
    type: 'object', required: ['status', 'error'],
    properties: {
      status: { const: 'error' },
      error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'integer' }, message: str } },
    },
  },
  Entry: {
    type: 'object',
    required: ['id', 'alias', 'kind', 'keystore', 'subject', 'issuer', 'not_before', 'not_after', 'sha1', 'sha256', 'protected', 'used_by'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      alias: str,
      kind: { enum: ['certificate', 'ca'] },
      keystore: { type: ['string', 'null'], description: 'the key store of the entry\'s key; null for a CA certificate' },
      subject: str, issuer: str,
      not_before: { type: 'string', format: 'date-time' },
      not_after: { type: 'string', format: 'date-time' },
      sha1: { type: 'string', pattern: '^[0-9a-f]{40}$' },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      protected: { type: 'boolean', description: 'factory material: not deleted or replaced by any API' },
      used_by: { type: 'array', items: str, description: 'names of the bindings that use the entry' },
    },
  },
  EntryRef: { type: 'object', required: ['id', 'alias'], properties: { id: str, alias: str } },
  Binding: {
    type: 'object', required: ['name', 'certificate', 'ca', 'settings'],
    properties: {
      name: str,
      certificate: { anyOf: [ref('EntryRef'), { type: 'null' }] },
      ca: { type: 'array', items: ref('EntryRef') },
      settings: { type: 'object' },
    },
  },
  PreflightResult: {
    type: 'object', required: ['ok', 'errors', 'warnings'],
    properties: {
      ok: { type: 'boolean', description: 'true: PUT with this body would pass its pre-flight' },
      errors: {
        type: 'array', description: 'the check that refuses (key, validity, key_usage, extended_key_usage, chain) and why',
        items: { type: 'object', required: ['check', 'message'], properties: { check: str, message: str } },
      },
      warnings: { type: 'array', items: str },
    },
  },
  AuditRecord: {
    type: 'object', required: ['time', 'user', 'source', 'api', 'operation', 'outcome'],
    properties: {
      time: { type: 'string', format: 'date-time' },
      user: str, source: str, api: str, operation: str,
      target: { type: 'object', properties: { id: str, alias: str, keystore: str, key_id: str } },
      outcome: { type: 'string', description: '"ok", or the error code the change ended with' },
      request_id: str,
    },
  },
  ReportEntry: {
    type: 'object', required: ['id', 'alias', 'kind', 'subject', 'not_after', 'days_left', 'findings'],
    properties: {
      id: str, alias: str, kind: { enum: ['certificate', 'ca'] }, subject: str,
      not_after: { type: 'string', format: 'date-time' },
      days_left: { type: 'integer', description: 'whole days until not_after; negative once expired' },
      findings: {
        type: 'array',
        items: {
          type: 'object', required: ['code', 'message'],
          properties: {
            code: { enum: ['EXPIRED', 'EXPIRES_WITHIN_7_DAYS', 'EXPIRES_WITHIN_30_DAYS', 'WEAK_RSA_KEY', 'WEAK_SIGNATURE', 'SELF_SIGNED_HTTPS', 'INCOMPLETE_CHAIN', 'SAN_MISSING_DEVICE_NAMES', 'UNUSED_CA'] },
            message: str,
          },
        },
      },
    },
  },
  Enrollment: {
    type: 'object',
    required: ['id', 'state', 'why', 'directory_url', 'identifiers', 'key_type', 'account_key_type', 'keystore', 'bindings', 'renew_fraction', 'new_key', 'account_url', 'current', 'previous', 'issued', 'failures', 'next_attempt', 'trust_anchors'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      state: { enum: ['NEED_TO_SUBMIT', 'SUBMITTING', 'NEED_TO_RENEW', 'MONITORING', 'CA_UNREACHABLE', 'CA_REJECTED'], description: 'as certmonger names them' },
      why: { type: ['string', 'null'], description: 'why the last attempt failed: the CA\'s problem type and detail, or the network error' },
      directory_url: str,
      identifiers: { type: 'array', items: { type: 'object', required: ['type', 'value'], properties: { type: { enum: ['dns', 'ip'] }, value: str } } },
      key_type: str, account_key_type: { enum: [...ACCOUNT_KEY_TYPES], description: 'the account key: ES256 (EC-P256) or RS256 (RSA) JWS' }, keystore: str,
      bindings: { type: 'array', items: str },
      renew_fraction: { type: 'number', description: 'renews when this fraction of the lifetime is left' },
      new_key: { type: 'boolean', description: 'false: renewals keep the key and replace the entry\'s certificate in place (no rollback entry)' },
      account_url: { type: ['string', 'null'] },
      current: { anyOf: [{ type: 'object', required: ['id', 'alias', 'not_before', 'not_after'], properties: { id: str, alias: str, not_before: str, not_after: str } }, { type: 'null' }] },
      previous: { anyOf: [ref('EntryRef'), { type: 'null' }], description: 'the entry the current one replaced, kept for rollback until the next renewal' },
      issued: { type: 'integer', minimum: 0 },
      failures: { type: 'integer', minimum: 0, description: 'failed attempts since the last success' },
      next_attempt: { type: ['string', 'null'], format: 'date-time' },
      trust_anchors: { type: 'array', items: str },
    },
  },
  Health: {
    type: 'object', required: ['ok', 'keystores', 'factory', 'unowned_keys', 'journal_pending'],
    properties: {
      ok: { type: 'boolean' },
      keystores: { type: 'array', items: { type: 'object', required: ['id', 'ok'], properties: { id: str, ok: { type: 'boolean' }, detail: str } } },
      factory: {
        type: 'array', description: 'each declared factory entry: imported with a key that signs, or why not',
        items: { type: 'object', required: ['alias', 'ok'], properties: { alias: str, ok: { type: 'boolean' }, detail: str } },
      },
      unowned_keys: { type: 'array', items: { type: 'object', required: ['keystore', 'key_id'], properties: { keystore: str, key_id: str } } },
      journal_pending: { type: 'integer', minimum: 0 },
    },
  },
};

/** The document (a fresh object: callers may not share it). */
export function certdV1OpenApi(base: string): Record<string, unknown> {
  const entryId = path('id', 'the entry\'s id or alias');
  const bindingName = path('name', 'https, dot1x, or a certificate set\'s name');
  return {
    openapi: '3.1.0',
    info: { title: 'certd management API', version: '1.0.0', description: 'Entries with ids and fingerprints, bindings of device services, atomic batches, ACME enrollments, the audit trail and health. Errors use cert.v1\'s envelope and codes.' },
    servers: [{ url: base }],
    security: [{ digest: [] }, { basic: [] }],
    components: {
      securitySchemes: {
        digest: { type: 'http', scheme: 'digest' },
        basic: { type: 'http', scheme: 'basic', description: 'on TLS connections, or when configured' },
      },
      schemas: SCHEMAS,
    },
    paths: {
      '/entries': {
        get: {
          operationId: 'listEntries', summary: 'Every entry (viewer)',
          parameters: [query('fingerprint', 'only the entries with this SHA-1 or SHA-256 fingerprint (hex, colons allowed)', { type: 'string', pattern: '^([0-9A-Fa-f]{2}:?){19,31}[0-9A-Fa-f]{2}$' })],
          responses: { 200: answer('the entries', { type: 'array', items: ref('Entry') }), 400: error('a fingerprint that is not hex'), ...ERRORS },
        },
      },
      '/entries/{id}': {
        get: {
          operationId: 'getEntry', summary: 'One entry (viewer)', parameters: [entryId],
          responses: { 200: answer('the entry', ref('Entry')), 404: error('no such entry'), ...ERRORS },
        },
      },
      '/report': {
        get: {
          operationId: 'report', summary: 'Expiry and compliance: each entry\'s days left and findings (viewer)',
          responses: { 200: answer('one item per entry', { type: 'array', items: ref('ReportEntry') }), ...ERRORS },
        },
      },
      '/bindings': {
        get: { operationId: 'listBindings', summary: 'Every binding (viewer)', responses: { 200: answer('the bindings', { type: 'array', items: ref('Binding') }), ...ERRORS } },
      },
      '/bindings/{name}': {
        get: {
          operationId: 'getBinding', summary: 'One binding (viewer)', parameters: [bindingName],
          responses: { 200: answer('the binding', ref('Binding')), 404: error('no such binding'), ...ERRORS },
        },
        put: {
          operationId: 'setBinding', summary: 'Sets a binding after its pre-flight checks, and applies it (admin)', parameters: [bindingName],
          requestBody: { required: true, ...json(CERTD_V1_SCHEMAS.setBinding) },
          responses: {
            200: answer('applied; warnings of checks that do not refuse', { allOf: [ref('Binding'), { type: 'object', required: ['warnings'], properties: { warnings: { type: 'array', items: str } } }] }),
            400: error('invalid body or settings, or a pre-flight check failed (code 23, the message names the check)'),
            404: error('no such entry'),
            502: error('the service did not take the binding; the previous one is back (code 24)'),
            ...ERRORS,
          },
        },
      },
      '/bindings/{name}/check': {
        post: {
          operationId: 'checkBinding', summary: 'Runs the pre-flight checks of a binding request alone: nothing is recorded or applied (admin: the check signs with the entry\'s key)', parameters: [bindingName],
          requestBody: { required: true, ...json(CERTD_V1_SCHEMAS.setBinding) },
          responses: {
            200: answer('what PUT would find: ok, or the check that refuses; warnings of checks that do not refuse', ref('PreflightResult')),
            400: error('invalid body or settings'),
            404: error('no such entry'),
            ...ERRORS,
          },
        },
      },
      '/batch': {
        post: {
          operationId: 'applyBatch', summary: 'Applies several changes all or nothing (admin)',
          requestBody: { required: true, ...json(CERTD_V1_SCHEMAS.batch) },
          responses: {
            200: answer('committed: the entries it wrote, and warnings of checks that do not refuse', {
              type: 'object', required: ['id', 'entries', 'warnings'],
              properties: { id: str, entries: { type: 'array', items: ref('EntryRef') }, warnings: { type: 'array', items: str } },
            }),
            400: error('invalid body or step; the message names the step (steps[N].field)'),
            404: error('a step names no such entry'),
            409: error('an alias is taken (code 2), an entry is bound (code 22) or protected (code 25); nothing changed'),
            502: error('committed, but a service did not take its binding (code 24); it is applied again at start'),
            ...ERRORS,
          },
        },
      },
      '/enrollments': {
        get: { operationId: 'listEnrollments', summary: 'Every ACME enrollment with its state (admin)', responses: { 200: answer('the enrollments', { type: 'array', items: ref('Enrollment') }), ...ERRORS } },
        post: {
          operationId: 'createEnrollment', summary: 'Starts an ACME enrollment; it runs at once, then renews in its window (admin)',
          requestBody: { required: true, ...json(CERTD_V1_SCHEMAS.enrollment) },
          responses: {
            201: answer('tracked (state NEED_TO_SUBMIT)', ref('Enrollment')),
            400: error('invalid body, identifier or trust anchor'),
            404: error('no such binding or key store'),
            ...ERRORS,
          },
        },
      },
      '/enrollments/{id}': {
        get: { operationId: 'getEnrollment', summary: 'One enrollment (admin)', parameters: [path('id', 'the enrollment\'s id')], responses: { 200: answer('the enrollment', ref('Enrollment')), 404: error('no such enrollment'), ...ERRORS } },
        delete: {
          operationId: 'deleteEnrollment', summary: 'Stops tracking; its entries stay, its account key goes (admin)', parameters: [path('id', 'the enrollment\'s id')],
          responses: { 200: answer('deleted', { type: 'null' }), 404: error('no such enrollment'), ...ERRORS },
        },
      },
      '/audit': {
        get: {
          operationId: 'listAudit', summary: 'The audit trail, oldest first (admin)',
          parameters: [
            query('since', 'records at or after this time', { type: 'string', format: 'date-time' }),
            query('limit', 'at most this many of the newest records', { type: 'integer', minimum: 1, maximum: 1000, default: 1000 }),
          ],
          responses: { 200: answer('the records', { type: 'array', items: ref('AuditRecord') }), 400: error('since or limit out of form'), ...ERRORS },
        },
      },
      '/health': {
        get: {
          operationId: 'health', summary: 'Key stores, keys no entry uses, unfinished journal intents (viewer)',
          responses: { 200: answer('healthy', ref('Health')), 503: answer('a key store is not answering', ref('Health')), ...ERRORS },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi', summary: 'This document (viewer)',
          responses: { 200: { description: 'the OpenAPI document', ...json({ type: 'object' }) }, ...ERRORS },
        },
      },
    },
  };
}
