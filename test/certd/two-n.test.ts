// The 2N API (/api/cert/user, /api/cert/ca) against the real daemons, through a client that
// behaves as python-requests with HTTPDigestAuth (one nonce, nc counting up; multipart
// bodies framed as requests frames them). Keys and certificates are made by openssl, and
// fingerprints are compared with `openssl x509 -fingerprint -sha1`. Every refusal is
// checked for its 2N code and param, and for changing nothing (both listings and the keys
// in keystored). certd is SIGKILLed at every step of an overwrite with another key.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { journalPendingIn } from '../../src/certd/store/journal';
import { makeCa } from './ca';
import { StateProbe } from './material';
import { API, certdKeys, PASSWORDS, startService, type Service } from './service';
import { requestsMultipart, TwoNSession, type Part } from './two-n-client';

const t = suite('2N API');
let svc: Service;
let probe: StateProbe;
const dir = mkdtempSync(join(tmpdir(), 'certd-2n-'));
const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const bytes = (name: string) => readFileSync(join(dir, name));
const text = (name: string) => readFileSync(join(dir, name), 'utf8');
/** Non-ASCII, as a person types it: two-byte and three-byte UTF-8. */
const PASSWORD = 'pässwörd-€-7';
const FACTORY_ROOT = 'factory-root';

/** openssl's SHA-1 fingerprint of a certificate file (PEM or DER), as 2N writes it. */
function opensslSha1(name: string, form = 'PEM'): string {
  const out = sh(['x509', '-in', name, '-inform', form, '-noout', '-fingerprint', '-sha1']).toString();
  return out.split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
}

/** A key (P-256 unless `rsa`) and a self-signed certificate for it. */
function keyAndCert(name: string, subject: string, rsa = false): void {
  sh(['genpkey', '-algorithm', rsa ? 'RSA' : 'EC', '-pkeyopt', rsa ? 'rsa_keygen_bits:2048' : 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  sh(['req', '-x509', '-key', `${name}.key`, '-subj', subject, '-days', '30', '-out', `${name}.pem`]);
}

const admin = () => new TwoNSession(svc.port, 'admin', PASSWORDS.admin);
const file = (name: string, data: Buffer | string): Part => ({ name, data, filename: name });
const userParts = (cert: string, key: string): Part[] => [file('blob-cert', bytes(cert)), file('blob-pk', bytes(key))];
type Cert = { fingerprint: string; id: string; subject: Record<string, string>; issuer: Record<string, string>; startDate: string; endDate: string; protected: boolean; systemUseOnly: boolean };
const listed = async (fn: 'user' | 'ca') => (await admin().get(`/api/cert/${fn}`)).json.result.certificates as Cert[];
const entries = async () => (await svc.as('viewer').get('/certd/v1/entries')).json.data as { id: string; alias: string; kind: string }[];

function assertOk(r: { status: number; json: any; text: string }): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.is(r.status, 200, r.text);
  assert.is(r.json.success, true, r.text);
  return r.json.result;
}

function assertError(r: { status: number; json: any; text: string; headers: Record<string, string | string[] | undefined> }, code: number, param: string | undefined, status = 200): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.is(r.status, status, r.text);
  assert.is(r.headers['content-type'], 'application/json');
  assert.is(r.json.success, false, r.text);
  assert.is(r.json.error.code, code, r.text);
  assert.is(r.json.error.param, param, r.text);
  assert.type(r.json.error.description, 'string');
}

t.before(async () => {
  keyAndCert('door1', '/C=CZ/ST=Czech Republic/L=Prague/O=2N test/OU=doors/CN=door-1');
  keyAndCert('door1b', '/CN=door-1');
  keyAndCert('door2', '/CN=door 2', true);
  keyAndCert('door3', '/CN=door-3');
  keyAndCert('bound', '/CN=cam1.local');
  keyAndCert('bound2', '/CN=cam1.local');
  keyAndCert('crashA', '/CN=crash A');
  keyAndCert('crashB', '/CN=crash B');
  sh(['x509', '-in', 'door1.pem', '-outform', 'DER', '-out', 'door1.der']);
  sh(['pkey', '-in', 'door1.key', '-outform', 'DER', '-out', 'door1.key.der']);
  sh(['pkcs8', '-topk8', '-in', 'door3.key', '-v2', 'aes-256-cbc', '-passout', `pass:${PASSWORD}`, '-out', 'door3.enc.key']);
  sh(['rsa', '-in', 'door2.key', '-traditional', '-aes256', '-passout', `pass:${PASSWORD}`, '-out', 'door2.legacy.key']);
  writeFileSync(join(dir, 'ca1.pem'), makeCa('2N test CA one').certPem);
  writeFileSync(join(dir, 'ca2.pem'), makeCa('2N test CA two').certPem);
  writeFileSync(join(dir, 'factory.pem'), makeCa('factory root').certPem);
  sh(['x509', '-in', 'ca1.pem', '-outform', 'DER', '-out', 'ca1.der']);
  svc = await startService({ certd: { device_names: ['cam1.local'], factory_entries: [{ alias: FACTORY_ROOT, certificate_file: join(dir, 'factory.pem') }] } });
  probe = new StateProbe(svc);
});
t.after(async () => {
  probe?.close();
  await svc?.stop();
});

t('a multipart body is framed byte for byte as python-requests frames files= and data=', () => {
  // requests.Request('PUT', url, files={'blob-cert': ('blob-cert', b'CERT')}, data={'password': 'pä'}).prepare().body
  const python = Buffer.from('--74d7454b14671a1254c93410aedb3a51\r\nContent-Disposition: form-data; name="password"\r\n\r\np\xc3\xa4\r\n'
    + '--74d7454b14671a1254c93410aedb3a51\r\nContent-Disposition: form-data; name="blob-cert"; filename="blob-cert"\r\n\r\nCERT\r\n'
    + '--74d7454b14671a1254c93410aedb3a51--\r\n', 'latin1');
  const ours = requestsMultipart([file('blob-cert', 'CERT'), { name: 'password', data: Buffer.from('pä') }], '74d7454b14671a1254c93410aedb3a51');
  assert.equal(ours.body, python);
  assert.is(ours.contentType, 'multipart/form-data; boundary=74d7454b14671a1254c93410aedb3a51');
});

t('PUT user (PEM, no id): a new entry under an id from the CN; its fingerprint is openssl\'s; GET lists it in 2N\'s form', async () => {
  const s = admin();
  const put = assertOk(await s.put('/api/cert/user', userParts('door1.pem', 'door1.key')));
  const sha1 = opensslSha1('door1.pem');
  assert.equal(put.certificates, [{ fingerprint: sha1, id: '@door-1' }]);
  const all = await listed('user');
  assert.is(all.length, 1);
  assert.equal(all[0], {
    fingerprint: sha1,
    subject: { CN: 'door-1', O: '2N test', OU: 'doors', L: 'Prague', S: 'Czech Republic', C: 'CZ' },
    issuer: { CN: 'door-1', O: '2N test', OU: 'doors', L: 'Prague', S: 'Czech Republic', C: 'CZ' },
    id: '@door-1',
    startDate: all[0]!.startDate,
    endDate: all[0]!.endDate,
    protected: false,
    systemUseOnly: false,
  });
  const notAfter = new Date(sh(['x509', '-in', 'door1.pem', '-noout', '-enddate']).toString().split('=')[1]!.trim()).toISOString().replace(/\.000Z$/, 'Z');
  assert.is(all[0]!.endDate, notAfter);
  assert.match(all[0]!.startDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  for (const id of ['@door-1', sha1]) {
    const one = assertOk(await s.get(`/api/cert/user?id=${id}`));
    assert.equal(one.certificates, all, `GET by ${id}: the array of one`);
  }
  // cert.v1 sees the same entry, with the key.
  const v1 = await svc.as('admin').get(`${API}/certificates/door-1`);
  assert.is(v1.status, 200, v1.text);
  assert.is(v1.json.data.keystore, 'SOFTWARE0');
  assert.is(s.unauthorized, 1, 'one challenge, then the nonce is reused with nc 2, 3, …');
});

t('DER blobs with an id, and encrypted keys (PKCS#8 and legacy PEM) with a non-ASCII password', async () => {
  const s = admin();
  let r = assertOk(await s.put('/api/cert/user?id=@der-door', [file('blob-cert', bytes('door1.der')), file('blob-pk', bytes('door1.key.der'))]));
  assert.equal(r.certificates, [{ fingerprint: opensslSha1('door1.der', 'DER'), id: '@der-door' }]);
  r = assertOk(await s.put('/api/cert/user', [...userParts('door3.pem', 'door3.enc.key'), { name: 'password', data: Buffer.from(PASSWORD) }]));
  assert.equal(r.certificates, [{ fingerprint: opensslSha1('door3.pem'), id: '@door-3' }]);
  // The id as a part (the documents' form) and the password as a file part.
  r = assertOk(await s.put('/api/cert/user', [...userParts('door2.pem', 'door2.legacy.key'), file('password', PASSWORD), { name: 'id', data: '@legacy' }]));
  assert.equal(r.certificates, [{ fingerprint: opensslSha1('door2.pem'), id: '@legacy' }]);
  const ids = (await listed('user')).map((c) => c.id).sort();
  assert.equal(ids, ['@der-door', '@door-1', '@door-3', '@legacy']);
  assert.is(s.unauthorized, 1);
});

t('PUT user with the id of an entry and another key: one batch, the entry keeps its id, the old key goes', async () => {
  const s = admin();
  const before = (await entries()).find((e) => e.alias === 'door-1')!;
  const keysBefore = await certdKeys(svc);
  const r = assertOk(await s.put('/api/cert/user?id=@door-1', userParts('door1b.pem', 'door1b.key')));
  assert.equal(r.certificates, [{ fingerprint: opensslSha1('door1b.pem'), id: '@door-1', replaced: opensslSha1('door1.pem') }]);
  const after = (await entries()).find((e) => e.alias === 'door-1')!;
  assert.is(after.id, before.id, 'the same entry');
  const keysAfter = await certdKeys(svc);
  assert.is(keysAfter.length, keysBefore.length, 'one key in, one key out');
  assert.is(keysAfter.filter((k) => !keysBefore.includes(k)).length, 1);
  const one = assertOk(await s.get('/api/cert/user?id=@door-1')).certificates;
  assert.is(one[0].fingerprint, opensslSha1('door1b.pem'));
  const old = assertOk(await s.get(`/api/cert/user?id=${opensslSha1('door1.pem')}`)).certificates as Cert[];
  assert.equal(old.map((c) => c.id), ['@der-door'], 'the old certificate is left only where the DER upload put it');
});

t('PUT user of a certificate already there (no id): that entry is overwritten, not doubled', async () => {
  const s = admin();
  const count = (await listed('user')).length;
  const sha1 = opensslSha1('door3.pem');
  const r = assertOk(await s.put('/api/cert/user', [...userParts('door3.pem', 'door3.enc.key'), file('password', PASSWORD)]));
  assert.equal(r.certificates, [{ fingerprint: sha1, id: '@door-3', replaced: sha1 }]);
  assert.is((await listed('user')).length, count);
});

t('a bound entry overwritten by id takes its binding along; DELETE refuses it (18); the audit names the 2N API', async () => {
  const s = admin();
  assertOk(await s.put('/api/cert/user?id=@web', userParts('bound.pem', 'bound.key')));
  const bind = await svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: 'web', settings: { tls: true, client_certificate: 'off' } } });
  assert.is(bind.status, 200, bind.text);
  const applied = () => JSON.parse(readFileSync(join(svc.dir, 'certd', 'applied', 'https.json'), 'utf8')) as { certificate_sha256: string };
  const sha256 = (name: string) => sh(['x509', '-in', name, '-noout', '-fingerprint', '-sha256']).toString().split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
  assert.is(applied().certificate_sha256, sha256('bound.pem'));
  assertOk(await s.put('/api/cert/user?id=@web', userParts('bound2.pem', 'bound2.key')));
  assert.is(applied().certificate_sha256, sha256('bound2.pem'), 'the binding was applied again with the new certificate');
  const before = await probe.read();
  assertError(await s.del('/api/cert/user?id=@web'), 18, 'id');
  assert.equal(await probe.read(), before);
  const audit = (await svc.as('admin').get('/certd/v1/audit?limit=50')).json.data as { api: string; operation: string; outcome: string }[];
  const ours = audit.filter((a) => a.api === '2n');
  assert.ok(ours.some((a) => a.operation === 'batch' && a.outcome === 'ok'));
  assert.ok(ours.some((a) => a.operation === 'delete' && a.outcome === 'IN_USE'));
  const trail = JSON.stringify(audit) + svc.logs();
  assert.not.ok(trail.includes(PASSWORD), 'no password in the audit trail or the logs');
  assert.not.ok(trail.includes(text('door1.key').split('\n')[1]!), 'no key in the audit trail or the logs');
});

t('DELETE user by @id and by ?fingerprint=; a missing one is 15', async () => {
  const s = admin();
  assertOk(await s.del('/api/cert/user?id=@der-door'));
  assertOk(await s.del(`/api/cert/user?fingerprint=${opensslSha1('door2.pem')}`));
  const ids = (await listed('user')).map((c) => c.id);
  assert.not.ok(ids.includes('@der-door'));
  assert.not.ok(ids.includes('@legacy'));
  assertError(await s.del('/api/cert/user?id=@der-door'), 15, 'id');
  assertError(await s.del('/api/cert/user'), 11, 'id');
});

t('CA: PUT (PEM, DER), GET, overwrite by id (same entry), DELETE; the factory root is #, protected and kept', async () => {
  const s = admin();
  let r = assertOk(await s.put('/api/cert/ca?id=@root', [file('blob-cert', bytes('ca1.pem'))]));
  assert.equal(r.certificates, [{ fingerprint: opensslSha1('ca1.pem'), id: '@root' }]);
  r = assertOk(await s.put('/api/cert/ca', [file('blob-cert', bytes('ca1.der'))]));
  assert.equal(r.certificates, [{ fingerprint: opensslSha1('ca1.pem'), id: '@root', replaced: opensslSha1('ca1.pem') }], 'the same certificate: overwritten');
  const id = (await entries()).find((e) => e.alias === 'root')!.id;
  r = assertOk(await s.put('/api/cert/ca?id=@root', [file('blob-cert', bytes('ca2.pem'))]));
  assert.equal(r.certificates, [{ fingerprint: opensslSha1('ca2.pem'), id: '@root', replaced: opensslSha1('ca1.pem') }]);
  assert.is((await entries()).find((e) => e.alias === 'root')!.id, id);
  const cas = await listed('ca');
  assert.equal(cas.map((c) => [c.id, c.protected, c.subject.CN]).sort(), [['#factory-root', true, 'factory root'], ['@root', false, '2N test CA two']]);
  assert.equal(assertOk(await s.get('/api/cert/ca?id=%23factory-root')).certificates, cas.filter((c) => c.protected));
  assert.is((await listed('user')).filter((c) => c.id === '@root').length, 0, 'the user list has no CA');
  const before = await probe.read();
  assertError(await s.del('/api/cert/ca?id=%23factory-root'), 18, 'id');
  assertError(await s.put('/api/cert/ca?id=@factory-root', [file('blob-cert', bytes('ca1.pem'))]), 18, 'id');
  assert.equal(await probe.read(), before);
  assertOk(await s.del('/api/cert/ca?id=@root'));
  assert.equal((await listed('ca')).map((c) => c.id), ['#factory-root']);
});

t('cross-API: entries made by cert.v1 are listed; an alias 2N cannot say is named by its fingerprint', async () => {
  const v1 = svc.as('admin');
  for (const alias of ['from-v1', 'made by v1']) {
    const r = await v1.post(`${API}/certificates`, { alias, certificate: text('door3.pem'), private_key: text('door3.key') });
    assert.is(r.status, 201, r.text);
  }
  const users = await listed('user');
  const sha1 = opensslSha1('door3.pem');
  assert.ok(users.some((c) => c.id === '@from-v1' && c.fingerprint === sha1));
  assert.ok(users.some((c) => c.id === sha1));
  // Three entries now hold that certificate: the fingerprint alone names none of them.
  assertError(await admin().get(`/api/cert/user?id=${sha1}`), 12, 'id');
  const s = admin();
  assertOk(await s.del('/api/cert/user?id=@from-v1'));
  assertOk(await s.del('/api/cert/user?id=@door-3'));
  assert.is(assertOk(await s.get(`/api/cert/user?id=${sha1}`)).certificates[0].id, sha1);
  assertOk(await s.del(`/api/cert/user?id=${sha1}`));
  assert.is((await v1.get(`${API}/certificates/${encodeURIComponent('made by v1')}`)).status, 404, 'deleted through 2N, gone for cert.v1');
});

t('authentication and roles: 401 code 9 without or with wrong credentials; viewers read, only admins change (10)', async () => {
  const bare = await svc.anonymous().get('/api/cert/user');
  assertError(bare, 9, undefined, 401);
  assert.match(String(bare.headers['www-authenticate']), /^Digest realm="certd-test".*algorithm=MD5/);
  assertError(await new TwoNSession(svc.port, 'admin', 'wrong-password').get('/api/cert/user'), 9, undefined, 401);
  const viewer = new TwoNSession(svc.port, 'viewer', PASSWORDS.viewer);
  assertOk(await viewer.get('/api/cert/user'));
  assertOk(await viewer.get('/api/cert/ca'));
  const before = await probe.read();
  assertError(await viewer.put('/api/cert/user', userParts('door3.pem', 'door3.key')), 10, undefined);
  assertError(await new TwoNSession(svc.port, 'operator', PASSWORDS.operator).del('/api/cert/user?id=@door-1'), 10, undefined);
  assert.equal(await probe.read(), before);
});

t('bad input: the right code and param, HTTP 200, and nothing changed', async () => {
  const s = admin();
  const garbage = Buffer.from('this is not a certificate');
  const big = Buffer.alloc(65 * 1024, 0x41);
  const cases: [what: string, call: () => ReturnType<TwoNSession['get']>, code: number, param: string | undefined][] = [
    ['no blob-cert', () => s.put('/api/cert/user', [file('blob-pk', bytes('door1.key'))]), 11, 'blob-cert'],
    ['no blob-pk', () => s.put('/api/cert/user', [file('blob-cert', bytes('door1.pem'))]), 11, 'blob-pk'],
    ['empty blob-cert', () => s.put('/api/cert/ca', [file('blob-cert', '')]), 11, 'blob-cert'],
    ['wrong password', () => s.put('/api/cert/user', [...userParts('door3.pem', 'door3.enc.key'), file('password', 'passwörd')]), 12, 'password'],
    ['encrypted key, no password', () => s.put('/api/cert/user', userParts('door3.pem', 'door3.enc.key')), 12, 'blob-pk'],
    ['key of another certificate', () => s.put('/api/cert/user', userParts('door1.pem', 'door2.key')), 12, 'blob-pk'],
    ['garbage blob-cert', () => s.put('/api/cert/user', [file('blob-cert', garbage), file('blob-pk', bytes('door1.key'))]), 12, 'blob-cert'],
    ['garbage blob-pk', () => s.put('/api/cert/user', [file('blob-cert', bytes('door1.pem')), file('blob-pk', garbage)]), 12, 'blob-pk'],
    ['garbage CA', () => s.put('/api/cert/ca', [file('blob-cert', garbage)]), 12, 'blob-cert'],
    ['id with a space', () => s.put('/api/cert/user?id=@two%20words', userParts('door1.pem', 'door1.key')), 12, 'id'],
    ['id of 41 characters', () => s.put(`/api/cert/user?id=@${'a'.repeat(41)}`, userParts('door1.pem', 'door1.key')), 12, 'id'],
    ['id without @', () => s.put('/api/cert/user?id=plain', userParts('door1.pem', 'door1.key')), 12, 'id'],
    ['a # id', () => s.put('/api/cert/ca?id=%23mine', [file('blob-cert', bytes('ca1.pem'))]), 12, 'id'],
    ['ids that differ', () => s.put('/api/cert/user?id=@a', [...userParts('door1.pem', 'door1.key'), { name: 'id', data: '@b' }]), 17, 'id'],
    ['a part twice', () => s.put('/api/cert/ca', [file('blob-cert', bytes('ca1.pem')), file('blob-cert', bytes('ca2.pem'))]), 17, 'blob-cert'],
    ['user upload onto a CA id', () => s.put('/api/cert/user?id=@factory-root', userParts('door1.pem', 'door1.key')), 17, 'id'],
    ['oversize part', () => s.put('/api/cert/ca', [file('blob-cert', big)]), 13, 'blob-cert'],
    ['too many parts', () => s.put('/api/cert/ca', Array.from({ length: 9 }, (_, i) => file(`x${i}`, 'x'))), 13, undefined],
    ['not multipart', () => s.call('PUT', '/api/cert/ca', { body: Buffer.from('{}'), contentType: 'application/json' }), 14, undefined],
    ['unknown fingerprint', () => s.get(`/api/cert/user?id=${'0'.repeat(40)}`), 15, 'id'],
    ['malformed id', () => s.get('/api/cert/user?id=XYZ'), 12, 'id'],
    ['id twice', () => s.get('/api/cert/user?id=@a&id=@b'), 17, 'id'],
    ['wrong method', () => s.call('POST', '/api/cert/user'), 3, undefined],
    ['wrong path', () => s.get('/api/cert/nothing'), 2, undefined],
  ];
  const before = await probe.read();
  for (const [what, call, code, param] of cases) {
    const r = await call();
    try {
      assertError(r, code, param);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
    assert.not.ok(r.text.includes(PASSWORD) || r.text.includes('passwörd'), `${what}: no password in the answer`);
  }
  assert.equal(await probe.read(), before, 'no refusal changed anything');
  assert.is(s.unauthorized, 1, 'the one nonce served every request');
});

/** The entries on flash, by alias, with their key ids. */
function entriesOnFlash(): Map<string, { key_id?: string; certificate: string }> {
  const at = join(svc.dir, 'certd', 'entries');
  const files = readdirSync(at).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  return new Map(files.map((f) => JSON.parse(readFileSync(join(at, f), 'utf8')) as { alias: string; key_id?: string; certificate: string }).map((e) => [e.alias, e]));
}

// Before the commit mark: the old entry and key. From it on: the new ones.
const POINTS: [string, boolean][] = [['batch:begun', false], ['batch:key:0', false], ['batch:committed', true], ['batch:put', true], ['batch:old-key:0', true], ['batch:ended', true]];

t('SIGKILL at every step of an overwrite with another key: the old entry and key or the new ones, never a mix, no orphan key', async () => {
  const newPrint = opensslSha1('crashB.pem');
  for (const [i, [point, done]] of POINTS.entries()) {
    const id = `@crash-${i}`;
    assertOk(await admin().put(`/api/cert/user?id=${id}`, userParts('crashA.pem', 'crashA.key')));
    const before = entriesOnFlash().get(`crash-${i}`)!;
    await svc.killCertd();
    await svc.start({ CERTD_CRASH_AT: point });
    const r = await admin().put(`/api/cert/user?id=${id}`, userParts('crashB.pem', 'crashB.key')).catch((e: Error) => e);
    assert.ok(r instanceof Error, `${point}: certd died before answering`);
    await svc.killCertd();
    await svc.start();
    const got = assertOk(await admin().get(`/api/cert/user?id=${id}`)).certificates[0] as Cert;
    assert.is(got.fingerprint === newPrint, done, `${point}: the new certificate is there only from the commit mark on`);
    const after = entriesOnFlash().get(`crash-${i}`)!;
    assert.is(after.key_id !== before.key_id, done, `${point}: the key goes with the certificate`);
    const owned = [...entriesOnFlash().values()].flatMap((e) => (e.key_id ? [e.key_id] : [])).sort();
    assert.equal((await certdKeys(svc)).sort(), owned, `${point}: the keys in keystored are exactly the entries' keys`);
    assert.equal(journalPendingIn(join(svc.dir, 'certd')), [], `${point}: journal finished`);
  }
});

t.run();
