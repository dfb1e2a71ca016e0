// CoreWorkers: core calls in worker threads give what the core gives, keep their error
// codes, leave no secret in the worker's core memory, and the pool starts, queues and
// stops its threads as it says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CoreWorkers } from '../../wasm/core-workers';
import { CoreError } from '../../wasm/errors';
import { KeyJobs, Keys } from '../../wasm/keys';
import { Pkcs12 } from '../../wasm/pkcs12';
import { codeOf, core, fixture, utf8 } from '../helpers';

const workers = new CoreWorkers({ idleMs: 60_000 });
const jobs = new KeyJobs(workers);
test.after(() => workers.close());

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(Buffer.from(needle)) >= 0;
}

test('a call in a worker gives what the core gives in this thread', async () => {
  const seed = utf8('workers test seed');
  const here = new Keys(await core()).generate('EC-P256', seed);
  const there = await jobs.generate('EC-P256', seed);
  assert.equal(there.privateDer, here.privateDer);
  assert.equal(there.spki, here.spki);
  // The caller's argument is copied before it is transferred: it stays the caller's.
  assert.equal(seed, utf8('workers test seed'));
});

test('calls queue for the one worker and each gets its own answer', async () => {
  const seeds = ['a', 'b', 'c', 'd', 'e'].map((s) => utf8(`queue ${s}`));
  const keys = new Keys(await core());
  const results = await Promise.all(seeds.map((s) => jobs.generate('EC-P384', s)));
  assert.is(workers.running, 1);
  results.forEach((r, i) => assert.equal(r.spki, keys.generate('EC-P384', seeds[i]).spki, `call ${i}`));
});

test('core errors cross the thread boundary as CoreError with their code', async () => {
  const ec = await jobs.generate('EC-P256');
  let thrown: unknown;
  try {
    await jobs.sign(ec.privateDer, 'RSA-PSS', 'SHA-256', new Uint8Array(32));
  } catch (e) {
    thrown = e;
  }
  assert.instance(thrown, CoreError);
  assert.is((thrown as CoreError).code, 'UNSUPPORTED_ALGORITHM');
  assert.is((thrown as CoreError).fn, 'cc_pk_sign');
  const p12 = new Pkcs12(workers);
  assert.is(await codeOf(() => p12.decode(fixture('pkcs12', 'ec.default.p12'), utf8('wrong'))), 'WRONG_PASSPHRASE');
  assert.is(await codeOf(() => p12.decode(fixture('pkcs12', 'ec.iter-over.p12'), utf8('x'))), 'TOO_MANY_ITERATIONS');
});

test('no passphrase or private key is left in the worker core after a call, or after an error', async () => {
  const p12 = new Pkcs12(workers);
  const pass = fixture('pkcs12', 'pass.txt');
  const r = await p12.decode(fixture('pkcs12', 'rsa.legacy.p12'), pass);
  const rsaTail = r.privateDer.subarray(r.privateDer.length - 32);
  const wrong = utf8('wrong passphrase 5a5a5a c0ffee');
  assert.is(await codeOf(() => p12.decode(fixture('pkcs12', 'ec.default.p12'), wrong)), 'WRONG_PASSPHRASE');
  // A signature with the decoded RSA key: the key goes into the worker and must not stay.
  const sig = await jobs.sign(r.privateDer, 'RSA-PSS', 'SHA-256', new Uint8Array(32).fill(9));
  assert.is(sig.length, 256);
  const ec = await jobs.generate('EC-P256');
  const scalar = ec.privateDer.slice(7, 7 + 32);
  const [mem] = await workers.snapshots();
  assert.ok(mem!.length > 1 << 20, 'a snapshot of the worker core');
  assert.not.ok(contains(mem!, pass), 'passphrase left in the worker core');
  assert.not.ok(contains(mem!, wrong), 'wrong passphrase left in the worker core');
  assert.not.ok(contains(mem!, rsaTail), 'RSA private key left in the worker core');
  assert.not.ok(contains(mem!, scalar), 'generated EC scalar left in the worker core');
  // The search can succeed: mbedTLS's static data (the OID of P-256) is in the snapshot.
  assert.ok(contains(mem!, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07)), 'the snapshot is the worker core');
});

test('an idle worker stops, and the next call starts one again', async () => {
  const quick = new CoreWorkers({ idleMs: 50 });
  try {
    await new KeyJobs(quick).generate('EC-P256');
    assert.is(quick.running, 1);
    for (let i = 0; i < 100 && quick.running > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.is(quick.running, 0, 'idle worker stopped');
    const again = await new KeyJobs(quick).generate('EC-P256');
    assert.ok(again.spki.length > 60);
  } finally {
    await quick.close();
  }
  const closed = await quick.call('cc_pk_generate', [1, 256, new Uint8Array(0)], 2).then(() => 'answered', (e: Error) => e.message);
  assert.is(closed, 'crypto workers closed');
});

test.run();
