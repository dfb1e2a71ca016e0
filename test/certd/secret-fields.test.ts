// The JSON secret scanner agrees with JSON.parse: each secret field comes out as the bytes
// Buffer.from(value) would give, the body still parses, and where the secret was there are
// only spaces, as many as the value had UTF-16 units.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base64Bytes, NotUtf8, takeSecretFields } from '../../src/certd/api/secret-fields';

const t = suite('secret fields');
const NAMES = ['private_key', 'passphrase'];

function check(json: string, expected: Record<string, string>): void {
  const body = Buffer.from(json);
  const taken = takeSecretFields(body, NAMES);
  assert.equal(Object.fromEntries([...taken].map(([k, v]) => [k, Buffer.from(v).toString('hex')])),
    Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, Buffer.from(v).toString('hex')])), json);
  const parsed = JSON.parse(body.toString()) as { data: Record<string, unknown> };
  const original = JSON.parse(json) as { data: Record<string, unknown> };
  for (const [k, v] of Object.entries(expected)) {
    assert.is(parsed.data[k], ' '.repeat(v.length), `${k} blanked to its length`);
    if (v.length > 0) assert.not.ok(body.includes(Buffer.from(v)), `${k} gone from the body`);
  }
  for (const k of Object.keys(original.data)) if (!(k in expected)) assert.equal(parsed.data[k], original.data[k], `${k} untouched`);
}

t('plain, escaped, non-ASCII and astral values come out as their UTF-8 bytes', () => {
  for (const value of ['Geheim 1', 'a "quoted" \\ back/slash \n\t\r\b\f', 'pässwörd ü', 'emoji 😀 end', '\u0001\u001f', '']) {
    check(JSON.stringify({ data: { alias: 'x', passphrase: value } }), { passphrase: value });
  }
  check('{"data":{"passphrase":"\\u0041\\u00e4\\ud83d\\ude00\\u20ac"}}', { passphrase: 'Aä😀€' });
  // A lone surrogate is what Buffer.from(string) makes of it: U+FFFD.
  check('{"data":{"passphrase":"a\\ud800b"}}', { passphrase: 'a\ufffdb' });
});

t('raw bytes that are not UTF-8 in a secret field are refused, never blanked past the string (fuzz findings)', () => {
  const bad = [[0xff], [0xff, 0xff, 0xff, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];
  for (const bytes of bad) {
    const body = Buffer.concat([Buffer.from('{"data":{"alias":"a","passphrase":"x'), Buffer.from(bytes), Buffer.from('"}}')]);
    const copy = Buffer.from(body);
    assert.throws(() => takeSecretFields(body, NAMES), (e: Error) => e instanceof NotUtf8 && e.message === 'data.passphrase: not valid UTF-8', bytes.join(','));
    assert.ok(body.subarray(body.length - 3).equals(Buffer.from('"}}')), 'nothing after the string was touched');
    assert.is(body.length, copy.length);
  }
  // In a member's name they are read as JSON.parse reads them, and the scan goes on
  // (POST /certificates answered 500).
  const named = Buffer.concat([Buffer.from('{"data":{"alias":"a","cert'), Buffer.from([0xff]), Buffer.from('ificate":"x","private_key":"k"}}')]);
  assert.equal(Buffer.from(takeSecretFields(named, NAMES).get('private_key')!).toString(), 'k');
  assert.equal(Object.keys((JSON.parse(named.toString()) as { data: object }).data), ['alias', 'cert\ufffdificate', 'private_key']);
  // Well-formed multi-byte sequences at the edges of each range still pass.
  for (const v of ['\u0080', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}']) {
    check(JSON.stringify({ data: { passphrase: `${v}x` } }), { passphrase: `${v}x` });
  }
});

t('only data.<name> string values: nested, top-level and non-string look-alikes stay', () => {
  check(JSON.stringify({ private_key: 'top', data: { nested: { private_key: 'deep', a: [1, '}', { b: ']' }] }, private_key: 'K', n: null } }), { private_key: 'K' });
  check(JSON.stringify({ data: { private_key: 42, passphrase: ['x'] } }), {});
  check('{"data":{"priv\\u0061te_key":"escaped name"}}', { private_key: 'escaped name' });
});

t('duplicates: the last wins, as in JSON.parse, and every copy is blanked', () => {
  const body = Buffer.from('{"data":{"passphrase":"first1","passphrase":"second"}}');
  const taken = takeSecretFields(body, NAMES);
  assert.is(Buffer.from(taken.get('passphrase')!).toString(), 'second');
  assert.not.ok(body.includes('first1'));
  assert.is((JSON.parse(body.toString()) as { data: { passphrase: string } }).data.passphrase, '      ');
});

t('malformed JSON: the scan stops without throwing, JSON.parse refuses the rest', () => {
  for (const json of ['{"data":{"passphrase":"open', '{"data":{"passphrase":"bad \\x"}}', '{"data":', '[[[[[', '', '{"data":{"passphrase" "x"}}']) {
    const body = Buffer.from(json);
    takeSecretFields(body, NAMES);
    assert.throws(() => JSON.parse(body.toString()), json);
  }
  // Deep nesting is counted, not recursed into.
  assert.equal(takeSecretFields(Buffer.from(`{"data":{"a":${'['.repeat(200_000)}`), NAMES).size, 0);
});

t('base64Bytes decodes as Buffer does, ignoring whitespace', () => {
  for (let n = 0; n < 40; n++) {
    const raw = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
    const text = raw.toString('base64').replace(/(.{7})/g, '$1\n ');
    assert.is(Buffer.from(base64Bytes(Buffer.from(text))).toString('hex'), raw.toString('hex'), `length ${n}`);
  }
});

t.run();
