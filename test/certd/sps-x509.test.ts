// SPS x509 objects and transactions against the real daemons, as the seed's curl flow does
// them: login, POST x509 (PKCS#1 key, issuer chain) into an automatically opened
// transaction, look, commit, check with other sessions and other APIs; the lock between two
// sessions; rollback; the error matrix (type, status, nothing changed); SIGKILL at every
// step of a commit's batch.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { csrVerifies } from './ca';
import { API, certdKeys, startService, PASSWORDS, type Service } from './service';
import { send, SpsClient, type SpsReply } from './sps-client';

const t = suite('SPS x509 and transactions');
let svc: Service;
const dir = mkdtempSync(join(tmpdir(), 'certd-sps-x509-'));
const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const text = (name: string) => readFileSync(join(dir, name), 'utf8');
const X509 = '/api/configuration/x509';

/** A CA and `n` leaves it issued, each with a PKCS#1 RSA key (what the seed asks for). */
function material(n: number): void {
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=SPS Test CA', '-days', '30']);
  for (let i = 0; i < n; i++) {
    sh(['genrsa', '-traditional', '-out', `leaf${i}.key`, '2048']);
    sh(['req', '-new', '-key', `leaf${i}.key`, '-subj', `/C=RO/ST=State/L=Locality/O=Organization/OU=Unit/CN=leaf${i}.example.com/emailAddress=root@example.com`, '-out', `leaf${i}.csr`]);
    sh(['x509', '-req', '-in', `leaf${i}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '10', '-out', `leaf${i}.pem`]);
  }
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-subj', '/CN=Other CA', '-days', '30']);
  // Same name as the CA, another key: a chain check by names alone would take it.
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'impostor.key', '-out', 'impostor.pem', '-subj', '/CN=SPS Test CA', '-days', '30']);
  sh(['rsa', '-in', 'leaf0.key', '-aes128', '-passout', 'pass:secret-pass', '-traditional', '-out', 'enc.key']);
}

const x509Body = (i: number, chain = [text('ca.pem')]) => ({ certificate: text(`leaf${i}.pem`), private_key: text(`leaf${i}.key`), issuer_chain: chain });

t.before(async () => {
  material(3);
  svc = await startService({ basicOverHttp: true });
});
t.after(async () => {
  await svc?.stop();
});

async function login(flavour: 'curl' | 'java' = 'curl'): Promise<SpsClient> {
  const c = new SpsClient(svc.port, flavour, 'admin', PASSWORDS.admin);
  assert.is((await c.login()).status, 200);
  return c;
}

const entries = async () => (await svc.as('viewer').get('/certd/v1/entries')).json.data as { id: string; alias: string }[];

function assertError(r: SpsReply, status: number, type: string): void {
  assert.is(r.status, status, r.text);
  assert.is(r.json?.error?.type, type, r.text);
  assert.type(r.json.error.message, 'string');
}

/** openssl's SHA-256 fingerprint, lowercase with colons. */
const opensslSha256 = (name: string) => sh(['x509', '-in', name, '-noout', '-fingerprint', '-sha256']).split('=')[1]!.trim().toLowerCase();

t('the seed flow: POST x509 opens a transaction, its object is seen by its session only, commit makes the entry (key = id) with its key in keystored', async () => {
  const a = await login('java');
  const b = await login();
  const posted = await a.call('POST', X509, x509Body(0));
  assert.is(posted.status, 201, posted.text);
  const key = posted.json.key as string;
  assert.match(key, /^[0-9a-f-]{36}$/);
  assert.equal(posted.json.meta, { href: `${X509}/${key}`, parent: X509, transaction: '/api/transaction' });
  assert.not.match(posted.text, /PRIVATE KEY/);

  const status = await a.call('GET', '/api/transaction');
  assert.is(status.json.body.status, 'open', status.text);
  assert.ok(status.json.meta.remaining_seconds > 1100 && status.json.meta.remaining_seconds <= 1200, status.text);
  const changes = await a.call('GET', '/api/transaction/changes');
  assert.is(changes.json.changes.length, 1);
  assert.is(changes.json.changes[0].type, 'create');
  assert.is(changes.json.changes[0].path, `${X509}/${key}`);
  assert.not.match(changes.text, /PRIVATE KEY/);

  const own = await a.call('GET', `${X509}/${key}`);
  assert.is(own.status, 200, own.text);
  assert.is(own.json.body.subject, 'C=RO/ST=State/L=Locality/O=Organization/OU=Unit/CN=leaf0.example.com/emailAddress=root@example.com');
  assert.equal(own.json.body.fingerprint, { digest: opensslSha256('leaf0.pem'), hash_algorithm: 'sha256' });
  // Pending: no other session, no other API, no key in keystored.
  assertError(await b.call('GET', `${X509}/${key}`), 404, 'NotFound');
  assert.is((await b.call('GET', '/api/transaction')).json.body.status, 'closed');
  assert.equal(await entries(), []);
  assert.equal(await certdKeys(svc), []);

  const commit = await a.call('PUT', '/api/transaction', { status: 'commit', message: 'seed flow' });
  assert.is(commit.status, 200, commit.text);
  assert.is(commit.json.body.status, 'closed');
  const seen = await b.call('GET', `${X509}/${key}`);
  assert.is(seen.status, 200, seen.text);
  assert.is(seen.json.body.subject, own.json.body.subject);
  assert.is(seen.json.meta.href, `${X509}/${key}`);
  assert.is(seen.json.meta.first, `${X509}/${key}`);
  assert.is(seen.json.meta.next, null);
  const listed = await entries();
  assert.equal(listed.map((e) => e.id), [key]);
  assert.is((await certdKeys(svc)).length, 1);
  assert.is((await a.call('GET', '/api/transaction')).json.body.status, 'closed');
});

t('one open transaction locks the configuration for other sessions (409); rollback drops its objects and frees it', async () => {
  const a = await login();
  const b = await login();
  const before = await entries();
  assert.is((await a.call('POST', '/api/transaction', {})).status, 200);
  assertError(await b.call('POST', X509, x509Body(1)), 409, 'Locked');
  assertError(await b.call('POST', '/api/transaction', {}), 409, 'Locked');
  const staged = await a.call('POST', X509, x509Body(1));
  assert.is(staged.status, 201, staged.text);
  const rolled = await a.call('DELETE', '/api/transaction');
  assert.is(rolled.status, 200, rolled.text);
  assertError(await a.call('GET', `${X509}/${staged.json.key}`), 404, 'NotFound');
  assert.equal((await a.call('GET', '/api/transaction/changes')).json.changes, []);
  assert.equal(await entries(), before);
  // Free again: b's first change opens b's transaction.
  const mine = await b.call('POST', X509, x509Body(1));
  assert.is(mine.status, 201, mine.text);
  assert.is((await b.call('DELETE', '/api/transaction')).status, 200);
});

t('logging out rolls the session\'s transaction back and frees the lock', async () => {
  const a = await login();
  const b = await login();
  assert.is((await a.call('POST', X509, x509Body(2))).status, 201);
  assertError(await b.call('POST', '/api/transaction', {}), 409, 'Locked');
  await a.call('DELETE', '/api/authentication');
  assert.is((await b.call('POST', '/api/transaction', {})).status, 200);
  assert.is((await b.call('DELETE', '/api/transaction')).status, 200);
});

/** A POST with no body and no length at all, on a socket (node's client would add one). */
function postWithoutLength(cookie: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(svc.port, '127.0.0.1', () => s.end(`POST /api/transaction HTTP/1.1\r\nHost: x\r\nCookie: session_id=${cookie}\r\nConnection: close\r\n\r\n`));
    let got = '';
    s.on('data', (c) => (got += c));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

t('the error matrix: each refusal has SPS\'s type and status and changes nothing', async () => {
  const a = await login();
  const before = await entries();
  const keysBefore = await certdKeys(svc);
  const cases: [string, () => Promise<SpsReply>, number, string][] = [
    ['malformed JSON', () => send(svc.port, 'POST', X509, '{"certificate": ', { cookie: `session_id=${a.cookie}` }), 400, 'SyntacticError'],
    ['unreadable PEM', () => a.call('POST', X509, { ...x509Body(0), certificate: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n' }), 400, 'SyntacticError'],
    ['encrypted key', () => a.call('POST', X509, { ...x509Body(0), private_key: text('enc.key') }), 400, 'SyntacticError'],
    ['key of another certificate', () => a.call('POST', X509, { ...x509Body(0), private_key: text('leaf1.key') }), 400, 'SemanticError'],
    ['chain that does not link', () => a.call('POST', X509, x509Body(0, [text('other.pem')])), 400, 'SemanticError'],
    ['chain whose CA has the issuer\'s name but not its key', () => a.call('POST', X509, x509Body(0, [text('impostor.pem')])), 400, 'SemanticError'],
    ['unknown field', () => a.call('POST', X509, { ...x509Body(0), alias: 'x' }), 400, 'SyntacticError'],
    ['list x509', () => a.call('GET', X509), 405, 'MethodNotAllowed'],
    ['PUT x509 object', () => a.call('PUT', `${X509}/00000000-0000-0000-0000-000000000000`, {}), 405, 'MethodNotAllowed'],
    ['DELETE x509 object', () => a.call('DELETE', `${X509}/00000000-0000-0000-0000-000000000000`), 405, 'MethodNotAllowed'],
    ['unknown key', () => a.call('GET', `${X509}/00000000-0000-0000-0000-000000000000`), 404, 'NotFound'],
    ['commit with a bad status', () => a.call('PUT', '/api/transaction', { status: 'done' }), 400, 'SyntacticError'],
    ['commit message not a string', () => a.call('PUT', '/api/transaction', { status: 'commit', message: 7 }), 400, 'SyntacticError'],
    ['commit message over 1024 characters', () => a.call('PUT', '/api/transaction', { status: 'commit', message: 'm'.repeat(1025) }), 400, 'SyntacticError'],
    ['commit without a transaction', () => a.call('PUT', '/api/transaction', { status: 'commit' }), 400, 'SemanticError'],
  ];
  for (const [what, call, status, type] of cases) {
    const r = await call();
    assert.is(r.status, status, `${what}: ${r.text}`);
    assert.is(r.json?.error?.type, type, `${what}: ${r.text}`);
    assert.not.match(r.text, /PRIVATE KEY|secret-pass/, what);
  }
  const noLength = await postWithoutLength(a.cookie!);
  assert.match(noLength, /^HTTP\/1\.1 411 /);
  assert.match(noLength, /"type":"LengthRequired"/);
  assert.is((await a.call('GET', '/api/transaction')).json.body.status, 'closed');
  assert.equal(await entries(), before);
  assert.equal(await certdKeys(svc), keysBefore);
  // A viewer reads but does not change.
  const viewer = new SpsClient(svc.port, 'curl', 'viewer', PASSWORDS.viewer);
  await viewer.login();
  assertError(await viewer.call('POST', X509, x509Body(1)), 403, 'Forbidden');
});

t('PUT management/certificates re-points ca, server (the https binding) and tsa at the commit, in the batch of the new objects', async () => {
  const a = await login();
  const b = await login();
  const M = '/api/configuration/management/certificates';
  const empty = await b.call('GET', M);
  assert.is(empty.status, 200, empty.text);
  assert.equal(empty.json.body, { ca: { selection: 'identity', x509_identity: null }, server: null, tsa: null });
  assert.equal(empty.json.meta, {
    href: M, parent: '/api/configuration/management', first: M, last: '/api/configuration/management/webinterface',
    next: '/api/configuration/management/disk_fillup_prevention', previous: null, transaction: '/api/transaction',
  });
  const keys: string[] = [];
  for (let i = 0; i < 3; i++) keys.push((await a.call('POST', X509, x509Body(i))).json.key);
  const [ca, server, tsa] = keys as [string, string, string];
  assertError(await a.call('PUT', M, { ca: { selection: 'identity', x509_identity: ca }, server: ca, tsa }), 400, 'SemanticError');
  assertError(await a.call('PUT', M, { ca: { selection: 'identity', x509_identity: ca }, server: '00000000-0000-0000-0000-000000000000', tsa }), 404, 'NotFound');
  assertError(await a.call('PUT', M, { ca: ca, server, tsa }), 400, 'SyntacticError');
  const put = await a.call('PUT', M, { ca: { selection: 'identity', x509_identity: ca }, server, tsa });
  assert.is(put.status, 200, put.text);
  const mine = await a.call('GET', M);
  assert.equal(mine.json.body.server, { key: server, meta: { href: `${X509}/${server}` } });
  assert.equal(mine.json.body.ca.x509_identity, { key: ca, meta: { href: `${X509}/${ca}` } });
  assert.equal((await b.call('GET', M)).json.body, empty.json.body);
  const changes = (await a.call('GET', '/api/transaction/changes')).json.changes as { type: string; path: string }[];
  assert.equal(changes.map((c) => c.type), ['create', 'create', 'create', 'replace']);
  assert.is(changes[3]!.path, M);

  const commit = await a.call('PUT', '/api/transaction', { status: 'commit' });
  assert.is(commit.status, 200, commit.text);
  assert.equal((await b.call('GET', M)).json.body, mine.json.body);
  const https = await svc.as('viewer').get('/certd/v1/bindings/https');
  assert.is(https.json.data.certificate.id, server, https.text);
  // Bound now: another API may not delete it.
  const alias = (await entries()).find((e) => e.id === server)!.alias;
  const del = await svc.as('admin').del(`/config/rest/cert/v1/certificates/${alias}`);
  assert.is(del.status, 409, del.text);
});

const PK = '/api/configuration/private_keys';
/** SHA-256 of the key's SubjectPublicKeyInfo DER, as openssl computes it, colon hex. */
const spkiSha256 = (name: string) => createHash('sha256').update(execFileSync('openssl', ['pkey', '-in', join(dir, name), '-pubout', '-outform', 'DER'])).digest('hex').match(/../g)!.join(':');

t('private_keys: a PKCS#1 PEM string (or another unencrypted form) → key; GET shows type and public-key fingerprint, never the key, to its session only; refusals', async () => {
  const a = await login();
  const b = await login();
  const rsa = await a.call('POST', PK, text('leaf1.key'));
  assert.is(rsa.status, 201, rsa.text);
  assert.equal(rsa.json.meta, { href: `${PK}/${rsa.json.key}`, parent: PK, transaction: '/api/transaction' });
  const got = await a.call('GET', `${PK}/${rsa.json.key}`);
  assert.is(got.status, 200, got.text);
  assert.equal(got.json.body, { 'public-key-fingerprint': { digest: spkiSha256('leaf1.key'), hash_algorithm: 'sha256' }, type: 'rsa' });
  const ec = await a.call('POST', PK, text('ca.key'));
  assert.is(ec.status, 201, ec.text);
  assert.equal((await a.call('GET', `${PK}/${ec.json.key}`)).json.body, { 'public-key-fingerprint': { digest: spkiSha256('ca.key'), hash_algorithm: 'sha256' }, type: 'ec' });
  // Another session (locked out anyway) does not see it; the changes list never shows key material.
  assertError(await b.call('GET', `${PK}/${rsa.json.key}`), 404, 'NotFound');
  const changes = (await a.call('GET', '/api/transaction/changes')).text;
  assert.match(changes, new RegExp(`${PK}/${rsa.json.key}`));
  assert.not.match(changes, /PRIVATE KEY|MII/);
  assert.not.match(got.text, /PRIVATE KEY|MII/);
  const cases: [string, () => Promise<SpsReply>, number, string][] = [
    ['encrypted key', () => a.call('POST', PK, text('enc.key')), 400, 'SyntacticError'],
    ['garbage PEM', () => a.call('POST', PK, '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n'), 400, 'SyntacticError'],
    ['an object, not a string', () => a.call('POST', PK, { private_key: text('leaf1.key') }), 400, 'SyntacticError'],
    ['list', () => a.call('GET', PK), 405, 'MethodNotAllowed'],
    ['PUT collection', () => a.call('PUT', PK, {}), 405, 'MethodNotAllowed'],
    ['DELETE collection', () => a.call('DELETE', PK), 405, 'MethodNotAllowed'],
    ['PUT object', () => a.call('PUT', `${PK}/${rsa.json.key}`, text('leaf1.key')), 405, 'MethodNotAllowed'],
    ['DELETE object', () => a.call('DELETE', `${PK}/${rsa.json.key}`), 405, 'MethodNotAllowed'],
  ];
  for (const [label, run, status, type] of cases) {
    const r = await run();
    assert.is(r.status, status, `${label}: ${r.text}`);
    assert.is(r.json?.error?.type, type, label);
    assert.not.match(r.text, /MII/, label);
  }
  assert.is((await a.call('DELETE', '/api/transaction')).status, 200);
});

t('an x509 object references a private_keys object by key (once): at the commit the key enters keystored as the entry\'s; rollback leaves no key', async () => {
  const keysBefore = (await certdKeys(svc)).length;
  const a = await login();
  const pk = (await a.call('POST', PK, text('leaf1.key'))).json.key as string;
  const unused = (await a.call('POST', PK, text('leaf2.key'))).json.key as string;
  assertError(await a.call('POST', X509, { ...x509Body(0), private_key: unused }), 400, 'SemanticError');
  const x = await a.call('POST', X509, { ...x509Body(1), private_key: pk });
  assert.is(x.status, 201, x.text);
  assertError(await a.call('POST', X509, { ...x509Body(1), private_key: pk }), 400, 'SemanticError');
  assert.is((await certdKeys(svc)).length, keysBefore, 'nothing in keystored before the commit');
  // Rolled back: nothing made, nothing left.
  assert.is((await a.call('DELETE', '/api/transaction')).status, 200);
  assert.is((await certdKeys(svc)).length, keysBefore);
  assert.not.ok((await entries()).some((e) => e.id === x.json.key));

  const pk2 = (await a.call('POST', PK, text('leaf1.key'))).json.key as string;
  assert.is((await a.call('POST', PK, text('leaf2.key'))).status, 201);
  const x2 = await a.call('POST', X509, { ...x509Body(1), private_key: pk2 });
  assert.is(x2.status, 201, x2.text);
  assert.is((await a.call('PUT', '/api/transaction', { status: 'commit' })).status, 200);
  // One key more: the referenced one, as the new entry's (the unreferenced object went with the transaction).
  assert.is((await certdKeys(svc)).length, keysBefore + 1);
  const alias = (await entries()).find((e) => e.id === x2.json.key)!.alias;
  const csr = await svc.as('admin').post(`${API}/certificates/${encodeURIComponent(alias)}/get_csr`, {});
  assert.is(csr.status, 200, csr.text);
  assert.ok(csrVerifies(csr.json.data));
});

t('SIGKILL at every step of a commit of three x509 objects: after the restart all three or none, keys exactly the entries\'', async () => {
  const points: [string, boolean][] = [['batch:begun', false], ['batch:key:1', false], ['batch:committed', true], ['batch:put', true], ['batch:ended', true]];
  for (const [point, all] of points) {
    await svc.killCertd();
    await svc.start({ CERTD_CRASH_AT: point });
    const before = (await entries()).map((e) => e.id);
    const a = await login();
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) keys.push((await a.call('POST', X509, x509Body(i))).json.key);
    // certd dies in the commit: the client sees the connection drop.
    const outcome = await a.call('PUT', '/api/transaction', { status: 'commit' }).then((r) => r.text, () => 'killed');
    assert.is(outcome, 'killed', point);
    await svc.killCertd();
    await svc.start();
    const after = (await entries()).map((e) => e.id);
    const expected = all ? [...before, ...keys].sort() : [...before].sort();
    assert.equal(after.sort(), expected, point);
    assert.is((await certdKeys(svc)).length, after.length, point);
  }
});

t('SIGKILL at every step of a commit of an x509 object and a user\'s password: after the restart both or neither', async () => {
  const points: [string, boolean][] = [
    ['batch:begun', false], ['batch:key:0', false], ['batch:committed', true], ['batch:put', true], ['batch:users', true], ['batch:ended', true],
  ];
  let current: string = PASSWORDS.operator;
  for (const [i, [point, all]] of points.entries()) {
    await svc.killCertd();
    await svc.start({ CERTD_CRASH_AT: point });
    const before = (await entries()).map((e) => e.id);
    const a = await login();
    const key = (await a.call('POST', X509, x509Body(0))).json.key as string;
    const next = `Vb92-operator-${i}-tangerine`;
    const pw = await a.call('POST', '/api/configuration/passwords', { plain: next });
    assert.is((await a.call('PUT', '/api/configuration/aaa/local_database/users/operator', { name: 'operator', password: pw.json.key })).status, 200);
    const outcome = await a.call('PUT', '/api/transaction', { status: 'commit' }).then((r) => r.text, () => 'killed');
    assert.is(outcome, 'killed', point);
    await svc.killCertd();
    await svc.start();
    const after = (await entries()).map((e) => e.id).sort();
    assert.equal(after, (all ? [...before, key] : before).sort(), point);
    const works = async (password: string) => (await new SpsClient(svc.port, 'curl', 'operator', password).login()).status;
    if (all) current = next;
    assert.is(await works(current), 200, `${point}: the password the batch leaves logs in`);
    assert.is(await works(all ? PASSWORDS.operator : next), 401, `${point}: the other does not`);
    // The batch journals the user's HA1s, never the password.
    assert.not.match(readdirJournal(), new RegExp(next));
  }
});

/** Everything the journal folder holds, as text. */
function readdirJournal(): string {
  const d = join(svc.dir, 'certd', 'journal');
  return readdirSync(d).map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
}

t.run();
