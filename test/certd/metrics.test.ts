// GET /metrics against the real daemons: promtool finds the text clean; the x509 gauges
// carry openssl's dates and serials with the exporter's labels; bindings and key stores
// show; request, latency and failed-login counters move with the requests made; viewers
// only unless metrics.anonymous is set.
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeLabel } from '../../src/certd/metrics/exposition';
import { Client, digestHeader, raw } from './client';
import { OpensslCerts } from './openssl-certs';
import { API, PASSWORDS, startService, type Service } from './service';

const t = suite('metrics');
let svc: Service;
const o = new OpensslCerts();
t.before(async () => {
  const packages = spawnSync('bash', ['scripts/packages.sh', 'prometheus'], { cwd: `${__dirname}/../../..`, stdio: 'inherit' });
  assert.is(packages.status, 0, 'promtool (Debian prometheus) installed');
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
  o.remove();
});

const TRICKY = 'cam "front" \\ door';

async function scrape(client = svc.as('viewer')): Promise<string> {
  const r = await client.get('/metrics');
  assert.is(r.status, 200, r.text);
  assert.is(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return r.text;
}

/** The value of the one sample `name` whose labels include all of `labels`. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  assert.ok(lines.length <= 1, `one sample of ${name} ${JSON.stringify(labels)}: ${lines.join(' | ')}`);
  return lines.length === 0 ? undefined : Number(lines[0]!.slice(lines[0]!.lastIndexOf(' ') + 1));
}

t('label values escaped as the format says', () => {
  assert.is(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

t('promtool check metrics: clean; x509 gauges as openssl reads the certificates', async () => {
  o.ca('issuer', 'metrics issuing CA');
  o.leaf('web', 'issuer', 200);
  o.expired('old');
  assert.is((await svc.as('admin').post(`${API}/ca_certificates`, { alias: 'issuer', certificate: o.read('issuer.pem') })).status, 201);
  assert.is((await svc.as('admin').post(`${API}/ca_certificates`, { alias: 'old', certificate: o.read('old.pem') })).status, 201);
  const up = await svc.as('admin').post(`${API}/certificates`, { alias: TRICKY, certificate: o.read('web.pem'), private_key: o.read('web.key') });
  assert.is(up.status, 201, up.text);
  const bound = await svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: TRICKY, ca: ['issuer'], settings: { tls: true } } });
  assert.is(bound.status, 200, bound.text);

  const text = await scrape();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text });
  assert.is(check.status, 0, `${check.stdout}${check.stderr}`);
  assert.is(`${check.stdout}${check.stderr}`.trim(), '', 'no lint remarks');
  const broken = spawnSync('promtool', ['check', 'metrics'], { input: text.replace('# TYPE x509_cert_expired gauge', '# TYPE x509_cert_expired counter') });
  assert.is.not(broken.status, 0, 'promtool can fail');

  const web = o.view('web');
  const labels = { subject_CN: 'web', issuer_CN: 'metrics issuing CA', serial_number: web.serial, alias: TRICKY, keystore: 'SOFTWARE0' };
  assert.is(value(text, 'x509_cert_not_after', labels), web.notAfter);
  assert.is(value(text, 'x509_cert_not_before', labels), web.notBefore);
  assert.is(value(text, 'x509_cert_expired', labels), 0);
  const old = o.view('old');
  const oldLabels = { subject_CN: 'old', issuer_CN: 'old', serial_number: old.serial, alias: 'old', keystore: '' };
  assert.is(value(text, 'x509_cert_not_after', oldLabels), old.notAfter);
  assert.is(value(text, 'x509_cert_expired', oldLabels), 1);
  assert.is(value(text, 'certd_binding_info', { binding: 'https', alias: TRICKY }), 1);
  assert.is(value(text, 'certd_binding_info', { binding: 'https', alias: 'issuer' }), 1);
  assert.is(value(text, 'certd_binding_info', { binding: 'https', alias: 'old' }), undefined);
  assert.is(value(text, 'certd_keystore_up', { keystore: 'SOFTWARE0' }), 1);
});

t('request, latency and failed-login counters move', async () => {
  const before = await scrape();
  const ok = (text: string) => value(text, 'certd_http_requests_total', { api: 'certd.v1', status: '200' }) ?? 0;
  const missing = (text: string) => value(text, 'certd_http_requests_total', { api: 'certd.v1', status: '404' }) ?? 0;
  const challenged = (text: string) => value(text, 'certd_http_requests_total', { api: 'certd.v1', status: '401' }) ?? 0;
  const count = (text: string) => value(text, 'certd_http_request_duration_seconds_count', { api: 'certd.v1' }) ?? 0;
  const failures = (text: string) => value(text, 'certd_auth_failures_total', { api: 'cert.v1' }) ?? 0;
  for (let i = 0; i < 3; i++) assert.is((await svc.as('viewer').get('/certd/v1/entries')).status, 200);
  assert.is((await svc.as('viewer').get('/certd/v1/entries/nope')).status, 404);
  const wrong = new Client(svc.port, { user: 'viewer', password: 'not-the-password', scheme: 'basic' });
  assert.is((await wrong.get(API)).status, 401);
  const after = await scrape();
  assert.is(ok(after) - ok(before), 3);
  assert.is(missing(after) - missing(before), 1);
  // Digest: each request is first answered 401 with the challenge.
  assert.is(challenged(after) - challenged(before), 4);
  assert.is(count(after) - count(before), 8);
  assert.is(failures(after) - failures(before), 1);
  assert.is(value(after, 'certd_http_request_duration_seconds_bucket', { api: 'certd.v1', le: '+Inf' }), count(after));
  assert.ok(value(after, 'certd_http_requests_total', { api: 'metrics', status: '200' })! >= 1, 'the scrapes count too');
});

t('viewer by default; anonymous only when configured, and then only for a client on loopback', async () => {
  assert.is((await svc.anonymous().get('/metrics')).status, 401);
  const open = await startService({ certd: { metrics: { anonymous: true } } });
  try {
    const text = await scrape(open.anonymous());
    assert.ok(text.includes('certd_keystore_up{keystore="SOFTWARE0"} 1'));
    // Through nginx (a trusted proxy on loopback naming a network client): a viewer's only.
    const proxied = { 'x-forwarded-for': '192.0.2.7' };
    assert.is((await raw(open.port, 'GET', '/metrics', undefined, proxied)).status, 401, 'not anonymous from the network');
    assert.is((await raw(open.port, 'GET', '/metrics', undefined, { 'x-forwarded-for': '127.0.0.1' })).status, 200, 'a loopback client through the proxy');
    const challenged = await raw(open.port, 'GET', '/metrics', undefined, proxied);
    const www = challenged.headers['www-authenticate'];
    const authorization = digestHeader({ user: 'viewer', password: PASSWORDS.viewer }, 'GET', '/metrics', Array.isArray(www) ? www : [www!]);
    assert.is((await raw(open.port, 'GET', '/metrics', undefined, { ...proxied, authorization })).status, 200, 'a viewer from the network');
  } finally {
    await open.stop();
  }
});

t.run();
