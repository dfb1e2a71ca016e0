// 2N's /api/cert/csr against the real daemons: a key made on the device and its CSR
// (checked by openssl), kept across a restart as a journaled key without an entry (not an
// orphan: health reports none, the key stays), completed by a test CA's certificate into an
// entry whose key signs, or dropped with its key. certd is SIGKILLed at every step of a
// request, a completion and a drop. Refusals name their parameter and change nothing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { journalPendingIn } from '../../src/certd/store/journal';
import { csrVerifies, makeCa, type TestCa } from './ca';
import { API, certdKeys, PASSWORDS, startService, type Service } from './service';
import { TwoNSession, type Part } from './two-n-client';

const t = suite('2N API: /api/cert/csr');
let svc: Service;
let ca: TestCa;
const admin = () => new TwoNSession(svc.port, 'admin', PASSWORDS.admin);
const openssl = (args: string[], input: string) => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
const file = (name: string, data: string): Part => ({ name, data, filename: name });
const q = encodeURIComponent;
type Reply = Awaited<ReturnType<TwoNSession['get']>>;

function assertOk(r: Reply): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.is(r.status, 200, r.text);
  assert.is(r.json.success, true, r.text);
  return r.json.result;
}

function assertError(r: Reply, code: number, param: string | undefined): void {
  assert.is(r.status, 200, r.text);
  assert.is(r.json.success, false, r.text);
  assert.is(r.json.error.code, code, r.text);
  assert.is(r.json.error.param, param, r.text);
}

/** Keys in keystored, pending requests and both 2N listings: what a refusal must not change. */
async function state(): Promise<unknown> {
  const s = admin();
  return {
    keys: (await certdKeys(svc)).sort(),
    requests: assertOk(await s.get('/api/cert/csr')).requests,
    users: assertOk(await s.get('/api/cert/user')).certificates,
  };
}

/** Every certd key belongs to an entry or a pending request; the journal has nothing unfinished. */
async function checkConsistent(label: string): Promise<void> {
  const at = join(svc.dir, 'certd', 'entries');
  const entryKeys = readdirSync(at).filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .flatMap((f) => (JSON.parse(readFileSync(join(at, f), 'utf8')) as { key_id?: string }).key_id ?? []);
  const requests = assertOk(await admin().get('/api/cert/csr')).requests as { id: string }[];
  const health = (await svc.as('viewer').get('/certd/v1/health')).json.data as { unowned_keys: unknown[] };
  assert.equal(health.unowned_keys, [], `${label}: no key taken for an orphan`);
  assert.is((await certdKeys(svc)).length, entryKeys.length + requests.length, `${label}: one key per entry or request`);
  assert.equal(journalPendingIn(join(svc.dir, 'certd')), [], `${label}: journal finished`);
}

const post = (query: string) => admin().call('POST', `/api/cert/csr?${query}`);

t.before(async () => {
  ca = makeCa('2N CSR test CA');
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

t('POST makes a key and a CSR openssl verifies, with the subject and SANs asked for; it is pending across a restart', async () => {
  const keysBefore = await certdKeys(svc);
  const r = assertOk(await post(`id=@door-csr&commonName=${q('door, "main"')}&organization=2N%20test&state=Praha&country=CZ&locality=Prague&sanMdns=door.local,door2.local&sanIp=192.0.2.7&algorithm=P-256`));
  assert.is(r.id, '@door-csr');
  assert.ok(csrVerifies(r.csr), 'the CSR is signed by its key');
  const subject = openssl(['req', '-noout', '-subject', '-nameopt', 'RFC2253'], r.csr);
  assert.match(subject, /CN=door\\, \\"main\\",O=2N test,L=Prague,ST=Praha,C=CZ/);
  const text = openssl(['req', '-noout', '-text'], r.csr);
  assert.match(text, /DNS:door\.local, DNS:door2\.local, IP Address:192\.0\.2\.7/);
  assert.match(text, /prime256v1|P-256/);
  assert.is((await certdKeys(svc)).length, keysBefore.length + 1);
  assert.equal(assertOk(await admin().get('/api/cert/user')).certificates, [], 'a request is no entry');

  await svc.stop();
  await svc.start();
  const again = assertOk(await admin().get('/api/cert/csr?id=@door-csr')).requests;
  assert.equal(again.map((x: { id: string; csr: string }) => [x.id, x.csr]), [['@door-csr', r.csr]]);
  await checkConsistent('after the restart');
  assert.not.match(svc.logs(), /no entry uses were kept/);
});

t('PUT the CA\'s certificate: the request becomes an entry with that key; openssl\'s fingerprint; cert.v1 signs with it', async () => {
  const csr = assertOk(await admin().get('/api/cert/csr?id=@door-csr')).requests[0].csr as string;
  const cert = ca.sign(csr);
  const sha1 = openssl(['x509', '-noout', '-fingerprint', '-sha1'], cert).split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
  const r = assertOk(await admin().put('/api/cert/csr?id=@door-csr', [file('blob-cert', cert)]));
  assert.equal(r.certificates, [{ fingerprint: sha1, id: '@door-csr' }]);
  assert.is(assertOk(await admin().get('/api/cert/user?id=@door-csr')).certificates[0].fingerprint, sha1);
  assertError(await admin().get('/api/cert/csr?id=@door-csr'), 15, 'id');
  const again = await svc.as('admin').post(`${API}/certificates/door-csr/get_csr`, {});
  assert.is(again.status, 200, again.text);
  assert.ok(csrVerifies(again.json.data));
  assert.is(openssl(['req', '-noout', '-pubkey'], again.json.data), openssl(['req', '-noout', '-pubkey'], csr), 'the entry has the request\'s key');
  await checkConsistent('completed');
});

t('DELETE drops a request and its key; RSA-2048 and the page\'s "commmonName" spelling work', async () => {
  const keys = await certdKeys(svc);
  const r = assertOk(await post('id=@rsa-csr&commmonName=rsa%20door&algorithm=RSA-2048'));
  assert.match(openssl(['req', '-noout', '-text'], r.csr), /Public-Key: \(2048 bit\)/);
  assert.match(openssl(['req', '-noout', '-subject'], r.csr), /CN\s*=\s*rsa door/);
  assertOk(await admin().del('/api/cert/csr?id=@rsa-csr'));
  assert.equal((await certdKeys(svc)).sort(), keys.sort(), 'its key is deleted');
  assertError(await admin().get('/api/cert/csr?id=@rsa-csr'), 15, 'id');
  await checkConsistent('dropped');
});

t('bad input: the right code and param, and nothing changed', async () => {
  assertOk(await post('id=@pending&commonName=pending'));
  const other = makeCa('another CA');
  const dir = mkdtempSync(join(tmpdir(), 'certd-2n-csr-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=up', '-days', '30'], { stdio: 'pipe' });
  const [certPem, keyPem] = [readFileSync(join(dir, 'c.pem'), 'utf8'), readFileSync(join(dir, 'k.pem'), 'utf8')];
  const before = await state();
  const viewer = new TwoNSession(svc.port, 'viewer', PASSWORDS.viewer);
  const cases: [string, () => Promise<Reply>, number, string | undefined][] = [
    ['no id', () => post('commonName=x'), 11, 'id'],
    ['bad id', () => post('id=@a%20b&commonName=x'), 12, 'id'],
    ['no commonName', () => post('id=@x'), 11, 'commonName'],
    ['bad algorithm', () => post('id=@x&commonName=x&algorithm=P-521'), 12, 'algorithm'],
    ['bad sanIp', () => post('id=@x&commonName=x&sanIp=300.1.1.1'), 12, 'sanIp'],
    ['bad sanMdns', () => post('id=@x&commonName=x&sanMdns=bad%20name'), 12, 'sanMdns'],
    ['pending id', () => post('id=@pending&commonName=x'), 17, 'id'],
    ['id of an entry', () => post('id=@door-csr&commonName=x'), 17, 'id'],
    ['a user upload onto a pending id', () => admin().put('/api/cert/user?id=@pending', [file('blob-cert', certPem), file('blob-pk', keyPem)]), 17, 'id'],
    ['both query and part', () => admin().call('POST', '/api/cert/csr?id=@x', { body: Buffer.from('--b\r\nContent-Disposition: form-data; name="id"\r\n\r\n@y\r\n--b--\r\n'), contentType: 'multipart/form-data; boundary=b' }), 17, 'id'],
    ['certificate for another key', () => admin().put('/api/cert/csr?id=@pending', [file('blob-cert', other.certPem)]), 12, 'blob-cert'],
    ['garbage certificate', () => admin().put('/api/cert/csr?id=@pending', [file('blob-cert', 'garbage')]), 12, 'blob-cert'],
    ['no blob-cert', () => admin().put('/api/cert/csr?id=@pending', []), 11, 'blob-cert'],
    ['PUT for no request', () => admin().put('/api/cert/csr?id=@nothing', [file('blob-cert', other.certPem)]), 15, 'id'],
    ['DELETE for no request', () => admin().del('/api/cert/csr?id=@nothing'), 15, 'id'],
    ['DELETE without id', () => admin().del('/api/cert/csr'), 11, 'id'],
    ['viewer POST', () => viewer.call('POST', '/api/cert/csr?id=@v&commonName=v'), 10, undefined],
  ];
  for (const [what, call, code, param] of cases) {
    try {
      assertError(await call(), code, param);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
  }
  assert.equal(await state(), before, 'no refusal changed anything');
  const v1 = await svc.as('admin').post(`${API}/create_certificate`, { alias: 'pending', subject: 'CN=v1' });
  assert.is(v1.status, 409, `cert.v1 cannot take a pending request's alias either: ${v1.text}`);
  assertOk(await viewer.get('/api/cert/csr'));
  assertOk(await admin().del('/api/cert/csr?id=@pending'));
});

// Each point, and whether the operation is there after the restart.
const POINTS: [op: 'request' | 'complete' | 'drop', point: string, done: boolean][] = [
  ['request', 'request:key', false], ['request', 'request:journaled', true],
  ['complete', 'request:entry', true],
  ['drop', 'request:drop-intent', true], ['drop', 'request:dropped', true],
];

t('SIGKILL at every step of a request, a completion and a drop: a request, an entry or nothing, never a stray key', async () => {
  for (const [i, [op, point, done]] of POINTS.entries()) {
    const id = `@crash-${i}`;
    if (op !== 'request') assertOk(await post(`id=${id}&commonName=crash`));
    const csr = op === 'complete' ? assertOk(await admin().get(`/api/cert/csr?id=${id}`)).requests[0].csr as string : '';
    await svc.killCertd();
    await svc.start({ CERTD_CRASH_AT: point });
    const call = op === 'request' ? post(`id=${id}&commonName=crash`)
      : op === 'complete' ? admin().put(`/api/cert/csr?id=${id}`, [file('blob-cert', ca.sign(csr))])
        : admin().del(`/api/cert/csr?id=${id}`);
    assert.ok((await call.catch((e: Error) => e)) instanceof Error, `${point}: certd died before answering`);
    await svc.killCertd();
    await svc.start();
    const pending = (await admin().get(`/api/cert/csr?id=${id}`)).json.success === true;
    const entry = (await admin().get(`/api/cert/user?id=${id}`)).json.success === true;
    if (op === 'request') assert.equal([pending, entry], [done, false], `${point}: the request is there only once journaled`);
    if (op === 'complete') assert.equal([pending, entry], [!done, done], `${point}: an entry, the request ended`);
    if (op === 'drop') assert.equal([pending, entry], [!done, false], `${point}: the request is gone`);
    await checkConsistent(point);
  }
});

t.run();
