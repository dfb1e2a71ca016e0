// The certificates page served through nginx (the https applier, as root in a temp prefix on
// a free port, certd behind it): chromium binds a CA-signed entry to HTTPS from the page,
// reloads, and its own security details show the page now comes with that certificate.
// Chromium trusts by SPKI pins given at launch (the default certificate's key and the
// entry's key, made before the browser starts); nothing else is ignored.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeCa } from './ca';
import { API, PASSWORDS, startService, type Service } from './service';
import { TIME_SCALE } from '../time-scale';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'chromium', 'nginx'], { stdio: 'inherit' });

const t = suite('certificates page through nginx');
const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts', 'ui');
const WAIT = 30_000 * TIME_SCALE;
const ca = makeCa('certd UI nginx test CA');
let svc: Service;
let browser: Browser;
let page: Page;
let prefix = '';
let base = '';

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as chromium's pin list wants it. */
const spkiPin = (pem: string) =>
  execFileSync('bash', ['-c', 'openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64'], { input: pem }).toString().trim();

const certificateOf = async (alias: string) => (await svc.as('admin').get(`${API}/certificates/${encodeURIComponent(alias)}`)).json.data.certificate as string;

t.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  prefix = join(execFileSync('mktemp', ['-d', '/tmp/certd-ui-nginx-XXXXXX']).toString().trim());
  const httpsPort = await freePort();
  // Digest only: the browser logs in through nginx with its own Digest.
  svc = await startService({ basic: false, certd: { listen: { host: '127.0.0.1', port: await freePort() }, https: { prefix, host: '127.0.0.1', port: httpsPort }, default_certificate: { make: true } } });
  base = `https://127.0.0.1:${httpsPort}`;
  // The entry to bind: key in keystored, CSR signed by the test CA, uploaded (cert.v1 on certd's own listener).
  const admin = svc.as('admin');
  assert.is((await admin.post(`${API}/create_certificate`, { alias: 'web', subject: 'CN=camera.test', subject_alt_names: ['IP:127.0.0.1'] })).status, 200);
  const csr = (await admin.post(`${API}/certificates/web/get_csr`, {})).json.data as string;
  assert.is((await admin.patch(`${API}/certificates/web`, { certificate: ca.sign(csr) })).status, 200);
  assert.is((await admin.post(`${API}/ca_certificates`, { alias: 'test-ca', certificate: ca.certPem })).status, 201);
  const pins = [spkiPin(await certificateOf('default')), spkiPin(await certificateOf('web'))];
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [`--ignore-certificate-errors-spki-list=${pins.join(',')}`], timeout: WAIT });
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORDS.admin } });
  context.setDefaultTimeout(WAIT);
  page = await context.newPage();
});

t.after(async () => {
  await browser?.close();
  await svc?.stop();
  const pidFile = join(prefix, 'nginx.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  if (pid > 1) process.kill(pid, 'SIGTERM');
});

t('bound from the page, the CA-signed entry is what the browser sees after a reload: subject, issuer and validity of the entry', async () => {
  const first = await page.goto(`${base}/certd/ui/`);
  assert.is(first!.status(), 200);
  assert.is((await first!.securityDetails())?.subjectName, (await svc.as('viewer').get('/certd/v1/entries')).json.data.find((e: { alias: string }) => e.alias === 'default').subject.replace(/^CN=/, ''), 'nginx serves the default certificate first');
  await page.waitForSelector('body[data-ready="true"]');

  await page.click('nav button[data-screen="services"]');
  const form = '#f-bind-https';
  await page.selectOption(`${form} select[name=certificate]`, { label: 'web (camera.test)' });
  await page.click(`${form} button[value=check]`);
  await page.locator('#status', { hasText: 'Pre-flight passed' }).waitFor();
  await page.click(`${form} button[value=apply]`);
  await page.locator('#status', { hasText: 'https now uses web' }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'nginx-01-bound.png'), fullPage: true });

  const res = await page.reload();
  assert.is(res!.status(), 200);
  const tls = (await res!.securityDetails())!;
  const entry = (await svc.as('viewer').get('/certd/v1/entries')).json.data.find((e: { alias: string }) => e.alias === 'web') as { not_before: string; not_after: string };
  assert.is(tls.subjectName, 'camera.test');
  assert.is(tls.issuer, 'certd UI nginx test CA');
  assert.is(tls.validFrom, Date.parse(entry.not_before) / 1000);
  assert.is(tls.validTo, Date.parse(entry.not_after) / 1000);
  await page.waitForSelector('body[data-ready="true"]');
  assert.match(await page.innerText('#entries tr[data-alias="web"]'), /https/);
  await page.screenshot({ path: join(ARTIFACTS, 'nginx-02-reloaded.png'), fullPage: true });
});

t.run();
