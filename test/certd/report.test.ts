// GET /certd/v1/report against the real daemons, with openssl making a certificate for
// each finding: each finding appears on the entry that has it and on no other, and a
// clean certificate (CA-issued, EC, SHA-256, a year, SANs covering the device) has none.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OpensslCerts } from './openssl-certs';
import { API, startService, type Service } from './service';

const t = suite('report');
let svc: Service;
const o = new OpensslCerts();
const read = (file: string) => o.read(file);
t.before(async () => {
  svc = await startService({ certd: { device_names: ['cam1.local', '192.0.2.10'] } });
});
t.after(async () => {
  await svc?.stop();
  o.remove();
});

async function addCertificate(alias: string, name: string): Promise<void> {
  const r = await svc.as('admin').post(`${API}/certificates`, { alias, certificate: read(`${name}.pem`), private_key: read(`${name}.key`) });
  assert.is(r.status, 201, r.text);
}
async function addCa(alias: string, name: string): Promise<void> {
  const r = await svc.as('admin').post(`${API}/ca_certificates`, { alias, certificate: read(`${name}.pem`) });
  assert.is(r.status, 201, r.text);
}
async function bind(name: string, data: unknown): Promise<void> {
  const r = await svc.as('admin').call('PUT', `/certd/v1/bindings/${name}`, { data });
  assert.is(r.status, 200, r.text);
}

type Item = { id: string; alias: string; kind: string; days_left: number; not_after: string; findings: { code: string; message: string }[] };
async function report(): Promise<Map<string, Item>> {
  const r = await svc.as('viewer').get('/certd/v1/report');
  assert.is(r.status, 200, r.text);
  return new Map((r.json.data as Item[]).map((i) => [i.alias, i]));
}
const codes = (items: Map<string, Item>, alias: string) => items.get(alias)!.findings.map((f) => f.code).sort();
/** Which aliases carry `code`. */
const carriers = (items: Map<string, Item>, code: string) => [...items.values()].filter((i) => i.findings.some((f) => f.code === code)).map((i) => i.alias).sort();

t('each finding on the entry that has it, none on a clean one', async () => {
  o.ca('root', 'report root CA');
  o.ca('stranger', 'report stranger CA');
  o.ca('twin', 'report root CA'); // the root's name, another key
  o.ca('spare', 'report spare CA');
  o.ca('eapca', 'report 802.1X CA');
  o.leaf('clean', 'root', 365);
  o.leaf('soon7', 'root', 5);
  o.leaf('soon30', 'root', 20);
  o.leaf('orphan', 'stranger', 365);
  o.leaf('impostor', 'twin', 365);
  o.selfSigned('rsa1024', 'report rsa1024', [], ['-newkey', 'rsa:1024', '-nodes']);
  o.selfSigned('sha1', 'report sha1', ['-sha1']);
  o.selfSigned('selfweb', 'report self-signed web', ['-addext', 'subjectAltName=DNS:other.local']);
  o.expired('old');

  await addCa('root', 'root');
  await addCa('spare', 'spare');
  await addCa('eapca', 'eapca');
  await addCa('rsa1024', 'rsa1024');
  await addCa('sha1', 'sha1');
  await addCa('old', 'old');
  for (const name of ['clean', 'soon7', 'soon30', 'orphan', 'impostor', 'selfweb']) await addCertificate(name, name);
  await bind('https', { certificate: 'clean', settings: { tls: true } });
  await bind('dot1x', { ca: ['eapca'] });

  let items = await report();
  assert.equal(codes(items, 'clean'), [], JSON.stringify(items.get('clean')));
  assert.equal(carriers(items, 'EXPIRED'), ['old']);
  assert.ok(items.get('old')!.days_left < -365 * 5);
  assert.equal(carriers(items, 'EXPIRES_WITHIN_7_DAYS'), ['soon7']);
  assert.equal(carriers(items, 'EXPIRES_WITHIN_30_DAYS'), ['soon30']);
  assert.equal(carriers(items, 'WEAK_RSA_KEY'), ['rsa1024']);
  assert.match(items.get('rsa1024')!.findings.find((f) => f.code === 'WEAK_RSA_KEY')!.message, /1024 bits/);
  assert.equal(carriers(items, 'WEAK_SIGNATURE'), ['sha1']);
  // The stranger is in no store; the twin has the root's name but not its key.
  assert.equal(carriers(items, 'INCOMPLETE_CHAIN'), ['impostor', 'orphan']);
  // root issued leaves, eapca is named by dot1x; the rest are used by nothing.
  assert.equal(carriers(items, 'UNUSED_CA'), ['old', 'rsa1024', 'sha1', 'spare']);
  assert.equal(carriers(items, 'SELF_SIGNED_HTTPS'), []);
  assert.equal(carriers(items, 'SAN_MISSING_DEVICE_NAMES'), []);

  // Days left as openssl's notAfter gives them (the report was made up to a second earlier).
  const days = Math.floor((o.view('clean').notAfter - Date.now() / 1000) / 86400);
  assert.ok([days, days + 1].includes(items.get('clean')!.days_left), `${items.get('clean')!.days_left} vs ${days}`);

  // A self-signed certificate that misses the device's names moves to https.
  await bind('https', { certificate: 'selfweb', settings: { tls: true } });
  items = await report();
  assert.equal(carriers(items, 'SELF_SIGNED_HTTPS'), ['selfweb']);
  assert.equal(carriers(items, 'SAN_MISSING_DEVICE_NAMES'), ['selfweb']);
  assert.match(items.get('selfweb')!.findings.find((f) => f.code === 'SAN_MISSING_DEVICE_NAMES')!.message, /cam1\.local, 192\.0\.2\.10/);
  assert.equal(codes(items, 'clean'), []);
  assert.equal(carriers(items, 'UNUSED_CA'), ['old', 'rsa1024', 'sha1', 'spare'], 'clean still chains to root');

  // Once nothing issued by root is left, root is unused too.
  for (const alias of ['clean', 'soon7', 'soon30']) assert.is((await svc.as('admin').del(`${API}/certificates/${encodeURIComponent(alias)}`)).status, 200);
  assert.equal(carriers(await report(), 'UNUSED_CA'), ['old', 'root', 'rsa1024', 'sha1', 'spare']);
});

t('viewers may read it; anonymous clients get 401', async () => {
  assert.is((await svc.as('viewer').get('/certd/v1/report')).status, 200);
  assert.is((await svc.anonymous().get('/certd/v1/report')).status, 401);
});

t.run();
