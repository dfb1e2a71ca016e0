// Certificate parsing and chain verification through the wasm core, checked against the
// openssl CLI and Node's crypto.X509Certificate (fixtures: test/fixtures/parts/certs.sh).
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Core } from '../../wasm/core';
import { CoreError } from '../../wasm/errors';
import { Keys, type KeyPair } from '../../wasm/keys';
import { X509, type CertificateInfo, type ChainResult } from '../../wasm/x509';
import { X509Writer } from '../../wasm/x509write';
import { code, core, fixture, fixturePath, junk, openssl, toPem, utf8 } from '../helpers';

let c: Core;
let x509: X509;
let dir: string;

test.before(async () => {
  c = await core();
  x509 = new X509(c);
  dir = mkdtempSync(join(tmpdir(), 'certd-x509-'));
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const cert = (name: string) => fixture('certs', name);
const cat = (...names: string[]) => new Uint8Array(Buffer.concat(names.map((n) => cert(n))));
const pemBlocks = (b: Uint8Array) => Buffer.from(b).toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
const derOf = (pem: string | Uint8Array) => new Uint8Array(new X509Certificate(pem).raw);

/** Every single-certificate PEM fixture. */
function singleCertFiles(): string[] {
  const all = readdirSync(dirname(fixturePath('certs', 'root.pem'))).filter((f) => f.endsWith('.pem'));
  return all.filter((f) => pemBlocks(cert(f)).length === 1).sort();
}

// --- the openssl oracle for names --------------------------------------------------------

const NAMED = new Set(['CN', 'C', 'ST', 'L', 'O', 'OU', 'emailAddress', 'serialNumber', 'DC', 'UID', 'street']);

/** Splits on a separator not escaped with a backslash. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\') {
      cur += ch + (s[i + 1] ?? '');
      i++;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

/** openssl's RFC 2253 form is in reverse order, multi-valued RDNs included; types outside
 * our named set are taken from its dotted "#hex" dump. Gives the name in our form. */
function opensslName(file: string, which: 'subject' | 'issuer'): string {
  const show = (opt: string) => openssl(['x509', '-in', file, '-noout', `-${which}`, '-nameopt', opt])
    .toString('utf8').replace(/\n$/, '').replace(new RegExp(`^${which}=`), '');
  const parse = (s: string) => (s === '' ? [] : splitUnescaped(s, ',').reverse().map((r) => splitUnescaped(r, '+').reverse()));
  const named = parse(show('RFC2253,-esc_msb'));
  const dotted = parse(show('RFC2253,dump_all,dump_der,oid'));
  return named.map((rdn, i) => rdn.map((atv, k) => (NAMED.has(atv.split('=')[0]!) ? atv : dotted[i]![k]!)).join('+')).join(',');
}

const KU_NAMES: Record<string, string> = {
  'Digital Signature': 'digitalSignature', 'Non Repudiation': 'nonRepudiation', 'Key Encipherment': 'keyEncipherment',
  'Data Encipherment': 'dataEncipherment', 'Key Agreement': 'keyAgreement', 'Certificate Sign': 'keyCertSign',
  'CRL Sign': 'cRLSign', 'Encipher Only': 'encipherOnly', 'Decipher Only': 'decipherOnly',
};
const EKU_OIDS: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2', codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4', timeStamping: '1.3.6.1.5.5.7.3.8', OCSPSigning: '1.3.6.1.5.5.7.3.9',
};
const CURVES: Record<string, [string, number]> = { prime256v1: ['P-256', 256], secp384r1: ['P-384', 384], secp521r1: ['P-521', 521] };
const ipNorm = (ip: string) => (ip.includes(':') ? new URL(`http://[${ip}]`).hostname : ip);

function extValue(text: string, title: string): string | undefined {
  return new RegExp(`${title}:.*\\n\\s+(.*)`).exec(text)?.[1];
}

function checkAgainstOracles(file: string, info: CertificateInfo): void {
  const path = fixturePath('certs', file);
  const node = new X509Certificate(cert(file));
  const ctx = `${file}: `;

  assert.equal(Buffer.from(info.der, 'base64'), node.raw, `${ctx}der`);
  assert.is(info.sha1, node.fingerprint, `${ctx}sha1`);
  assert.is(info.sha256, node.fingerprint256, `${ctx}sha256`);
  assert.is(info.serial, node.serialNumber, `${ctx}serial (node)`);
  assert.is(`serial=${info.serial}\n`, openssl(['x509', '-in', path, '-noout', '-serial']).toString(), `${ctx}serial (openssl)`);

  const dates = openssl(['x509', '-in', path, '-noout', '-dates', '-dateopt', 'iso_8601']).toString();
  const nb = /notBefore=(.*)/.exec(dates)![1]!.replace(' ', 'T');
  const na = /notAfter=(.*)/.exec(dates)![1]!.replace(' ', 'T');
  assert.is(info.not_before, nb, `${ctx}not_before`);
  assert.is(info.not_after, na, `${ctx}not_after`);
  assert.is(info.not_before_unix, Date.parse(nb) / 1000, `${ctx}not_before_unix`);
  assert.is(info.not_after_unix, Date.parse(node.validTo) / 1000, `${ctx}not_after_unix`);

  assert.is(info.subject, opensslName(path, 'subject'), `${ctx}subject`);
  assert.is(info.issuer, opensslName(path, 'issuer'), `${ctx}issuer`);
  // The attribute list is the string's attributes, in the same order.
  for (const [s, attrs] of [[info.subject, info.subject_attrs], [info.issuer, info.issuer_attrs]] as const) {
    const types = s === '' ? [] : splitUnescaped(s, ',').flatMap((r) => splitUnescaped(r, '+')).map((a) => a.split('=')[0]);
    assert.equal(attrs.map((a) => a.type), types, `${ctx}attrs`);
    for (const a of attrs) assert.ok(NAMED.has(a.type) || a.type === a.oid, `${ctx}attr type ${a.type}`);
  }

  const text = openssl(['x509', '-in', path, '-noout', '-text']).toString();
  assert.is(info.version, Number(/Version: (\d+)/.exec(text)![1]), `${ctx}version`);
  assert.is(info.signature_algorithm, /Signature Algorithm: (\S+)/.exec(text)![1], `${ctx}signature_algorithm`);

  const ku = extValue(text, 'X509v3 Key Usage');
  assert.equal(info.key_usage, ku ? ku.split(', ').map((n) => KU_NAMES[n]) : [], `${ctx}key_usage`);
  assert.equal(info.extended_key_usage.map((n) => EKU_OIDS[n] ?? n), node.keyUsage ?? [], `${ctx}extended_key_usage`);
  const bc = extValue(text, 'X509v3 Basic Constraints');
  const expectBc = bc === undefined ? null : { ca: bc.startsWith('CA:TRUE'), path_len: /pathlen:(\d+)/.test(bc) ? Number(/pathlen:(\d+)/.exec(bc)![1]) : null };
  assert.equal(info.basic_constraints, expectBc, `${ctx}basic_constraints`);
  assert.is(info.basic_constraints?.ca ?? false, node.ca, `${ctx}ca`);

  const sans = (node.subjectAltName ?? '').split(', ').filter((s) => s !== '').flatMap((s) => {
    const [, type, value] = /^([^:]+):(.*)$/.exec(s)!;
    const t = ({ DNS: 'DNS', 'IP Address': 'IP', email: 'email', URI: 'URI' } as Record<string, string>)[type!];
    return t ? [{ type: t, value: t === 'IP' ? ipNorm(value!) : value! }] : [];
  });
  assert.equal(info.subject_alt_names.map((s) => ({ type: s.type, value: s.type === 'IP' ? ipNorm(s.value) : s.value })), sans, `${ctx}sans`);

  const pub = node.publicKey;
  assert.equal(Buffer.from(info.spki, 'base64'), pub.export({ type: 'spki', format: 'der' }), `${ctx}spki`);
  if (pub.asymmetricKeyType === 'ec') {
    const [curve, bits] = CURVES[pub.asymmetricKeyDetails!.namedCurve!]!;
    assert.equal(info.key, { type: 'EC', curve, bits }, `${ctx}key`);
  } else {
    assert.equal(info.key, { type: 'RSA', bits: pub.asymmetricKeyDetails!.modulusLength }, `${ctx}key`);
  }
  assert.is(info.self_signed, node.checkIssued(node) && node.verify(pub), `${ctx}self_signed`);
  assert.equal(info.unsupported_critical_extensions, file === 'crit.pem' ? ['1.2.3.4.5'] : [], `${ctx}critical`);
}

// --- parsing ------------------------------------------------------------------------------

test('every field of every fixture certificate agrees with openssl and Node', () => {
  const files = singleCertFiles();
  assert.ok(files.length >= 35, `found ${files.length} certificates`);
  for (const f of files) {
    const list = x509.parse(cert(f));
    assert.is(list.length, 1, f);
    checkAgainstOracles(f, list[0]!);
  }
});

test('the JSON has exactly the documented fields', () => {
  const [info] = x509.parse(cert('ec256.pem'));
  assert.equal(Object.keys(info!), ['subject', 'subject_attrs', 'issuer', 'issuer_attrs', 'serial', 'version',
    'not_before', 'not_before_unix', 'not_after', 'not_after_unix', 'subject_alt_names', 'key_usage',
    'extended_key_usage', 'basic_constraints', 'unsupported_critical_extensions', 'signature_algorithm', 'key',
    'spki', 'sha1', 'sha256', 'self_signed', 'der']);
});

test('known values: SANs in RFC 5952 form, names, usages, times, serials', () => {
  const [ec] = x509.parse(cert('ec256.der'));
  assert.equal(ec!.subject_alt_names, [
    { type: 'DNS', value: 'cam1.example.com' }, { type: 'DNS', value: '*.cam.example.com' },
    { type: 'IP', value: '192.0.2.10' }, { type: 'IP', value: '2001:db8::1' }, { type: 'IP', value: '2001:db8::1:0:0:1' },
    { type: 'IP', value: '::ffff:192.0.2.1' }, { type: 'IP', value: '::' }, { type: 'IP', value: 'fe80::1:0:0:0' },
    { type: 'email', value: 'admin@example.com' }, { type: 'URI', value: 'https://cam1.example.com/path?x=1' },
  ]);
  assert.is(ec!.serial, '80A1B2C3D4E5F60718293A4B5C6D7E8F'); // DER has a leading 00
  assert.is(ec!.subject, 'C=SE,O=Axis AB,CN=cam1.example.com');
  assert.is(ec!.issuer, 'C=SE,O=certd test,CN=certd test intermediate');
  assert.equal(ec!.key_usage, ['digitalSignature']);
  assert.equal(ec!.extended_key_usage, ['serverAuth', 'clientAuth']);

  const [rsa] = x509.parse(cert('rsa2048.pem'));
  assert.is(rsa!.subject, 'C=SE,ST=Skåne,L=Lund,O=Åsa\\, Ström \\"AB\\" \\<x\\>\\;y/z=w,OU=\\#hash,OU=\\ lead and trail\\ ,'
    + 'CN=cam2+serialNumber=ACCC8E012345,DC=example,UID=u1,street=Main 1,emailAddress=admin@example.com');
  assert.equal(rsa!.subject_attrs.map((a) => [a.type, a.oid, a.value]), [
    ['C', '2.5.4.6', 'SE'], ['ST', '2.5.4.8', 'Skåne'], ['L', '2.5.4.7', 'Lund'],
    ['O', '2.5.4.10', 'Åsa, Ström "AB" <x>;y/z=w'], ['OU', '2.5.4.11', '#hash'], ['OU', '2.5.4.11', ' lead and trail '],
    ['CN', '2.5.4.3', 'cam2'], ['serialNumber', '2.5.4.5', 'ACCC8E012345'], ['DC', '0.9.2342.19200300.100.1.25', 'example'],
    ['UID', '0.9.2342.19200300.100.1.1', 'u1'], ['street', '2.5.4.9', 'Main 1'], ['emailAddress', '1.2.840.113549.1.9.1', 'admin@example.com'],
  ]);
  assert.is(rsa!.serial, '01');

  const [p384] = x509.parse(cert('p384.pem'));
  assert.is(p384!.subject, 'O=certd test,2.5.4.12=#0C08456E67696E656572,CN=p384 leaf');
  assert.equal(p384!.subject_attrs[1], { type: '2.5.4.12', oid: '2.5.4.12', value: 'Engineer' });
  assert.equal(p384!.extended_key_usage, ['codeSigning', 'emailProtection', 'timeStamping', 'OCSPSigning', '1.3.6.1.4.1.99999.1']);
  assert.equal(p384!.key_usage, ['nonRepudiation', 'dataEncipherment']);
  assert.is(p384!.basic_constraints, null);

  const [p521] = x509.parse(cert('p521.pem'));
  assert.equal(p521!.key_usage, Object.values(KU_NAMES));
  assert.is(p521!.signature_algorithm, 'sha512WithRSAEncryption');
  assert.equal(p521!.key, { type: 'EC', curve: 'P-521', bits: 521 });

  const [inter] = x509.parse(cert('inter.pem'));
  assert.equal(inter!.basic_constraints, { ca: true, path_len: 0 });
  assert.is(inter!.signature_algorithm, 'ecdsa-with-SHA384');
  assert.is(x509.parse(cert('pss.pem'))[0]!.signature_algorithm, 'rsassaPss');
  assert.is(x509.parse(cert('sha1.pem'))[0]!.signature_algorithm, 'sha1WithRSAEncryption');

  const [gen] = x509.parse(cert('gentime.pem'));
  assert.is(gen!.not_before, '1950-01-01T00:00:00Z');
  assert.is(gen!.not_before_unix, -631152000);
  assert.is(gen!.not_after, '2055-01-01T12:00:00Z');
  assert.is(gen!.not_after_unix, Date.UTC(2055, 0, 1, 12) / 1000);

  assert.is(x509.parse(cert('bmp.pem'))[0]!.subject, 'O=Café Ångström,CN=Ström 日本');
  assert.is(x509.parse(cert('t61.pem'))[0]!.subject, 'O=Café Ångström,CN=Ström');
  for (const f of ['root.pem', 'root2.pem', 'root-old.pem', 'selfsigned.pem']) assert.ok(x509.parse(cert(f))[0]!.self_signed, f);
});

test('a bundle parses to its certificates in order; DER and PEM agree', () => {
  const full = x509.parse(cert('full.pem'));
  assert.equal(full.map((i) => i.sha256), ['ec256.pem', 'inter.pem', 'root.pem'].map((f) => new X509Certificate(cert(f)).fingerprint256));
  assert.equal(x509.parse(cert('ec256.der')), [full[0]]);
  // Text around and between blocks, CRLF line ends and other PEM blocks are skipped.
  const mixed = `junk before\n${Buffer.from(cert('ec256.key')).toString()}${pemBlocks(cert('inter.pem'))[0]}between\r\n`
    + `${pemBlocks(cert('root.pem'))[0]!.replace(/\n/g, '\r\n')}trailing text`;
  assert.equal(x509.parse(utf8(mixed)).map((i) => i.sha256), full.map((i) => i.sha256).slice(1));
  assert.is(x509.parse(cert('sixteen.pem')).length, 16);
  assert.is(code(() => x509.parse(cert('seventeen.pem'))), 'BAD_ARGUMENT');
});

// --- names: escapes, string types, round trips with the subject writer -------------------

/** Replaces the first occurrence of `from` (same length as `to`) in a DER certificate. */
function patch(der: Uint8Array, from: string, to: number[]): Uint8Array {
  const at = Buffer.from(der).indexOf(Buffer.from(from, 'latin1'));
  assert.ok(at > 0 && to.length === from.length);
  const out = der.slice();
  out.set(to, at);
  return out;
}

test('control characters and octets that are not UTF-8 are escaped as \\XX', () => {
  const der = derOf(cert('ec256.pem'));
  const [info] = x509.parse(patch(der, 'Axis AB', [0x41, 0x00, 0x7f, 0xff, 0xc3, 0x20, 0x20]));
  assert.is(info!.subject, 'C=SE,O=A\\00\\7F\\FF\\C3 \\ ,CN=cam1.example.com');
  assert.is(info!.subject_attrs[1]!.value, 'A\u0000\u007f\ufffd\ufffd  ');
  // An SAN that is not UTF-8 reads with U+FFFD (the JSON stays valid).
  const [san] = x509.parse(patch(der, 'admin@', [0x61, 0xff, 0x6d, 0x69, 0x6e, 0x40]));
  assert.ok(san!.subject_alt_names.some((s) => s.type === 'email' && s.value === 'a\ufffdmin@example.com'));
});

let keys: Keys;
let writer: X509Writer;
let pair: KeyPair;

/** A certificate from the subject writer (cc_x509write), signed with Keys. */
function issue(subject: string): Uint8Array {
  keys ??= new Keys(c);
  writer ??= new X509Writer(c);
  pair ??= keys.generate('EC-P256');
  const tbs = writer.certificateTbs({
    spki: pair.spki, subject, notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'),
  });
  return writer.assembleCertificate(tbs.tbs, keys.sign(pair.privateDer, tbs.scheme, tbs.digestAlg, tbs.digest));
}

test('subjects round-trip through the subject writer, and openssl reads them the same', () => {
  const subjects = ['rsa2048.pem', 'p384.pem', 'bmp.pem', 't61.pem', 'ec256.pem', 'root.pem'].map((f) => x509.parse(cert(f))[0]!.subject);
  subjects.push(
    'CN=\\ x\\ ',
    'CN=a\\01b',
    'CN=x+OU=y,O=z',
    'CN=#1C080001F60000000078',   // UniversalString "😀x"
    'CN=#1E04D83DDE00',           // BMPString with a surrogate pair: "😀"
    'CN=#1E0400D8DE00',           // BMPString with a lone (low) surrogate: stays hex
    'CN=#1E02D800',               // BMPString with a lone (high) surrogate: stays hex
    'O=#0C03616263',              // UTF8String by hex
    '2.5.4.12=#0C08456E67696E656572,1.3.6.1.4.1.99999.7=#130161',
  );
  const expect: Record<string, string> = {
    'CN=#1C080001F60000000078': 'CN=😀x', 'CN=#1E04D83DDE00': 'CN=😀', 'O=#0C03616263': 'O=abc',
  };
  for (const s of subjects) {
    const der = issue(s);
    const [info] = x509.parse(der);
    assert.is(info!.subject, expect[s] ?? s, s);
    // OpenSSL 3.0 reads BMPString as UCS-2 and refuses certificates with surrogates in one.
    if (!s.startsWith('CN=#1E')) {
      const file = join(dir, 'rt.pem');
      writeFileSync(file, toPem('CERTIFICATE', der));
      assert.is(info!.subject, opensslName(file, 'subject'), `openssl: ${s}`);
    }
    // What we print parses back to the same subject.
    assert.is(x509.parse(issue(info!.subject))[0]!.subject, info!.subject, `again: ${s}`);
  }
});

// --- chains -------------------------------------------------------------------------------

const NOW = new Date();
const at = (iso: string) => new Date(iso);
const verify = (chain: Uint8Array, anchors: Uint8Array, now = NOW) => x509.verifyChain(chain, anchors, now);

/** openssl verify at the same time, with a profile like ours (112-bit security, 10 intermediates). */
function opensslTrusts(chain: Uint8Array, anchors: Uint8Array, now: Date): boolean {
  const blocks = pemBlocks(chain);
  writeFileSync(join(dir, 'leaf.pem'), blocks[0]!);
  writeFileSync(join(dir, 'untrusted.pem'), blocks.slice(1).join('') || blocks[0]!);
  writeFileSync(join(dir, 'anchors.pem'), anchors);
  const r = spawnSync('openssl', ['verify', '-auth_level', '2', '-verify_depth', '10', '-partial_chain',
    '-attime', String(Math.floor(now.getTime() / 1000)), '-CAfile', join(dir, 'anchors.pem'),
    '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
  return r.status === 0;
}

function expectChain(name: string, chain: Uint8Array, anchors: Uint8Array, now: Date,
                     want: { flags: string[]; depth: number; pathFlags?: string[][] }): ChainResult {
  const r = verify(chain, anchors, now);
  assert.equal(r.flags, want.flags, `${name}: flags`);
  assert.is(r.trusted, want.flags.length === 0, `${name}: trusted`);
  assert.is(r.depth, want.depth, `${name}: depth`);
  assert.is(r.path.length, want.depth + 1, `${name}: path`);
  if (want.pathFlags) assert.equal(r.path.map((p) => p.flags), want.pathFlags, `${name}: path flags`);
  // The union of the path's flags, in the same order.
  assert.equal([...new Set(r.path.flatMap((p) => p.flags))].sort(), [...r.flags].sort(), `${name}: union`);
  return r;
}

test('a good chain is trusted; the path names each certificate', () => {
  const r = expectChain('good', cert('chain.pem'), cert('root.pem'), NOW, { flags: [], depth: 2, pathFlags: [[], [], []] });
  assert.equal(r.path.map((p) => p.subject), ['C=SE,O=Axis AB,CN=cam1.example.com',
    'C=SE,O=certd test,CN=certd test intermediate', 'C=SE,O=certd test,CN=certd test root']);
  assert.equal(r.path.map((p) => p.sha256), ['ec256.pem', 'inter.pem', 'root.pem'].map((f) => new X509Certificate(cert(f)).fingerprint256));
  // The root in the chain changes nothing, nor do other anchors beside the right one.
  expectChain('with root', cert('full.pem'), cert('root.pem'), NOW, { flags: [], depth: 2 });
  expectChain('more anchors', cert('chain.pem'), cat('root2.pem', 'selfsigned.pem', 'root.pem'), NOW, { flags: [], depth: 2 });
  expectChain('DER leaf', cert('ec256.der'), cert('root.pem'), NOW, { flags: ['NOT_TRUSTED'], depth: 0 });
  for (const leaf of ['rsa2048.pem', 'p384.pem', 'p521.pem', 'pss.pem', 'bmp.pem', 'gentime.pem']) {
    expectChain(leaf, cat(leaf, 'inter.pem'), cert('root.pem'), NOW, { flags: [], depth: 2 });
  }
  expectChain('self-signed leaf as its own anchor', cert('selfsigned.pem'), cert('selfsigned.pem'), NOW, { flags: [], depth: 0 });
  expectChain('intermediate as the anchor', cert('chain.pem'), cert('inter.pem'), NOW, { flags: [], depth: 1 });
});

test('NOT_TRUSTED: missing intermediate, wrong anchor, no anchor, root only in the chain, bad issuers', () => {
  const nt = { flags: ['NOT_TRUSTED'] };
  expectChain('missing intermediate', cert('ec256.pem'), cert('root.pem'), NOW, { ...nt, depth: 0 });
  // root2 has root's name but another key: its signature does not check.
  expectChain('wrong anchor', cert('chain.pem'), cert('root2.pem'), NOW, { ...nt, depth: 1, pathFlags: [[], ['NOT_TRUSTED']] });
  expectChain('no anchors', cert('chain.pem'), new Uint8Array(0), NOW, { ...nt, depth: 1 });
  expectChain('root in chain only', cert('full.pem'), cert('root2.pem'), NOW, { ...nt, depth: 2 });
  expectChain('self-signed, other anchor', cert('selfsigned.pem'), cert('root.pem'), NOW, { ...nt, depth: 0 });
  // inter has pathlen 0: the CA under it finds no issuer.
  expectChain('path length', cat('leaf-sub.pem', 'sub.pem', 'inter.pem'), cert('root.pem'), NOW, { ...nt, depth: 1 });
  // ec256 is not a CA.
  expectChain('issuer not a CA', cat('leaf-nonca.pem', 'ec256.pem', 'inter.pem'), cert('root.pem'), NOW, { ...nt, depth: 0 });
  // Order matters: mbedTLS looks for an issuer further down the chain only.
  expectChain('intermediate before leaf', cat('inter.pem', 'ec256.pem'), cert('root.pem'), NOW, { flags: [], depth: 1 });
});

test('EXPIRED and NOT_YET_VALID for every certificate of the path, at the given now', () => {
  const root = cert('root.pem');
  expectChain('expired leaf', cat('expired.pem', 'inter.pem'), root, NOW, { flags: ['EXPIRED'], depth: 2, pathFlags: [['EXPIRED'], [], []] });
  expectChain('future leaf', cat('future.pem', 'inter.pem'), root, NOW, { flags: ['NOT_YET_VALID'], depth: 2, pathFlags: [['NOT_YET_VALID'], [], []] });
  expectChain('expired intermediate', cat('leaf-ie.pem', 'inter-exp.pem'), root, NOW,
    { flags: ['EXPIRED'], depth: 2, pathFlags: [[], ['EXPIRED'], []] });
  expectChain('expired anchor', cert('chain.pem'), cert('root-old.pem'), NOW, { flags: ['EXPIRED'], depth: 2, pathFlags: [[], [], ['EXPIRED']] });
  // A renewed root beside its expired predecessor (same name and key): the valid one is used.
  expectChain('renewed root', cert('chain.pem'), cat('root-old.pem', 'root.pem'), NOW, { flags: [], depth: 2 });
  // Far ahead everything has expired; long ago nothing was valid yet.
  expectChain('in 2050', cert('chain.pem'), root, at('2050-01-01T00:00:00Z'), { flags: ['EXPIRED'], depth: 2, pathFlags: [['EXPIRED'], ['EXPIRED'], ['EXPIRED']] });
  expectChain('in 2000', cert('chain.pem'), root, at('2000-01-01T00:00:00Z'), { flags: ['NOT_YET_VALID'], depth: 2 });
  // The bounds are inclusive, to the second.
  const exp = cat('expired.pem', 'inter.pem');
  assert.equal(verify(exp, root, at('2021-01-01T00:00:00Z')).path[0]!.flags, []);
  assert.equal(verify(exp, root, at('2021-01-01T00:00:01Z')).path[0]!.flags, ['EXPIRED']);
  assert.equal(verify(exp, root, at('2020-01-01T00:00:00Z')).path[0]!.flags, []);
  assert.equal(verify(exp, root, at('2019-12-31T23:59:59Z')).path[0]!.flags, ['NOT_YET_VALID']);
  const fut = cat('future.pem', 'inter.pem');
  assert.equal(verify(fut, root, at('2039-12-31T23:59:59Z')).path[0]!.flags, ['NOT_YET_VALID']);
  assert.equal(verify(fut, root, at('2040-01-01T00:00:00Z')).path[0]!.flags, []);
  // Validity 1950 (UTCTime) to 2055 (GeneralizedTime).
  assert.equal(verify(cat('gentime.pem', 'inter.pem'), root, at('2054-12-31T00:00:00Z')).path[0]!.flags, []);
  assert.equal(verify(cat('gentime.pem', 'inter.pem'), root, at('2055-01-01T12:00:01Z')).path[0]!.flags, ['EXPIRED']);
});

test('profile and extension flags: BAD_SIGNATURE_ALG, BAD_KEY, UNSUPPORTED_CRITICAL_EXTENSION, PATH_TOO_LONG', () => {
  const root = cert('root.pem');
  expectChain('sha1', cat('sha1.pem', 'inter.pem'), root, NOW, { flags: ['BAD_SIGNATURE_ALG'], depth: 2, pathFlags: [['BAD_SIGNATURE_ALG'], [], []] });
  expectChain('rsa1024', cat('rsa1024.pem', 'inter.pem'), root, NOW, { flags: ['BAD_KEY'], depth: 2, pathFlags: [['BAD_KEY'], [], []] });
  expectChain('critical', cat('crit.pem', 'inter.pem'), root, NOW, { flags: ['UNSUPPORTED_CRITICAL_EXTENSION'], depth: 2 });
  expectChain('11 intermediates', cert('long11.pem'), root, NOW, { flags: ['NOT_TRUSTED', 'PATH_TOO_LONG'], depth: 0 });
  expectChain('10 intermediates', cert('long10.pem'), cert('l1.pem'), NOW, { flags: [], depth: 11 });
  expectChain('several at once', cat('expired.pem', 'inter.pem'), cert('root2.pem'), NOW,
    { flags: ['EXPIRED', 'NOT_TRUSTED'], depth: 1, pathFlags: [['EXPIRED'], ['NOT_TRUSTED']] });
});

test('trusted agrees with openssl verify for every case openssl judges the same way', () => {
  const cases: [Uint8Array, Uint8Array, Date][] = [];
  const root = cert('root.pem');
  for (const leaf of ['ec256', 'rsa2048', 'p384', 'p521', 'pss', 'bmp', 't61', 'sha1', 'rsa1024', 'crit', 'expired', 'future', 'gentime']) {
    for (const now of [NOW, at('2020-06-01T00:00:00Z'), at('2040-06-01T00:00:00Z')]) {
      cases.push([cat(`${leaf}.pem`, 'inter.pem'), root, now], [cat(`${leaf}.pem`, 'inter.pem'), cert('root2.pem'), now]);
    }
  }
  cases.push(
    [cert('ec256.pem'), root, NOW], [cert('chain.pem'), cert('root-old.pem'), NOW], [cert('chain.pem'), cat('root-old.pem', 'root.pem'), NOW],
    [cat('leaf-ie.pem', 'inter-exp.pem'), root, NOW], [cat('leaf-ie.pem', 'inter-exp.pem'), root, at('2020-06-01T00:00:00Z')],
    [cat('leaf-sub.pem', 'sub.pem', 'inter.pem'), root, NOW], [cat('leaf-nonca.pem', 'ec256.pem', 'inter.pem'), root, NOW],
    [cert('selfsigned.pem'), cert('selfsigned.pem'), NOW], [cert('long10.pem'), cert('l1.pem'), NOW], [cert('long11.pem'), root, NOW],
    [cert('chain.pem'), cert('inter.pem'), NOW],
  );
  let trusted = 0;
  for (const [chain, anchors, now] of cases) {
    const r = verify(chain, anchors, now);
    assert.is(r.trusted, opensslTrusts(chain, anchors, now), `${JSON.stringify(r.path.map((p) => p.subject))} at ${now.toISOString()}: ${r.flags}`);
    trusted += r.trusted ? 1 : 0;
  }
  assert.ok(trusted >= 10 && trusted < cases.length - 10, `${trusted} of ${cases.length} trusted`);
});

test('now: checked, to the second', () => {
  const chain = cert('chain.pem');
  const root = cert('root.pem');
  for (const bad of ['', '2026112416000', '202611241600000', '2026-11-24T16:0', '20261324160000', '20260230120000',
    '20260101240000', '20260101006000', '20260101000060', '20260100000000', 'abcdefghijklmn']) {
    assert.is(code(() => c.call('cc_x509_verify_chain', [chain, root, utf8(bad)], 1)), 'BAD_VALIDITY', bad);
  }
  assert.is(code(() => verify(chain, root, new Date(NaN))), 'BAD_VALIDITY');
  assert.ok(JSON.parse(Buffer.from(c.call('cc_x509_verify_chain', [chain, root, utf8('20280229235959')], 1).out[0]!).toString()).trusted);
});

test('chain and anchor input errors; limits', () => {
  const root = cert('root.pem');
  assert.is(code(() => verify(new Uint8Array(0), root)), 'BAD_CERTIFICATE');
  assert.is(code(() => verify(junk(500), root)), 'BAD_CERTIFICATE');
  assert.is(code(() => verify(cert('chain.pem'), junk(500, 3))), 'BAD_CERTIFICATE');
  assert.is(code(() => verify(cert('chain.pem'), cert('ec256.key'))), 'BAD_PEM');
  assert.is(code(() => verify(cert('seventeen.pem'), root)), 'BAD_ARGUMENT');
  const many = (n: number) => utf8(Buffer.from(root).toString().repeat(n));
  expectChain('256 anchors', cert('chain.pem'), many(256), NOW, { flags: [], depth: 2 });
  assert.is(code(() => verify(cert('chain.pem'), many(257))), 'BAD_ARGUMENT');
});

// --- garbage --------------------------------------------------------------------------------

const PARSE_ERRORS = new Set(['BAD_CERTIFICATE', 'UNSUPPORTED_KEY_TYPE', 'UNSUPPORTED_ALGORITHM']);

test('garbage gives BAD_CERTIFICATE or BAD_PEM, never a crash', () => {
  const pem = Buffer.from(cert('ec256.pem')).toString();
  const der = derOf(pem);
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(0), 'BAD_CERTIFICATE'],
    [junk(1), 'BAD_CERTIFICATE'],
    [junk(3000, 7), 'BAD_CERTIFICATE'],
    [new Uint8Array([0x30, ...junk(2000, 9)]), 'BAD_CERTIFICATE'],
    [utf8('hello, not a certificate'), 'BAD_CERTIFICATE'],
    [new Uint8Array([...der, 0]), 'BAD_CERTIFICATE'],                                 // a byte after the DER
    [cert('ec256.key'), 'BAD_PEM'],                                                    // PEM, no CERTIFICATE block
    [utf8('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n'), 'BAD_PEM'], // bad base64
    [utf8(pem.replace('MII', 'M*I')), 'BAD_PEM'],
    [utf8(pem.replace(/-----END CERTIFICATE-----\n$/, '')), 'BAD_PEM'],                 // no footer
    [utf8(pem + pem.replace(/-----END CERTIFICATE-----\n$/, '')), 'BAD_PEM'],          // the second has none
    [utf8(`-----END CERTIFICATE-----\n${pem.replace(/-----END CERTIFICATE-----\n$/, '')}`), 'BAD_PEM'],
    [utf8(pem.replace('\n', '\0\n')), 'BAD_PEM'],                                      // a NUL
    [utf8(`${pem}\0`), 'BAD_PEM'],
    [utf8(toPem('CERTIFICATE', junk(300, 5))), 'BAD_CERTIFICATE'],                     // good base64, not a certificate
    [utf8(toPem('CERTIFICATE', new Uint8Array([...der, 1, 2]))), 'BAD_CERTIFICATE'],
    [utf8(pem + toPem('CERTIFICATE', der.slice(0, 100))), 'BAD_CERTIFICATE'],          // the second is truncated
    [utf8(toPem('CERTIFICATE', new Uint8Array(0))), 'BAD_PEM'],
  ];
  for (const [input, want] of cases) assert.is(code(() => x509.parse(input)), want, Buffer.from(input.slice(0, 40)).toString('latin1'));
  // Truncated at every length.
  for (let n = 0; n < der.length; n++) assert.is(code(() => x509.parse(der.slice(0, n))), 'BAD_CERTIFICATE', `truncated to ${n}`);
});

test('single-byte mutations: an error with an expected code, or a description; never trusted', () => {
  const root = cert('root.pem');
  const inter = derOf(cert('inter.pem'));
  const leaf = derOf(cert('ec256.pem'));
  const leafPem = pemBlocks(cert('ec256.pem'))[0]!;
  let parsed = 0;
  for (const [name, der] of [['leaf', leaf], ['inter', inter]] as const) {
    const r = junk(1200, name === 'leaf' ? 11 : 13);
    for (let k = 0; k < 300; k++) {
      const pos = ((r[4 * k]! << 8) | r[4 * k + 1]!) % der.length;
      const m = der.slice();
      m[pos] = r[4 * k + 2]! === m[pos] ? m[pos]! ^ 0xff : r[4 * k + 2]!;
      const what = `${name} byte ${pos} = ${m[pos]}`;
      try {
        const list = x509.parse(m);
        assert.is(list.length, 1, what);
        parsed++;
      } catch (e) {
        assert.ok(e instanceof CoreError && PARSE_ERRORS.has(e.code), `${what}: ${e}`);
        continue;
      }
      const chain = name === 'leaf' ? utf8(toPem('CERTIFICATE', m) + Buffer.from(cert('inter.pem')).toString())
        : utf8(leafPem + toPem('CERTIFICATE', m));
      assert.not.ok(verify(chain, root).trusted, what);
    }
  }
  assert.ok(parsed > 0, 'some mutations still parse');
  // The core still works, and every call released its memory.
  assert.is(x509.parse(cert('chain.pem')).length, 2);
  assert.is(c.poolState().held, 0);
});

test.run();
