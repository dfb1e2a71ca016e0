// SIGKILL of certd, keystored or both in the middle of create and delete, then a restart:
// no half-made entry (every listed certificate's key signs) and no orphan key (every key
// of certd's in keystored belongs to an entry). Kill points vary from run to run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { journalPendingIn } from '../../src/certd/store/journal';
import { csrVerifies } from './ca';
import { API, certdKeys, startService, type Service } from './service';

const t = suite('cert.v1 crash safety');
let svc: Service;
t.before(async () => {
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

async function checkConsistent(label: string): Promise<void> {
  const admin = svc.as('admin');
  const entries = (await admin.get(`${API}/certificates`)).json.data as { alias: string }[];
  for (const e of entries) {
    const r = await admin.post(`${API}/certificates/${enc(e.alias)}/get_csr`, {});
    assert.is(r.status, 200, `${label}: entry ${e.alias} has no usable key: ${r.text}`);
    assert.ok(csrVerifies(r.json.data));
  }
  const stored = readdirSync(join(svc.dir, 'certd', 'entries')).filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(join(svc.dir, 'certd', 'entries', f), 'utf8')) as { key_id?: string }).key_id);
  const keys = await certdKeys(svc);
  for (const k of keys) assert.ok(stored.includes(k), `${label}: orphan key ${k}`);
  assert.is(keys.length, entries.length, `${label}: one key per entry`);
  assert.equal(journalPendingIn(join(svc.dir, 'certd')), [], `${label}: journal finished`);
}

/** A certd that kept running finishes its journal once keystored is back: give it a few seconds. */
async function settled(label: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await checkConsistent(label);
    } catch (e) {
      if (i >= 10) throw e;
      await sleep(500);
    }
  }
}

type Victim = 'certd' | 'keystored' | 'both';
const kill = async (v: Victim) => {
  if (v !== 'keystored') await svc.killCertd();
  if (v !== 'certd') await svc.killKeystored();
};

t('SIGKILL in the middle of create_certificate leaves no half entry and no orphan key', async () => {
  const cases: [Victim, number][] = [['certd', 30], ['certd', 400], ['keystored', 50], ['keystored', 300], ['both', 100], ['both', 600]];
  for (const [i, [victim, delay]] of cases.entries()) {
    const alias = `crash create ${i}`;
    // RSA-3072 generation takes long enough in SOFTWARE0 to be interrupted.
    const pending = svc.as('admin').post(`${API}/create_certificate`, { alias, subject: `CN=crash ${i}`, key_type: 'RSA-3072' }).catch(() => undefined);
    await sleep(delay);
    await kill(victim);
    await pending;
    await svc.start();
    await settled(`${victim} after ${delay} ms`);
  }
});

t('SIGKILL in the middle of delete leaves the entry and key both there or both gone', async () => {
  const cases: [Victim, number][] = [['certd', 0], ['certd', 2], ['keystored', 1], ['both', 3]];
  for (const [i, [victim, delay]] of cases.entries()) {
    const admin = svc.as('admin'); // certd comes back on another port
    const alias = `crash delete ${i}`;
    assert.is((await admin.post(`${API}/create_certificate`, { alias, subject: `CN=delete ${i}` })).status, 200);
    const pending = admin.del(`${API}/certificates/${enc(alias)}`).catch(() => undefined);
    await sleep(delay);
    await kill(victim);
    await pending;
    await svc.start();
    await settled(`delete, ${victim} after ${delay} ms`);
  }
});

t.run();
