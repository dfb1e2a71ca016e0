// The certificates page (/certd/ui/) in Debian's chromium, driven by playwright-core, against
// real daemons over TLS: the browser's own Digest login, then what an admin does with the
// page. Screenshots of each screen go to test-artifacts/ui/ (git-ignored).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { csrVerifies, makeCa } from './ca';
import { PASSWORDS, startService, type Service } from './service';
import { TIME_SCALE } from '../time-scale';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'chromium'], { stdio: 'inherit' });

const t = suite('certificates page in chromium');
const dir = mkdtempSync(join(tmpdir(), 'certd-ui-'));
const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts', 'ui');
const WAIT = 30_000 * TIME_SCALE;
const ca = makeCa('certd UI test CA');
let svc: Service;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
/** What the page logged as an error or threw (a CSP violation shows here). */
const pageErrors: string[] = [];

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
const file = (name: string, text: string | Buffer) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const derSha256 = (pem: string) => createHash('sha256').update(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex');
/** A request with no credentials, over TLS to the listener's own certificate. */
function anonymousGet(path: string): Promise<{ status: number; challenge: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: svc.port, path, ca: readFileSync(join(dir, 'tls.pem')) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, challenge: String(res.headers['www-authenticate'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}
const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** The page's fetch, with the credentials the browser keeps (no Authorization from us). */
const fetchJson = (path: string) => page.evaluate(async (p) => (await fetch(p)).json() as Promise<{ data: any }>, path);

async function screen(name: string): Promise<void> {
  await page.click(`nav button[data-screen="${name}"]`);
  await page.waitForSelector(`#${name}:not([hidden])`);
}

async function statusSays(text: string): Promise<void> {
  await page.locator('#status', { hasText: text }).waitFor();
}

t.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.pem'),
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2');
  // Digest only: a login that works shows the browser did Digest itself.
  svc = await startService({ basic: false, certd: { tls: { cert_file: join(dir, 'tls.pem'), key_file: join(dir, 'tls.key') } } });
  base = `https://127.0.0.1:${svc.port}`;
  // The listener's key pinned by its SPKI hash: no certificate errors ignored wholesale.
  const spki = execFileSync('bash', ['-c', `openssl x509 -in '${join(dir, 'tls.pem')}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]).toString().trim();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [`--ignore-certificate-errors-spki-list=${spki}`], timeout: WAIT });
  context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORDS.admin }, acceptDownloads: true });
  context.setDefaultTimeout(WAIT);
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Answers the suite provokes (400, 409) and the favicon's 404 are logged as failed loads: not errors of the page.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text()); });
});

t.after(async () => {
  await browser?.close();
  await svc?.stop();
  console.log(`  screenshots: ${ARTIFACTS}`);
});

t('the page and its files ask for Digest credentials (the browser\'s own login), and none of them is served without', async () => {
  for (const path of ['/certd/ui/', '/certd/ui/app.js', '/certd/ui/app.css']) {
    const res = await anonymousGet(path);
    assert.is(res.status, 401, path);
    assert.match(res.challenge, /^Digest /, path);
  }
});

t('logs in with the browser\'s Digest, lists entries with the key store and its level, and the browser sees the configured TLS certificate', async () => {
  const res = await page.goto(`${base}/certd/ui/`);
  assert.is(res!.status(), 200);
  const csp = (await res!.allHeaders())['content-security-policy']!;
  assert.match(csp, /script-src 'self'/);
  assert.not.match(csp, /unsafe-inline/);
  const tls = await res!.securityDetails();
  assert.is(tls?.subjectName, 'localhost');
  await page.waitForSelector('body[data-ready="true"]');
  // From here on the page's fetches must go with the credentials the browser kept from the
  // login: playwright no longer answers a challenge.
  await context.setHTTPCredentials(null);
  assert.ok(await page.$$eval('#f-create select[name=key_type] option', (o) => o.length) > 0, 'key types of the default store offered');
  await shot('01-list-empty');
});

t('creates a key and self-signed certificate, gets the CSR as a .pem download, uploads the CA-signed certificate', async () => {
  await screen('add');
  const caForm = '#f-add-ca';
  await page.fill(`${caForm} input[name=alias]`, 'test-ca');
  await page.setInputFiles(`${caForm} input[name=certificate]`, file('ca.pem', ca.certPem));
  await page.click(`${caForm} button[type=submit]`);
  await statusSays('Added CA certificate test-ca.');

  await page.fill('#f-create input[name=alias]', 'web');
  await page.fill('#f-create input[name=subject]', 'CN=camera.test');
  await page.selectOption('#f-create select[name=keystore]', 'SOFTWARE0');
  await page.selectOption('#f-create select[name=key_type]', 'EC-P256');
  await page.fill('#f-create textarea[name=subject_alt_names]', 'IP:127.0.0.1\nDNS:camera.test');
  await shot('02-add');
  await page.click('#f-create button[type=submit]');
  await statusSays('Created web.');

  await screen('list');
  const row = page.locator('#entries tr[data-alias="web"]');
  assert.match(await row.innerText(), /camera\.test[\s\S]*SOFTWARE0 \(/);
  await row.getByRole('button', { name: 'Details of web' }).click();
  await page.waitForSelector('#details:not([hidden])');
  const details = await page.innerText('#details-fields');
  assert.match(details, /DNS:camera\.test/);
  assert.match(details, /IP:127\.0\.0\.1/);
  assert.match(details, /EC P-256/);
  await shot('03-details');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#f-csr button[type=submit]')]);
  assert.is(download.suggestedFilename(), 'web.csr.pem');
  const csr = readFileSync((await download.path())!, 'utf8');
  assert.ok(csrVerifies(csr), 'openssl verifies the CSR the page downloaded');
  await shot('04-csr');

  const signed = ca.sign(csr);
  await page.setInputFiles('#f-upload-signed input[name=certificate]', file('web-signed.pem', signed));
  await page.click('#f-upload-signed button[type=submit]');
  await statusSays('Certificate of web replaced.');
  await page.locator('#details-fields', { hasText: 'certd UI test CA' }).waitFor();
  assert.is(((await fetchJson('/certd/v1/entries')).data as { alias: string; sha256: string }[]).find((e) => e.alias === 'web')!.sha256.replace(/:/g, '').toLowerCase(), derSha256(signed));
  await shot('05-signed');
});

t('the pre-flight result is shown before applying: a refusal in words and no way to apply it; a pass, then the confirmation binds', async () => {
  // An expired certificate: its check refuses (validity) and it cannot be applied.
  const made = await page.evaluate(async () => (await fetch('/config/rest/cert/v1/create_certificate', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: { alias: 'old', subject: 'CN=old', valid_from: 1_000_000_000, valid_to: 1_100_000_000 } }),
  })).status);
  assert.is(made, 200);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await screen('services');
  const form = '#f-bind-https';
  const apply = page.locator(`${form} button[value=apply]`);
  await page.selectOption(`${form} select[name=certificate]`, { label: 'old (old)' });
  await page.click(`${form} button[value=check]`);
  await statusSays('Pre-flight refused: nothing changed.');
  assert.match(await page.innerText(`${form} .preflight`), /Pre-flight refuses old:\s*validity: expired/);
  assert.is(await apply.isHidden(), true, 'nothing to confirm after a refusal');
  await shot('06-preflight-refused');

  await page.selectOption(`${form} select[name=certificate]`, { label: 'web (camera.test)' });
  assert.is(await page.innerText(`${form} .preflight`), '', 'another choice forgets the last result');
  await page.click(`${form} button[value=check]`);
  await statusSays('Pre-flight passed; confirm with "Use for HTTPS".');
  assert.match(await page.innerText(`${form} .preflight`), /Pre-flight passed for web\./);
  assert.is(((await fetchJson('/certd/v1/bindings')).data as { name: string; certificate: unknown }[]).find((b) => b.name === 'https')?.certificate ?? null, null, 'the check changed nothing');
  await shot('07-preflight-passed');
  await apply.click();
  await statusSays('https now uses web (pre-flight passed');
  assert.is(await apply.isHidden(), true);
  await shot('08-services');
  const https = (await fetchJson('/certd/v1/bindings/https')).data as { certificate: { alias: string } };
  assert.is(https.certificate.alias, 'web');
  const applied = JSON.parse(readFileSync(join(svc.dir, 'certd', 'applied', 'https.json'), 'utf8'));
  assert.is(applied.certificate_sha256, derSha256((await fetchJson('/config/rest/cert/v1/certificates/web')).data.certificate));

  // certd's own TLS listener serves the certificate its config names, not the https
  // binding (the binding goes to the record-only applier until nginx fronts certd): after a
  // reload the browser still sees the configured one.
  const res = await page.reload();
  assert.is((await res!.securityDetails())?.subjectName, 'localhost');
  await page.waitForSelector('body[data-ready="true"]');
  assert.match(await page.innerText('#entries tr[data-alias="web"]'), /https/);
});

t('installs a PKCS#12 file; a wrong passphrase is shown in words beside the passphrase field', async () => {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'p12.key'), '-out', join(dir, 'p12.pem'), '-subj', '/CN=from-pkcs12', '-days', '5');
  openssl('pkcs12', '-export', '-inkey', join(dir, 'p12.key'), '-in', join(dir, 'p12.pem'), '-out', join(dir, 'id.p12'), '-passout', 'pass:p12-secret');
  await screen('add');
  const form = '#f-pkcs12';
  await page.fill(`${form} input[name=alias]`, 'p12');
  await page.setInputFiles(`${form} input[name=pkcs12]`, join(dir, 'id.p12'));
  await page.fill(`${form} input[name=passphrase]`, 'not-it');
  await page.click(`${form} button[type=submit]`);
  const err = page.locator('#f-pkcs12-passphrase-error');
  await err.waitFor();
  assert.match(await err.innerText(), /wrong passphrase \(code 9\)/);
  assert.is(await page.getAttribute(`${form} input[name=passphrase]`, 'aria-invalid'), 'true');
  await shot('07-pkcs12-refused');

  await page.fill(`${form} input[name=passphrase]`, 'p12-secret');
  await page.click(`${form} button[type=submit]`);
  await statusSays('Installed p12 from PKCS#12.');
  await screen('list');
  // Days left coloured: 5 days is ≤ 7.
  const row = page.locator('#entries tr[data-alias="p12"]');
  assert.match(await row.innerText(), /from-pkcs12/);
  assert.is(await row.locator('td.urgent').count(), 1);
  await shot('08-list');
});

t('deleting the entry HTTPS uses is refused, with the reason in words; search narrows the list', async () => {
  await page.fill('#search', 'camera');
  assert.is(await page.locator('#entries tbody tr').count(), 1);
  await page.getByRole('button', { name: 'Details of web' }).click();
  await page.click('#f-delete button[type=submit]');
  const err = page.locator('#f-delete .form-error', { hasText: /code/ });
  await err.waitFor();
  assert.match(await err.innerText(), /used by the https binding \(code 22\)/);
  await shot('09-delete-refused');
  assert.ok(((await fetchJson('/certd/v1/entries')).data as { alias: string }[]).some((e) => e.alias === 'web'), 'still there');
});

t('the report screen shows GET /certd/v1/report: the PKCS#12 entry expires within 7 days', async () => {
  await screen('report');
  const row = page.locator('#report-table tr[data-alias="p12"]');
  await row.waitFor();
  assert.match(await row.innerText(), /EXPIRES_WITHIN_7_DAYS/);
  await shot('10-report');
});

t('enrollments: a refusal beside its field; one whose CA directory is unreachable shows CA_UNREACHABLE and why; deleted from the page', async () => {
  await screen('enrollments');
  const form = '#f-enroll';
  await page.fill(`${form} input[name=directory_url]`, 'https://127.0.0.1:1/directory');
  await page.fill(`${form} textarea[name=identifiers]`, 'camera.test\n127.0.0.1');
  await page.click(`${form} button[type=submit]`);
  const err = page.locator('#f-enroll-trust_anchors-error');
  await err.waitFor();
  assert.match(await err.innerText(), /trust_anchors/);

  await page.selectOption(`${form} select[name=trust_anchors]`, { label: 'test-ca (certd UI test CA)' });
  await page.check(`${form} input[name=bindings][value=https]`);
  await page.click(`${form} button[type=submit]`);
  await statusSays('Enrollment for camera.test, 127.0.0.1 created.');
  const made = ((await fetchJson('/certd/v1/enrollments')).data as { identifiers: { type: string }[]; bindings: string[]; trust_anchors: string[] }[]);
  assert.is(made.length, 1);
  assert.equal(made[0]!.identifiers.map((i) => i.type), ['dns', 'ip']);
  assert.equal(made[0]!.bindings, ['https']);
  const row = page.locator('#enrollments-table tbody tr').first();
  for (let i = 0; i < 60 && !/CA_UNREACHABLE/.test(await row.innerText()); i++) {
    await page.waitForTimeout(500);
    await page.click('#enrollments-refresh');
  }
  assert.match(await row.innerText(), /camera\.test, 127\.0\.0\.1\s+https:\/\/127\.0\.0\.1:1\/directory\s+CA_UNREACHABLE\s+\S/);
  await shot('12-enrollments');
  await row.getByRole('button', { name: 'Delete the enrollment of camera.test, 127.0.0.1' }).click();
  await statusSays('Enrollment deleted.');
  await page.locator('#enrollments-table tbody', { hasText: 'No enrollments.' }).waitFor();
  assert.equal((await fetchJson('/certd/v1/enrollments')).data, []);
});

t('the audit trail shows the page\'s changes', async () => {
  await screen('audit');
  await page.waitForSelector('#audit-table tbody tr');
  const text = await page.innerText('#audit-table');
  for (const op of ['create_certificate', 'set_binding']) assert.match(text, op);
  await shot('11-audit');
});

t('the page ran with no script error and no CSP violation; a keyboard reaches the screens', async () => {
  await page.focus('nav button[data-screen="add"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#add:not([hidden])');
  assert.is(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), 'add-h');
  assert.equal(pageErrors, []);
});

t.run();
