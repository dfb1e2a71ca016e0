// Discovery as Axis devices serve it (Device Configuration API framework): the API list,
// cert.v1's model definition, its documentation and an OpenAPI document built from the same
// request schemas the server validates with (cert-v1-schemas.ts). The shapes follow the
// answer recorded from an AXIS OS 12.11 camera (PROTOCOL-NOTES §1.6, OADM-FIX
// config-discover.json): framework_version "1.1.0" (the vendor's page says "1.0.0": the
// device wins), each API object with doc, doc_html, model, rest_api, rest_openapi,
// rest_ui, state and version, and a `device` object naming the device-wide OpenAPI document.
import type { App } from '../http/app';
import { CERT_V1_BASE, notFound } from './cert-v1';
import { CERT_V1_DOC } from './cert-v1-doc';
import { CERT_V1_SCHEMAS } from './cert-v1-schemas';
import { CERT_V1_MODEL, CERT_V1_OPERATIONS } from './cert-v1-model';
import { registerWebUi, WEB_UI, type OpenApi } from './web-ui';

const DISCOVER = '/config/discover';
export const CERT_V1_VERSION = '1.1.2';
export const FRAMEWORK_VERSION = '1.1.0';
const V1 = `${DISCOVER}/apis/cert/v1`;
/** The device-wide OpenAPI document: certd serves one API, so it is cert.v1's. */
const DEVICE_OPENAPI = `${DISCOVER}/openapi.json`;

const API = {
  doc: `${V1}/doc.md`,
  doc_html: WEB_UI.docHtml(`${V1}/doc.md`),
  model: `${V1}/model.json`,
  rest_api: CERT_V1_BASE,
  rest_openapi: `${V1}/openapi.json`,
  rest_ui: WEB_UI.restUi(`${V1}/openapi.json`),
  state: 'released',
  version: CERT_V1_VERSION,
};
const DEVICE = { rest_openapi: DEVICE_OPENAPI, rest_ui: WEB_UI.restUi(DEVICE_OPENAPI) };

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
export function certV1OpenApi(): OpenApi {
  const paths: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const op of CERT_V1_OPERATIONS) {
    const path = (CERT_V1_BASE + op.path).replace(/:([a-z]+)/g, '{$1}');
    const params: unknown[] = [...op.path.matchAll(/:([a-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    // As on the device: every write with a body takes ?strict (unknown fields of data).
    if (op.body) params.push({ name: 'strict', in: 'query', required: false, schema: { type: 'boolean' }, description: 'false: unknown fields of data are ignored instead of refused' });
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
        '414': { description: 'the URL is too long', content: { 'application/json': { schema: errorSchema } } },
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

const markdown = { 'content-type': 'text/markdown; charset=utf-8' };

export function registerDiscovery(app: App): void {
  const openapi = certV1OpenApi();
  const apis = { cert: { v1: API } };
  app.route('GET', DISCOVER, 'viewer', () => ({ status: 200, body: { apis, device: DEVICE, framework_version: FRAMEWORK_VERSION } }));
  app.route('GET', `${DISCOVER}/apis`, 'viewer', () => ({ status: 200, body: apis }));
  app.route('GET', `${DISCOVER}/apis/:api`, 'viewer', (r) => {
    if (r.params.api !== 'cert') throw notFound(r.url);
    return { status: 200, body: apis.cert };
  });
  app.route('GET', V1, 'viewer', () => ({ status: 200, body: API }));
  app.route('GET', API.model, 'viewer', () => ({ status: 200, body: CERT_V1_MODEL }));
  app.route('GET', API.rest_openapi, 'viewer', () => ({ status: 200, body: openapi }));
  app.route('GET', DEVICE_OPENAPI, 'viewer', () => ({ status: 200, body: openapi }));
  app.route('GET', API.doc, 'viewer', () => ({ status: 200, body: CERT_V1_DOC, headers: markdown }));
  registerWebUi(app, { [API.doc]: CERT_V1_DOC }, { [API.rest_openapi]: openapi, [DEVICE_OPENAPI]: openapi });
}
