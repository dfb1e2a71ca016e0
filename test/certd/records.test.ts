// The record store's identity and indexes: entries from before ids get one when the store
// opens (kept from then on), and lookups by id and by SHA-1 / SHA-256 fingerprint (as
// openssl computes them) find the entry, before and after a replace or a remove.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RecordStore } from '../../src/certd/store/records';
import { makeCa } from './ca';

const t = suite('record store');

const fingerprint = (pem: string, alg: 'sha1' | 'sha256') =>
  execFileSync('openssl', ['x509', '-noout', '-fingerprint', `-${alg}`], { input: pem }).toString().split('=')[1]!.trim().replace(/:/g, '').toLowerCase();

t('entries written before ids get one at open, kept across opens, and are indexed by id and fingerprints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certd-records-'));
  mkdirSync(join(dir, 'entries'));
  const pems = [makeCa('one').certPem, makeCa('two').certPem];
  pems.forEach((pem, i) => writeFileSync(join(dir, 'entries', `legacy${i}.json`), JSON.stringify({ alias: `ca ${i}`, kind: 'ca', certificate: pem, chain: [], created: '2026-01-01T00:00:00.000Z' })));

  const first = new RecordStore(dir);
  const ids = pems.map((_, i) => first.get(`ca ${i}`)!.id);
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const f of readdirSync(join(dir, 'entries')).filter((n) => n.endsWith('.json'))) {
    assert.ok(ids.includes(JSON.parse(readFileSync(join(dir, 'entries', f), 'utf8')).id), 'the id is in the file');
  }
  const again = new RecordStore(dir);
  assert.equal(pems.map((_, i) => again.get(`ca ${i}`)!.id), ids, 'ids are stable');

  pems.forEach((pem, i) => {
    const e = again.getById(ids[i]!)!;
    assert.is(e.alias, `ca ${i}`);
    assert.equal(again.fingerprints(e), { sha1: fingerprint(pem, 'sha1'), sha256: fingerprint(pem, 'sha256') });
    assert.equal(again.getByFingerprint(fingerprint(pem, 'sha1')).map((x) => x.alias), [`ca ${i}`]);
    assert.equal(again.getByFingerprint(fingerprint(pem, 'sha256')).map((x) => x.alias), [`ca ${i}`]);
  });

  // A replace re-indexes under the new certificate's fingerprints and keeps the id.
  const old = again.get('ca 0')!;
  const other = makeCa('three').certPem;
  again.put({ ...old, certificate: other });
  assert.equal(again.getByFingerprint(fingerprint(pems[0]!, 'sha256')), []);
  assert.is(again.getByFingerprint(fingerprint(other, 'sha256'))[0]!.id, ids[0]);
  assert.throws(() => again.put({ ...old, id: 'another' }), /keeps its id/);

  again.remove('ca 1');
  assert.is(again.getById(ids[1]!), undefined);
  assert.equal(again.getByFingerprint(fingerprint(pems[1]!, 'sha1')), []);
  rmSync(dir, { recursive: true });
});

t.run();
