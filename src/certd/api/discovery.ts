// Discovery as Axis devices serve it (Device Configuration API framework): the API list,
// cert.v1's model definition and an OpenAPI document built from the same request schemas
// the server validates with (cert-v1-schemas.ts).
import type { App } from '../http/app';
import { HttpError } from '../http/errors';
import { CERT_V1_BASE } from './cert-v1';
import { CERT_V1_SCHEMAS } from './cert-v1-schemas';
import { CERT_V1_MODEL, CERT_V1_OPERATIONS } from './cert-v1-model';

const DISCOVER = '/config/discover';
export const CERT_V1_VERSION = '1.1.2';

const API = {
  model: `${DISCOVER}/apis/cert/v1/model.json`,
  rest_api: CERT_V1_BASE,
  rest_openapi: `${DISCOVER}/apis/cert/v1/openapi.json`,
  state: 'released',
  version: CERT_V1_VERSION,
};

const envelope = (data?: Record<string, unknown>) => ({
  type: 'object',
  required: ['status'],
  properties: { status: { enum: ['success'] }, ...(data ? { data } : {}) },
});
const errorSchema = {
  type: 'object',
  required: ['status', 'error'],
  properties: {
    status: { enum: ['error'] },
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'integer' }, message: { type: 'string' } } },
  },
};

/**
 * The OpenAPI document of cert.v1, from the operation table and the request schemas. 3.1, as
 * devices serve it: its schemas are JSON Schema, so `{"type":"null"}` (nullable fields) is
 * valid there; OpenAPI 3.0 has no "null" type.
 */
export function certV1OpenApi(): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of CERT_V1_OPERATIONS) {
    const path = (CERT_V1_BASE + op.path).replace(/:([a-z]+)/g, '{$1}');
    const params = [...op.path.matchAll(/:([a-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const errors = Object.fromEntries(op.errors.map((s) => [String(s), { description: 'error', content: { 'application/json': { schema: errorSchema } } }]));
    paths[path] ??= {};
    paths[path]![op.method.toLowerCase()] = {
      summary: op.summary,
      'x-roles': [op.role === 'viewer' ? ['admin', 'operator', 'viewer'] : ['admin']].flat(),
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: CERT_V1_SCHEMAS[op.body] } } } } : {}),
      responses: {
        [String(op.status)]: { description: 'success', content: { 'application/json': { schema: envelope(op.response) } } },
        '401': { description: 'authentication required (Digest or Basic challenge)' },
        '403': { description: 'the role is too low', content: { 'application/json': { schema: errorSchema } } },
        ...errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Certificate Management API (cert.v1)', version: CERT_V1_VERSION },
    components: { securitySchemes: { digest: { type: 'http', scheme: 'digest' }, basic: { type: 'http', scheme: 'basic' } } },
    security: [{ digest: [] }, { basic: [] }],
    paths,
  };
}

export function registerDiscovery(app: App): void {
  const openapi = certV1OpenApi();
  const apis = { cert: { v1: API } };
  app.route('GET', DISCOVER, 'viewer', () => ({ status: 200, body: { framework_version: '1.0.0', apis } }));
  app.route('GET', `${DISCOVER}/apis`, 'viewer', () => ({ status: 200, body: apis }));
  app.route('GET', `${DISCOVER}/apis/:api`, 'viewer', (r) => {
    if (r.params.api !== 'cert') throw new HttpError(404, 1, `resource not found: ${r.params.api}`);
    return { status: 200, body: apis.cert };
  });
  app.route('GET', `${DISCOVER}/apis/cert/v1`, 'viewer', () => ({ status: 200, body: API }));
  app.route('GET', `${DISCOVER}/apis/cert/v1/model.json`, 'viewer', () => ({ status: 200, body: CERT_V1_MODEL }));
  app.route('GET', `${DISCOVER}/apis/cert/v1/openapi.json`, 'viewer', () => ({ status: 200, body: openapi }));
}
