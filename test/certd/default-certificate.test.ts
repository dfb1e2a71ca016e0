// The device's default certificate against the real daemons: the first start makes a
// self-signed EC-P256 certificate under the configured alias in the default key store,
// with the configured device names and addresses as SANs, and binds https to it; a
// restart makes no second one; once an admin rebinds https and deletes it, a restart
// does not make it again. Oracle: openssl.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { API, certdKeys, startService, type Service } from './service';

const t = suite('default certificate');
let svc: Service;
const ALIAS = 'device https';
const NAMES = ['cam1.example.com', 'cam1', '192.0.2.7', '2001:db8::7'];

t.before(async () => {
  svc = await startService({ certd: { device_names: NAMES, default_certificate: { make: true, alias: ALIAS, valid_days: 825 } } });
});
t.after(async () => {
  await svc?.stop();
});

const openssl = (args: string[], input: string) => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
const entries = async () => (await svc.as('viewer').get('/certd/v1/entries')).json.data as { id: string; alias: string; keystore: string; used_by: string[] }[];
const restart = async () => {
  await svc.stop();
  await svc.start();
};

t('the first start makes it in the default key store, names the device and binds https to it', async () => {
  const listed = await entries();
  assert.equal(listed.map((e) => [e.alias, e.keystore, e.used_by]), [[ALIAS, 'SOFTWARE0', ['https']]]);
  const https = (await svc.as('viewer').get('/certd/v1/bindings/https')).json.data as { certificate: { id: string } };
  assert.is(https.certificate.id, listed[0]!.id);

  const pem = (await svc.as('viewer').get(`${API}/certificates/${encodeURIComponent(ALIAS)}`)).json.data.certificate as string;
  const text = openssl(['x509', '-noout', '-text'], pem);
  assert.match(text, /Subject: CN\s?=\s?cam1\.example\.com/);
  assert.match(text, /ASN1 OID: prime256v1/);
  assert.match(text, /DNS:cam1\.example\.com, DNS:cam1, IP Address:192\.0\.2\.7, IP Address:2001:DB8:0:0:0:0:0:7/);
  assert.is(openssl(['x509', '-noout', '-subject'], pem).replace('subject=', ''), openssl(['x509', '-noout', '-issuer'], pem).replace('issuer=', ''), 'self-signed');
  const pemFile = join(svc.dir, 'default.pem');
  writeFileSync(pemFile, pem);
  assert.match(openssl(['verify', '-CAfile', pemFile, '-check_ss_sig', pemFile], ''), /OK/, 'its own signature verifies');
  const days = (Date.parse(openssl(['x509', '-noout', '-enddate'], pem).split('=')[1]!) - Date.parse(openssl(['x509', '-noout', '-startdate'], pem).split('=')[1]!)) / 86_400_000;
  assert.is(Math.round(days), 825);

  const applied = JSON.parse(readFileSync(join(svc.dir, 'certd', 'applied', 'https.json'), 'utf8')) as { certificate_sha256: string };
  assert.is(applied.certificate_sha256, openssl(['x509', '-noout', '-fingerprint', '-sha256'], pem).split('=')[1]!.trim().replace(/:/g, '').toLowerCase(), 'the applier ran');
  assert.ok(existsSync(join(svc.dir, 'certd', 'default-certificate.json')));
  assert.match(svc.logs(), /"msg":"default certificate".*"outcome":"made"/);
});

t('a restart makes no second one', async () => {
  const before = await entries();
  await restart();
  assert.equal(await entries(), before);
  assert.is((await certdKeys(svc)).length, 1);
  assert.match(svc.logs(), /"outcome":"made earlier"/);
});

t('deleted after https was rebound, it is not made again, also when https is then left unbound', async () => {
  const admin = svc.as('admin');
  assert.is((await admin.del(`${API}/certificates/${encodeURIComponent(ALIAS)}`)).status, 409, 'bound: refused');
  assert.is((await admin.post(`${API}/create_certificate`, { alias: 'mine', subject: 'CN=cam1.example.com', subject_alt_names: NAMES.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)) })).status, 200);
  assert.is((await admin.call('PUT', '/certd/v1/bindings/https', { data: { certificate: 'mine' } })).status, 200);
  assert.is((await admin.del(`${API}/certificates/${encodeURIComponent(ALIAS)}`)).status, 200);
  await restart();
  assert.equal((await entries()).map((e) => [e.alias, e.used_by]), [['mine', ['https']]]);
  assert.is((await certdKeys(svc)).length, 1);
  // Even with https left without a certificate, the marker says it was made once.
  assert.is((await svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: null } })).status, 200, 'a client of the restarted certd');
  await restart();
  assert.equal((await entries()).map((e) => [e.alias, e.used_by]), [['mine', []]]);
  assert.is((await certdKeys(svc)).length, 1);
});

t('a start that finds the alias taken and no marker (a crash after making it) binds that entry and makes no other', async () => {
  const other = await startService({ certd: { device_names: NAMES } });
  try {
    assert.is((await other.as('admin').post(`${API}/create_certificate`, { alias: 'default', subject: 'CN=cam1' })).status, 200);
    const id = ((await other.as('viewer').get('/certd/v1/entries')).json.data as { id: string }[])[0]!.id;
    const path = join(other.dir, 'certd.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), default_certificate: { make: true } }));
    await other.stop();
    await other.start();
    const listed = (await other.as('viewer').get('/certd/v1/entries')).json.data as { id: string; used_by: string[] }[];
    assert.equal(listed.map((e) => [e.id, e.used_by]), [[id, ['https']]]);
    assert.is((await certdKeys(other)).length, 1);
    assert.ok(existsSync(join(other.dir, 'certd', 'default-certificate.json')));
  } finally {
    await other.stop();
  }
});

t.run();
