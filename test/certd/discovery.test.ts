// Discovery as Axis devices serve it: /config/discover, the API list, cert.v1's API object,
// its model definition and its OpenAPI document. The document's request schemas are checked
// against the server itself: bodies made from each schema (valid and invalid), judged by a
// JSON Schema validator reading the served document, must be refused by the server with
// 400/5 exactly when the document forbids them.
import Ajv from 'ajv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CERT_V1_OPERATIONS, type Operation } from '../../src/certd/api/cert-v1-model';
import { CERT_V1_SCHEMAS, type CertV1SchemaName } from '../../src/certd/api/cert-v1-schemas';
import type { Reply } from './client';
import { makeMaterial, PASSPHRASE, type Material } from './material';
import { API, startService, type Service } from './service';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const t = suite('cert.v1 discovery');
let svc: Service;
let m: Material;
const D = '/config/discover';
const CERT = 'Discovery (Zertifikat) ü';
const CA = 'Discovery (CA) ü';
const enc = encodeURIComponent;

t.before(async () => {
  m = makeMaterial();
  svc = await startService();
  const admin = svc.as('admin');
  assert.is((await admin.post(`${API}/certificates`, { alias: CERT, certificate: m.cert, private_key: m.key })).status, 201);
  assert.is((await admin.post(`${API}/ca_certificates`, { alias: CA, certificate: m.ca })).status, 201);
});
t.after(async () => {
  await svc?.stop();
});

async function getJson(path: string): Promise<Json> {
  const r = await svc.as('viewer').get(path);
  assert.is(r.status, 200, `${path}: ${r.text}`);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  return r.json;
}

const API_FIELDS = ['doc', 'doc_html', 'model', 'rest_api', 'rest_openapi', 'rest_ui', 'state', 'version'];

t('/config/discover, /apis, /apis/cert and /apis/cert/v1 agree and describe cert.v1', async () => {
  const root = await getJson(D);
  assert.is(root.framework_version, '1.1.0');
  const apis = await getJson(`${D}/apis`);
  assert.equal(root.apis, apis);
  assert.equal(Object.keys(apis), ['cert']);
  const cert = await getJson(`${D}/apis/cert`);
  assert.equal(apis.cert, cert);
  assert.equal(Object.keys(cert), ['v1']);
  const v1 = await getJson(`${D}/apis/cert/v1`);
  assert.equal(cert.v1, v1);
  assert.equal(Object.keys(v1).sort(), API_FIELDS);
  assert.is(v1.rest_api, '/config/rest/cert/v1');
  assert.is(v1.model, `${D}/apis/cert/v1/model.json`);
  assert.is(v1.rest_openapi, `${D}/apis/cert/v1/openapi.json`);
  assert.is(v1.state, 'released');
  assert.match(v1.version, /^1\.\d+\.\d+$/, 'released x.y.z of major 1');
});

t('the URLs of the API object answer: the API root, the model and the OpenAPI document, with one version', async () => {
  const v1 = await getJson(`${D}/apis/cert/v1`);
  const root = await getJson(v1.rest_api);
  assert.is(root.status, 'success');
  assert.equal(Object.keys(root.data).sort(), ['ca_certificates', 'certificates', 'keystores', 'settings']);
  const model = await getJson(v1.model);
  const openapi = await getJson(v1.rest_openapi);
  assert.is(model.version, v1.version);
  assert.is(openapi.info.version, v1.version);
  assert.is(model.state, v1.state);
});

t('unknown APIs and versions are 404/1', async () => {
  for (const path of [`${D}/apis/nope`, `${D}/apis/cert/v2`, `${D}/apis/cert/v1beta`, `${D}/apis/cert/v1/doc.txt`, '/config/rest/cert/v2']) {
    const r = await svc.as('viewer').get(path);
    assert.is(r.status, 404, path);
    assert.is(r.json.error.code, 1, path);
  }
});

// --- model.json -------------------------------------------------------------------------------

const row = (method: Operation['method'], path: string) => CERT_V1_OPERATIONS.find((o) => o.method === method && o.path === path);
const rolesFrom = (role: string) => (role === 'viewer' ? ['admin', 'operator', 'viewer'] : role === 'operator' ? ['admin', 'operator'] : ['admin']);
const dataSchema = (name: CertV1SchemaName): Json => (CERT_V1_SCHEMAS[name] as Json).properties.data;

t('model.json: the model definition format, and each entity, action and field matches the operation table and request schemas', async () => {
  const model = await getJson(`${D}/apis/cert/v1/model.json`);
  assert.is(model.id, 'cert');
  assert.is(model.state, 'released');
  assert.type(model.name, 'string');
  assert.type(model.export_import, 'boolean');
  const root = model.root_entity;
  assert.is(root.collection, 'singleton');
  assert.ok(row('GET', ''), 'root GET');
  assert.equal(Object.keys(root.entities).sort(), ['ca_certificates', 'certificates', 'keystores', 'settings']);

  const actions: [string, Json][] = [
    ...Object.entries(root.actions as Json).map(([n, a]) => [`/${n}`, a] as [string, Json]),
    ...Object.entries(root.entities.certificates.actions as Json).map(([n, a]) => [`/certificates/:alias/${n}`, a] as [string, Json]),
  ];
  for (const [path, action] of actions) {
    const op = row('POST', path);
    assert.ok(op, `action ${path} is a POST row`);
    assert.equal(action.operations.trigger.roles, rolesFrom(op!.role), `${path}: trigger roles`);
    const input = model.data_types[action.request_data_type];
    assert.ok(input, `${path}: ${action.request_data_type} defined`);
    const schema = dataSchema(op!.body!);
    assert.equal(Object.keys(input.fields).sort(), Object.keys(schema.properties).sort(), `${path}: fields`);
    for (const [name, f] of Object.entries(input.fields as Record<string, Json>)) {
      assert.is(f.nullable, !schema.required.includes(name), `${path}: ${name} nullable <-> optional`);
      const s = schema.properties[name];
      const allowsNull = Array.isArray(s.anyOf) && s.anyOf.some((x: Json) => x.type === 'null');
      assert.is(allowsNull, f.nullable, `${path}: ${name} null accepted <-> nullable`);
    }
  }

  for (const [name, e] of Object.entries(root.entities as Record<string, Json>)) {
    const base = `/${name}`;
    if (e.collection === 'map') {
      assert.ok(row('GET', base) && (row('GET', `${base}/:alias`) ?? row('GET', `${base}/:id`)), `${name}: GET rows`);
      assert.ok(e.key_property in e.properties, `${name}: key property`);
      const add = e.operations.add;
      assert.is(Boolean(add), Boolean(row('POST', base)), `${name}: add <-> POST row`);
      if (add) {
        const op = row('POST', base)!;
        assert.equal(add.roles, rolesFrom(op.role), `${name}: add roles`);
        const schema = dataSchema(op.body!);
        assert.equal([...add.fields.required].sort(), [...schema.required].sort(), `${name}: add required`);
        assert.equal([...add.fields.required, ...add.fields.optional].sort(), Object.keys(schema.properties).sort(), `${name}: add fields`);
      }
      assert.is(Boolean(e.operations.remove), Boolean(row('DELETE', `${base}/:alias`)), `${name}: remove <-> DELETE row`);
      if (e.operations.remove) assert.equal(e.operations.remove.roles, rolesFrom(row('DELETE', `${base}/:alias`)!.role));
      const set = e.operations.set;
      assert.is(Boolean(set), Boolean(row('PATCH', `${base}/:alias`)), `${name}: set <-> PATCH row`);
      if (set) assert.equal([...set.fields.optional].sort(), Object.keys(dataSchema(row('PATCH', `${base}/:alias`)!.body!).properties).sort());
    } else {
      assert.ok(row('GET', base), `${name}: GET row`);
      const set = e.operations.set;
      assert.is(Boolean(set), Boolean(row('PATCH', base)), `${name}: set <-> PATCH row`);
      if (set) assert.equal([...set.fields.optional].sort(), Object.keys(dataSchema(row('PATCH', base)!.body!).properties).sort());
    }
    // Properties: readable by every role (GET rows are viewer); settable ones have a PATCH row for the property.
    for (const [pname, p] of Object.entries(e.properties as Record<string, Json>)) {
      if (p.operations.get) assert.equal(p.operations.get.roles, rolesFrom(row('GET', e.collection === 'map' ? `${base}/:${e.key_property === 'id' ? 'id' : 'alias'}/:prop` : `${base}/:prop`)?.role ?? row('GET', base)!.role));
      if (p.operations.set) {
        const op = row('PATCH', e.collection === 'map' ? `${base}/:alias/${pname}` : `${base}/${pname}`);
        assert.ok(op, `${name}.${pname}: set <-> PATCH row`);
        assert.equal(p.operations.set.roles, rolesFrom(op!.role));
      }
    }
  }

  const alias = dataSchema('addCaCertificate').properties.alias;
  assert.is(model.data_types.alias.minLength, alias.minLength);
  assert.is(model.data_types.alias.maxLength, alias.maxLength);
  const keyTypes = dataSchema('createCertificate').properties.key_type.anyOf[0].enum;
  assert.equal(model.data_types.keystore_key_types.items.enum, keyTypes);
  // Every keystore the server lists offers only key types of the model.
  for (const k of (await svc.as('viewer').get(`${API}/keystores`)).json.data) {
    for (const kt of k.key_types) assert.ok(keyTypes.includes(kt), kt);
    assert.ok(model.data_types.keystore_seclevel.enum.includes(k.security_level));
  }
});

// --- openapi.json -----------------------------------------------------------------------------

const KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'maxItems', 'anyOf']);

/** Every schema object inside `s` (itself included). */
function schemas(s: Json): Json[] {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return [];
  const inner = [
    ...Object.values(s.properties ?? {}),
    ...(s.items && typeof s.items === 'object' ? [s.items] : []),
    ...(typeof s.additionalProperties === 'object' ? [s.additionalProperties] : []),
    ...(s.anyOf ?? []),
  ];
  return [s, ...inner.flatMap(schemas)];
}

const templateOf = (op: Operation) => (API + op.path).replace(/:([a-z]+)/g, '{$1}');

t('openapi.json: a well-formed OpenAPI 3 document of the table, in a schema dialect its version allows', async () => {
  const doc = await getJson(`${D}/apis/cert/v1/openapi.json`);
  assert.match(doc.openapi, /^3\.[01]\.\d+$/);
  assert.type(doc.info.title, 'string');
  assert.match(doc.info.version, /^\d+\.\d+\.\d+$/);
  assert.equal(doc.components.securitySchemes.digest, { type: 'http', scheme: 'digest' });
  assert.equal(doc.components.securitySchemes.basic, { type: 'http', scheme: 'basic' });
  for (const req of doc.security) for (const name of Object.keys(req)) assert.ok(name in doc.components.securitySchemes, name);
  for (const op of CERT_V1_OPERATIONS) {
    const o = doc.paths[templateOf(op)]?.[op.method.toLowerCase()];
    const label = `${op.method} ${op.path}`;
    assert.ok(o, label);
    assert.type(o.summary, 'string');
    // Path parameters: exactly the template's, required, in: path; and ?strict on writes with a body.
    const names = [...templateOf(op).matchAll(/\{([a-z]+)\}/g)].map((x) => x[1]);
    const path = (o.parameters ?? []).filter((p: Json) => p.in === 'path');
    assert.equal(path.map((p: Json) => p.name), names, `${label}: parameters`);
    for (const p of path) assert.equal([p.in, p.required, p.schema.type], ['path', true, 'string'], label);
    const query = (o.parameters ?? []).filter((p: Json) => p.in !== 'path');
    assert.equal(query.map((p: Json) => [p.name, p.in, p.required, p.schema.type]), op.body ? [['strict', 'query', false, 'boolean']] : [], `${label}: query parameters`);
    // Responses: the success status with the envelope, 401, 403, 414, and the row's errors; each with a description.
    const codes = Object.keys(o.responses).sort();
    assert.equal(codes, [...new Set([String(op.status), '401', '403', '414', ...op.errors.map(String)])].sort(), `${label}: responses`);
    for (const [code, resp] of Object.entries(o.responses as Record<string, Json>)) {
      assert.type(resp.description, 'string', `${label} ${code}: description`);
      const schema = resp.content?.['application/json']?.schema;
      if (code === String(op.status)) assert.equal(schema.properties.status, { enum: ['success'] }, `${label}: envelope`);
      else if (code !== '401') assert.equal(schema.properties.status, { enum: ['error'] }, `${label} ${code}: error envelope`);
    }
    // A request body exactly where the method takes one.
    const body = o.requestBody;
    assert.is(Boolean(body), op.method === 'POST' || op.method === 'PATCH', `${label}: requestBody`);
    if (!body) continue;
    assert.is(body.required, true);
    const schema = body.content['application/json'].schema;
    assert.equal(schema, JSON.parse(JSON.stringify(CERT_V1_SCHEMAS[op.body!])), `${label}: the schema the server compiles`);
    for (const s of schemas(schema)) {
      for (const k of Object.keys(s)) assert.ok(KEYWORDS.has(k), `${label}: keyword ${k}`);
      if (s.pattern) new RegExp(s.pattern, 'u');
      // OpenAPI 3.0's Schema Object has no "null" type (it has nullable); 3.1 is JSON Schema.
      if (doc.openapi.startsWith('3.0.')) assert.is.not(s.type, 'null', `${label}: type "null" in an OpenAPI ${doc.openapi} document`);
    }
  }
});

// --- the document's request schemas against the server ------------------------------------------

let fresh = 0;
const freshAlias = () => `Schema ${++fresh} (ü)`;

/** A valid `data` per request schema that changes nothing or adds a fresh entry. */
function baseData(name: CertV1SchemaName, kind: 'certificate' | 'ca'): Json {
  switch (name) {
    case 'addCertificate': return { alias: freshAlias(), certificate: m.cert, private_key: m.key };
    case 'addCaCertificate': return { alias: freshAlias(), certificate: m.ca };
    case 'setCertificateEntry': return {};
    case 'setCertificate': return kind === 'ca' ? m.ca : m.cert;
    case 'createCertificate': return { alias: freshAlias(), subject: 'CN=schema check', key_type: null };
    case 'getCsr': return {};
    case 'installFromPkcs12': return { alias: freshAlias(), pkcs12: m.p12, passphrase: PASSPHRASE };
    case 'setSettings': return {};
    case 'setKeystore': return 'SOFTWARE0';
  }
}

/** A string of length n meant to satisfy `schema.pattern` where it has one. */
function filler(schema: Json, n: number): string | undefined {
  if (n < 0) return undefined;
  const candidates = ['A'.repeat(n), `DNS:${'a'.repeat(Math.max(0, n - 4))}`.slice(0, n)];
  return schema.pattern ? candidates.find((c) => new RegExp(schema.pattern, 'u').test(c)) : candidates[0];
}

/** Values to try for a field: boundaries on both sides and wrong types. Which are valid is the document's call. */
function samples(schema: Json): unknown[] {
  if (schema.anyOf) return schema.anyOf.flatMap(samples);
  if (schema.type === 'null') return [null];
  // Only the first enum value: it is the cheap key type (RSA-4096 would take long to make).
  if (schema.enum) return [schema.enum[0], 'NOT-IN-ENUM', schema.enum[0].toLowerCase(), 7];
  const out: unknown[] = [];
  switch (schema.type) {
    case 'string':
      for (const n of [schema.minLength ?? 0, (schema.minLength ?? 0) - 1, schema.maxLength, schema.maxLength + 1]) {
        if (Number.isInteger(n)) out.push(filler(schema, n));
      }
      out.push('%%% (x)\n', 12, true, null, ['A']);
      break;
    case 'integer':
      out.push(schema.minimum, schema.maximum, schema.minimum - 1, schema.maximum + 1, 1_900_000_000.5, '1900000000', null);
      break;
    case 'array': {
      const item = filler(schema.items, 12) ?? 'x';
      out.push([], Array(schema.maxItems).fill(item), Array(schema.maxItems + 1).fill(item), ...samples(schema.items).map((v) => [v]), item, null);
      break;
    }
  }
  return out.filter((v) => v !== undefined);
}

interface Mutation {
  what: string;
  /** A string is sent as is. */
  body: unknown;
  /** The field the schema error must name when the body is invalid ("data.alias"), if known. */
  field?: string;
}

function mutations(schema: Json, base: () => Json): Mutation[] {
  const data = schema.properties.data;
  const out: Mutation[] = [
    { what: 'valid', body: { data: base() } },
    { what: 'empty object', body: {} },
    { what: 'not JSON', body: '{"data":' },
    { what: 'extra top-level field', body: { data: base(), zz_extra: 1 }, field: 'zz_extra' },
    ...[null, [], 'x', 12].map((v) => ({ what: `data ${JSON.stringify(v)}`, body: { data: v } })),
  ];
  if (data.type === 'object') {
    out.push({ what: 'extra field', body: { data: { ...base(), zz_extra: 1 } }, field: 'data.zz_extra' });
    for (const name of data.required ?? []) {
      const d = base();
      delete d[name];
      out.push({ what: `without ${name}`, body: { data: d }, field: `data.${name}` });
    }
    for (const [name, s] of Object.entries(data.properties as Record<string, Json>)) {
      for (const v of samples(s)) out.push({ what: `${name} = ${JSON.stringify(v)?.slice(0, 40)}`, body: { data: { ...base(), [name]: v } }, field: `data.${name}` });
    }
  } else {
    for (const v of samples(data)) out.push({ what: `data = ${JSON.stringify(v)?.slice(0, 40)}`, body: { data: v }, field: 'data' });
  }
  return out;
}

/** A refusal by the request schema: 400/5 and a message naming a body path (data…, body or a top-level field). */
const schemaRefusal = (r: Reply) => r.status === 400 && r.json?.error?.code === 5 && /^(data|body|zz_extra)[.:]/.test(r.json.error.message);

let served: Promise<Json> | undefined;
const ajv = new Ajv({ strict: false, allErrors: false });

for (const op of CERT_V1_OPERATIONS.filter((o) => o.body)) {
  t(`${op.method} ${op.path}: the document's requestBody schema is what the server enforces (forbidden -> 400/5 naming the field, allowed -> past validation)`, async () => {
    served ??= getJson(`${D}/apis/cert/v1/openapi.json`);
    const doc = await served;
    const schema = doc.paths[templateOf(op)][op.method.toLowerCase()].requestBody.content['application/json'].schema;
    const validate = ajv.compile(schema);
    const admin = svc.as('admin');
    const kind = op.path.startsWith('/ca_certificates') ? 'ca' : 'certificate';
    const path = (API + op.path).replace(':alias', enc(kind === 'ca' ? CA : CERT));
    const counts = { valid: 0, invalid: 0 };
    for (const mu of mutations(schema, () => baseData(op.body!, kind))) {
      let parsed: unknown;
      try {
        parsed = typeof mu.body === 'string' ? JSON.parse(mu.body) : mu.body;
      } catch {
        parsed = Symbol('not JSON');
      }
      const valid = typeof parsed !== 'symbol' && validate(parsed);
      const r = await admin.call(op.method, path, typeof mu.body === 'string' ? mu.body : JSON.stringify(mu.body));
      const label = `${mu.what}: document says ${valid ? 'valid' : 'invalid'}, server ${r.status} ${r.text.slice(0, 200)}`;
      assert.ok(r.status < 500 && r.status !== 413, label);
      if (valid) {
        counts.valid++;
        assert.not.ok(schemaRefusal(r), label);
      } else {
        counts.invalid++;
        assert.ok(schemaRefusal(r), label);
        if (mu.field) assert.match(r.json.error.message, new RegExp(`^${mu.field.replace(/\./g, '\\.')}[.:]`), label);
      }
    }
    // The samples reach both sides of the schema.
    assert.ok(counts.valid >= 2 && counts.invalid >= 8, JSON.stringify(counts));
  });
}

t.run();
