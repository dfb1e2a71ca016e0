// WS-Security UsernameToken on /vapix/services against the real daemons: passwords set with
// users-cli (which has keystored seal them), tokens from npm `soap`'s WSSecurity (a client
// nobody here wrote) and hand-built ones for the refusals: wrong password, stale Created,
// a replayed nonce, a user without a sealed password, PasswordText; refusals are
// Sender / ter:NotAuthorized (HTTP 400) and count as failed logins (throttle, failure log).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as soap from 'soap';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UserStore } from '../../src/certd/auth/users';
import { raw, type Reply } from './client';
import { PASSWORDS, startService, type Service } from './service';
import { faultCodes, PATH, SPEC } from './soap-client';
import { SpsClient } from './sps-client';

const THROTTLE = { free_failures: 2, base_delay_ms: 50, max_delay_ms: 100, lock_after: 5, address_lock_after: 50, window_seconds: 600, lock_seconds: 120 };
const CLI = join(__dirname, '..', '..', 'src', 'certd', 'users-cli.js');
const DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const WSDL = join(SPEC, 'wsdl');
const URLMAP = JSON.parse(readFileSync(join(WSDL, 'urlmap.json'), 'utf8')) as Record<string, string>;
const LEGACY = 'legacy-pass-3e9a71';

const t = suite('SOAP WS-UsernameToken, end to end');
let svc: Service;
t.before(async () => {
  svc = await startService({ throttle: THROTTLE });
  await svc.killCertd();
  for (const name of ['admin', 'viewer', 'operator'] as const) {
    const out = execFileSync(process.execPath, [CLI, '--config', join(svc.dir, 'certd.json'), 'passwd', name], { input: `${PASSWORDS[name]}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
    assert.is(out.toString(), '');
  }
  UserStore.load(join(svc.dir, 'users.json')).add('legacy', 'admin', LEGACY); // as users made before sealing
  await svc.start();
});
t.after(async () => {
  await svc?.stop();
});

interface Tok { user: string; password: string; nonce?: Buffer; created?: string; type?: string }
function envelope(tok: Tok, op = '<tds:GetCertificates/>'): string {
  const nonce = tok.nonce ?? randomBytes(16);
  const created = tok.created ?? new Date().toISOString();
  const digest = tok.type === TEXT ? tok.password : createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(tok.password)])).digest('base64');
  return '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
    + ' xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"'
    + ' xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
    + `<s:Header><wsse:Security s:mustUnderstand="true"><wsse:UsernameToken><wsse:Username>${tok.user}</wsse:Username>`
    + `<wsse:Password Type="${tok.type ?? DIGEST}">${digest}</wsse:Password><wsse:Nonce>${nonce.toString('base64')}</wsse:Nonce>`
    + `<wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header><s:Body>${op}</s:Body></s:Envelope>`;
}
const post = (body: string, from?: string): Promise<Reply> => raw(svc.port, 'POST', PATH, body, { 'content-type': 'application/soap+xml; charset=utf-8' }, from);

/** `challenged`: a refused token (HTTP challenges go along); false: a role short of the operation's. */
function notAuthorized(r: Reply, what: string, challenged = true): void {
  assert.is(r.status, 400, `${what}: ${r.text.slice(0, 300)}`);
  assert.equal(faultCodes(r.text), ['SOAP-ENV:Sender', 'ter:NotAuthorized'], what);
  // The HTTP challenges go along, for a client that can fall back to Digest.
  if (challenged) assert.ok((r.headers['www-authenticate'] as string[]).some((c) => c.startsWith('Digest ')), what);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
async function wsdlClient(role: 'admin' | 'viewer'): Promise<any> {
  const c = await soap.createClientAsync(join(WSDL, 'device-service-wrapper.wsdl'), {
    forceSoap12Headers: true,
    wsdl_options: { overrideImportLocation: (location: string) => (URLMAP[location] ? join(WSDL, URLMAP[location]!) : location) },
  } as soap.IOptions, `http://127.0.0.1:${svc.port}/vapix/services`);
  c.setSecurity(new soap.WSSecurity(role, PASSWORDS[role], { passwordType: 'PasswordDigest', hasTimeStamp: false }));
  return c;
}

t('users-cli sealed the passwords: the users file holds a keystored blob, never the password', () => {
  const file = readFileSync(join(svc.dir, 'users.json'), 'utf8');
  const users = JSON.parse(file) as { users: { name: string; wsse?: string }[] };
  const admin = users.users.find((u) => u.name === 'admin')!;
  assert.ok(Buffer.from(admin.wsse!, 'base64').subarray(0, 4).equals(Buffer.from('CPW1')));
  assert.not.ok(file.includes(PASSWORDS.admin));
  assert.is(users.users.find((u) => u.name === 'legacy')!.wsse, undefined);
});

t('users-cli with no keystored to seal: the password is set, the tool says the user has no UsernameToken', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsse-cli-'));
  const config = { ...JSON.parse(readFileSync(join(svc.dir, 'certd.json'), 'utf8')), users_file: join(dir, 'users.json'), keystored_socket_dir: join(dir, 'run') };
  writeFileSync(join(dir, 'certd.json'), JSON.stringify(config));
  const r = spawnSync(process.execPath, [CLI, '--config', join(dir, 'certd.json'), 'add', 'cam', 'viewer'], { input: 'cli-pass-71c2e9\n' });
  assert.is(r.status, 0, r.stderr.toString());
  assert.match(r.stderr.toString(), /keystored did not seal the password .*: cam cannot use WS-UsernameToken/);
  assert.not.ok(r.stderr.toString().includes('cli-pass-71c2e9'));
  const cam = UserStore.load(join(dir, 'users.json')).get('cam')!;
  assert.is(cam.role, 'viewer');
  assert.is(cam.wsse, undefined);
});

t('npm soap with WSSecurity PasswordDigest: the admin creates and the viewer reads', async () => {
  const admin = await wsdlClient('admin');
  const [made] = await admin.CreateCertificateAsync({ CertificateID: 'wsse made', Subject: 'CN=wsse.example' });
  assert.is(made.NvtCertificate.CertificateID, 'wsse made');
  const viewer = await wsdlClient('viewer');
  const [got] = await viewer.GetCertificatesAsync({});
  assert.ok([got.NvtCertificate].flat().some((c: any) => c.CertificateID === 'wsse made'));
});

t('a viewer token cannot change anything: Sender / ter:NotAuthorized, the entry stays', async () => {
  const r = await post(envelope({ user: 'viewer', password: PASSWORDS.viewer }, '<tds:DeleteCertificates><tds:CertificateID>wsse made</tds:CertificateID></tds:DeleteCertificates>'));
  notAuthorized(r, 'viewer deletes', false);
  const viewer = await wsdlClient('viewer');
  const [got] = await viewer.GetCertificatesAsync({});
  assert.ok([got.NvtCertificate].flat().some((c: any) => c.CertificateID === 'wsse made'));
});

t('wrong password, stale or future Created, replayed nonce, no sealed password, PasswordText: Sender / ter:NotAuthorized', async () => {
  assert.is((await post(envelope({ user: 'admin', password: PASSWORDS.admin }))).status, 200, 'the right token');
  notAuthorized(await post(envelope({ user: 'admin', password: 'wrong-guess' })), 'wrong password');
  notAuthorized(await post(envelope({ user: 'admin', password: PASSWORDS.admin, created: new Date(Date.now() - 6 * 60_000).toISOString() })), 'Created 6 minutes old');
  notAuthorized(await post(envelope({ user: 'admin', password: PASSWORDS.admin, created: new Date(Date.now() + 6 * 60_000).toISOString() })), 'Created 6 minutes ahead');
  const once = envelope({ user: 'viewer', password: PASSWORDS.viewer });
  assert.is((await post(once)).status, 200);
  notAuthorized(await post(once), 'the same token again');
  notAuthorized(await post(envelope({ user: 'legacy', password: LEGACY })), 'a user without a sealed password');
  notAuthorized(await post(envelope({ user: 'admin', password: PASSWORDS.admin, type: TEXT })), 'PasswordText');
  const r = await raw(svc.port, 'POST', PATH, '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetCertificates xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>', { 'content-type': 'application/soap+xml' });
  assert.is(r.status, 401, 'no credentials at all: 401 with challenges, as before');
  assert.ok(r.headers['www-authenticate']!.length > 0);
  const logged = svc.logs().split('\n').filter((l) => l.includes('"scheme":"wsse"'));
  assert.ok(logged.length >= 1, 'failures reach the failure log under scheme wsse');
  assert.not.ok(svc.logs().includes(PASSWORDS.admin));
});

t('an SPS password commit seals the new password: the user without one gets UsernameToken, with the new password only', async () => {
  const NEW = 'Qx7-tangerine-Vb92-wsse';
  const a = new SpsClient(svc.port, 'curl', 'admin', PASSWORDS.admin);
  assert.is((await a.login()).status, 200);
  const pw = await a.call('POST', '/api/configuration/passwords', { plain: NEW });
  assert.is((await a.call('PUT', '/api/configuration/aaa/local_database/users/legacy', { name: 'legacy', password: pw.json.key })).status, 200);
  assert.is((await a.call('PUT', '/api/transaction', { status: 'commit' })).status, 200);
  assert.is((await post(envelope({ user: 'legacy', password: NEW }))).status, 200);
  notAuthorized(await post(envelope({ user: 'legacy', password: LEGACY })), 'the old password');
  assert.not.ok(readFileSync(join(svc.dir, 'users.json'), 'utf8').includes(NEW));
});

t('failed tokens count toward the throttle: a user locked from one address gets 429 there, in the SOAP form', async () => {
  const from = '127.0.0.3';
  for (let i = 0; i < THROTTLE.lock_after; i++) notAuthorized(await post(envelope({ user: 'operator', password: `wrong-${i}` }), from), `failure ${i + 1}`);
  const locked = await post(envelope({ user: 'operator', password: PASSWORDS.operator }), from);
  assert.is(locked.status, 429, locked.text.slice(0, 300));
  assert.equal(faultCodes(locked.text), ['SOAP-ENV:Sender', 'ter:NotAuthorized']);
  assert.is((await post(envelope({ user: 'operator', password: PASSWORDS.operator }), '127.0.0.1')).status, 200, 'from another address');
});

t('keystored away while a token is checked: Receiver / ter:Action, not a failed login; back, tokens work again', async () => {
  await svc.killKeystored();
  const r = await post(envelope({ user: 'viewer', password: PASSWORDS.viewer }), '127.0.0.4');
  assert.is(r.status, 500, r.text.slice(0, 300));
  assert.equal(faultCodes(r.text), ['SOAP-ENV:Receiver', 'ter:Action']);
  assert.not.ok(svc.logs().split('\n').some((l) => l.includes('"scheme":"wsse"') && l.includes('127.0.0.4')));
  await svc.start();
  let ok: Reply | undefined;
  for (let i = 0; i < 60 && ok?.status !== 200; i++) {
    if (i > 0) await new Promise((res) => setTimeout(res, 500));
    ok = await post(envelope({ user: 'viewer', password: PASSWORDS.viewer }));
  }
  assert.is(ok!.status, 200);
});

t("certd's first run seals the admin password it makes: a token with it reads", async () => {
  await svc.killCertd();
  rmSync(join(svc.dir, 'users.json'));
  await svc.start();
  const [user, password] = readFileSync(join(svc.dir, 'first-run-password'), 'utf8').trim().split(':') as [string, string];
  assert.is(user, 'admin');
  assert.is((await post(envelope({ user, password }))).status, 200);
  notAuthorized(await post(envelope({ user, password: PASSWORDS.admin })), 'the password before the first run');
});

t.run();
