// ACME enrollments against Debian's pebble and the real daemons: an enrollment proves its
// names over http-01 on certd's own listener, the issued chain (openssl verifies it against
// pebble's root) becomes an entry bound to https; a short lifetime makes the renewal run
// here, moving the binding and keeping the replaced entry; a CA that does not answer and a
// challenge pebble cannot reach leave the old certificate bound and say why; a restarted
// certd picks its enrollments up again. /metrics says each enrollment's state.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TIME_SCALE } from '../time-scale';
import { freePort, startPebble, type Pebble } from './pebble';
import { API, startService, type Service } from './service';

const t = suite('acme');
const E = '/certd/v1/enrollments';
/** Issued certificates live this long: renewal (at half of it) runs within the suite. */
const VALIDITY_S = 30;
let svc: Service;
let pebble: Pebble;

interface View {
  id: string;
  state: string;
  why: string | null;
  issued: number;
  current: { id: string; alias: string } | null;
  previous: { id: string; alias: string } | null;
}

t.before(async () => {
  // A fixed port: pebble's http-01 checks go there, across certd's restart too.
  const port = await freePort();
  svc = await startService({ certd: { listen: { host: '127.0.0.1', port } } });
  pebble = await startPebble({ httpPort: port, validitySeconds: VALIDITY_S });
  const boot = await svc.as('admin').post('/certd/v1/batch', { steps: [
    { op: 'create_certificate', alias: 'boot', subject: 'CN=localhost', subject_alt_names: ['DNS:localhost'] },
    { op: 'set_binding', name: 'https', certificate: 'boot' },
  ] });
  assert.is(boot.status, 200, boot.text);
});
t.after(async () => {
  await svc?.stop();
  await pebble?.stop();
});

const enroll = (data: Record<string, unknown>) => svc.as('admin').post(E, {
  directory_url: pebble.directory, trust_anchors: [pebble.tlsAnchor], identifiers: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }],
  bindings: ['https'], ...data,
});
const view = async (id: string) => (await svc.as('admin').get(`${E}/${id}`)).json.data as View;
const httpsCertificate = async () => ((await svc.as('admin').get('/certd/v1/bindings/https')).json.data as { certificate: { id: string; alias: string } }).certificate;

async function until(id: string, done: (v: View) => boolean, seconds: number): Promise<View> {
  const deadline = Date.now() + seconds * 1000 * TIME_SCALE;
  for (;;) {
    const v = await view(id);
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`enrollment never got there: ${JSON.stringify(v)}\n${pebble.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let main = '';

t('an enrollment reaches MONITORING; its entry holds pebble\'s chain and is bound to https', async () => {
  const r = await enroll({ renew_fraction: 0.5 });
  assert.is(r.status, 201, r.text);
  main = (r.json.data as View).id;
  const v = await until(main, (x) => x.state === 'MONITORING', 60);
  assert.is(v.why, null);
  assert.ok(v.current);
  assert.equal(await httpsCertificate(), { id: v.current!.id, alias: v.current!.alias });
  const pem = (await svc.as('admin').get(`${API}/certificates/${v.current!.alias}`)).json.data as { certificate: string };
  const blocks = pem.certificate.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)!;
  assert.ok(blocks.length >= 2, 'leaf and pebble\'s intermediate');
  const dir = mkdtempSync(join(tmpdir(), 'certd-acme-'));
  try {
    writeFileSync(join(dir, 'root.pem'), await pebble.root());
    writeFileSync(join(dir, 'leaf.pem'), blocks[0]!);
    writeFileSync(join(dir, 'chain.pem'), blocks.slice(1).join('\n'));
    const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')]).toString();
    assert.match(out, /leaf\.pem: OK/);
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-ext', 'subjectAltName']).toString();
    assert.match(text, /DNS:localhost/);
    assert.match(text, /IP Address:127\.0\.0\.1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const metrics = (await svc.as('viewer').get('/metrics')).text;
  assert.ok(metrics.includes(`certd_enrollment_state{enrollment="${main}",state="MONITORING"} 1`), metrics);
  assert.ok(metrics.includes(`certd_enrollment_state{enrollment="${main}",state="CA_REJECTED"} 0`));
  assert.is(spawnSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'prometheus'], { stdio: 'inherit' }).status, 0);
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics });
  assert.is(lint.status, 0, `${lint.stdout}${lint.stderr}`);
  assert.is(`${lint.stdout}${lint.stderr}`.trim(), '', 'no lint remarks');
  // No challenge stays answered after its authorization.
  assert.is((await svc.anonymous().get('/.well-known/acme-challenge/anything')).status, 404);
});

t('an RS256 account (RSA-2048 key in keystored, PKCS#1 v1.5) enrolls', async () => {
  const r = await enroll({ account_key_type: 'RSA-2048', bindings: [] });
  assert.is(r.status, 201, r.text);
  assert.is((r.json.data as { account_key_type: string }).account_key_type, 'RSA-2048');
  const v = await until((r.json.data as View).id, (x) => x.state === 'MONITORING', 60);
  assert.is(v.why, null);
  assert.ok(v.current);
  assert.is((await svc.as('admin').del(`${E}/${v.id}`)).status, 200);
});

t('new_key false: the renewal keeps the key, id and alias; the certificate is replaced in place', async () => {
  const r = await enroll({ new_key: false, bindings: [], renew_fraction: 0.5 });
  assert.is(r.status, 201, r.text);
  const id = (r.json.data as View).id;
  const first = await until(id, (x) => x.state === 'MONITORING', 60);
  const leaf = async (alias: string) => ((await svc.as('admin').get(`${API}/certificates/${alias}`)).json.data as { certificate: string }).certificate.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)![0];
  const pubkey = (pem: string) => execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: pem }).toString();
  const before = await leaf(first.current!.alias);
  const v = await until(id, (x) => x.issued > first.issued && x.state === 'MONITORING', VALIDITY_S * 2);
  assert.equal({ id: v.current!.id, alias: v.current!.alias }, { id: first.current!.id, alias: first.current!.alias });
  assert.is(v.previous, null, 'no rollback entry: the certificate was replaced in place');
  const after = await leaf(v.current!.alias);
  assert.is.not(after, before);
  assert.is(pubkey(after), pubkey(before));
  const entries = (await svc.as('admin').get('/certd/v1/entries')).json.data as { alias: string }[];
  assert.is(entries.filter((e) => e.alias.startsWith(`acme-${id.slice(0, 8)}`)).length, 1);
  assert.is((await svc.as('admin').del(`${E}/${id}`)).status, 200);
});

t('renewal within the window moves https to the new entry and keeps the old one', async () => {
  const first = await view(main);
  const v = await until(main, (x) => x.issued >= first.issued + 1 && x.state === 'MONITORING', VALIDITY_S * 2);
  assert.is.not(v.current!.id, first.current!.id);
  assert.equal(v.previous, { id: first.current!.id, alias: first.current!.alias });
  assert.equal(await httpsCertificate(), { id: v.current!.id, alias: v.current!.alias });
  assert.is((await svc.as('admin').get(`/certd/v1/entries/${first.current!.id}`)).status, 200, 'the replaced entry is kept');
  const audit = (await svc.as('admin').get('/certd/v1/audit')).json.data as { operation: string; target?: { id?: string } }[];
  const ops = audit.filter((a) => a.target?.id === main).map((a) => a.operation);
  for (const op of ['create_enrollment', 'enrollment_need_to_renew', 'enrollment_submitting', 'enrollment_order', 'enrollment_monitoring']) assert.ok(ops.includes(op), op);
});

t('a restarted certd resumes its enrollments and renews again', async () => {
  const before = await view(main);
  await svc.killCertd();
  await svc.start();
  const v = await until(main, (x) => x.issued > before.issued && x.state === 'MONITORING', VALIDITY_S * 2);
  assert.equal(await httpsCertificate(), { id: v.current!.id, alias: v.current!.alias });
  // The entry from two issuances ago has gone; the one just replaced stays.
  assert.is((await svc.as('admin').get(`/certd/v1/entries/${before.previous!.id}`)).status, 404);
  assert.is((await svc.as('admin').get(`/certd/v1/entries/${before.current!.id}`)).status, 200);
});

t('certd killed right after a renewal\'s batch moved https: the restarted certd adopts that entry and goes on renewing (before: its number was taken, every retry ALIAS_EXISTS)', async () => {
  const before = await view(main);
  await svc.killCertd();
  await svc.start({ CERTD_CRASH_AT: 'batch:ended' });
  const pid = svc.certdPid();
  const deadline = Date.now() + VALIDITY_S * 2000 * TIME_SCALE;
  const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
  while (alive()) {
    if (Date.now() > deadline) throw new Error('certd never reached a renewal batch');
    await new Promise((r) => setTimeout(r, 200));
  }
  await svc.start();
  const v = await until(main, (x) => x.issued > before.issued && x.state === 'MONITORING', VALIDITY_S * 2);
  assert.is(v.why, null);
  assert.equal(await httpsCertificate(), { id: v.current!.id, alias: v.current!.alias });
  // Every entry of the enrollment is its current or previous one: none stray from the crash.
  const prefix = v.current!.alias.replace(/-\d+$/, '-');
  const mine = ((await svc.as('admin').get('/certd/v1/entries')).json.data as { alias: string }[]).map((x) => x.alias).filter((a) => a.startsWith(prefix));
  assert.equal(mine.sort(), [v.current!.alias, v.previous!.alias].sort());
});

t('an old entry someone bound by hand is kept, and renewal goes on', async () => {
  const before = await view(main);
  const pinned = await svc.as('admin').call('PUT', '/certd/v1/bindings/pinned', { data: { certificate: before.previous!.id } });
  assert.is(pinned.status, 200, pinned.text);
  const v = await until(main, (x) => x.issued > before.issued && x.state === 'MONITORING', VALIDITY_S * 2);
  assert.is(v.why, null);
  assert.is((await svc.as('admin').get(`/certd/v1/entries/${before.previous!.id}`)).status, 200);
  assert.equal(await httpsCertificate(), { id: v.current!.id, alias: v.current!.alias });
});

t('a CA that does not answer: CA_UNREACHABLE, why, https unchanged', async () => {
  const bound = await httpsCertificate();
  const r = await enroll({ directory_url: `https://127.0.0.1:${await freePort()}/dir` });
  assert.is(r.status, 201, r.text);
  const v = await until((r.json.data as View).id, (x) => x.state === 'CA_UNREACHABLE', 60);
  assert.match(v.why!, /ECONNREFUSED/);
  assert.is(v.current, null);
  const now = await httpsCertificate();
  // The main enrollment may have renewed meanwhile; the failed one moved nothing.
  assert.ok(now.alias === bound.alias || now.alias.startsWith(`acme-${main.slice(0, 8)}`));
  assert.is((await svc.as('admin').del(`${E}/${v.id}`)).status, 200);
  assert.is((await svc.as('admin').get(`${E}/${v.id}`)).status, 404);
});

t('a challenge pebble cannot reach: CA_REJECTED with the CA\'s reason, nothing bound', async () => {
  // certd listens on 127.0.0.1 only: pebble's check of 127.0.0.2 is refused.
  const r = await enroll({ identifiers: [{ type: 'ip', value: '127.0.0.2' }], bindings: [] });
  assert.is(r.status, 201, r.text);
  const v = await until((r.json.data as View).id, (x) => x.state === 'CA_REJECTED', 60);
  assert.match(v.why!, /127\.0\.0\.2/);
  assert.is(v.current, null);
  const entries = (await svc.as('admin').get('/certd/v1/entries')).json.data as { alias: string }[];
  assert.not.ok(entries.some((e) => e.alias.startsWith(`acme-${v.id.slice(0, 8)}`)), 'no entry made');
});

t('a new certificate that fails the binding\'s pre-flight: CA_REJECTED saying why, dot1x untouched, no entry or key left', async () => {
  // A dot1x binding that names no network CA refuses every certificate (pre-flight `ca`).
  const put = await svc.as('admin').call('PUT', '/certd/v1/bindings/dot1x', { data: {} });
  assert.is(put.status, 200, put.text);
  const r = await enroll({ bindings: ['dot1x'] });
  assert.is(r.status, 201, r.text);
  const id = (r.json.data as View).id;
  const v = await until(id, (x) => x.state === 'CA_REJECTED', 60);
  assert.match(v.why!, /^PREFLIGHT_FAILED: steps\[0\]\.ca: an 802\.1X binding names the CA certificates/, v.why!);
  assert.is(v.current, null);
  assert.is(((await svc.as('admin').get('/certd/v1/bindings/dot1x')).json.data as { certificate: unknown }).certificate, null);
  assert.is((await svc.as('admin').del(`${E}/${id}`)).status, 200);
  const prefix = `acme-${id.slice(0, 8)}`;
  const entries = (await svc.as('admin').get('/certd/v1/entries')).json.data as { alias: string }[];
  assert.not.ok(entries.some((e) => e.alias.startsWith(prefix)), 'the new entry was dropped');
  // Its key went too: a certd started again finds no key of ours that no entry holds.
  await svc.killCertd();
  await svc.start();
  const health = await svc.as('viewer').get('/certd/v1/health');
  assert.equal(health.json.data.unowned_keys, [], health.text);
});

t('bad enrollments are refused and change nothing', async () => {
  const count = ((await svc.as('admin').get(E)).json.data as unknown[]).length;
  for (const [data, field] of [
    [{ directory_url: 'http://127.0.0.1/dir' }, 'directory_url'],
    [{ trust_anchors: ['not a certificate'] }, 'trust_anchors'],
    [{ identifiers: [{ type: 'ip', value: '300.1.1.1' }] }, 'identifiers'],
    [{ identifiers: [{ type: 'dns', value: 'bad name' }] }, 'identifiers'],
    [{ bindings: ['nosuch'] }, ''],
    [{ renew_fraction: 1 }, 'renew_fraction'],
    [{ account_key_type: 'EC-P384' }, 'account_key_type'],
    [{ new_key: 'no' }, 'new_key'],
  ] as const) {
    const res = await enroll(data);
    assert.is(res.status >= 400 && res.status < 500, true, `${JSON.stringify(data)} ${res.status}`);
    assert.match(res.text, field);
  }
  assert.is(((await svc.as('admin').get(E)).json.data as unknown[]).length, count);
  assert.is((await svc.as('operator').get(E)).status, 403);
});

t.run();
