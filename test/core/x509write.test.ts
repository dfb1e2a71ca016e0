// Certificates and requests signed by a key store (here Keys.sign), checked against the
// openssl CLI and Node's crypto.X509Certificate.
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Core } from '../../wasm/core';
import { Keys, type KeyPair, type KeyType } from '../../wasm/keys';
import { X509Writer, type SignatureFormat, type ToBeSigned } from '../../wasm/x509write';
import { code, core, openssl, toPem, utf8 } from '../helpers';

const TYPES = ['EC-P256', 'EC-P384', 'EC-P521', 'RSA-2048'] as const satisfies readonly KeyType[];
const EXPECTED: Record<(typeof TYPES)[number], { alg: string; digest: string; usage: string; coord: number }> = {
  'EC-P256': { alg: 'ecdsa-with-SHA256', digest: 'SHA-256', usage: 'Digital Signature, Key Agreement', coord: 32 },
  'EC-P384': { alg: 'ecdsa-with-SHA384', digest: 'SHA-384', usage: 'Digital Signature, Key Agreement', coord: 48 },
  'EC-P521': { alg: 'ecdsa-with-SHA512', digest: 'SHA-512', usage: 'Digital Signature, Key Agreement', coord: 66 },
  'RSA-2048': { alg: 'sha256WithRSAEncryption', digest: 'SHA-256', usage: 'Digital Signature, Key Encipherment', coord: 0 },
};

let c: Core;
let keys: Keys;
let writer: X509Writer;
let dir: string;
const pairs = {} as Record<(typeof TYPES)[number], KeyPair>;

test.before(async () => {
  c = await core();
  keys = new Keys(c);
  writer = new X509Writer(c);
  for (const t of TYPES) pairs[t] = keys.generate(t);
  dir = mkdtempSync(join(tmpdir(), 'certd-x509write-'));
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs openssl and returns stdout and stderr: some failures (req -verify) exit 0. */
function run(args: string[], input?: Uint8Array | string): { out: string; err: string; status: number | null } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

function tlv(b: Uint8Array, off: number): { start: number; end: number } {
  let len = b[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  return { start, end: start + len };
}

/** ECDSA-Sig-Value DER to r‖s, each `n` bytes, as PKCS#11 returns a signature. */
function derToRaw(sig: Uint8Array, n: number): Uint8Array {
  const seq = tlv(sig, 0);
  const r = tlv(sig, seq.start);
  const s = tlv(sig, r.end);
  const out = new Uint8Array(2 * n);
  for (const [t, at] of [[r, 0], [s, n]] as const) {
    let v = sig.subarray(t.start, t.end);
    while (v.length > n && v[0] === 0) v = v.subarray(1);
    out.set(v, at + n - v.length);
  }
  return out;
}

/** RFC 5280 key identifier, method 1: SHA-1 of the subjectPublicKey bits. */
function keyId(spki: Uint8Array): string {
  const seq = tlv(spki, 0);
  const alg = tlv(spki, seq.start);
  const bits = tlv(spki, alg.end);
  return createHash('sha1').update(spki.subarray(bits.start + 1, bits.end)).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** The key store: signs the digest as the core asked, in DER or r‖s. */
function sign(pair: KeyPair, t: ToBeSigned, format: SignatureFormat = 'der', coord = 0): Uint8Array {
  const sig = keys.sign(pair.privateDer, t.scheme, t.digestAlg, t.digest);
  return format === 'raw' && t.scheme === 'ECDSA' ? derToRaw(sig, coord) : sig;
}

/** RFC 4514 text in the reverse order, as openssl's RFC2253 output prints a DN. */
function reversed(dn: string): string {
  const parts: string[] = [];
  const seps: string[] = [];
  let cur = '';
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') {
      cur += dn.slice(i, i + 2);
      i++;
    } else if (dn[i] === ',' || dn[i] === '+') {
      parts.push(cur);
      seps.push(dn[i]!);
      cur = '';
    } else {
      cur += dn[i];
    }
  }
  parts.push(cur);
  return parts.reverse().map((p, i) => (i === 0 ? '' : seps[seps.length - i]) + p).join('');
}

function writeFile(name: string, data: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

const SUBJECT = 'C=SE,O=Axis AB,CN=cam1.example.com';
const SANS = ['DNS:cam1.example.com', 'DNS:*.cams.example.com', 'IP:192.168.0.90', 'IP:fe80::1'];
const SANS_TEXT = 'DNS:cam1.example.com, DNS:*.cams.example.com, IP Address:192.168.0.90, IP Address:FE80:0:0:0:0:0:0:1';
const NOT_BEFORE = new Date('2024-03-01T12:00:00Z');
const NOT_AFTER = new Date('2034-03-01T12:00:00Z');

function certificate(type: (typeof TYPES)[number], subject = SUBJECT, format: SignatureFormat = 'der',
  notBefore = NOT_BEFORE, notAfter = NOT_AFTER, sans: string[] = SANS): Uint8Array {
  const pair = pairs[type];
  const t = writer.certificateTbs({ spki: pair.spki, subject, subjectAltNames: sans, notBefore, notAfter });
  return writer.assembleCertificate(t.tbs, sign(pair, t, format, EXPECTED[type].coord), format);
}

function subjectOf(cert: Uint8Array): string {
  return openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], cert)
    .toString('utf8').replace(/^subject=/, '').replace(/\n$/, '');
}

test('the TBS digest and algorithm follow the key', () => {
  for (const type of TYPES) {
    const t = writer.certificateTbs({ spki: pairs[type].spki, subject: SUBJECT, notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
    assert.is(t.digestAlg, EXPECTED[type].digest, type);
    assert.is(t.scheme, type.startsWith('EC') ? 'ECDSA' : 'RSA-PKCS1-V1_5');
    const node = createHash(t.digestAlg.replace('-', '').toLowerCase()).update(t.tbs).digest();
    assert.equal(t.digest, new Uint8Array(node));
    const r = writer.csrTbs({ spki: pairs[type].spki, subject: SUBJECT });
    assert.is(r.digestAlg, t.digestAlg);
    assert.equal(r.digest, new Uint8Array(createHash(r.digestAlg.replace('-', '').toLowerCase()).update(r.tbs).digest()));
  }
});

test('CSRs for every key type, DER and r‖s signatures: openssl verifies them and shows subject and SANs', () => {
  for (const type of TYPES) {
    for (const format of (type.startsWith('EC') ? ['der', 'raw'] : ['der']) as SignatureFormat[]) {
      const pair = pairs[type];
      const t = writer.csrTbs({ spki: pair.spki, subject: SUBJECT, subjectAltNames: SANS });
      const csr = writer.assembleCsr(t.tbs, sign(pair, t, format, EXPECTED[type].coord), format);
      const v = run(['req', '-inform', 'DER', '-verify', '-noout'], csr);
      assert.is(v.status, 0, v.err);
      assert.match(v.err, 'verify OK', `${type} ${format}: ${v.err}`);
      const text = openssl(['req', '-inform', 'DER', '-noout', '-text'], csr).toString();
      assert.match(text, 'Subject: C = SE, O = Axis AB, CN = cam1.example.com');
      assert.match(text, SANS_TEXT);
      assert.match(text, `Signature Algorithm: ${EXPECTED[type].alg}`);
      assert.match(text, 'Version: 1 (0x0)');
      const subject = openssl(['req', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'RFC2253'], csr).toString().trim();
      assert.is(subject, `subject=${reversed(SUBJECT)}`);
    }
  }
});

test('a CSR with no SANs has an empty attribute set; an empty subject is allowed and makes the SAN critical', () => {
  const pair = pairs['EC-P256'];
  let t = writer.csrTbs({ spki: pair.spki, subject: 'CN=only' });
  let csr = writer.assembleCsr(t.tbs, sign(pair, t));
  assert.match(run(['req', '-inform', 'DER', '-verify', '-noout'], csr).err, 'verify OK');
  const parsed = openssl(['asn1parse', '-inform', 'DER'], csr).toString();
  assert.match(parsed, /cont \[ 0 \]\s*\n/);
  assert.not.match(parsed, 'Extension Request');

  t = writer.csrTbs({ spki: pair.spki, subject: '', subjectAltNames: ['DNS:cam1.example.com'] });
  csr = writer.assembleCsr(t.tbs, sign(pair, t));
  assert.match(run(['req', '-inform', 'DER', '-verify', '-noout'], csr).err, 'verify OK');
  const text = openssl(['req', '-inform', 'DER', '-noout', '-text'], csr).toString();
  assert.match(text, /Subject: *\n/);
  assert.match(text, /Subject Alternative Name: critical\s+DNS:cam1\.example\.com/);
});

test('certificates for every key type, DER and r‖s signatures: openssl and Node read and verify them', () => {
  for (const type of TYPES) {
    for (const format of (type.startsWith('EC') ? ['der', 'raw'] : ['der']) as SignatureFormat[]) {
      const der = certificate(type, SUBJECT, format);
      const label = `${type} ${format}`;
      const pem = writeFile(`${type}-${format}.pem`, toPem('CERTIFICATE', der));

      assert.is(subjectOf(der), reversed(SUBJECT), label);
      const issuer = openssl(['x509', '-in', pem, '-noout', '-issuer', '-nameopt', 'RFC2253']).toString().trim();
      assert.is(issuer, `issuer=${reversed(SUBJECT)}`);
      const dates = openssl(['x509', '-in', pem, '-noout', '-startdate', '-enddate']).toString();
      assert.match(dates, 'notBefore=Mar  1 12:00:00 2024 GMT');
      assert.match(dates, 'notAfter=Mar  1 12:00:00 2034 GMT');

      const text = openssl(['x509', '-in', pem, '-noout', '-text']).toString();
      assert.match(text, 'Version: 3 (0x2)');
      assert.match(text, `Signature Algorithm: ${EXPECTED[type].alg}`);
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, new RegExp(`X509v3 Key Usage: critical\\s+${EXPECTED[type].usage}\\s*\\n`));
      assert.match(text, /X509v3 Extended Key Usage: *\s+TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(text, SANS_TEXT);
      const ski = /Subject Key Identifier: *\n\s*([0-9A-F:]+)/.exec(text)?.[1];
      const aki = /Authority Key Identifier: *\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
      assert.is(ski, keyId(pairs[type].spki));
      assert.is(aki, ski);

      const verify = run(['verify', '-x509_strict', '-CAfile', pem, pem]);
      assert.is(verify.status, 0, `${label}: ${verify.out}${verify.err}`);
      assert.match(verify.out, `${pem}: OK`);

      const x = new X509Certificate(der);
      assert.ok(x.verify(createPublicKey({ key: Buffer.from(pairs[type].spki), format: 'der', type: 'spki' })), label);
      assert.is(x.issuer, x.subject);
      assert.is(x.subject, 'C=SE\nO=Axis AB\nCN=cam1.example.com');
      assert.is(x.subjectAltName, SANS_TEXT);
      assert.equal(x.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      assert.is(x.ca, false);
      assert.is(x.validFrom, 'Mar  1 12:00:00 2024 GMT');
      assert.is(x.validTo, 'Mar  1 12:00:00 2034 GMT');
      // A random positive serial of 16 bytes, top bit clear.
      const serial = BigInt(`0x${x.serialNumber}`);
      assert.ok(serial > 0n && serial < 1n << 127n, x.serialNumber);
    }
  }
  assert.is.not(new X509Certificate(certificate('EC-P256')).serialNumber, new X509Certificate(certificate('EC-P256')).serialNumber);
});

test('subjects round-trip: escapes, UTF-8, multi-valued RDNs, repeated types, more attribute types', () => {
  const cases: [string, string?][] = [
    // [input in DER order, what openssl prints (reversed) if not just the reverse]
    ['O=Åkesson\\, Bäck & Co,CN=kamera-1'],
    ['C=SE,ST=Skåne,L=Lund,O=Axis AB,OU=R\\+D,CN=kamera-1'],
    ['C=SE,OU=Cams+O=Åkesson\\, Bäck & Co,CN=kamera-1'],
    ['O=Axis,OU=a,OU=b,CN=c'],
    ['CN=a\\"b\\\\c\\<d\\>e\\;f'],
    // An escaped backslash before a separator (mbedTLS 3.6's own parser reads "\\," as an escaped comma).
    ['O=back\\\\,CN=x'],
    ['CN=\\#hash'],
    ['CN=\\ lead and trail\\ '],
    ['O=x=y#z,CN=日本語のカメラ'],
    ['CN=K\\C3\\A4mera', 'CN=Kämera'],
    ['o=Org,cn=lower', 'CN=lower,O=Org'],
    ['C=SE, O=Axis , CN=cam', 'CN=cam,O=Axis,C=SE'],
    ['2.5.4.6=SE,2.5.4.3=cam', 'CN=cam,C=SE'],
    ['CN=#0C03616263', 'CN=abc'],
    ['DC=com,DC=example,UID=u1,emailAddress=cam@example.com,serialNumber=ACCC8E012345,street=Gränden 1'],
    ['commonName=long names', 'CN=long names'],
    ['C=SE,1.2.3.4=#0C03616263', '1.2.3.4=#0C03616263,C=SE'],
  ];
  for (const [input, shown] of cases) {
    const der = certificate('EC-P256', input);
    assert.is(subjectOf(der), shown ?? reversed(input), input);
    const t = writer.csrTbs({ spki: pairs['EC-P256'].spki, subject: input });
    const csr = writer.assembleCsr(t.tbs, sign(pairs['EC-P256'], t));
    const s = openssl(['req', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], csr).toString('utf8').replace(/\n$/, '');
    assert.is(s, `subject=${shown ?? reversed(input)}`, input);
  }
  // Node prints the RDNs in DER order: the multi-valued one sorted as DER's SET OF wants.
  assert.is(new X509Certificate(certificate('EC-P256', 'C=SE,O=Åkesson\\, Bäck & Co+OU=Cams,CN=kamera-1')).subject,
    'C=SE\nOU=Cams + O=Åkesson\\, Bäck & Co\nCN=kamera-1');
});

test('string types: C and serialNumber PrintableString, emailAddress and DC IA5String, the rest UTF8String', () => {
  const der = certificate('EC-P256', 'C=SE,DC=example,O=Axis,serialNumber=ACCC8E,emailAddress=a@example.com,CN=cam');
  const parsed = openssl(['asn1parse', '-inform', 'DER'], der).toString();
  for (const [type, value] of [['PRINTABLESTRING', 'SE'], ['IA5STRING', 'example'], ['UTF8STRING', 'Axis'],
    ['PRINTABLESTRING', 'ACCC8E'], ['IA5STRING', 'a@example.com'], ['UTF8STRING', 'cam']]) {
    assert.match(parsed, new RegExp(`${type} +:${value}\\n`), `${value} as ${type}`);
  }
});

test('validity: UTCTime through 2049, GeneralizedTime from 2050 and before 1950', () => {
  const cases: [Date, Date, string, string, string, string][] = [
    [new Date('1970-01-01T00:00:00Z'), new Date('2049-12-31T23:59:59Z'), 'UTCTIME', ':700101000000Z', 'UTCTIME', ':491231235959Z'],
    [new Date('2049-12-31T23:59:59Z'), new Date('2050-01-01T00:00:00Z'), 'UTCTIME', ':491231235959Z', 'GENERALIZEDTIME', ':20500101000000Z'],
    [new Date('1949-06-01T10:00:00Z'), new Date('9999-12-31T23:59:59Z'), 'GENERALIZEDTIME', ':19490601100000Z', 'GENERALIZEDTIME', ':99991231235959Z'],
  ];
  for (const [nb, na, nbType, nbText, naType, naText] of cases) {
    const der = certificate('EC-P256', SUBJECT, 'der', nb, na);
    const parsed = openssl(['asn1parse', '-inform', 'DER'], der).toString();
    assert.match(parsed, new RegExp(`${nbType} +${nbText}\\n[^\\n]*${naType} +${naText}\\n`));
    const x = new X509Certificate(der);
    assert.is(new Date(x.validFrom).getTime(), nb.getTime());
    assert.is(new Date(x.validTo).getTime(), na.getTime());
  }
  const dates = openssl(['x509', '-inform', 'DER', '-noout', '-enddate'],
    certificate('RSA-2048', SUBJECT, 'der', NOT_BEFORE, new Date('2051-07-04T08:09:10.999Z'))).toString();
  assert.match(dates, 'notAfter=Jul  4 08:09:10 2051 GMT');
});

test('the SPKI may come as PEM; certificates need no SANs', () => {
  const pair = pairs['EC-P384'];
  const t = writer.certificateTbs({ spki: utf8(toPem('PUBLIC KEY', pair.spki)), subject: SUBJECT, notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
  const der = writer.assembleCertificate(t.tbs, sign(pair, t));
  const text = openssl(['x509', '-inform', 'DER', '-noout', '-text'], der).toString();
  assert.not.match(text, 'Subject Alternative Name');
  assert.ok(new X509Certificate(der).verify(createPublicKey({ key: Buffer.from(pair.spki), format: 'der', type: 'spki' })));
});

test('bad subjects: BAD_SUBJECT', () => {
  const spki = pairs['EC-P256'].spki;
  const bad = [
    'CN', 'XX=foo', 'CN=a,', ',CN=a', 'CN=', 'CN=   ', 'CN=a\\', 'CN=a\\zz', 'CN=a\\4', 'C=Sweden', 'C=S', 'C=Å1',
    `CN=${'x'.repeat(65)}`, 'CN=a;b', 'CN=a"b', 'CN=a<b', 'CN=a>b', 'CN=\\C3', 'CN=\\C0\\80', 'CN=\\ED\\A0\\80',
    'emailAddress=å@example.com', 'CN=a\\00b', 'CN=#0C', 'CN=#3000', 'CN=#0C0461', 'CN=#0C02616', 'CN=#0C0161 x',
    '1.2..3=x', '01.2=x', '1=x', '2.5.4.3.=x', 'CN=a+', 'O=a,,CN=b', 'serialNumber=abc_def', 'CN=a\u0000b',
    `1.2.3=${'x'.repeat(257)}`, Array.from({ length: 33 }, (_, i) => `OU=u${i}`).join(','),
    'CN=\\ff\\fe',
  ];
  for (const subject of bad) {
    assert.is(code(() => writer.csrTbs({ spki, subject })), 'BAD_SUBJECT', JSON.stringify(subject));
    assert.is(code(() => writer.certificateTbs({ spki, subject, notBefore: NOT_BEFORE, notAfter: NOT_AFTER })), 'BAD_SUBJECT', subject);
  }
  // Empty is fine for a request, not for a certificate.
  assert.is(code(() => writer.certificateTbs({ spki, subject: '', notBefore: NOT_BEFORE, notAfter: NOT_AFTER })), 'BAD_SUBJECT');
  assert.is(code(() => writer.certificateTbs({ spki, subject: '  ', notBefore: NOT_BEFORE, notAfter: NOT_AFTER })), 'BAD_SUBJECT');
  // At the limits: 64 characters of CN (not bytes), 32 attributes.
  writer.csrTbs({ spki, subject: `CN=${'å'.repeat(64)}` });
  writer.csrTbs({ spki, subject: Array.from({ length: 32 }, (_, i) => `OU=u${i}`).join(',') });
});

test('bad subject alternative names: BAD_SUBJECT_ALT_NAME', () => {
  const spki = pairs['EC-P256'].spki;
  const bad = [
    'DNS:', 'dns:cam', 'URI:http://cam', 'email:a@example.com', 'DNS:a b', 'DNS:a\tb', 'DNS: cam', 'DNS:bad..name',
    'DNS:.lead', 'DNS:trail.', 'DNS:å.example.com', 'DNS:a.*.example.com', 'DNS:*', `DNS:${'a'.repeat(64)}.com`,
    'IP:', 'IP:256.1.1.1', 'IP:1.2.3', 'IP:1.2.3.4.5', 'IP:01.2.3.4', 'IP:1::2::3', 'IP:::g', 'IP:fe80::1%eth0',
    'IP:1:2:3:4:5:6:7:8:9', 'IP:1:2:3:4:5:6:7:8::', 'IP:1:', 'IP::1', 'IP:12345::', 'IP:cam.example.com', 'IP: 1.2.3.4',
    'DNS:a\nDNS:b', '', 'DNS:cam\r',
  ];
  for (const san of bad) {
    assert.is(code(() => writer.csrTbs({ spki, subject: 'CN=x', subjectAltNames: ['DNS:ok.example.com', san] })),
      'BAD_SUBJECT_ALT_NAME', JSON.stringify(san));
  }
  // The core's own text form: an empty line is an error too.
  for (const text of ['DNS:a\n', '\nDNS:a', 'DNS:a\n\nDNS:b', '\n']) {
    assert.is(code(() => c.call('cc_x509_csr_tbs', [spki, utf8('CN=x'), utf8(text)], 3)), 'BAD_SUBJECT_ALT_NAME', JSON.stringify(text));
  }
  // The IPv6 forms of RFC 4291 all land as 16 bytes.
  const t = writer.csrTbs({ spki, subject: 'CN=x',
    subjectAltNames: ['IP:::', 'IP:::1', 'IP:1::', 'IP:2001:db8::8:800:200c:417a', 'IP:::ffff:192.0.2.1', 'IP:1:2:3:4:5:6:7::',
      'IP:1:2:3:4:5:6:7:8', 'IP:0.0.0.0', 'DNS:under_score.example', 'DNS:xn--kmera-gra.example'] });
  const csr = writer.assembleCsr(t.tbs, sign(pairs['EC-P256'], t));
  assert.match(openssl(['req', '-inform', 'DER', '-noout', '-text'], csr).toString(),
    'IP Address:0:0:0:0:0:0:0:0, IP Address:0:0:0:0:0:0:0:1, IP Address:1:0:0:0:0:0:0:0, IP Address:2001:DB8:0:0:8:800:200C:417A, '
    + 'IP Address:0:0:0:0:0:FFFF:C000:201, IP Address:1:2:3:4:5:6:7:0, IP Address:1:2:3:4:5:6:7:8, IP Address:0.0.0.0, '
    + 'DNS:under_score.example, DNS:xn--kmera-gra.example');
});

test('validity out of order or malformed: BAD_VALIDITY', () => {
  const spki = pairs['EC-P256'].spki;
  const tbs = (nb: string, na: string) => () => c.call('cc_x509_crt_tbs', [spki, utf8('CN=x'), new Uint8Array(0), utf8(nb), utf8(na)], 3);
  assert.is(code(() => writer.certificateTbs({ spki, subject: 'CN=x', notBefore: NOT_AFTER, notAfter: NOT_BEFORE })), 'BAD_VALIDITY');
  assert.is(code(() => writer.certificateTbs({ spki, subject: 'CN=x', notBefore: NOT_BEFORE, notAfter: NOT_BEFORE })), 'BAD_VALIDITY');
  assert.is(code(() => writer.certificateTbs({ spki, subject: 'CN=x', notBefore: new Date('x'), notAfter: NOT_AFTER })), 'BAD_VALIDITY');
  for (const [nb, na] of [
    ['20241301000000', '20250101000000'], ['20240230000000', '20250101000000'], ['20230229000000', '20250101000000'],
    ['20240101240000', '20250101000000'], ['20240101006000', '20250101000000'], ['20240101000060', '20250101000000'],
    ['2024010100000', '20250101000000'], ['20240101000000Z', '20250101000000'], ['2024-01-01T00:0', '20250101000000'],
    ['00000101000000', '20250101000000'], ['20240101000000', ''], ['20240101000001', '20240101000000'],
  ]) {
    assert.is(code(tbs(nb!, na!)), 'BAD_VALIDITY', `${nb} ${na}`);
  }
  c.call('cc_x509_crt_tbs', [spki, utf8('CN=x'), new Uint8Array(0), utf8('20240229000000'), utf8('20240229000001')], 3);
});

test('signatures of the wrong size or shape, or by another key: BAD_SIGNATURE; nothing is assembled', () => {
  for (const type of TYPES) {
    const pair = pairs[type];
    const other = keys.generate(type);
    const t = writer.certificateTbs({ spki: pair.spki, subject: SUBJECT, notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
    const r = writer.csrTbs({ spki: pair.spki, subject: SUBJECT });
    const good = sign(pair, t);
    const byOther = keys.sign(other.privateDer, t.scheme, t.digestAlg, t.digest);
    assert.is(code(() => writer.assembleCertificate(t.tbs, byOther)), 'BAD_SIGNATURE', type);
    assert.is(code(() => writer.assembleCsr(r.tbs, keys.sign(other.privateDer, r.scheme, r.digestAlg, r.digest))), 'BAD_SIGNATURE');
    // A signature of the CSR is not one of the certificate.
    assert.is(code(() => writer.assembleCertificate(t.tbs, sign(pair, r))), 'BAD_SIGNATURE');
    assert.is(code(() => writer.assembleCertificate(t.tbs, good.slice(0, good.length - 1))), 'BAD_SIGNATURE');
    assert.is(code(() => writer.assembleCertificate(t.tbs, new Uint8Array([...good, 0]))), 'BAD_SIGNATURE');
    assert.is(code(() => writer.assembleCertificate(t.tbs, new Uint8Array(0))), 'BAD_SIGNATURE');
    const flipped = good.slice();
    flipped[flipped.length - 3] ^= 1;
    assert.is(code(() => writer.assembleCertificate(t.tbs, flipped)), 'BAD_SIGNATURE');
    const tampered = t.tbs.slice();
    tampered[tampered.length - 30] ^= 1;
    assert.is(code(() => writer.assembleCertificate(tampered, good)), 'BAD_SIGNATURE');
    if (type.startsWith('EC')) {
      const n = EXPECTED[type].coord;
      const raw = derToRaw(good, n);
      assert.is(code(() => writer.assembleCertificate(t.tbs, raw.slice(1), 'raw')), 'BAD_SIGNATURE');
      assert.is(code(() => writer.assembleCertificate(t.tbs, new Uint8Array([0, ...raw]), 'raw')), 'BAD_SIGNATURE');
      assert.is(code(() => writer.assembleCertificate(t.tbs, raw, 'der')), 'BAD_SIGNATURE');
      assert.is(code(() => writer.assembleCertificate(t.tbs, good, 'raw')), 'BAD_SIGNATURE');
      assert.is(code(() => writer.assembleCertificate(t.tbs, new Uint8Array(2 * n), 'raw')), 'BAD_SIGNATURE');
      const zeroR = raw.slice();
      zeroR.fill(0, 0, n);
      assert.is(code(() => writer.assembleCertificate(t.tbs, zeroR, 'raw')), 'BAD_SIGNATURE');
      // A negative r (no 0x00 before a high bit) is not an ECDSA-Sig-Value.
      assert.is(code(() => writer.assembleCertificate(t.tbs, Uint8Array.from([0x30, 6, 2, 1, 0x80, 2, 1, 1]))), 'BAD_SIGNATURE');
    }
    assert.is(c.poolState().held, 0);
  }
  // An RSA signature is the same bytes in both formats.
  const pair = pairs['RSA-2048'];
  const t = writer.certificateTbs({ spki: pair.spki, subject: SUBJECT, notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
  assert.ok(new X509Certificate(writer.assembleCertificate(t.tbs, sign(pair, t), 'raw')).verify(
    createPublicKey({ key: Buffer.from(pair.spki), format: 'der', type: 'spki' })));
});

test('an ECDSA DER signature with padded integers is re-encoded minimally', () => {
  const pair = pairs['EC-P256'];
  const t = writer.certificateTbs({ spki: pair.spki, subject: SUBJECT, notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
  const good = sign(pair, t);
  const raw = derToRaw(good, 32);
  // Both integers as 33 bytes with a leading zero: valid BER, not minimal DER.
  const padded = Uint8Array.from([0x30, 70, 2, 33, 0, ...raw.subarray(0, 32), 2, 33, 0, ...raw.subarray(32)]);
  for (const [sig, format] of [[padded, 'der'], [raw, 'raw']] as const) {
    const der = writer.assembleCertificate(t.tbs, sig, format);
    // Certificate ::= SEQUENCE { tbs, algorithm, BIT STRING { 0 unused bits, signature } }
    const seq = tlv(der, 0);
    const bits = tlv(der, tlv(der, tlv(der, seq.start).end).end);
    assert.equal(der.subarray(bits.start + 1, bits.end), good, format);
    const pem = writeFile('padded.pem', toPem('CERTIFICATE', der));
    assert.is(run(['verify', '-x509_strict', '-CAfile', pem, pem]).status, 0);
  }
});

test('bad keys, bad TBS, bad format: BAD_KEY, BAD_DER, BAD_ARGUMENT', () => {
  const spki = pairs['EC-P256'].spki;
  assert.is(code(() => writer.csrTbs({ spki: new Uint8Array(0), subject: 'CN=x' })), 'BAD_KEY');
  assert.is(code(() => writer.csrTbs({ spki: spki.slice(0, spki.length - 1), subject: 'CN=x' })), 'BAD_KEY');
  assert.is(code(() => writer.csrTbs({ spki: new Uint8Array([...spki, 0]), subject: 'CN=x' })), 'BAD_KEY');
  assert.is(code(() => writer.csrTbs({ spki: pairs['EC-P256'].privateDer, subject: 'CN=x' })), 'BAD_KEY');
  const t = writer.certificateTbs({ spki, subject: SUBJECT, notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
  const sig = sign(pairs['EC-P256'], t);
  assert.is(code(() => writer.assembleCertificate(t.tbs.slice(0, 40), sig)), 'BAD_DER');
  assert.is(code(() => writer.assembleCertificate(new Uint8Array(0), sig)), 'BAD_DER');
  assert.is(code(() => writer.assembleCsr(t.tbs, sig)), 'BAD_DER');
  assert.is(code(() => c.call('cc_x509_crt_assemble', [t.tbs, sig, 2], 1)), 'BAD_ARGUMENT');
  assert.is(c.poolState().held, 0);
});

test.run();
