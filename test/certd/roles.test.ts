// The roles matrix of cert.v1, derived from CERT_V1_OPERATIONS (plus the discovery GETs):
// every row x anonymous / wrong password / unknown user / viewer / operator / admin, over
// Digest SHA-256, and again over Digest MD5 and Basic. Anonymous and bad credentials get
// 401 with the challenges and the JSON envelope; a role below the row's gets 403 and
// nothing changes; the row's role gets the row's success status. The server routes exactly
// the table (and the OpenAPI document lists exactly the table).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Role } from '../../src/certd/http/app';
import { CERT_V1_OPERATIONS, type Operation } from '../../src/certd/api/cert-v1-model';
import type { CertV1SchemaName } from '../../src/certd/api/cert-v1-schemas';
import { Client, type Reply } from './client';
import { makeMaterial, StateProbe, PASSPHRASE, type Material, type StoreState } from './material';
import { API, PASSWORDS, startService, type Service } from './service';

type Scheme = 'digest-sha256' | 'digest-md5' | 'basic';
type Caller = 'anonymous' | 'wrong-password' | 'unknown-user' | Role;
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const SCHEMES: Scheme[] = ['digest-sha256', 'digest-md5', 'basic'];
const CALLERS: Caller[] = ['anonymous', 'wrong-password', 'unknown-user', 'viewer', 'operator', 'admin'];
const STORES = ['SOFTWARE0', 'SOFTWARE1'];
const enc = encodeURIComponent;
/** The matrix sends hundreds of wrong passwords from one address: no delay, no lock here (login-throttle.test.ts covers them). */
const NO_THROTTLE = { free_failures: 1000, lock_after: 100000, address_lock_after: 100000 };

/** The discovery GETs, as rows of the same shape (not part of the cert.v1 table). */
const DISCOVERY: Operation[] = ['', '/apis', '/apis/cert', '/apis/cert/v1', '/apis/cert/v1/model.json', '/apis/cert/v1/openapi.json']
  .map((p) => ({ method: 'GET', path: `/config/discover${p}`, role: 'viewer', summary: 'discovery', status: 200, errors: [] }));
const isDiscovery = (op: Operation) => op.path.startsWith('/config/discover');
const full = (op: Operation) => (isDiscovery(op) ? op.path : API + op.path);

const t = suite('cert.v1 roles matrix');
let svc: Service;
let m: Material;
let probe: StateProbe;
let fresh = 0;

// Aliases with spaces, parentheses and non-ASCII, sent percent-encoded.
const CERT = 'Rollen-Zertifikat (802.1X) ü';
const CA = 'Rollen-CA (Wurzel) ü';
const doomed = (kind: 'certificate' | 'ca', scheme: Scheme) => `Löschen ${kind} (${scheme})`;

t.before(async () => {
  m = makeMaterial();
  svc = await startService({ stores: [{ kind: 'software', id: 'SOFTWARE1' }], throttle: NO_THROTTLE });
  probe = new StateProbe(svc, STORES);
  const admin = svc.as('admin');
  const mk = async (path: string, data: unknown) => {
    const r = await admin.post(`${API}${path}`, data);
    assert.is(r.status, 201, r.text);
  };
  await mk('/certificates', { alias: CERT, certificate: m.cert, private_key: m.key });
  await mk('/ca_certificates', { alias: CA, certificate: m.ca });
  for (const s of SCHEMES) {
    await mk('/certificates', { alias: doomed('certificate', s), certificate: m.cert, private_key: m.key });
    await mk('/ca_certificates', { alias: doomed('ca', s), certificate: m.ca });
  }
});
t.after(async () => {
  probe?.close();
  await svc?.stop();
});

function client(caller: Caller, scheme: Scheme): Client {
  switch (caller) {
    case 'anonymous': return svc.anonymous();
    case 'wrong-password': return new Client(svc.port, { user: 'admin', password: `${PASSWORDS.admin}x`, scheme });
    case 'unknown-user': return new Client(svc.port, { user: 'nobody', password: PASSWORDS.admin, scheme });
    default: return svc.as(caller, scheme);
  }
}

/** Concrete path of a row: existing resources; each scheme deletes its own. */
function concrete(op: Operation, scheme: Scheme): string {
  const kind = op.path.startsWith('/ca_certificates') ? 'ca' : 'certificate';
  const alias = op.method === 'DELETE' ? doomed(kind, scheme) : kind === 'ca' ? CA : CERT;
  return full(op)
    .replace(':alias', enc(alias))
    .replace(':prop', op.path.startsWith('/keystores') ? 'key_types' : 'certificate')
    .replace(':id', 'SOFTWARE0');
}

/**
 * A valid body for the row that, when it runs, visibly changes the state: fresh aliases,
 * the certificate not currently stored, the keystore not currently the default.
 */
async function bodyFor(op: Operation): Promise<unknown> {
  if (!op.body) return undefined;
  const kind = op.path.startsWith('/ca_certificates') ? 'ca' : 'certificate';
  const state = await probe.read();
  const current = (kind === 'ca' ? state.ca_certificates : state.certificates) as { alias: string; certificate: string }[];
  const stored = current.find((e) => e.alias === (kind === 'ca' ? CA : CERT))!.certificate;
  const [a, b] = kind === 'ca' ? [m.ca, m.ca2] : [m.cert, m.cert2];
  const replacement = stored.replace(/\s/g, '') === a.replace(/\s/g, '') ? b : a;
  const otherStore = STORES.find((s) => s !== (state.settings as { keystore: string }).keystore)!;
  const alias = `Neu ${++fresh} (${op.body})`;
  const bodies: Record<CertV1SchemaName, () => unknown> = {
    addCertificate: () => ({ alias, certificate: m.cert, private_key: m.key }),
    addCaCertificate: () => ({ alias, certificate: m.ca }),
    setCertificateEntry: () => ({ certificate: replacement }),
    setCertificate: () => replacement,
    createCertificate: () => ({ alias, subject: 'CN=roles matrix', key_type: 'EC-P256' }),
    getCsr: () => ({}),
    installFromPkcs12: () => ({ alias, pkcs12: m.p12, passphrase: PASSPHRASE }),
    setSettings: () => ({ keystore: otherStore }),
    setKeystore: () => otherStore,
  };
  return { data: bodies[op.body]() };
}

const challenges = (r: Reply) => (r.headers['www-authenticate'] ?? []) as string[];

function assertChallenged(r: Reply, label: string, basic = true): void {
  assert.is(r.status, 401, `${label}: ${r.status} ${r.text}`);
  assert.is(r.json?.status, 'error', label);
  assert.is(r.json.error.code, 14, label);
  assert.type(r.json.error.message, 'string');
  const www = challenges(r);
  const digest = (alg: string) => www.findIndex((c) => c.startsWith('Digest ') && c.includes(`algorithm=${alg}`)
    && c.includes('realm="certd-test"') && c.includes('qop="auth"') && /nonce="[^"]+"/.test(c));
  assert.is(digest('MD5'), 0, `${label}: Digest MD5 challenge first in ${JSON.stringify(www)}`);
  assert.ok(digest('SHA-256') > digest('MD5'), `${label}: Digest SHA-256 challenge after MD5`);
  assert.is(www.some((c) => /^Basic realm="certd-test"/.test(c)), basic, `${label}: Basic challenge ${basic ? '' : 'not '}offered`);
}

const writes = (op: Operation) => op.method !== 'GET';
/** get_csr is the one write-method row that changes nothing. */
const changesState = (op: Operation) => writes(op) && !op.path.endsWith('/get_csr');

async function runRow(op: Operation, scheme: Scheme, callers: Caller[]): Promise<void> {
  for (const caller of callers) {
    const label = `${caller} ${scheme} ${op.method} ${op.path || '/'}`;
    const path = concrete(op, scheme);
    const body = await bodyFor(op);
    const before: StoreState | undefined = writes(op) ? await probe.read() : undefined;
    const r = await client(caller, scheme).call(op.method, path, body);
    const after: StoreState | undefined = writes(op) ? await probe.read() : undefined;
    if (caller === 'anonymous' || caller === 'wrong-password' || caller === 'unknown-user') {
      assertChallenged(r, label);
      if (before) assert.equal(after, before, `${label}: nothing changed`);
    } else if (RANK[caller] < RANK[op.role]) {
      assert.is(r.status, 403, `${label}: ${r.status} ${r.text}`);
      assert.equal(r.json, { status: 'error', error: { code: 15, message: `the ${op.role} role is required` } }, label);
      if (before) assert.equal(after, before, `${label}: nothing changed`);
    } else {
      assert.is(r.status, op.status, `${label}: ${r.status} ${r.text}`);
      if (!isDiscovery(op)) assert.is(r.json.status, 'success', label);
      if (changesState(op) && caller === 'admin') assert.not.equal(after, before, `${label}: the write took effect`);
      if (before && !changesState(op)) assert.equal(after, before, `${label}: nothing changed`);
    }
  }
}

const ROWS = [...CERT_V1_OPERATIONS, ...DISCOVERY];

t('the matrix covers every table row and every role of the table', () => {
  assert.ok(CERT_V1_OPERATIONS.length >= 25);
  for (const op of ROWS) assert.ok(op.role in RANK, `${op.method} ${op.path}: role ${op.role}`);
  // Every table row's role is one this suite can place callers above and below.
  assert.equal([...new Set(CERT_V1_OPERATIONS.map((o) => o.role))].sort(), ['admin', 'viewer']);
});

for (const op of ROWS) {
  t(`${op.method} ${op.path || '/'} (${op.role}): Digest SHA-256 x ${CALLERS.join(' / ')}`, async () => {
    await runRow(op, 'digest-sha256', CALLERS);
  });
}

t('Digest MD5 and Basic: every row x wrong password / viewer / operator / admin', async () => {
  for (const scheme of ['digest-md5', 'basic'] as const) {
    for (const op of ROWS) await runRow(op, scheme, ['wrong-password', 'viewer', 'operator', 'admin']);
  }
});

t('anonymous gets 401 before routing: unknown paths and wrong methods do not reveal themselves', async () => {
  for (const [method, path] of [['GET', `${API}/nope`], ['PUT', `${API}/certificates`], ['GET', '/elsewhere'], ['DELETE', `${API}/certificates/${enc('nope')}`]]) {
    assertChallenged(await svc.anonymous().call(method!, path!), `${method} ${path}`);
  }
});

t('the Basic challenge is offered only when Basic is enabled; Basic credentials are refused then', async () => {
  const other = await startService({ basic: false });
  try {
    const path = `${API}/keystores`;
    assertChallenged(await other.anonymous().get(path), 'anonymous, basic off', false);
    assertChallenged(await other.as('admin', 'basic').get(path), 'Basic admin, basic off', false);
    assert.is((await other.as('viewer', 'digest-md5').get(path)).status, 200);
  } finally {
    await other.stop();
  }
});

/** Which table rows a concrete path matches (a `:x` segment matches any one segment). */
function rowsMatching(path: string): Operation[] {
  const segs = path.split('/');
  return CERT_V1_OPERATIONS.filter((op) => {
    const t = (API + op.path).split('/');
    return t.length === segs.length && t.every((s, i) => s.startsWith(':') || s === segs[i]);
  });
}

t('the server routes exactly the table: other methods on every row path answer 405 with Allow', async () => {
  const admin = svc.as('admin');
  for (const op of CERT_V1_OPERATIONS) {
    const path = concrete(op, 'digest-sha256').replace(enc(doomed('certificate', 'digest-sha256')), enc(CERT)).replace(enc(doomed('ca', 'digest-sha256')), enc(CA));
    // A row marked `put` is also routed for PUT (AXIS OS <= 11.10 clients; parity.test.ts).
    const routed = new Set<string>(rowsMatching(path).flatMap((o) => (o.put ? [o.method, 'PUT'] : [o.method])));
    assert.ok(routed.has(op.method));
    for (const method of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS']) {
      if (routed.has(method)) continue;
      const r = await admin.call(method, path, method === 'GET' || method === 'OPTIONS' ? undefined : { data: {} });
      assert.is(r.status, 405, `${method} ${path}: ${r.status} ${r.text}`);
      assert.is(r.json.error.code, 16);
      const allow = String(r.headers.allow ?? '').split(/,\s*/).filter(Boolean).filter((x) => x !== 'HEAD').sort();
      assert.equal(allow, [...routed].sort(), `${method} ${path}: Allow`);
    }
  }
});

t('HEAD works wherever GET does, without a body', async () => {
  for (const op of ROWS.filter((o) => o.method === 'GET')) {
    const path = concrete(op, 'digest-sha256');
    const r = await svc.as('viewer').call('HEAD', path);
    assert.is(r.status, 200, `HEAD ${path}: ${r.status}`);
    assert.is(r.text, '');
    const g = await svc.as('viewer').get(path);
    assert.is(r.headers['content-length'], g.headers['content-length'], `HEAD ${path}: Content-Length of the GET`);
  }
  const anon = await svc.anonymous().call('HEAD', `${API}/keystores`);
  assert.is(anon.status, 401);
  assert.is(anon.text, '');
  assert.ok(challenges(anon).some((c) => c.startsWith('Digest ') && c.includes('algorithm=SHA-256')));
});

t('the OpenAPI document lists exactly the table: paths, methods and roles', async () => {
  const r = await svc.as('viewer').get('/config/discover/apis/cert/v1/openapi.json');
  assert.is(r.status, 200);
  const listed: string[] = [];
  for (const [path, item] of Object.entries(r.json.paths as Record<string, Record<string, { 'x-roles': string[] }>>)) {
    for (const [method, o] of Object.entries(item)) {
      listed.push(`${method.toUpperCase()} ${path}`);
      const row = CERT_V1_OPERATIONS.find((x) => x.method === method.toUpperCase() && (API + x.path).replace(/:([a-z]+)/g, '{$1}') === path)!;
      assert.ok(row, `${method} ${path} is a table row`);
      const allowed = (['admin', 'operator', 'viewer'] as Role[]).filter((role) => RANK[role] >= RANK[row.role]);
      assert.equal([...o['x-roles']].sort(), allowed.sort(), `${method} ${path}: x-roles`);
    }
  }
  const table = CERT_V1_OPERATIONS.map((o) => `${o.method} ${(API + o.path).replace(/:([a-z]+)/g, '{$1}')}`);
  assert.equal(listed.sort(), table.sort());
  assert.is(new Set(table).size, table.length, 'no duplicate rows');
});

t.run();
