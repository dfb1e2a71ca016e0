// The bad-input matrix of cert.v1: every refusal has its HTTP status and numeric code, a
// one-line message that names the field, and leaves the store as it was (both listings,
// settings and keystored's key list). Oversize bodies are refused before they are read to
// the end; wrong methods get 405. No secret of a request (private key, PKCS#12 passphrase)
// shows in any answer, in either daemon's output, or in clear in the data folders.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reply } from './client';
import { makeMaterial, StateProbe, PASSPHRASE, type Material } from './material';
import { API, PASSWORDS, startService, type Service } from './service';

const t = suite('cert.v1 bad input');
let svc: Service;
let probe: StateProbe;
// Made at load: the case table below refers to it.
const m: Material = makeMaterial();
const enc = encodeURIComponent;
const CERT = 'Vorhanden (Zertifikat) ü';
const CA = 'Vorhanden (CA) ü';
const LIMIT = 1024 * 1024;

t.before(async () => {
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

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A refusal: status, code, envelope, one line naming `field` (schema path or domain field). */
function assertRefused(r: Reply, status: number, code: number, field: string | RegExp | undefined, label: string): void {
  assert.is(r.status, status, `${label}: ${r.status} ${r.text}`);
  assert.equal(Object.keys(r.json ?? {}).sort(), ['error', 'status'], `${label}: envelope ${r.text}`);
  assert.is(r.json.status, 'error');
  assert.is(r.json.error.code, code, `${label}: ${r.text}`);
  const msg = r.json.error.message as string;
  assert.type(msg, 'string');
  assert.ok(msg.length > 0 && msg.length <= 512 && !/[\r\n]/.test(msg), `${label}: one short line: ${JSON.stringify(msg).slice(0, 300)}`);
  if (field instanceof RegExp) assert.match(msg, field, label);
  else if (field !== undefined) assert.match(msg, new RegExp(`^(Validation error: )?${escape(field)}(\\.|:)`), `${label}: names ${field}: ${msg}`);
}

interface Case {
  name: string;
  method?: string;
  path: string;
  /** An object is sent as JSON; a string as it is. */
  body?: () => unknown;
  status: number;
  code: number;
  field?: string | RegExp;
}

const P = (path: string) => `${API}${path}`;
const cert = (alias: string) => P(`/certificates/${enc(alias)}`);
const ca = (alias: string) => P(`/ca_certificates/${enc(alias)}`);
const data = (d: unknown) => () => ({ data: d });
const upload = (over: Record<string, unknown>) => data({ alias: 'Neu (upload)', certificate: m.cert, private_key: m.key, ...over });
const addCa = (over: Record<string, unknown>) => data({ alias: 'Neu (CA)', certificate: m.ca, ...over });
const create = (over: Record<string, unknown>) => data({ alias: 'Neu (create)', subject: 'CN=bad input', ...over });
const p12 = (over: Record<string, unknown>) => data({ alias: 'Neu (p12)', pkcs12: m.p12, passphrase: PASSPHRASE, ...over });
/** A PEM certificate whose base64 body is broken in the middle. */
const badBase64 = () => m.cert.replace(/\n([A-Za-z0-9+/]{10})[A-Za-z0-9+/]{4}/, '\n$1!@#$');
const truncated = () => m.cert.split('\n').slice(0, 4).join('\n') + '\n-----END CERTIFICATE-----\n';
const junkB64 = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37 + 11) & 0xff)).toString('base64');

const CASES: Case[] = [
  // The body as a whole.
  { name: 'malformed JSON', path: P('/ca_certificates'), body: () => '{"data": {"alias": "x",', status: 400, code: 5, field: 'body' },
  { name: 'empty body', path: P('/ca_certificates'), body: () => '', status: 400, code: 5, field: 'body' },
  { name: 'JSON with a byte order mark', path: P('/ca_certificates'), body: () => '\ufeff{"data":{}}', status: 400, code: 5, field: 'body' },
  { name: 'JSON array', path: P('/ca_certificates'), body: () => '[]', status: 400, code: 5, field: 'body' },
  { name: 'JSON string', path: P('/create_certificate'), body: () => '"data"', status: 400, code: 5, field: 'body' },
  { name: 'JSON number', path: P('/install_from_pkcs12'), body: () => '42', status: 400, code: 5, field: 'body' },
  { name: 'JSON null', path: P('/certificates'), body: () => 'null', status: 400, code: 5, field: 'body' },
  { name: 'missing data', path: P('/ca_certificates'), body: () => ({}), status: 400, code: 5, field: 'data' },
  { name: 'data not an object', path: P('/certificates'), body: () => ({ data: 'x' }), status: 400, code: 5, field: 'data' },
  { name: 'settings value not a string', method: 'PATCH', path: P('/settings/keystore'), body: data(5), status: 400, code: 5, field: 'data' },
  { name: 'unknown field in data (add CA)', path: P('/ca_certificates'), body: addCa({ private_key: m.key }), status: 400, code: 5, field: 'data.private_key' },
  { name: 'unknown field in data (create)', path: P('/create_certificate'), body: create({ NotBefore: 0 }), status: 400, code: 5, field: 'data.NotBefore' },
  { name: 'unknown field in data (PATCH entry)', method: 'PATCH', path: cert(CERT), body: data({ certificate: m.cert2, keystore: 'SOFTWARE0' }), status: 400, code: 5, field: 'data.keystore' },
  { name: 'unknown field named by a PEM private key', path: P('/ca_certificates'), body: addCa({ [m.key]: 1 }), status: 400, code: 5, field: /^data: unknown field$/ },
  { name: 'strict neither true nor false', path: `${P('/ca_certificates')}?strict=no`, body: addCa({}), status: 400, code: 5, field: 'strict' },
  { name: 'unknown field in data with a 100 000-character name', path: P('/ca_certificates'), body: addCa({ ['n'.repeat(100_000)]: 1 }), status: 400, code: 5, field: /^data: unknown field$/ },
  { name: '__proto__ in data', path: P('/ca_certificates'), body: () => `{"data":{"alias":"proto","certificate":${JSON.stringify(m.ca)},"__proto__":{"x":1}}}`, status: 400, code: 5, field: 'data.__proto__' },
  // Aliases.
  { name: 'empty alias (CA)', path: P('/ca_certificates'), body: addCa({ alias: '' }), status: 400, code: 5, field: 'data.alias' },
  { name: 'empty alias (upload)', path: P('/certificates'), body: upload({ alias: '' }), status: 400, code: 5, field: 'data.alias' },
  { name: 'empty alias (create)', path: P('/create_certificate'), body: create({ alias: '' }), status: 400, code: 5, field: 'data.alias' },
  { name: 'empty alias (PKCS#12)', path: P('/install_from_pkcs12'), body: p12({ alias: '' }), status: 400, code: 5, field: 'data.alias' },
  { name: '129-character alias', path: P('/ca_certificates'), body: addCa({ alias: 'a'.repeat(129) }), status: 400, code: 5, field: 'data.alias' },
  { name: '129-character non-ASCII alias', path: P('/create_certificate'), body: create({ alias: 'ü (x) '.repeat(22).slice(0, 129) }), status: 400, code: 5, field: 'data.alias' },
  { name: 'missing alias', path: P('/certificates'), body: data({ certificate: m.cert, private_key: m.key }), status: 400, code: 5, field: 'data.alias' },
  { name: 'alias a number', path: P('/ca_certificates'), body: addCa({ alias: 7 }), status: 400, code: 5, field: 'data.alias' },
  { name: 'alias null', path: P('/create_certificate'), body: create({ alias: null }), status: 400, code: 5, field: 'data.alias' },
  { name: 'duplicate alias: CA collection', path: P('/ca_certificates'), body: addCa({ alias: CA }), status: 409, code: 2, field: 'alias' },
  { name: 'duplicate alias: certificate upload', path: P('/certificates'), body: upload({ alias: CERT }), status: 409, code: 2, field: 'alias' },
  { name: 'duplicate alias: create_certificate', path: P('/create_certificate'), body: create({ alias: CERT }), status: 409, code: 2, field: 'alias' },
  { name: 'duplicate alias: install_from_pkcs12', path: P('/install_from_pkcs12'), body: p12({ alias: CERT }), status: 409, code: 2, field: 'alias' },
  { name: 'duplicate alias across collections: CA alias for a certificate', path: P('/certificates'), body: upload({ alias: CA }), status: 409, code: 2, field: 'alias' },
  { name: 'duplicate alias across collections: certificate alias for a CA', path: P('/ca_certificates'), body: addCa({ alias: CERT }), status: 409, code: 2, field: 'alias' },
  { name: 'duplicate alias across collections: create over a CA', path: P('/create_certificate'), body: create({ alias: CA }), status: 409, code: 2, field: 'alias' },
  { name: 'duplicate alias across collections: PKCS#12 over a CA', path: P('/install_from_pkcs12'), body: p12({ alias: CA }), status: 409, code: 2, field: 'alias' },
  // Certificates.
  { name: 'garbage certificate (upload)', path: P('/certificates'), body: upload({ certificate: 'not a certificate' }), status: 400, code: 6, field: 'certificate' },
  { name: 'garbage certificate (CA)', path: P('/ca_certificates'), body: addCa({ certificate: 'not a certificate' }), status: 400, code: 6, field: 'certificate' },
  { name: 'empty certificate', path: P('/ca_certificates'), body: addCa({ certificate: '' }), status: 400, code: 5, field: 'data.certificate' },
  { name: 'a private key as the certificate', path: P('/ca_certificates'), body: addCa({ certificate: m.otherKey }), status: 400, code: 6, field: 'certificate' },
  { name: 'truncated PEM certificate (upload)', path: P('/certificates'), body: () => upload({ certificate: truncated() })(), status: 400, code: 6, field: 'certificate' },
  { name: 'truncated PEM certificate (CA)', path: P('/ca_certificates'), body: () => addCa({ certificate: truncated() })(), status: 400, code: 6, field: 'certificate' },
  { name: 'PEM certificate with a bad base64 body', path: P('/ca_certificates'), body: () => addCa({ certificate: badBase64() })(), status: 400, code: 6, field: 'certificate' },
  { name: 'PATCH certificate: garbage', method: 'PATCH', path: cert(CERT), body: data({ certificate: 'garbage' }), status: 400, code: 6, field: 'certificate' },
  { name: 'PATCH certificate property: bad base64', method: 'PATCH', path: `${cert(CERT)}/certificate`, body: () => ({ data: badBase64() }), status: 400, code: 6, field: 'certificate' },
  { name: 'PATCH certificate: another key pair', method: 'PATCH', path: cert(CERT), body: data({ certificate: m.otherCert }), status: 400, code: 8, field: 'certificate' },
  { name: 'PATCH CA: another public key', method: 'PATCH', path: ca(CA), body: data({ certificate: m.otherCert }), status: 400, code: 8, field: 'certificate' },
  { name: 'PATCH CA: two certificates', method: 'PATCH', path: ca(CA), body: data({ certificate: m.ca2 + m.otherCert }), status: 400, code: 5, field: 'certificate' },
  { name: 'add CA: two certificates', path: P('/ca_certificates'), body: addCa({ certificate: m.ca + m.ca2 }), status: 400, code: 5, field: 'certificate' },
  // Private keys.
  { name: 'private key of another certificate', path: P('/certificates'), body: upload({ private_key: m.otherKey }), status: 400, code: 8, field: 'private_key' },
  { name: 'certificate of another private key', path: P('/certificates'), body: upload({ certificate: m.otherCert }), status: 400, code: 8, field: 'private_key' },
  { name: 'bad private key PEM', path: P('/certificates'), body: upload({ private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), status: 400, code: 7, field: 'private_key' },
  { name: 'private key PEM with a bad base64 body', path: P('/certificates'), body: () => upload({ private_key: m.key.replace(/\n([A-Za-z0-9+/]{8})[A-Za-z0-9+/]{3}/, '\n$1*!*') })(), status: 400, code: 7, field: 'private_key' },
  { name: 'garbage private key', path: P('/certificates'), body: upload({ private_key: 'hunter2' }), status: 400, code: 7, field: 'private_key' },
  { name: 'a certificate as the private key', path: P('/certificates'), body: upload({ private_key: m.cert }), status: 400, code: 7, field: 'private_key' },
  { name: 'encrypted private key (no passphrase field)', path: P('/certificates'), body: upload({ private_key: m.encryptedKey }), status: 400, code: 7, field: 'private_key' },
  { name: 'passphrase field on upload', path: P('/certificates'), body: upload({ private_key: m.encryptedKey, passphrase: PASSPHRASE }), status: 400, code: 5, field: 'data.passphrase' },
  // PKCS#12.
  { name: 'PKCS#12 wrong passphrase', path: P('/install_from_pkcs12'), body: p12({ passphrase: 'Wrong-Battery-4410' }), status: 400, code: 9, field: 'passphrase' },
  { name: 'PKCS#12 empty passphrase', path: P('/install_from_pkcs12'), body: p12({ passphrase: '' }), status: 400, code: 9, field: 'passphrase' },
  { name: 'PKCS#12 garbage base64', path: P('/install_from_pkcs12'), body: p12({ pkcs12: junkB64 }), status: 400, code: 10, field: 'pkcs12' },
  { name: 'PKCS#12 short base64', path: P('/install_from_pkcs12'), body: p12({ pkcs12: 'AAAA' }), status: 400, code: 10, field: 'pkcs12' },
  { name: 'PKCS#12: a PEM certificate instead', path: P('/install_from_pkcs12'), body: () => p12({ pkcs12: Buffer.from(m.cert).toString('base64') })(), status: 400, code: 10, field: 'pkcs12' },
  { name: 'PKCS#12: a DER certificate instead', path: P('/install_from_pkcs12'), body: () => p12({ pkcs12: m.cert.replace(/-----[A-Z ]+-----|\s/g, '') })(), status: 400, code: 10, field: 'pkcs12' },
  { name: 'PKCS#12 not base64', path: P('/install_from_pkcs12'), body: p12({ pkcs12: '%%% not base64 %%%' }), status: 400, code: 5, field: 'data.pkcs12' },
  { name: 'PKCS#12 missing passphrase', path: P('/install_from_pkcs12'), body: data({ alias: 'Neu (p12)', pkcs12: 'AAAA' }), status: 400, code: 5, field: 'data.passphrase' },
  // Keystores and key types.
  { name: 'unknown keystore (upload)', path: P('/certificates'), body: upload({ keystore: 'NOPE0' }), status: 400, code: 11, field: 'keystore' },
  { name: 'unknown keystore (create)', path: P('/create_certificate'), body: create({ keystore: 'NOPE0' }), status: 400, code: 11, field: 'keystore' },
  { name: 'unknown keystore (PKCS#12)', path: P('/install_from_pkcs12'), body: p12({ keystore: 'NOPE0' }), status: 400, code: 11, field: 'keystore' },
  { name: 'unknown keystore (settings)', method: 'PATCH', path: P('/settings'), body: data({ keystore: 'NOPE0' }), status: 400, code: 11, field: 'keystore' },
  { name: 'unknown keystore (settings/keystore)', method: 'PATCH', path: P('/settings/keystore'), body: data('NOPE0'), status: 400, code: 11, field: 'keystore' },
  { name: 'keystore empty string', path: P('/create_certificate'), body: create({ keystore: '' }), status: 400, code: 5, field: 'data.keystore' },
  { name: 'RSA-1024 on SOFTWARE0 (create)', path: P('/create_certificate'), body: create({ key_type: 'RSA-1024', keystore: 'SOFTWARE0' }), status: 400, code: 5, field: /^Validation error: key_type: / },
  { name: 'RSA-1024 on SOFTWARE0 (upload)', path: P('/certificates'), body: () => upload({ certificate: m.rsa1024Cert, private_key: m.rsa1024Key })(), status: 400, code: 5, field: /^Validation error: (keystore|private_key): .*RSA-1024/ },
  { name: 'key type not in the enum (NIST-P256)', path: P('/create_certificate'), body: create({ key_type: 'NIST-P256' }), status: 400, code: 5, field: 'data.key_type' },
  // Subjects, SANs, validity.
  { name: 'bad subject', path: P('/create_certificate'), body: create({ subject: 'this is no DN' }), status: 400, code: 5, field: 'subject' },
  { name: 'blank subject', path: P('/create_certificate'), body: create({ subject: '   ' }), status: 400, code: 5, field: 'subject' },
  { name: 'empty subject', path: P('/create_certificate'), body: create({ subject: '' }), status: 400, code: 5, field: 'data.subject' },
  { name: 'missing subject', path: P('/create_certificate'), body: data({ alias: 'Neu (create)' }), status: 400, code: 5, field: 'data.subject' },
  { name: 'bad subject (get_csr)', path: `${cert(CERT)}/get_csr`, body: data({ subject: 'CN' }), status: 400, code: 5, field: 'subject' },
  ...['URI:x', 'DNS:', 'IP:999.1.1.1', 'email:a@b.example'].flatMap((san): Case[] => [
    { name: `bad SAN ${san} (create)`, path: P('/create_certificate'), body: create({ subject_alt_names: ['DNS:ok.example', san] }), status: 400, code: 5, field: /^(data\.)?subject_alt_names[.:]/ },
    { name: `bad SAN ${san} (get_csr)`, path: `${cert(CERT)}/get_csr`, body: data({ subject_alt_names: [san] }), status: 400, code: 5, field: /^(data\.)?subject_alt_names[.:]/ },
  ]),
  { name: 'SANs not a list', path: P('/create_certificate'), body: create({ subject_alt_names: 'DNS:a.example' }), status: 400, code: 5, field: 'data.subject_alt_names' },
  { name: 'valid_to before valid_from', path: P('/create_certificate'), body: create({ valid_from: 1_900_000_000, valid_to: 1_800_000_000 }), status: 400, code: 5, field: 'valid_to' },
  { name: 'valid_to equal to valid_from', path: P('/create_certificate'), body: create({ valid_from: 1_800_000_000, valid_to: 1_800_000_000 }), status: 400, code: 5, field: 'valid_to' },
  { name: 'valid_from negative', path: P('/create_certificate'), body: create({ valid_from: -1 }), status: 400, code: 5, field: 'data.valid_from' },
  { name: 'valid_to not an integer', path: P('/create_certificate'), body: create({ valid_to: 1_900_000_000.5 }), status: 400, code: 5, field: 'data.valid_to' },
  { name: 'valid_to a date string', path: P('/create_certificate'), body: create({ valid_to: '2030-01-01T00:00:00Z' }), status: 400, code: 5, field: 'data.valid_to' },
  // Unknown aliases and resources.
  { name: 'PATCH unknown certificate', method: 'PATCH', path: cert('Nicht da (x) ü'), body: data({ certificate: m.cert }), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da (x) ü'))) },
  { name: 'PATCH unknown certificate, empty data', method: 'PATCH', path: cert('Nicht da (x) ü'), body: data({}), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da'))) },
  { name: 'PATCH unknown certificate property', method: 'PATCH', path: `${cert('Nicht da')}/certificate`, body: data(m.cert), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da'))) },
  { name: 'PATCH unknown CA', method: 'PATCH', path: ca('Nicht da (CA)'), body: data({ certificate: m.ca }), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da (CA)'))) },
  { name: 'PATCH a CA through certificates', method: 'PATCH', path: cert(CA), body: data({ certificate: m.ca2 }), status: 404, code: 1 },
  { name: 'DELETE unknown certificate', method: 'DELETE', path: cert('Nicht da (x) ü'), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da'))) },
  { name: 'DELETE a certificate through ca_certificates', method: 'DELETE', path: ca(CERT), status: 404, code: 1 },
  { name: 'get_csr of an unknown alias', path: `${cert('Nicht da')}/get_csr`, body: data({}), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da'))) },
  { name: 'GET unknown alias, percent-encoded', method: 'GET', path: cert('Nicht da (x) ü/100%'), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da (x) ü/100%'))) },
  { name: 'GET unknown CA alias, percent-encoded', method: 'GET', path: ca('Nicht da (CA) ü'), status: 404, code: 1, field: new RegExp(escape(enc('Nicht da (CA) ü'))) },
  { name: 'GET a CA through certificates', method: 'GET', path: cert(CA), status: 404, code: 1 },
  { name: 'GET unknown property', method: 'GET', path: `${cert(CERT)}/private_key`, status: 404, code: 1, field: /private_key/ },
  { name: 'GET unknown keystore', method: 'GET', path: P('/keystores/NOPE0'), status: 404, code: 1 },
  { name: 'GET unknown path', method: 'GET', path: P('/certificate'), status: 404, code: 1 },
  // Wrong methods.
  { name: 'PUT on a collection', method: 'PUT', path: P('/certificates'), body: upload({}), status: 405, code: 16 },
  { name: 'DELETE on a collection', method: 'DELETE', path: P('/ca_certificates'), status: 405, code: 16 },
  { name: 'POST on keystores', method: 'POST', path: P('/keystores'), body: data({ id: 'X' }), status: 405, code: 16 },
  { name: 'GET on an action', method: 'GET', path: P('/install_from_pkcs12'), status: 405, code: 16 },
];

for (const c of CASES) {
  t(`${c.name} -> ${c.status}/${c.code}`, async () => {
    const before = await probe.read();
    const r = await svc.as('admin').call(c.method ?? 'POST', c.path, c.body?.());
    assertRefused(r, c.status, c.code, c.field, c.name);
    if (c.status === 405) assert.ok(r.headers.allow, `${c.name}: Allow`);
    assert.equal(await probe.read(), before, `${c.name}: store unchanged`);
  });
}

t('aliases of 128 characters, non-ASCII with spaces and parentheses, and with URL characters work and are found percent-encoded', async () => {
  const admin = svc.as('admin');
  const aliases = {
    ascii128: 'A'.repeat(128),
    nonAscii128: 'Kamera Ü (証明書 802.1X) ü'.repeat(6).slice(0, 128),
    astral128: '🔐'.repeat(128),
    url: '100% sicher? a/b #1 (+&=;)',
  };
  assert.is([...aliases.nonAscii128].length, 128);
  assert.is([...aliases.astral128].length, 128);
  let i = 0;
  for (const [name, alias] of Object.entries(aliases)) {
    // Alternately a certificate with its key and a CA certificate.
    const asCa = i++ % 2 === 1;
    const r = asCa
      ? await admin.post(P('/ca_certificates'), { alias, certificate: m.ca })
      : await admin.post(P('/create_certificate'), { alias, subject: 'CN=alias test' });
    assert.is(r.status, asCa ? 201 : 200, `${name}: ${r.text}`);
    const url = asCa ? ca(alias) : cert(alias);
    const got = await admin.get(url);
    assert.is(got.status, 200, `${name}: GET ${url}: ${got.text}`);
    assert.is(got.json.data.alias, alias, name);
    assert.is((await admin.get(`${url}/alias`)).json.data, alias, `${name}: property`);
    const list = (await admin.get(P(asCa ? '/ca_certificates' : '/certificates'))).json.data as { alias: string }[];
    assert.ok(list.some((e) => e.alias === alias), `${name}: listed`);
    assert.is((await admin.del(url)).status, 200, `${name}: DELETE`);
    assert.is((await admin.get(url)).status, 404, `${name}: gone`);
  }
});

// --- oversize bodies -------------------------------------------------------------------------

interface RawAnswer {
  status: number;
  body: string;
  /** Bytes of the body written when the answer arrived. */
  sent: number;
}

/**
 * POSTs as admin (Basic) over a plain socket, as a client that does not wait: with a
 * declared Content-Length (the body sent or not) or chunked, writing until the answer comes
 * (never ending the body). A reset that loses the answer fails.
 */
function oversize(mode: 'headers-only' | 'content-length' | 'chunked', path: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const s = connect(svc.port, '127.0.0.1');
    const auth = `Basic ${Buffer.from(`admin:${PASSWORDS.admin}`).toString('base64')}`;
    const framing = mode === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${4 * LIMIT}`;
    let got = Buffer.alloc(0);
    let sent = 0;
    let answeredAt = -1;
    const timer = setTimeout(() => finish(new Error(`${mode}: no full answer after ${sent} bytes sent: ${JSON.stringify(got.toString())}`)), 10_000);
    const finish = (e?: Error) => {
      clearTimeout(timer);
      s.destroy();
      if (e) return reject(e);
      const text = got.toString('utf8');
      const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)![1]), body, sent: answeredAt });
    };
    s.on('data', (d: Buffer) => {
      if (answeredAt < 0) answeredAt = sent;
      got = Buffer.concat([got, d]);
      const text = got.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text);
      if (split >= 0 && length && Buffer.byteLength(text.slice(split + 4)) >= Number(length[1])) finish();
    });
    s.on('error', (e) => finish(new Error(`${mode}: ${e.message} after ${sent} bytes, answer so far ${JSON.stringify(got.toString())}`)));
    s.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`);
    if (mode === 'headers-only') return;
    // Invalid JSON throughout: a 413 (not a 400) shows nothing was parsed.
    const data = Buffer.alloc(64 * 1024, '{');
    const piece = mode === 'chunked' ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
    const pump = () => {
      while (answeredAt < 0 && !s.destroyed && sent < 4 * LIMIT) {
        sent += data.length;
        if (!s.write(piece)) {
          s.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

const TOO_LARGE = { status: 'error', error: { code: 13, message: `body over ${LIMIT} bytes` } };

t('oversize body with Content-Length: 413/13 before the body is sent', async () => {
  const before = await probe.read();
  for (const path of [P('/certificates'), P('/install_from_pkcs12'), P('/ca_certificates')]) {
    const r = await oversize('headers-only', path);
    assert.is(r.status, 413, r.body);
    assert.equal(JSON.parse(r.body), TOO_LARGE);
    assert.is(r.sent, 0);
  }
  assert.equal(await probe.read(), before);
});

t('oversize body with Content-Length, sent without waiting: the client gets the 413, never a reset', async () => {
  const before = await probe.read();
  for (let i = 0; i < 8; i++) {
    const r = await oversize('content-length', P('/install_from_pkcs12'));
    assert.is(r.status, 413, r.body);
    assert.equal(JSON.parse(r.body), TOO_LARGE);
  }
  assert.equal(await probe.read(), before);
});

t('oversize chunked body without Content-Length: 413/13 as soon as it passes the limit, unparsed, never a reset', async () => {
  const before = await probe.read();
  for (let i = 0; i < 8; i++) {
    const r = await oversize('chunked', P('/install_from_pkcs12'));
    assert.is(r.status, 413, r.body);
    assert.equal(JSON.parse(r.body), TOO_LARGE);
    // The body never ends (no last chunk): the answer came while it was still arriving.
    assert.ok(r.sent > LIMIT, `answered after ${r.sent} bytes written`);
  }
  assert.equal(await probe.read(), before);
  // The server is fine afterwards.
  assert.is((await svc.as('viewer').get(P('/keystores'))).status, 200);
});

t('a body of exactly the limit is read; one byte more is 413', async () => {
  const admin = svc.as('admin');
  const json = JSON.stringify({ data: { alias: 'Genau am Limit', certificate: m.ca2 } });
  const exact = json + ' '.repeat(LIMIT - Buffer.byteLength(json));
  assert.is(Buffer.byteLength(exact), LIMIT);
  const before = await probe.read();
  const over = await admin.call('POST', P('/ca_certificates'), `${exact} `);
  assertRefused(over, 413, 13, undefined, 'limit + 1');
  assert.equal(await probe.read(), before);
  const r = await admin.call('POST', P('/ca_certificates'), exact);
  assert.is(r.status, 201, r.text);
  assert.is((await admin.del(ca('Genau am Limit'))).status, 200);
});

// --- secrets ---------------------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    const s = statSync(p);
    return s.isDirectory() ? filesUnder(p) : s.isFile() ? [p] : [];
  });
}

t('secrets of requests never show in answers, daemon output or data files in clear, also on failure', async () => {
  const WRONG = 'Wrong-Battery-4410';
  const admin = svc.as('admin');
  const answers: Reply[] = [];
  const send = async (c: ReturnType<typeof svc.as> | ReturnType<typeof svc.anonymous>, method: string, path: string, body: unknown) => {
    answers.push(await c.call(method, path, body));
  };
  const key = m.key;
  // Failures of every kind, carrying the key or a passphrase.
  await send(svc.anonymous(), 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.cert, private_key: key } });
  await send(svc.as('operator'), 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.cert, private_key: key } });
  await send(admin, 'POST', P('/certificates'), `{"data":{"alias":"geheim 1","private_key":${JSON.stringify(key)}`);
  await send(admin, 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.cert, private_key: key, passphrase: PASSPHRASE } });
  await send(admin, 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.otherCert, private_key: key } });
  await send(admin, 'POST', P('/certificates'), { data: { alias: CERT, certificate: m.cert, private_key: key } });
  await send(admin, 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.cert, private_key: key, keystore: 'NOPE0' } });
  await send(admin, 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: key, private_key: key } });
  await send(admin, 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.cert, private_key: key.replace(/\n(.{20})/, '\n$1!') } });
  await send(admin, 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.cert, private_key: m.encryptedKey } });
  await send(admin, 'POST', P('/ca_certificates'), { data: { alias: 'geheim 2', certificate: m.ca, [key]: 1 } });
  await send(admin, 'PATCH', cert(CERT), { data: { certificate: key } });
  await send(admin, 'PATCH', P('/settings/keystore'), { data: key });
  await send(admin, 'POST', P('/install_from_pkcs12'), { data: { alias: 'geheim 3', pkcs12: m.p12, passphrase: WRONG } });
  await send(admin, 'POST', P('/install_from_pkcs12'), { data: { alias: 'geheim 3', pkcs12: junkB64, passphrase: PASSPHRASE } });
  await send(admin, 'POST', P('/install_from_pkcs12'), { data: { alias: 'geheim 3', pkcs12: m.p12, passphrase: PASSPHRASE, keystore: 'NOPE0' } });
  await send(admin, 'POST', P('/install_from_pkcs12'), { data: { alias: CA, pkcs12: m.p12, passphrase: PASSPHRASE } });
  await send(admin, 'POST', P('/install_from_pkcs12'), { data: { alias: 'geheim 3', pkcs12: m.p12, passphrase: PASSPHRASE, extra: PASSPHRASE } });
  await send(admin, 'POST', P('/install_from_pkcs12'), { data: { alias: 'geheim 3', pkcs12: m.p12, passphrase: PASSPHRASE.repeat(100) } });
  assert.ok(answers.every((r) => r.status >= 400), answers.map((r) => r.status).join(','));
  // And successes, then every read.
  await send(admin, 'POST', P('/certificates'), { data: { alias: 'geheim 1', certificate: m.cert, private_key: key } });
  await send(admin, 'POST', P('/install_from_pkcs12'), { data: { alias: 'geheim 3', pkcs12: m.p12, passphrase: PASSPHRASE } });
  assert.equal(answers.slice(-2).map((r) => r.status), [201, 200]);
  for (const path of ['', '/certificates', `/certificates/${enc('geheim 1')}`, `/certificates/${enc('geheim 3')}`, `/certificates/${enc('geheim 3')}/certificate`]) {
    await send(admin, 'GET', P(path), undefined);
  }
  await send(admin, 'POST', `${cert('geheim 3')}/get_csr`, { data: {} });

  const keyLines = key.split('\n').filter((l) => /^[A-Za-z0-9+/=]{16,}$/.test(l));
  const secrets = [PASSPHRASE, WRONG, m.keyBody, m.keyScalar, Buffer.from(m.keyScalar, 'base64url').toString('base64'), Buffer.from(m.keyScalar, 'base64url').toString('hex'), ...keyLines];
  const texts = { answers: answers.map((r) => r.text).join('\n'), logs: svc.logs() };
  for (const [where, text] of Object.entries(texts)) {
    for (const s of secrets) assert.not.ok(text.includes(s), `${where} contain a secret (${s.slice(0, 12)}…)`);
    assert.not.match(text, /PRIVATE KEY/, where);
  }
  // At rest: nothing in clear under either daemon's folders (keys are sealed).
  const scalar = Buffer.from(m.keyScalar, 'base64url');
  const pkcs8 = Buffer.from(m.keyBody, 'base64');
  for (const f of filesUnder(svc.dir)) {
    const bytes = readFileSync(f);
    const text = bytes.toString('latin1');
    assert.not.ok(bytes.includes(scalar), `${f} holds the private scalar`);
    assert.not.ok(bytes.includes(pkcs8), `${f} holds the key DER`);
    for (const s of secrets) assert.not.ok(text.includes(s), `${f} holds a secret (${s.slice(0, 12)}…)`);
  }
});

t.run();
