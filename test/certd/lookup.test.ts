// Each API's names for entries (domain/lookup.ts) over a real record store and the crypto
// core's certificate parser: cert.v1 aliases, SOAP CertificateID (and the subject CN when
// exactly one entry has it), 2N's @name / #name / SHA-1, SPS object keys, and the alias
// made for a 2N upload without id. Every refusal is a DomainError naming its field.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DomainError } from '../../src/certd/domain/errors';
import { EntryNames, TWO_N_NAME } from '../../src/certd/domain/lookup';
import { type EntryKind, RecordStore } from '../../src/certd/store/records';
import { X509 } from '../../wasm/x509';
import { core } from '../helpers';
import { makeCa } from './ca';

const t = suite('entry names');
let dir: string;
let store: RecordStore;
let names: EntryNames;
const ids: Record<string, string> = {};

const sha1 = (pem: string) => execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha1'], { input: pem }).toString().split('=')[1]!.trim().replace(/:/g, '').toLowerCase();

function refused(fn: () => unknown, code: string, field: string, message?: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, DomainError);
    assert.is((e as DomainError).code, code);
    assert.is((e as DomainError).field, field);
    if (message) assert.match((e as DomainError).message, message);
    return;
  }
  assert.unreachable(`expected ${code} on ${field}`);
}

const pems: Record<string, string> = {};

t.before(async () => {
  const x509 = new X509(await core());
  dir = mkdtempSync(join(tmpdir(), 'certd-lookup-'));
  store = new RecordStore(dir);
  for (const cn of ['cam1.local', 'Root One', 'devid', 'twin', 'twin', 'shared']) pems[cn === 'twin' && pems.twin ? 'twin2' : cn] = makeCa(cn).certPem;
  const add = (alias: string, kind: EntryKind, pem: string, extra: { protected?: true } = {}) => {
    const id = `00000000-0000-4000-8000-${String(Object.keys(ids).length).padStart(12, '0')}`;
    ids[alias] = id;
    store.put({ id, alias, kind, certificate: pem, chain: [], created: '2026-01-01T00:00:00.000Z', ...(kind === 'certificate' ? { keystore: 'SOFTWARE0', key_id: `k-${alias}` } : {}), ...extra });
  };
  add('web', 'certificate', pems['cam1.local']!);
  add('root-one', 'ca', pems['Root One']!);
  add('Axis device ID (802.1AR)', 'certificate', pems.devid!, { protected: true });
  add('twin-a', 'ca', pems.twin!);
  add('twin-b', 'ca', pems.twin2!);
  add('copy-a', 'ca', pems.shared!);
  add('copy-b', 'ca', pems.shared!);
  add('café', 'ca', makeCa('cafe').certPem);
  names = new EntryNames(store, (pem) => x509.parse(Buffer.from(pem))[0]!);
});
t.after(() => rmSync(dir, { recursive: true }));

t('cert.v1: the alias as sent or in NFC, of the asked kind', () => {
  assert.is(names.alias('web').id, ids.web);
  assert.is(names.alias('cafe\u0301').id, ids['café'], 'decomposed finds the NFC alias');
  assert.is(names.alias('web', 'certificate').id, ids.web);
  refused(() => names.alias('web', 'ca'), 'NOT_FOUND', 'alias', /no CA certificate with alias "web"/);
  refused(() => names.alias('nope'), 'NOT_FOUND', 'alias');
});

t('SOAP: CertificateID is the alias; SetDot1XConfiguration may give the CN of exactly one entry', () => {
  assert.is(names.certificateId('root-one', 'ca').id, ids['root-one']);
  refused(() => names.certificateId('cam1.local'), 'NOT_FOUND', 'CertificateID');
  assert.is(names.certificateIdOrCn('web').id, ids.web, 'an alias');
  assert.is(names.certificateIdOrCn('cam1.local', 'certificate').id, ids.web, 'the one CN');
  assert.is(names.certificateIdOrCn('Root One', 'ca').id, ids['root-one']);
  refused(() => names.certificateIdOrCn('Root One', 'certificate'), 'NOT_FOUND', 'CertificateID', /subject CN/);
  refused(() => names.certificateIdOrCn('twin'), 'INVALID', 'CertificateID', /2 entries have the subject CN/);
  refused(() => names.certificateIdOrCn('nobody'), 'NOT_FOUND', 'CertificateID');
});

t('2N: @name, #name (protected only) and the SHA-1 fingerprint', () => {
  assert.is(names.twoN('@web').id, ids.web);
  assert.is(names.twoN('@root-one', 'ca').id, ids['root-one']);
  refused(() => names.twoN('@web', 'ca'), 'NOT_FOUND', 'id');
  refused(() => names.twoN('@nope'), 'NOT_FOUND', 'id');
  for (const bad of ['@', '@bad name', `@${'a'.repeat(41)}`, '@café']) refused(() => names.twoN(bad), 'INVALID', 'id', /1 to 40 characters/);
  assert.is(names.twoN('#Axis device ID (802.1AR)').id, ids['Axis device ID (802.1AR)']);
  refused(() => names.twoN('#web'), 'NOT_FOUND', 'id', /protected/);
  assert.is(names.twoN(sha1(pems['cam1.local']!)).id, ids.web);
  assert.is(names.twoN(sha1(pems.devid!), 'certificate').id, ids['Axis device ID (802.1AR)']);
  refused(() => names.twoN(sha1(pems['cam1.local']!), 'ca'), 'NOT_FOUND', 'id');
  refused(() => names.twoN(sha1(pems.shared!)), 'INVALID', 'id', /2 entries hold this certificate/);
  refused(() => names.twoN('0'.repeat(40)), 'NOT_FOUND', 'id');
  for (const bad of [sha1(pems['cam1.local']!).toUpperCase(), 'web', 'a'.repeat(39), 'g'.repeat(40), '']) refused(() => names.twoN(bad), 'INVALID', 'id', /@name, #name or a SHA-1/);
});

t('2N: the id a listing shows resolves back to the entry', () => {
  for (const alias of ['web', 'Axis device ID (802.1AR)', 'café']) {
    const e = store.get(alias)!;
    const id = names.twoNId(e, store.fingerprints(e).sha1);
    assert.is(names.twoN(id).id, e.id, id);
  }
  assert.is(names.twoNId(store.get('web')!, 'x'), '@web');
  assert.is(names.twoNId(store.get('café')!, 'fp'), 'fp', 'an alias 2N cannot say is named by fingerprint');
});

t('SPS: the object key is the entry id', () => {
  assert.is(names.spsKey(ids['twin-b']!).alias, 'twin-b');
  refused(() => names.spsKey(ids['twin-b']!, 'certificate'), 'NOT_FOUND', 'key');
  refused(() => names.spsKey('twin-b'), 'NOT_FOUND', 'key');
});

t('2N upload without id: an alias from the CN, in 2N characters, unique, the same for the same store', () => {
  assert.is(names.newTwoNAlias('cam1.local'), 'cam1-local');
  assert.is(names.newTwoNAlias('cam1.local'), 'cam1-local', 'deterministic');
  assert.is(names.newTwoNAlias('web'), 'web-2', 'taken');
  assert.is(names.newTwoNAlias(' Axis device ID (802.1AR) '), 'Axis-device-ID-802-1AR');
  assert.is(names.newTwoNAlias(undefined), 'cert');
  assert.is(names.newTwoNAlias('***'), 'cert');
  const long = 'x'.repeat(60);
  assert.is(names.newTwoNAlias(long), 'x'.repeat(40));
  store.put({ id: '10000000-0000-4000-8000-000000000001', alias: 'x'.repeat(40), kind: 'ca', certificate: pems.devid!, chain: [], created: '2026-01-01T00:00:00.000Z' });
  store.put({ id: '10000000-0000-4000-8000-000000000002', alias: `${'x'.repeat(38)}-2`, kind: 'ca', certificate: pems.devid!, chain: [], created: '2026-01-01T00:00:00.000Z' });
  assert.is(names.newTwoNAlias(long), `${'x'.repeat(38)}-3`, 'a suffix keeps 40 characters');
  for (const cn of ['cam1.local', 'web', long, 'ü-only-ü', '']) assert.match(names.newTwoNAlias(cn), TWO_N_NAME);
});

t.run();
