// certd while keystored is stopped (SIGSTOP) or killed mid-request: writes answer 503 in
// seconds rather than after a call's whole timeout, reads that need no keystore work, and
// writes work again once keystored is back. And certd's event loop while a PKCS#12 at a
// high iteration count is installed: other requests are answered meanwhile.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TIME_SCALE } from '../time-scale';
import { API, startService, type Service } from './service';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'out', 'pkcs12');
const PASS = readFileSync(join(FIXTURES, 'pass.txt'), 'utf8');
const p12 = (name: string) => readFileSync(join(FIXTURES, `${name}.p12`)).toString('base64');

const t = suite('certd with keystored away');
let svc: Service;
t.before(async () => {
  svc = await startService();
});
t.after(async () => {
  svc?.signalKeystored('SIGCONT');
  await svc?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const create = (alias: string) =>
  svc.as('admin').post(`${API}/create_certificate`, { alias, subject: `CN=${alias}`, keystore: 'SOFTWARE0', key_type: 'EC-P256' });

/** Times a request; the bounds below are generous (loaded machines), far under the 60 s of old. */
async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const r = await f();
  return [r, performance.now() - started];
}

t('keystored stopped: a write answers 503 within seconds, reads work, and after SIGCONT writes work again', async () => {
  const first = await create('before-stop');
  assert.is(first.status, 200, JSON.stringify(first.json));
  svc.signalKeystored('SIGSTOP');
  try {
    const [r, ms] = await timed(() => create('while-stopped'));
    assert.is(r.status, 503, JSON.stringify(r.json));
    assert.is(r.json.error.code, 17);
    assert.ok(ms < 15_000 * TIME_SCALE, `503 after ${ms} ms`);
    // Now known to be down: the next write fails at once, without a probe.
    const [again, againMs] = await timed(() => create('while-stopped-2'));
    assert.is(again.status, 503);
    assert.ok(againMs < 5000 * TIME_SCALE, `second 503 after ${againMs} ms`);
    const list = await svc.as('viewer').get(`${API}/certificates`);
    assert.is(list.status, 200);
    assert.ok((list.json.data as { alias: string }[]).some((e) => e.alias === 'before-stop'));
  } finally {
    svc.signalKeystored('SIGCONT');
  }
  // The background probe finds keystored again within a few seconds.
  let status = 0;
  for (let i = 0; i < 60 && status !== 200; i++) {
    status = (await create(`after-cont-${i}`)).status;
    if (status !== 200) await sleep(500);
  }
  assert.is(status, 200);
  const aliases = ((await svc.as('viewer').get(`${API}/certificates`)).json.data as { alias: string }[]).map((e) => e.alias);
  assert.not.ok(aliases.includes('while-stopped'));
});

t('keystored killed mid-request: the write answers 503 promptly; restarted, writes work', async () => {
  const pending = timed(() => svc.as('admin').post(`${API}/create_certificate`, { alias: 'killed', subject: 'CN=killed', keystore: 'SOFTWARE0', key_type: 'RSA-4096' }));
  await sleep(300);
  await svc.killKeystored();
  const [r, ms] = await pending;
  assert.is(r.status, 503, JSON.stringify(r.json));
  assert.ok(ms < 15_000 * TIME_SCALE, `503 after ${ms} ms`);
  const [down, downMs] = await timed(() => create('while-dead'));
  assert.is(down.status, 503);
  assert.ok(downMs < 5000 * TIME_SCALE, `503 after ${downMs} ms`);
  await svc.start();
  let status = 0;
  for (let i = 0; i < 60 && status !== 200; i++) {
    status = (await create(`after-restart-${i}`)).status;
    if (status !== 200) await sleep(500);
  }
  assert.is(status, 200);
});

t('a PKCS#12 at 200000 iterations installs while other requests are answered', async () => {
  const viewer = svc.as('viewer');
  let installing = true;
  const install = svc.as('admin').post(`${API}/install_from_pkcs12`, { alias: 'iter-200k', pkcs12: p12('ec.iter-200k'), passphrase: PASS, keystore: 'SOFTWARE0' })
    .finally(() => (installing = false));
  const gets: number[] = [];
  while (installing) {
    const [r, ms] = await timed(() => viewer.get(API));
    assert.is(r.status, 200);
    gets.push(ms);
  }
  const r = await install;
  assert.is(r.status, 200, JSON.stringify(r.json));
  // The decode took ~0.5 s here (seconds on ARM); GETs answered throughout, each well under
  // the time the KDF held the loop before it moved to a worker thread.
  assert.ok(gets.length >= 1);
  assert.ok(Math.max(...gets) < 500 * TIME_SCALE, `slowest GET during the install: ${Math.max(...gets)} ms`);
});

t('a PKCS#12 over the iteration cap is refused 400 code 10, naming the file', async () => {
  const [r, ms] = await timed(() => svc.as('admin').post(`${API}/install_from_pkcs12`, { alias: 'iter-over', pkcs12: p12('ec.iter-over-key'), passphrase: PASS }));
  assert.is(r.status, 400);
  assert.is(r.json.error.code, 10);
  assert.match(r.json.error.message, /^pkcs12: .*iteration/);
  // Its key asks for 10^7 iterations (~10 s of KDF here): refused before any of it ran.
  assert.ok(ms < 3000 * TIME_SCALE, `refused after ${ms} ms`);
});

t.run();
