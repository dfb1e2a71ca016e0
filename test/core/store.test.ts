// Key-store support in the core, checked against Node's crypto (AES-GCM, JWK components).
import { createDecipheriv, createPrivateKey } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keys } from '../../wasm/keys';
import { StoreCrypto } from '../../wasm/store';
import { code, core, utf8 } from '../helpers';

let keys: Keys;
let store: StoreCrypto;
test.before(async () => {
  const c = await core();
  keys = new Keys(c);
  store = new StoreCrypto(c);
});

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const fromB64u = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

test('random bytes differ and have the asked length', () => {
  const a = store.random(32);
  const b = store.random(32);
  assert.is(a.length, 32);
  assert.not.equal(a, b);
  assert.is(code(() => store.random(0)), 'BAD_ARGUMENT');
});

test('sealed data opens with Node crypto (AES-256-GCM) and with the core', () => {
  const kek = store.random(32);
  const aad = utf8('key-id-1|EC-P256');
  const plain = utf8('a private key, say');
  const sealed = store.seal(kek, aad, plain);
  assert.is(sealed.length, 12 + plain.length + 16);
  const d = createDecipheriv('aes-256-gcm', kek, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const viaNode = Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  assert.equal(new Uint8Array(viaNode), plain);
  assert.equal(store.open(kek, aad, sealed), plain);
  // Two seals of the same data differ (fresh nonce).
  assert.not.equal(store.seal(kek, aad, plain), sealed);
});

test('tampered data, another aad or another key do not open', () => {
  const kek = store.random(32);
  const sealed = store.seal(kek, utf8('a'), utf8('secret'));
  for (let i = 0; i < sealed.length; i++) {
    const t = sealed.slice();
    t[i] ^= 0x01;
    assert.is(code(() => store.open(kek, utf8('a'), t)), 'NOT_AUTHENTIC', `byte ${i}`);
  }
  assert.is(code(() => store.open(kek, utf8('b'), sealed)), 'NOT_AUTHENTIC');
  assert.is(code(() => store.open(store.random(32), utf8('a'), sealed)), 'NOT_AUTHENTIC');
  assert.is(code(() => store.open(kek, utf8('a'), sealed.subarray(0, 20))), 'NOT_AUTHENTIC');
  assert.is(code(() => store.seal(new Uint8Array(16), utf8('a'), utf8('x'))), 'BAD_ARGUMENT');
});

test('EC key components match Node\'s JWK, and the SPKI rebuilds from params + point', () => {
  for (const [type, crv, oidTail] of [['EC-P256', 'P-256', '2a8648ce3d030107'], ['EC-P384', 'P-384', '2b81040022'], ['EC-P521', 'P-521', '2b81040023']] as const) {
    const pair = keys.generate(type);
    const jwk = createPrivateKey({ key: Buffer.from(pair.privateDer), format: 'der', type: 'sec1' }).export({ format: 'jwk' });
    const parts = store.keyParts(pair.privateDer);
    assert.is(parts.kind, 'EC');
    if (parts.kind !== 'EC') return;
    assert.is(jwk.crv, crv);
    assert.is(Buffer.from(parts.params).toString('hex').endsWith(oidTail), true, type);
    assert.equal(parts.d, fromB64u(jwk.d!));
    assert.equal(parts.point, new Uint8Array([4, ...fromB64u(jwk.x!), ...fromB64u(jwk.y!)]));
    // As a token reports it: CKA_EC_POINT wrapped in a DER OCTET STRING, and bare.
    const wrapped = new Uint8Array([0x04, ...(parts.point.length > 127 ? [0x81] : []), parts.point.length, ...parts.point]);
    assert.equal(store.spkiFromEc(parts.params, wrapped), pair.spki);
    assert.equal(store.spkiFromEc(parts.params, parts.point), pair.spki);
    parts.wipe();
    assert.ok(parts.d.every((b) => b === 0), 'wipe zeroes the components');
  }
});

test('a bare P-256 point whose bytes look like an OCTET STRING header is read as the point', () => {
  // 04 3f ...: x starting with 0x3f makes a bare 65-byte point parse as a wrapped 63-byte one
  for (let i = 0; i < 5000; i++) {
    const pair = keys.generate('EC-P256');
    const parts = store.keyParts(pair.privateDer);
    if (parts.kind !== 'EC') throw new Error('not EC');
    try {
      if (parts.point[1] !== 0x3f) continue;
      assert.equal(store.spkiFromEc(parts.params, parts.point), pair.spki);
      return;
    } finally {
      parts.wipe();
    }
  }
  assert.unreachable('no key with x[0] = 0x3f in 5000');
});

test('RSA key components match Node\'s JWK, and the SPKI rebuilds from n + e', () => {
  const pair = keys.generate('RSA-2048');
  const jwk = createPrivateKey({ key: Buffer.from(pair.privateDer), format: 'der', type: 'pkcs1' }).export({ format: 'jwk' });
  const parts = store.keyParts(pair.privateDer);
  assert.is(parts.kind, 'RSA');
  if (parts.kind !== 'RSA') return;
  for (const [mine, theirs] of [[parts.n, jwk.n], [parts.e, jwk.e], [parts.d, jwk.d], [parts.p, jwk.p], [parts.q, jwk.q], [parts.dp, jwk.dp], [parts.dq, jwk.dq], [parts.qinv, jwk.qi]] as const) {
    assert.is(b64u(mine), theirs);
  }
  assert.equal(store.spkiFromRsa(parts.n, parts.e), pair.spki);
  parts.wipe();
});

test('bad components give clear errors', () => {
  const p256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
  assert.is(code(() => store.spkiFromEc(p256, new Uint8Array(65).fill(4))), 'BAD_KEY');
  assert.is(code(() => store.spkiFromEc(new Uint8Array([0x06, 0x03, 1, 2, 3]), new Uint8Array(65))), 'UNSUPPORTED_KEY_TYPE');
  assert.is(code(() => store.spkiFromEc(new Uint8Array([0x05, 0x00]), new Uint8Array(65))), 'BAD_DER');
  assert.is(code(() => store.keyParts(utf8('not a key'))), 'BAD_KEY');
});

test.run();
