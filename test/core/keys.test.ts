// Keys through the wasm core, checked against openssl and Node's crypto.
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CoreError } from '../../wasm/errors';
import { Keys, KEY_TYPES, type Digest } from '../../wasm/keys';
import { code, core, fixture, fixturePath, junk, openssl, toPem, utf8 } from '../helpers';

let keys: Keys;
test.before(async () => {
  keys = new Keys(await core());
});

const hashOf = (d: Digest, data: Uint8Array) => new Uint8Array(createHash(d.replace('-', '').toLowerCase()).update(data).digest());

test('generates every key type; openssl reads the public key with the same type and size', () => {
  for (const type of KEY_TYPES.filter((t) => t !== 'RSA-3072' && t !== 'RSA-4096')) {
    const pair = keys.generate(type);
    const info = keys.describe(pair.spki);
    const text = openssl(['pkey', '-pubin', '-inform', 'DER', '-noout', '-text'], pair.spki).toString();
    if (type.startsWith('EC')) {
      assert.is(info.type, 'EC');
      assert.is(`EC-${info.curve!.replace('-', '')}`, type);
      assert.match(text, `${info.bits} bit`);
    } else {
      assert.is(info.type, 'RSA');
      assert.is(`RSA-${info.bits}`, type);
      assert.match(text, `Public-Key: (${info.bits} bit)`);
    }
    // openssl reads the private key too, and derives the same public key from it.
    const spki = openssl(['pkey', '-inform', 'DER', '-pubout', '-outform', 'DER'], pair.privateDer);
    assert.ok(keys.same(new Uint8Array(spki), pair.spki), type);
  }
});

test('a seeded generation is deterministic; an unseeded one is not', () => {
  const seed = utf8('benchmark seed 1');
  assert.equal(keys.generate('EC-P256', seed).spki, keys.generate('EC-P256', seed).spki);
  assert.not.equal(keys.generate('EC-P256').spki, keys.generate('EC-P256').spki);
});

test('refuses key sizes and curves outside the list', () => {
  assert.is(code(() => keys.generate('RSA-1536' as never)), 'UNSUPPORTED_KEY_TYPE');
  assert.is(code(() => keys.generate('EC-P224' as never)), 'UNSUPPORTED_KEY_TYPE');
});

test('every private-key form made by openssl parses to the same public key', () => {
  const dir = dirname(fixturePath('keys', 'pass.txt'));
  const pass = fixture('keys', 'pass.txt');
  const upass = fixture('keys', 'upass.txt');
  const files = readdirSync(dir).filter((f) => /^(ec|rsa)\.(?!spki)/.test(f));
  assert.ok(files.length >= 20, `found ${files.length} key files`);
  for (const f of files) {
    const spki = fixture('keys', `${f.split('.')[0]}.spki.der`);
    const encrypted = /p8-|legacy-/.test(f) && !/pkcs8/.test(f);
    const pw = f.includes('utf8') ? upass : encrypted ? pass : new Uint8Array(0);
    const pair = keys.parse(fixture('keys', f), pw);
    assert.ok(keys.same(pair.spki, spki), f);
    if (encrypted) {
      assert.is(code(() => keys.parse(fixture('keys', f))), 'PASSPHRASE_REQUIRED', `${f} without passphrase`);
      assert.is(code(() => keys.parse(fixture('keys', f), utf8('wrong'))), 'WRONG_PASSPHRASE', `${f} wrong passphrase`);
    }
  }
});

test('signatures verify with Node crypto, and with the core', () => {
  const data = utf8('to be signed');
  for (const [type, schemes] of [
    ['EC-P256', ['ECDSA']],
    ['EC-P384', ['ECDSA']],
    ['EC-P521', ['ECDSA']],
    ['RSA-2048', ['RSA-PKCS1-V1_5', 'RSA-PSS']],
  ] as const) {
    const pair = keys.generate(type);
    const pub = createPublicKey({ key: Buffer.from(pair.spki), format: 'der', type: 'spki' });
    for (const scheme of schemes) {
      for (const d of ['SHA-256', 'SHA-384', 'SHA-512'] as Digest[]) {
        const sig = keys.sign(pair.privateDer, scheme, d, hashOf(d, data));
        const ok = nodeVerify(d.replace('-', '').toLowerCase(), data,
          scheme === 'RSA-PSS' ? { key: pub, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -2 } : pub, sig);
        assert.ok(ok, `${type} ${scheme} ${d}`);
        assert.ok(keys.verify(pair.spki, scheme, d, hashOf(d, data), sig));
        assert.not.ok(keys.verify(pair.spki, scheme, d, hashOf(d, utf8('other')), sig));
      }
    }
  }
});

test('wrong scheme for a key, wrong digest length: clear errors', () => {
  const ec = keys.generate('EC-P256');
  assert.is(code(() => keys.sign(ec.privateDer, 'RSA-PSS', 'SHA-256', new Uint8Array(32))), 'UNSUPPORTED_ALGORITHM');
  assert.is(code(() => keys.sign(ec.privateDer, 'ECDSA', 'SHA-256', new Uint8Array(31))), 'BAD_ARGUMENT');
});

test('same() tells different keys apart and reads PEM', () => {
  const a = keys.generate('EC-P256');
  const b = keys.generate('EC-P256');
  assert.not.ok(keys.same(a.spki, b.spki));
  assert.ok(keys.same(utf8(toPem('PUBLIC KEY', a.spki)), a.spki));
});

test('garbage and truncated keys give clear errors, never a crash', () => {
  const good = fixture('keys', 'rsa.pkcs8.pem');
  const der = fixture('keys', 'ec.pkcs8.der');
  const inputs: Uint8Array[] = [
    new Uint8Array(0),
    junk(1),
    junk(3000, 7),
    good.slice(0, good.length / 2),
    der.slice(0, der.length - 5),
    utf8('-----BEGIN PRIVATE KEY-----\n!!!notbase64!!!\n-----END PRIVATE KEY-----\n'),
    utf8('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n'),
    utf8('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'),
  ];
  for (let i = 0; i < 300; i++) {
    const m = der.slice();
    m[i % m.length] ^= 1 + (i % 255);
    inputs.push(m);
  }
  for (const input of inputs) {
    try {
      const pair = keys.parse(input);
      // A bit flip in the private scalar can still be a valid key: it must then be a key.
      assert.ok(keys.describe(pair.spki).bits > 0);
    } catch (e) {
      assert.instance(e, CoreError);
      assert.ok(['BAD_KEY', 'BAD_PEM', 'BAD_DER', 'UNSUPPORTED_KEY_TYPE', 'UNSUPPORTED_ALGORITHM'].includes((e as CoreError).code),
        (e as CoreError).code);
    }
  }
});

test.run();
