// The JWK certd derives from an account key's SPKI (what keystored hands out) agrees with
// Node's own JWK export for P-256 and RSA (two sizes and exponents), and an RS256 JWS made
// from a keystored-shaped signer (a PKCS#1 v1.5 signature of the digest it is given)
// verifies with Node's crypto. ES256 is proven against pebble in acme.test.ts.
import { constants, createPublicKey, generateKeyPairSync, privateEncrypt, verify, type KeyObject } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { algOf, jwkOf, signJws, thumbprint } from '../../src/certd/acme/jws';

const t = suite('acme-jws');
const spkiOf = (k: KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));
/** DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

for (const [name, pair] of [
  ['EC P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ['RSA 3072, exponent 3', generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 })],
] as const) {
  t(`${name}: the JWK is Node's, its thumbprint and algorithm`, () => {
    const jwk = jwkOf(spkiOf(pair.publicKey));
    const node = pair.publicKey.export({ format: 'jwk' });
    assert.equal(jwk, jwk.kty === 'EC' ? { crv: node.crv, kty: node.kty, x: node.x, y: node.y } : { kty: node.kty, n: node.n, e: node.e });
    assert.is(thumbprint(jwk).length, 43);
    assert.is(algOf(jwk), node.kty === 'EC' ? 'ES256' : 'RS256');
  });
}

t('an RS256 JWS signed from the digest alone verifies', async () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = jwkOf(spkiOf(pair.publicKey));
  const signer = {
    sign: async (digest: Uint8Array) => ({
      signature: new Uint8Array(privateEncrypt({ key: pair.privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, digest]))),
      format: 'raw' as const,
    }),
  };
  const jws = JSON.parse(await signJws(signer, 'RS256', { jwk }, 'nonce', 'https://ca/acct', { a: 1 })) as { protected: string; payload: string; signature: string };
  assert.is((JSON.parse(Buffer.from(jws.protected, 'base64url').toString()) as { alg: string }).alg, 'RS256');
  const key = createPublicKey({ key: pair.publicKey.export({ format: 'jwk' }), format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(`${jws.protected}.${jws.payload}`), key, Buffer.from(jws.signature, 'base64url')));
  assert.not.ok(verify('sha256', Buffer.from(`${jws.protected}.x${jws.payload}`), key, Buffer.from(jws.signature, 'base64url')));
});

t('a key that is neither P-256 nor RSA is refused', () => {
  assert.throws(() => jwkOf(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)), /neither EC P-256 nor RSA/);
  assert.throws(() => jwkOf(new Uint8Array([0x30, 0x03, 0x02, 0x01])), /neither/);
});

t.run();
