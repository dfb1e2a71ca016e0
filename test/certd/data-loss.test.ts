// The ways landed main lost keys that cannot be made again, each reproduced against the
// real daemons: a missing entries folder, two aliases sharing one entry file, and a
// DELETE answered as failed after it had removed the entry.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { journalPendingIn } from '../../src/certd/store/journal';
import { RecordStore } from '../../src/certd/store/records';
import { csrVerifies } from './ca';
import { API, certdKeys, startService, type Service } from './service';

const t = suite('data loss');
let svc: Service;
t.before(async () => {
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

const enc = encodeURIComponent;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const entriesDir = () => join(svc.dir, 'certd', 'entries');
const journalDir = () => join(svc.dir, 'certd', 'journal');

t('a missing entries folder deletes no key: keys are reported and kept, the folder comes back with a new generation', async () => {
  const admin = svc.as('admin');
  for (const alias of ['lost a', 'lost b']) {
    assert.is((await admin.post(`${API}/create_certificate`, { alias, subject: `CN=${alias}` })).status, 200);
  }
  const before = await certdKeys(svc);
  assert.ok(before.length >= 2);
  const oldGeneration = JSON.parse(readFileSync(join(entriesDir(), '.generation'), 'utf8')).generation as string;

  // A journal intent of the old folder's generation that would, if obeyed, delete a key.
  const victim = before[0]!;
  writeFileSync(join(journalDir(), `${victim}.json`), JSON.stringify({ op: 'add', alias: 'lost a', keystore: 'SOFTWARE0', key_id: victim, generation: oldGeneration }));

  await svc.killCertd();
  const saved = `${entriesDir()}.saved`;
  renameSync(entriesDir(), saved); // a failed mount
  await svc.start();

  assert.equal((await certdKeys(svc)).sort(), before.sort(), 'every key is still there');
  assert.match(svc.logs(), /keys of certd that no entry uses were kept/);
  assert.match(svc.logs(), /journal intents of another store generation set aside/);
  assert.ok(existsSync(join(journalDir(), 'unowned', `${victim}.json`)), 'the foreign intent is kept aside for a person');
  const newGeneration = JSON.parse(readFileSync(join(entriesDir(), '.generation'), 'utf8')).generation as string;
  assert.is.not(newGeneration, oldGeneration);
  assert.equal((await svc.as('admin').get(`${API}/certificates`)).json.data, []);

  // The folder comes back (the mount works again): the entries and their keys are whole.
  await svc.killCertd();
  rmSync(entriesDir(), { recursive: true });
  renameSync(saved, entriesDir());
  await svc.start();
  const admin2 = svc.as('admin');
  for (const alias of ['lost a', 'lost b']) {
    const r = await admin2.post(`${API}/certificates/${enc(alias)}/get_csr`, {});
    assert.is(r.status, 200, r.text);
    assert.ok(csrVerifies(r.json.data));
  }
  for (const alias of ['lost a', 'lost b']) assert.is((await admin2.del(`${API}/certificates/${enc(alias)}`)).status, 200);
});

t('an intent of this generation still undoes its half-made add after a crash', async () => {
  const generation = JSON.parse(readFileSync(join(entriesDir(), '.generation'), 'utf8')).generation as string;
  const keyId = `certd-${randomUUID()}`;
  const client = new KeystoreClient(endpointFor(join(svc.dir, 'run')));
  await client.call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: keyId, key_type: 'EC-P256' });
  client.close();
  await svc.killCertd();
  writeFileSync(join(journalDir(), `${keyId}.json`), JSON.stringify({ op: 'add', alias: 'half', keystore: 'SOFTWARE0', key_id: keyId, generation }));
  await svc.start();
  assert.not.ok((await certdKeys(svc)).includes(keyId), 'the key of the unfinished add is gone');
  assert.equal(journalPendingIn(join(svc.dir, 'certd')), []);
  assert.is((await svc.as('admin').get(`${API}/certificates/half`)).status, 404);
});

t('a start whose journal delete must wait for a key still being generated starts anyway, and the key goes after', async () => {
  const generation = JSON.parse(readFileSync(join(entriesDir(), '.generation'), 'utf8')).generation as string;
  const keyId = `certd-${randomUUID()}`;
  await svc.killCertd();
  // An add that certd gave up on while keystored still makes its RSA-4096 key (seconds):
  // the delete that undoes it waits behind the generation (same key), past its time limit.
  writeFileSync(join(journalDir(), `${keyId}.json`), JSON.stringify({ op: 'add', alias: 'slow add', keystore: 'SOFTWARE0', key_id: keyId, generation }));
  const client = new KeystoreClient(endpointFor(join(svc.dir, 'run')), { timeoutMs: 600_000 });
  // Two other keys first: keystored's one key worker makes them before this one.
  const generating = Promise.all([`other-${randomUUID()}`, `other-${randomUUID()}`, keyId]
    .map((id) => client.call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: id, key_type: 'RSA-4096' })));
  await sleep(200);
  await svc.start(); // before, certd exited "cannot start: keystore unavailable (TIMEOUT)"
  await generating;
  client.close();
  // The intent ends just after keystored answers the delete: wait for both.
  for (let i = 0; i < 120 && ((await certdKeys(svc)).includes(keyId) || journalPendingIn(join(svc.dir, 'certd')).length > 0); i++) await sleep(500);
  assert.not.ok((await certdKeys(svc)).includes(keyId), 'the journal deleted the key once it was made');
  assert.equal(journalPendingIn(join(svc.dir, 'certd')), []);
});

t('aliases: lone surrogates, control characters and edge white space are refused; NFC forms are one alias', async () => {
  const admin = svc.as('admin');
  for (const alias of ['\ud800x', 'a\u0000b', 'line\nbreak', 'tab\t', ' lead', 'trail ', '\u2028', '\ufffe', 'x'.repeat(129)]) {
    const r = await admin.post(`${API}/create_certificate`, { alias, subject: 'CN=bad' });
    assert.is(r.status, 400, `${JSON.stringify(alias)}: ${r.text}`);
    assert.is(r.json.error.code, 5);
    assert.match(r.json.error.message, /^(data\.)?alias: /, r.text);
  }
  assert.equal((await admin.get(`${API}/certificates`)).json.data, [], 'nothing was made');
  assert.equal(await certdKeys(svc), [], 'no key was made');

  // The lone surrogate's twin is a fine alias of its own.
  assert.is((await admin.post(`${API}/create_certificate`, { alias: '\ufffdx', subject: 'CN=twin' })).status, 200);
  const nfc = 'caf\u00e9';
  const nfd = 'cafe\u0301';
  assert.is((await admin.post(`${API}/create_certificate`, { alias: nfd, subject: 'CN=cafe' })).status, 200);
  const taken = await admin.post(`${API}/ca_certificates`, { alias: nfc, certificate: (await admin.get(`${API}/certificates/${enc(nfd)}/certificate`)).json.data });
  assert.is(taken.status, 409, 'NFC and NFD spellings are one alias');
  const listed = ((await admin.get(`${API}/certificates`)).json.data as { alias: string }[]).map((e) => e.alias).sort();
  assert.equal(listed, [nfc, '\ufffdx'].sort(), 'stored in NFC');
  assert.is((await admin.get(`${API}/certificates/${enc(nfc)}`)).status, 200);

  // Both survive a restart with working keys.
  await svc.killCertd();
  await svc.start();
  for (const alias of [nfc, '\ufffdx']) {
    const r = await svc.as('admin').post(`${API}/certificates/${enc(alias)}/get_csr`, {});
    assert.is(r.status, 200, r.text);
    assert.is((await svc.as('admin').del(`${API}/certificates/${enc(alias)}`)).status, 200);
  }
  assert.equal(await certdKeys(svc), []);
});

t('the store refuses to write an entry into a file that holds another alias', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certd-records-'));
  mkdirSync(join(dir, 'entries'));
  const fileOfB = createHash('sha256').update('b', 'utf8').digest('hex').slice(0, 40) + '.json';
  writeFileSync(join(dir, 'entries', fileOfB), JSON.stringify({ id: 'e1', alias: 'a', kind: 'ca', certificate: 'x', chain: [], created: '' }));
  const store = new RecordStore(dir);
  assert.throws(() => store.put({ id: 'e2', alias: 'b', kind: 'ca', certificate: 'y', chain: [], created: '' }), /another alias/);
  assert.is(store.get('a')?.certificate, 'x');
  assert.is(JSON.parse(readFileSync(join(dir, 'entries', fileOfB), 'utf8')).alias, 'a');
  rmSync(dir, { recursive: true });
});

t('a DELETE while keystored is away succeeds once the entry is gone, and the key follows when keystored is back', async () => {
  const admin = svc.as('admin');
  assert.is((await admin.post(`${API}/create_certificate`, { alias: 'away', subject: 'CN=away' })).status, 200);
  const keys = await certdKeys(svc);
  assert.is(keys.length, 1);
  await svc.killKeystored();
  const r = await admin.del(`${API}/certificates/away`);
  assert.is(r.status, 200, r.text);
  assert.is((await admin.get(`${API}/certificates/away`)).status, 404);
  await svc.start();
  for (let i = 0; i < 40 && (await certdKeys(svc)).length > 0; i++) await sleep(250);
  assert.equal(await certdKeys(svc), [], 'the journal finished the delete');
  assert.equal(journalPendingIn(join(svc.dir, 'certd')), []);
});

t.run();
