// /certd/v1/openapi.json: a valid OpenAPI document (checked by an OpenAPI schema
// validator), describing every route certd-v1.ts registers (a route added without its
// description fails here), served to viewers and above, with the request schema the API
// validates with, and response schemas that real answers of the running daemons fit.
import Ajv2020 from 'ajv/dist/2020';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { App } from '../../src/certd/http/app';
import type { Audit } from '../../src/certd/domain/audit';
import type { Batches } from '../../src/certd/domain/batches';
import type { Bindings } from '../../src/certd/domain/bindings';
import type { Certificates } from '../../src/certd/domain/certificates';
import { CERTD_V1_BASE, registerCertdV1 } from '../../src/certd/api/certd-v1';
import { certdV1OpenApi } from '../../src/certd/api/certd-v1-openapi';
import { CERTD_V1_SCHEMAS } from '../../src/certd/api/certd-v1-schemas';
import { registerEnrollments } from '../../src/certd/api/enrollments';
import type { Enrollments } from '../../src/certd/domain/enrollments';
import { API, startService, type Service } from './service';

// The validator is an ES module; tsc's CommonJS output would turn import() into require().
const importEsm = new Function('m', 'return import(m)') as (m: string) => Promise<{ Validator: new () => { validate(d: object): Promise<{ valid: boolean; errors?: unknown }>; version: string } }>;

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }>; requestBody?: { content: Record<string, { schema: unknown }> } }>> };
const doc = certdV1OpenApi(CERTD_V1_BASE) as unknown as Doc;

const t = suite('certd/v1 OpenAPI');
let svc: Service;
t.before(async () => {
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

t('the document is valid OpenAPI 3.1', async () => {
  const { Validator } = await importEsm('@seriousme/openapi-schema-validator');
  const v = new Validator();
  const res = await v.validate(certdV1OpenApi(CERTD_V1_BASE));
  assert.ok(res.valid, JSON.stringify(res.errors));
  assert.is(v.version, '3.1');
  const broken = certdV1OpenApi(CERTD_V1_BASE) as Doc;
  (broken.paths['/entries']!.get as unknown as Record<string, unknown>).responses = 'none';
  assert.not.ok((await new Validator().validate(broken)).valid, 'the validator refuses a broken document');
});

t('every route certd-v1.ts and enrollments.ts register is described, and nothing else', () => {
  const routes: string[] = [];
  const recorder = { route: (method: string, path: string) => routes.push(`${method.toLowerCase()} ${path.replace(/:(\w+)/g, '{$1}')}`), anonymous: () => undefined } as unknown as App;
  registerCertdV1(recorder, {} as Certificates, {} as Bindings, {} as Batches, {} as Audit);
  registerEnrollments(recorder, {} as Enrollments);
  assert.ok(routes.length >= 8);
  const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${CERTD_V1_BASE}${p}`));
  assert.equal(routes.filter((r) => !described.includes(r)), [], 'routes without a description');
  assert.equal(described.filter((d) => !routes.includes(d)), [], 'descriptions without a route');
});

t('the request body schema is the one the API validates with', () => {
  assert.is(doc.paths['/bindings/{name}']!.put!.requestBody!.content['application/json']!.schema, CERTD_V1_SCHEMAS.setBinding);
  assert.is(doc.paths['/batch']!.post!.requestBody!.content['application/json']!.schema, CERTD_V1_SCHEMAS.batch);
});

t('served to viewers; anonymous clients get 401', async () => {
  const r = await svc.as('viewer').get(`${CERTD_V1_BASE}/openapi.json`);
  assert.is(r.status, 200);
  assert.match(String(r.headers['content-type']), /application\/json/);
  assert.equal(r.json, JSON.parse(JSON.stringify(certdV1OpenApi(CERTD_V1_BASE))));
  assert.is((await svc.anonymous().get(`${CERTD_V1_BASE}/openapi.json`)).status, 401);
});

t('real answers fit the response schemas', async () => {
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema(certdV1OpenApi(CERTD_V1_BASE), 'doc');
  const check = async (method: 'get' | 'put' | 'post' | 'delete', path: string, template: string, body?: unknown) => {
    const c = svc.as('admin');
    const r = method === 'get' ? await c.get(`${CERTD_V1_BASE}${path}`) : await c.call(method.toUpperCase(), `${CERTD_V1_BASE}${path}`, body);
    const responses = doc.paths[template]![method]!.responses;
    assert.ok(responses[String(r.status)], `${method} ${path}: ${r.status} is described`);
    const pointer = `/paths/${template.replace(/\//g, '~1')}/${method}/responses/${r.status}/content/application~1json/schema`;
    const validate = ajv.getSchema(`doc#${pointer}`)!;
    assert.ok(validate(r.json), `${method} ${path} ${r.status}: ${JSON.stringify(validate.errors)} in ${r.text}`);
    return r;
  };
  assert.is((await svc.as('admin').post(`${API}/create_certificate`, { alias: 'web', subject: 'CN=web' })).status, 200);
  const entries = await check('get', '/entries', '/entries');
  const id = entries.json.data[0].id as string;
  await check('get', `/entries/${id}`, '/entries/{id}');
  await check('get', '/entries/nope', '/entries/{id}');
  await check('get', '/entries?fingerprint=zz', '/entries');
  assert.is((await check('put', '/bindings/https', '/bindings/{name}', { data: { certificate: 'web', settings: { tls: true } } })).status, 200);
  await check('put', '/bindings/https', '/bindings/{name}', { data: { certificate: 'nope' } });
  assert.is((await check('post', '/bindings/https/check', '/bindings/{name}/check', { data: { certificate: 'web' } })).json.data.ok, true);
  await check('post', '/bindings/https/check', '/bindings/{name}/check', { data: { certificate: 'nope' } });
  await check('get', '/bindings', '/bindings');
  await check('get', '/bindings/https', '/bindings/{name}');
  await check('get', '/audit?limit=5', '/audit');
  await check('get', '/health', '/health');
  assert.ok((await check('get', '/report', '/report')).json.data.some((e: { findings: { code: string }[] }) => e.findings.some((f) => f.code === 'SELF_SIGNED_HTTPS')));
  // An enrollment whose CA is not there: tracked (201), then CA_UNREACHABLE; every answer fits.
  const anchor = ((await svc.as('admin').get(`${API}/certificates/web`)).json.data as { certificate: string }).certificate;
  const made = await check('post', '/enrollments', '/enrollments', { data: { directory_url: 'https://127.0.0.1:1/dir', trust_anchors: [anchor], identifiers: [{ type: 'dns', value: 'cam1.local' }] } });
  assert.is(made.status, 201);
  const enrollment = (made.json.data as { id: string }).id;
  await check('post', '/enrollments', '/enrollments', { data: { directory_url: 'https://127.0.0.1:1/dir', trust_anchors: ['x'], identifiers: [] } });
  await check('get', '/enrollments', '/enrollments');
  await check('get', `/enrollments/${enrollment}`, '/enrollments/{id}');
  await check('get', '/enrollments/nope', '/enrollments/{id}');
  assert.is((await check('delete', `/enrollments/${enrollment}`, '/enrollments/{id}')).status, 200);
  assert.is((await check('post', '/batch', '/batch', { data: { steps: [{ op: 'create_certificate', alias: 'batch made', subject: 'CN=b' }] } })).status, 200);
  assert.is((await check('post', '/batch', '/batch', { data: { steps: [{ op: 'delete', alias: 'web' }] } })).status, 409);
  // The schemas can fail: an entry without its id does not fit.
  const entry = ajv.getSchema('doc#/components/schemas/Entry')!;
  const { id: _gone, ...noId } = entries.json.data[0];
  assert.not.ok(entry(noId));
});

t.run();
