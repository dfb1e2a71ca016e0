// cert.v1 against what a recorded AXIS OS 12.11 camera answers (recorded-axis.ts) and what
// older clients send: discovery's shape and links, the served documentation pages, the
// v1beta alias, ?strict=false, keys beside `data`, PUT for PATCH and for actions,
// GET /config/rest/$all, "Resource not found: …" and a 414 in the API's envelope.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CERT_V1_MODEL, CERT_V1_OPERATIONS } from '../../src/certd/api/cert-v1-model';
import { errorEnvelope } from '../../src/certd/api/cert-v1';
import { HttpError } from '../../src/certd/http/errors';
import type { Reply } from './client';
import { makeMaterial, StateProbe, PASSPHRASE, type Material } from './material';
import { API, startService, type Service } from './service';
import { DISCOVER, KEYSTORE_FIELDS, NOT_FOUND } from './recorded-axis';

/* eslint-disable @typescript-eslint/no-explicit-any */
const t = suite('cert.v1 parity');
let svc: Service;
let probe: StateProbe;
let m: Material;
const BETA = `${API}beta`;
const CERT = 'Parität (Zertifikat) ü';
const CA = 'Parität (CA) ü';
const enc = encodeURIComponent;

t.before(async () => {
  m = makeMaterial();
  svc = await startService();
  probe = new StateProbe(svc);
  const admin = svc.as('admin');
  assert.is((await admin.post(`${API}/certificates`, { alias: CERT, certificate: m.cert, private_key: m.key })).status, 201);
  assert.is((await admin.post(`${API}/ca_certificates`, { alias: CA, certificate: m.ca })).status, 201);
});
t.after(async () => {
  probe?.close();
  await svc?.stop();
});

const admin = () => svc.as('admin');
const viewer = () => svc.as('viewer');

function assertNotFound(r: Reply, path: string, label: string): void {
  assert.is(r.status, NOT_FOUND.status, `${label}: ${r.status} ${r.text}`);
  assert.equal(r.json, { status: 'error', error: { code: NOT_FOUND.code, message: `${NOT_FOUND.messagePrefix}${path.split('?')[0]}` } }, label);
}

function assertError(r: Reply, status: number, code: number, label: string): void {
  assert.is(r.status, status, `${label}: ${r.status} ${r.text}`);
  assert.is(r.json?.status, 'error', label);
  assert.is(r.json.error.code, code, `${label}: ${r.text}`);
}

// --- discovery --------------------------------------------------------------------------------

t('GET /config/discover has the recorded shape: framework 1.1.0, device, and cert.v1 with the recorded links', async () => {
  const r = await viewer().get('/config/discover');
  assert.is(r.status, 200);
  assert.equal(Object.keys(r.json).sort(), DISCOVER.keys);
  assert.is(r.json.framework_version, DISCOVER.framework_version);
  assert.equal(r.json.device, DISCOVER.device);
  assert.equal(r.json.apis.cert.v1, DISCOVER.cert_v1);
  assert.equal((await viewer().get('/config/discover/apis/cert/v1')).json, DISCOVER.cert_v1);
});

t('keystores have the recorded fields', async () => {
  const r = await viewer().get(`${API}/keystores`);
  for (const k of r.json.data) assert.equal(Object.keys(k).sort(), KEYSTORE_FIELDS);
});

t('doc: served as Markdown, and it names every entity and action of the model', async () => {
  const r = await viewer().get(DISCOVER.cert_v1.doc);
  assert.is(r.status, 200, r.text);
  assert.match(String(r.headers['content-type']), /^text\/markdown; charset=utf-8/);
  assert.match(r.text, /^# cert\.v1/);
  const root = CERT_V1_MODEL.root_entity;
  const names = [...Object.keys(root.entities), ...Object.keys(root.actions), ...Object.keys(root.entities.certificates.actions)];
  for (const name of names) assert.ok(r.text.includes(`/${name}`), `doc.md names /${name}`);
  assert.ok(r.text.includes('strict=false') && r.text.includes('PUT') && r.text.includes(`${API}beta`));
});

t('doc_html: the doc as an HTML page that runs nothing; only the documents discovery names', async () => {
  const r = await viewer().get(DISCOVER.cert_v1.doc_html);
  assert.is(r.status, 200, r.text);
  assert.match(String(r.headers['content-type']), /^text\/html; charset=utf-8/);
  assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
  assert.is(r.headers['x-content-type-options'], 'nosniff');
  const md = (await viewer().get(DISCOVER.cert_v1.doc)).text;
  const pre = /<pre>([\s\S]*)<\/pre>/.exec(r.text)?.[1];
  assert.ok(pre, 'a <pre> block');
  assert.is(pre!.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))), md, 'the Markdown, escaped');
  assert.not.match(r.text, /<script/i);
  for (const other of ['/etc/passwd', '/config/discover/apis/cert/v2/doc.md', '"><script>x</script>']) {
    const bad = await viewer().get(`/config/web-ui/cu-doc.html?md-doc-loc=${enc(other)}`);
    assertNotFound(bad, encodeURI(other), other);
    assert.not.match(bad.text, /<script/);
  }
  assertError(await viewer().get('/config/web-ui/cu-doc.html'), 400, 5, 'no md-doc-loc');
  assert.is((await svc.anonymous().get(DISCOVER.cert_v1.doc_html)).status, 401);
});

t('rest_ui: one table row per operation, linking the OpenAPI document; device rest_ui and rest_openapi too', async () => {
  for (const [ui, openapi] of [[DISCOVER.cert_v1.rest_ui, DISCOVER.cert_v1.rest_openapi], [DISCOVER.device.rest_ui, DISCOVER.device.rest_openapi]] as const) {
    const r = await viewer().get(ui);
    assert.is(r.status, 200, `${ui}: ${r.text}`);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.ok(r.text.includes(`href="${openapi}"`), 'links the document');
    const rows = [...r.text.matchAll(/<tr><td>([A-Z]+)<\/td><td><code>([^<]+)<\/code>/g)].map((x) => `${x[1]} ${x[2]}`).sort();
    const table = CERT_V1_OPERATIONS.map((o) => `${o.method} ${(API + o.path).replace(/:([a-z]+)/g, '{$1}')}`).sort();
    assert.equal(rows, table);
    assert.not.match(r.text, /<script/i);
    const doc = await viewer().get(openapi);
    assert.is(doc.status, 200);
    assert.is(doc.json.info.version, DISCOVER.cert_v1.version);
  }
  assert.equal((await viewer().get(DISCOVER.device.rest_openapi)).json, (await viewer().get(DISCOVER.cert_v1.rest_openapi)).json);
  assertNotFound(await viewer().get('/config/web-ui/swagger-ui/?url=/config/rest/cert/v1'), '/config/rest/cert/v1', 'url of no document');
});

// --- v1beta -------------------------------------------------------------------------------------

t('v1beta answers as v1: same reads, writes seen under both, the same errors', async () => {
  for (const p of ['', '/certificates', `/certificates/${enc(CERT)}`, `/ca_certificates/${enc(CA)}/certificate`, '/keystores', '/keystores/SOFTWARE0/id', '/settings']) {
    const [a, b] = [await viewer().get(API + p), await viewer().get(BETA + p)];
    assert.is(b.status, 200, `${p}: ${b.text}`);
    assert.equal(b.json, a.json, p);
  }
  const alias = 'Über beta (CA)';
  assert.is((await admin().post(`${BETA}/ca_certificates`, { alias, certificate: m.ca2 })).status, 201);
  assert.is((await viewer().get(`${API}/ca_certificates/${enc(alias)}`)).json.data.certificate, m.ca2);
  assert.is((await admin().call('DELETE', `${BETA}/ca_certificates/${enc(alias)}`)).status, 200);
  assertNotFound(await viewer().get(`${API}/ca_certificates/${enc(alias)}`), `${API}/ca_certificates/${enc(alias)}`, 'deleted through beta');
  assertNotFound(await viewer().get(`${BETA}/nope`), `${BETA}/nope`, 'beta unknown path');
  assertError(await admin().call('POST', `${BETA}/ca_certificates`, { data: { alias: 'x', certificate: m.ca, zz: 1 } }), 400, 5, 'beta: strict by default');
  assertError(await viewer().call('DELETE', `${BETA}/ca_certificates/${enc(CA)}`), 403, 15, 'beta: roles as v1');
  for (const p of ['/config/rest/cert/v2', '/config/rest/cert/v1alpha', '/config/rest/cert/v2beta']) assertNotFound(await viewer().get(p), p, p);
});

// --- strict and keys beside data ---------------------------------------------------------------

t('unknown fields in data: refused by default and with strict=true, ignored with strict=false', async () => {
  const before = await probe.read();
  const body = (alias: string) => ({ data: { alias, certificate: m.ca2, comment: 'from a newer client', NotBefore: 0 } });
  for (const q of ['', '?strict=true']) {
    const r = await admin().call('POST', `${API}/ca_certificates${q}`, body('Strict (CA)'));
    assertError(r, 400, 5, q);
    assert.match(r.json.error.message, /^data\.(comment|NotBefore): unknown field$/);
  }
  assert.equal(await probe.read(), before, 'nothing added');
  const r = await admin().call('POST', `${API}/ca_certificates?strict=false`, body('Lax (CA)'));
  assert.is(r.status, 201, r.text);
  assert.equal(r.json.data, { alias: 'Lax (CA)', certificate: m.ca2 }, 'the unknown fields are not kept');
  assert.equal((await viewer().get(`${API}/ca_certificates/${enc('Lax (CA)')}`)).json.data, { alias: 'Lax (CA)', certificate: m.ca2 });
  assert.is((await admin().call('DELETE', `${API}/ca_certificates/${enc('Lax (CA)')}`)).status, 200);
});

t('strict=false still checks every known field and the required ones', async () => {
  const before = await probe.read();
  const cases: [string, unknown, RegExp][] = [
    ['/ca_certificates', { data: { certificate: m.ca, extra: 1 } }, /^data\.alias: /],
    ['/ca_certificates', { data: { alias: 7, certificate: m.ca, extra: 1 } }, /^data\.alias: /],
    ['/create_certificate', { data: { alias: 'Lax (create)', subject: 'CN=x', key_type: 'NIST-P256', extra: 1 } }, /^data\.key_type: /],
    ['/install_from_pkcs12', { data: { alias: 'Lax (p12)', pkcs12: m.p12, extra: 1 } }, /^data\.passphrase: /],
  ];
  for (const [path, body, msg] of cases) {
    const r = await admin().call('POST', `${API}${path}?strict=false`, body);
    assertError(r, 400, 5, path);
    assert.match(r.json.error.message, msg, path);
  }
  assert.equal(await probe.read(), before);
});

t('strict=false on every kind of write: PATCH, actions, settings', async () => {
  const e = `${API}/certificates/${enc(CERT)}`;
  assert.is((await admin().call('PATCH', `${e}?strict=false`, { data: { certificate: m.cert2, keystore: 'SOFTWARE0' } })).status, 200);
  assert.is((await viewer().get(e)).json.data.certificate, m.cert2, 'replaced');
  assert.is((await admin().call('PATCH', `${e}?strict=false`, { data: { certificate: m.cert, x: 1 } })).status, 200);
  const csr = await admin().call('POST', `${e}/get_csr?strict=false`, { data: { subject: 'CN=lax', challenge: 'x' } });
  assert.is(csr.status, 200, csr.text);
  assert.match(csr.json.data, /^-----BEGIN CERTIFICATE REQUEST-----/);
  assert.is((await admin().call('PATCH', `${API}/settings?strict=false`, { data: { keystore: 'SOFTWARE0', x: 1 } })).status, 200);
  const made = await admin().call('POST', `${API}/create_certificate?strict=false`, { data: { alias: 'Lax (create)', subject: 'CN=lax', ValidNotAfter: 1 } });
  assert.is(made.status, 200, made.text);
  const p12 = await admin().call('POST', `${API}/install_from_pkcs12?strict=false`, { data: { alias: 'Lax (p12)', pkcs12: m.p12, passphrase: PASSPHRASE, format: 'p12' } });
  assert.is(p12.status, 200, p12.text);
  for (const a of ['Lax (create)', 'Lax (p12)']) assert.is((await admin().call('DELETE', `${API}/certificates/${enc(a)}`)).status, 200);
});

t('strict takes only true or false', async () => {
  const before = await probe.read();
  for (const q of ['strict=1', 'strict=False', 'strict=', 'strict=false&strict=false', 'strict=yes']) {
    const r = await admin().call('POST', `${API}/ca_certificates?${q}`, { data: { alias: 'Strict? (CA)', certificate: m.ca2 } });
    assertError(r, 400, 5, q);
    assert.match(r.json.error.message, /^strict: /, q);
  }
  assert.equal(await probe.read(), before);
});

t('keys beside data are allowed (the device document puts no limit there), strict or not', async () => {
  for (const [q, extra] of [['', { strict: false }], ['', { ['n'.repeat(100_000)]: 1 }], ['?strict=true', { traceparent: 'x', options: {} }]] as const) {
    const alias = `Beside data ${q} ${Object.keys(extra)[0]!.slice(0, 8)}`;
    const r = await admin().call('POST', `${API}/ca_certificates${q}`, { data: { alias, certificate: m.ca2 }, ...extra });
    assert.is(r.status, 201, `${q} ${r.text.slice(0, 200)}`);
    assert.is((await admin().call('DELETE', `${API}/ca_certificates/${enc(alias)}`)).status, 200);
  }
});

// --- PUT (AXIS OS <= 11.10 clients) -------------------------------------------------------------

t('PUT on every set and action route: the same answer as PATCH/POST for the same bodies', async () => {
  const e = `${API}/certificates/${enc(CERT)}`;
  const c = `${API}/ca_certificates/${enc(CA)}`;
  const gone = `${API}/certificates/${enc('Nicht da')}`;
  const probes: [method: string, path: string, body: unknown][] = [
    ['PATCH', e, { data: {} }], ['PATCH', e, { data: { x: 1 } }], ['PATCH', e, { data: { certificate: 'garbage' } }],
    ['PATCH', e, { data: { certificate: m.otherCert } }], ['PATCH', gone, { data: { certificate: m.cert } }],
    ['PATCH', `${e}/certificate`, { data: 5 }], ['PATCH', `${c}/certificate`, { data: m.otherCert }],
    ['PATCH', c, { data: { certificate: m.ca + m.ca2 } }], ['PATCH', `${API}/settings`, { data: { keystore: 'NOPE0' } }],
    ['PATCH', `${API}/settings/keystore`, { data: 'NOPE0' }],
    ['POST', `${gone}/get_csr`, { data: {} }], ['POST', `${e}/get_csr`, { data: { subject: 'CN' } }],
    ['POST', `${API}/create_certificate`, { data: { alias: CA, subject: 'CN=x' } }],
    ['POST', `${API}/install_from_pkcs12`, { data: { alias: 'Put (p12)', pkcs12: m.p12, passphrase: 'wrong-one-123' } }],
  ];
  const before = await probe.read();
  for (const [method, path, body] of probes) {
    const [a, b] = [await admin().call(method, path, body), await admin().call('PUT', path, body)];
    assert.is(b.status, a.status, `PUT vs ${method} ${path} ${JSON.stringify(body).slice(0, 60)}: ${b.text}`);
    assert.equal(b.json, a.json, `PUT vs ${method} ${path}`);
  }
  assert.equal(await probe.read(), before, 'none of them changed anything');
  assert.ok(probes.length >= CERT_V1_OPERATIONS.filter((o) => o.put).length);
});

t('PUT changes what PATCH and actions change', async () => {
  const e = `${API}/certificates/${enc(CERT)}`;
  assert.is((await admin().call('PUT', e, { data: { certificate: m.cert2 } })).status, 200);
  assert.is((await viewer().get(e)).json.data.certificate, m.cert2);
  assert.is((await admin().call('PUT', `${e}/certificate`, { data: m.cert })).status, 200);
  assert.is((await viewer().get(e)).json.data.certificate, m.cert);
  assert.is((await admin().call('PUT', `${API}/ca_certificates/${enc(CA)}/certificate`, { data: m.ca2 })).status, 200);
  assert.is((await viewer().get(`${API}/ca_certificates/${enc(CA)}/certificate`)).json.data, m.ca2);
  assert.is((await admin().call('PUT', `${API}/settings/keystore`, { data: 'SOFTWARE0' })).status, 200);
  const made = await admin().call('PUT', `${API}/create_certificate`, { data: { alias: 'Put (create)', subject: 'CN=put' } });
  assert.equal([made.status, made.json], [200, { status: 'success' }]);
  const csr = await admin().call('PUT', `${API}/certificates/${enc('Put (create)')}/get_csr`, { data: {} });
  assert.match(csr.json.data, /^-----BEGIN CERTIFICATE REQUEST-----/);
  const p12 = await admin().call('PUT', `${BETA}/install_from_pkcs12`, { data: { alias: 'Put (p12)', pkcs12: m.p12, passphrase: PASSPHRASE } });
  assert.is(p12.status, 200, p12.text);
  for (const a of ['Put (create)', 'Put (p12)']) assert.is((await admin().call('DELETE', `${API}/certificates/${enc(a)}`)).status, 200);
});

t('PUT needs admin as PATCH does, and stays 405 where nothing is set (collections, reads)', async () => {
  const before = await probe.read();
  for (const role of ['viewer', 'operator'] as const) {
    assertError(await svc.as(role).call('PUT', `${API}/certificates/${enc(CERT)}`, { data: { certificate: m.cert2 } }), 403, 15, role);
    assertError(await svc.as(role).call('PUT', `${API}/create_certificate`, { data: { alias: 'Put (viewer)', subject: 'CN=x' } }), 403, 15, role);
  }
  for (const p of ['/certificates', '/ca_certificates', '/keystores', '/keystores/SOFTWARE0', '']) {
    const r = await admin().call('PUT', `${API}${p}`, { data: {} });
    assertError(r, 405, 16, `PUT ${p}`);
    assert.not.match(String(r.headers.allow), /PUT/);
  }
  assert.equal(await probe.read(), before);
});

// --- $all -----------------------------------------------------------------------------------------

t('GET /config/rest/$all: every API keyed "<id>.v<major>", cert.v1 as its root answers', async () => {
  const all = await viewer().get('/config/rest/$all');
  assert.is(all.status, 200, all.text);
  assert.equal(Object.keys(all.json), ['status', 'data']);
  assert.equal(Object.keys(all.json.data), ['cert.v1']);
  assert.equal(all.json.data['cert.v1'], (await viewer().get(API)).json.data);
  assert.is((await svc.anonymous().get('/config/rest/$all')).status, 401);
  assertError(await admin().call('POST', '/config/rest/$all', { data: {} }), 405, 16, 'POST $all');
});

// --- errors ---------------------------------------------------------------------------------------

t('every missing resource is 404, code 1, "Resource not found: <path as sent>"', async () => {
  const paths = [
    `${API}/certificate`, `${API}/certificates/${enc('Nicht da (x) ü')}`, `${API}/certificates/${enc(CERT)}/private_key`,
    `${API}/ca_certificates/${enc(CERT)}`, `${API}/keystores/NOPE0`, `${API}/keystores/SOFTWARE0/nope`,
    '/config/discover/apis/nope', '/config/discover/apis/cert/v1beta', '/config/rest/nope/v1', `${API}/certificates/${enc('a\nb')}?x=1`,
  ];
  for (const p of paths) assertNotFound(await viewer().get(p), p, p);
  assertNotFound(await admin().call('PATCH', `${API}/certificates/${enc('Nicht da')}`, { data: {} }), `${API}/certificates/${enc('Nicht da')}`, 'PATCH');
  assertNotFound(await admin().call('DELETE', `${API}/ca_certificates/${enc('Nicht da')}`), `${API}/ca_certificates/${enc('Nicht da')}`, 'DELETE');
  assertNotFound(await admin().call('POST', `${API}/certificates/${enc('Nicht da')}/get_csr`, { data: {} }), `${API}/certificates/${enc('Nicht da')}/get_csr`, 'get_csr');
  // A long path is cut, so that the answer stays short.
  const long = `${API}/certificates/${'x'.repeat(2000)}`;
  const r = await viewer().get(long);
  assert.is(r.status, 404);
  assert.ok(r.json.error.message.length < 300, r.json.error.message.length);
  assert.ok(r.json.error.message.startsWith(NOT_FOUND.messagePrefix));
});

t('414 is expressible in the envelope: the error body the API answers with, and listed on every operation', async () => {
  assert.equal(errorEnvelope(new HttpError(414, 25, 'URI too long')), { status: 'error', error: { code: 25, message: 'URI too long' } });
  const doc = (await viewer().get(DISCOVER.cert_v1.rest_openapi)).json;
  for (const op of CERT_V1_OPERATIONS) {
    const o = doc.paths[(API + op.path).replace(/:([a-z]+)/g, '{$1}')][op.method.toLowerCase()];
    assert.equal(o.responses['414'].content['application/json'].schema.properties.status, { enum: ['error'] }, `${op.method} ${op.path}`);
  }
});

t.run();
