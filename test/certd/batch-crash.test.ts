// Atomic batches (domain/batches.ts) against the real daemons: certd is SIGKILLed at every
// step of a batch that makes two entries, overwrites a third with a new key and removes a
// fourth (CERTD_CRASH_AT, src/common/crash-point.ts). After the restart: all of it or none
// of it, as the commit mark decides; every certd key keystored holds belongs to an entry
// and signs for it; the journal is empty. Refused batches change nothing.
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { journalPendingIn } from '../../src/certd/store/journal';
import { csrVerifies, makeCa } from './ca';
import { API, certdKeys, startService, type Service } from './service';

const t = suite('atomic batches');
let svc: Service;
t.before(async () => {
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

const enc = encodeURIComponent;
const BATCH = '/certd/v1/batch';

interface EntryFile {
  id: string;
  alias: string;
  certificate: string;
  key_id?: string;
}

/** The entries on flash, by alias. */
function entriesOnFlash(): Map<string, EntryFile> {
  const dir = join(svc.dir, 'certd', 'entries');
  const out = new Map<string, EntryFile>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
    const e = JSON.parse(readFileSync(join(dir, f), 'utf8')) as EntryFile;
    out.set(e.alias, e);
  }
  return out;
}

/** Every certd key in keystored belongs to exactly one entry, every entry's key signs, the journal is empty. */
async function checkConsistent(label: string): Promise<void> {
  const admin = svc.as('admin');
  const entries = entriesOnFlash();
  const keys = (await certdKeys(svc)).sort();
  const owned = [...entries.values()].flatMap((e) => (e.key_id ? [e.key_id] : [])).sort();
  assert.equal(keys, owned, `${label}: the keys in keystored are exactly the entries' keys`);
  for (const e of entries.values()) {
    if (!e.key_id) continue;
    const r = await admin.post(`${API}/certificates/${enc(e.alias)}/get_csr`, {});
    assert.is(r.status, 200, `${label}: ${e.alias} has no working key: ${r.text}`);
    assert.ok(csrVerifies(r.json.data));
  }
  assert.equal(journalPendingIn(join(svc.dir, 'certd')), [], `${label}: journal finished`);
}

async function create(alias: string): Promise<EntryFile> {
  const r = await svc.as('admin').post(`${API}/create_certificate`, { alias, subject: `CN=${alias}` });
  assert.is(r.status, 200, r.text);
  return entriesOnFlash().get(alias)!;
}

const steps = (n: string) => [
  { op: 'create_certificate', alias: `new a ${n}`, subject: `CN=a ${n}` },
  { op: 'create_certificate', alias: `new b ${n}`, subject: `CN=b ${n}` },
  { op: 'create_certificate', alias: `over ${n}`, subject: `CN=over ${n} again`, overwrite: true },
  { op: 'delete', alias: `gone ${n}` },
];

/** Checks that the batch of `steps(n)` is wholly there (`all`) or wholly absent. */
function checkOutcome(label: string, n: string, all: boolean, over: EntryFile, gone: EntryFile): void {
  const now = entriesOnFlash();
  assert.is(now.has(`new a ${n}`), all, `${label}: new a`);
  assert.is(now.has(`new b ${n}`), all, `${label}: new b`);
  const o = now.get(`over ${n}`)!;
  assert.is(o.id, over.id, `${label}: an overwritten entry keeps its id`);
  assert.is(o.key_id !== over.key_id, all, `${label}: overwritten key`);
  assert.is(o.certificate !== over.certificate, all, `${label}: overwritten certificate`);
  assert.is(now.has(`gone ${n}`), !all, `${label}: removed entry`);
  if (!all) assert.is(now.get(`gone ${n}`)!.key_id, gone.key_id);
}

t('a batch applies all its steps; the old keys are gone', async () => {
  const over = await create('over ok');
  const gone = await create('gone ok');
  const r = await svc.as('admin').post(BATCH, { steps: steps('ok') });
  assert.is(r.status, 200, r.text);
  assert.equal((r.json.data.entries as { alias: string }[]).map((e) => e.alias), ['new a ok', 'new b ok', 'over ok']);
  checkOutcome('no crash', 'ok', true, over, gone);
  const keys = await certdKeys(svc);
  assert.not.ok(keys.includes(over.key_id!), 'the overwritten entry\'s old key is deleted');
  assert.not.ok(keys.includes(gone.key_id!), 'the removed entry\'s key is deleted');
  await checkConsistent('no crash');
  const audit = (await svc.as('admin').get('/certd/v1/audit?limit=1')).json.data as { operation: string; outcome: string; target: { id: string } }[];
  assert.equal([audit[0]!.operation, audit[0]!.outcome, audit[0]!.target.id], ['batch', 'ok', r.json.data.id]);
});

// Before the commit mark: none of it. From it on: all of it.
const POINTS: [string, boolean][] = [
  ['batch:begun', false], ['batch:key:0', false], ['batch:key:1', false], ['batch:key:2', false],
  ['batch:committed', true], ['batch:put', true],
  ['batch:removed:0', true], ['batch:old-key:0', true], ['batch:old-key:1', true], ['batch:ended', true],
];

t('SIGKILL at every step of a batch: all or none of it after the restart, no orphan key, nothing half-made', async () => {
  for (const [i, [point, all]] of POINTS.entries()) {
    const n = String(i);
    const over = await create(`over ${n}`);
    const gone = await create(`gone ${n}`);
    await svc.killCertd();
    await svc.start({ CERTD_CRASH_AT: point });
    const r = await svc.as('admin').post(BATCH, { steps: steps(n) }).catch((e: Error) => e);
    assert.ok(r instanceof Error, `${point}: certd died before answering (${r instanceof Error ? '' : r.status})`);
    await svc.killCertd(); // reaps the process the crash point killed
    await svc.start();
    checkOutcome(point, n, all, over, gone);
    await checkConsistent(point);
  }
  assert.match(svc.logs(), /finished batches an earlier run left unfinished/);
});

t('a refused batch changes nothing: a bad step before any key, a pre-flight failure after the keys, a bound entry', async () => {
  const admin = svc.as('admin');
  const before = [...entriesOnFlash().keys()].sort();
  const keysBefore = (await certdKeys(svc)).sort();

  const bad = await admin.post(BATCH, { steps: [{ op: 'create_certificate', alias: 'r1', subject: 'CN=r1' }, { op: 'create_certificate', alias: 'r2', subject: 'CN=r2', keystore: 'NOPE0' }] });
  assert.is(bad.status, 400, bad.text);
  assert.match(bad.json.error.message, /^steps\[1\]\.keystore: /);

  // The keys are made, then https's pre-flight finds the new certificate expired: rolled back.
  const expired = await admin.post(BATCH, { steps: [
    { op: 'create_certificate', alias: 'r3', subject: 'CN=r3' },
    { op: 'create_certificate', alias: 'r4', subject: 'CN=r4', valid_from: 1_000_000_000, valid_to: 1_000_086_400 },
    { op: 'set_binding', name: 'https', certificate: 'r4' },
  ] });
  assert.is(expired.status, 400, expired.text);
  assert.match(expired.json.error.message, /^steps\[2\]\.validity: /);

  const dup = await admin.post(BATCH, { steps: [{ op: 'create_certificate', alias: 'r5', subject: 'CN=r5' }, { op: 'create_certificate', alias: 'r5', subject: 'CN=r5 again' }] });
  assert.is(dup.status, 400, dup.text);
  assert.match(dup.json.error.message, /^steps\[1\]\.alias: the batch names this alias twice/);

  assert.equal([...entriesOnFlash().keys()].sort(), before, 'no entry changed');
  assert.equal((await certdKeys(svc)).sort(), keysBefore, 'no key left behind');
  await checkConsistent('refused');

  // A bound entry is not removed, unless the same batch binds the service to another.
  const bound = await admin.post(BATCH, { steps: [{ op: 'create_certificate', alias: 'web 1', subject: 'CN=web 1' }, { op: 'set_binding', name: 'https', certificate: 'web 1' }] });
  assert.is(bound.status, 200, bound.text);
  const inUse = await admin.post(BATCH, { steps: [{ op: 'delete', alias: 'web 1' }] });
  assert.is(inUse.status, 409, inUse.text);
  assert.match(inUse.json.error.message, /^steps\[0\]: used by the https binding/);
  const moved = await admin.post(BATCH, { steps: [
    { op: 'create_certificate', alias: 'web 2', subject: 'CN=web 2' }, { op: 'set_binding', name: 'https', certificate: 'web 2' }, { op: 'delete', alias: 'web 1' },
  ] });
  assert.is(moved.status, 200, moved.text);
  assert.is((await admin.get('/certd/v1/bindings/https')).json.data.certificate.alias, 'web 2');
  assert.not.ok(entriesOnFlash().has('web 1'));
  await checkConsistent('rebound');
});

t('a factory (protected) entry is not removed by a batch', async () => {
  const root = makeCa('batch factory root');
  const path = join(svc.dir, 'certd.json');
  const pemFile = join(svc.dir, 'factory-root.pem');
  writeFileSync(pemFile, root.certPem);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), factory_entries: [{ alias: 'factory root', certificate_file: pemFile }] }));
  await svc.killCertd();
  await svc.start();
  const admin = svc.as('admin');
  const before = [...entriesOnFlash().keys()].sort();
  const keysBefore = (await certdKeys(svc)).sort();
  // Code 25: protected; code 2: a CA entry has the alias (a create cannot overwrite it).
  for (const [last, code] of [[{ op: 'delete', alias: 'factory root' }, 25], [{ op: 'create_certificate', alias: 'factory root', subject: 'CN=x', overwrite: true }, 2]] as const) {
    const r = await admin.post(BATCH, { steps: [{ op: 'create_certificate', alias: 'p1', subject: 'CN=p1' }, last] });
    assert.is(r.status, 409, r.text);
    assert.is(r.json.error.code, code, r.text);
    assert.match(r.json.error.message, /^steps\[1\]/);
  }
  assert.equal([...entriesOnFlash().keys()].sort(), before);
  assert.equal((await certdKeys(svc)).sort(), keysBefore);
});

t('bad bodies are refused by the schema, naming the field', async () => {
  const admin = svc.as('admin');
  for (const [body, field] of [
    [{ steps: [] }, /steps/],
    [{ steps: [{ op: 'explode' }] }, /op/],
    [{ steps: [{ op: 'delete', alias: 'x', private_key: 'secret' }] }, /unknown field/],
    [{ steps: [{ op: 'create_certificate', alias: 'x' }] }, /subject/],
  ] as const) {
    const r = await admin.post(BATCH, body);
    assert.is(r.status, 400, r.text);
    assert.match(r.json.error.message, field);
    assert.not.match(r.text, /secret/);
  }
  assert.is((await svc.as('operator').post(BATCH, { steps: [{ op: 'delete', alias: 'x' }] })).status, 403);
});

t('power cut: a torn last journal line is an intent whose step never began; another generation\'s batch is set aside, its keys kept', async () => {
  const victim = await create('kept');
  await svc.killCertd();
  const log = join(svc.dir, 'certd', 'journal', 'journal.log');
  const id = randomUUID();
  // A batch of a store generation that is not this one names the key: never obeyed.
  appendFileSync(log, JSON.stringify({ begin_batch: { op: 'batch', id, generation: 'another', new_keys: [{ keystore: 'SOFTWARE0', key_id: victim.key_id }] } }) + '\n');
  appendFileSync(log, '{"begin_batch":{"op":"batch","id":"torn","gener');
  await svc.start();
  assert.ok((await certdKeys(svc)).includes(victim.key_id!), 'the key of the foreign batch is kept');
  assert.ok(existsSync(join(svc.dir, 'certd', 'journal', 'unowned', `${id}.json`)), 'kept aside for a person');
  await checkConsistent('after a torn line');
});

t.run();
