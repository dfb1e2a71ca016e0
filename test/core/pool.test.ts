// The binding's per-call pool: after every call, success or error, nothing is held and no
// secret that went through the core is left anywhere in its memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CoreError } from '../../wasm/errors';
import { Keys } from '../../wasm/keys';
import { core, fixture, utf8 } from '../helpers';

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = hay.indexOf(needle[0]!); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(needle[0]!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

test('after a successful call the pool is empty and no secret is left in core memory', async () => {
  const c = await core();
  const keys = new Keys(c);
  const pass = utf8('pool-test passphrase 7f3a91');
  // A passphrase that is not the fixture's own fails; use the fixture's, and look for both.
  const realPass = fixture('keys', 'pass.txt');
  const pair = keys.parse(fixture('keys', 'rsa.p8-aes256-sha256.pem'), realPass);
  assert.ok(pair.privateDer.length > 1000);
  const state = c.poolState();
  assert.is(state.held, 0);
  assert.ok(state.last.length >= 4, 'inputs and outputs went through the pool');
  const mem = c.snapshot();
  assert.not.ok(contains(mem, realPass), 'passphrase left in core memory');
  // Any 32-byte window of the private key DER (its tail holds the CRT values).
  const tail = pair.privateDer.slice(pair.privateDer.length - 32);
  assert.not.ok(contains(mem, tail), 'private key left in core memory');
  assert.not.ok(contains(mem, pass));
});

test('after a call that throws the pool is empty and the secret is gone', async () => {
  const c = await core();
  const keys = new Keys(c);
  const wrong = utf8('wrong passphrase c0ffee 12345');
  let thrown: unknown;
  try {
    keys.parse(fixture('keys', 'ec.p8-aes256-sha256.pem'), wrong);
  } catch (e) {
    thrown = e;
  }
  assert.instance(thrown, CoreError);
  assert.is((thrown as CoreError).code, 'WRONG_PASSPHRASE');
  assert.is(c.poolState().held, 0);
  assert.ok(c.poolState().last.length >= 2);
  assert.not.ok(contains(c.snapshot(), wrong), 'passphrase left in core memory after an error');
});

test('signing with a key leaves no copy of it behind', async () => {
  const c = await core();
  const keys = new Keys(c);
  const pair = keys.generate('EC-P256');
  keys.sign(pair.privateDer, 'ECDSA', 'SHA-256', new Uint8Array(32).fill(7));
  assert.is(c.poolState().held, 0);
  // The EC private scalar sits at offset 7 of an ECPrivateKey (SEQUENCE, version, OCTET STRING).
  const scalar = pair.privateDer.slice(7, 7 + 32);
  assert.not.ok(contains(c.snapshot(), scalar), 'private scalar left in core memory');
});

test.run();
