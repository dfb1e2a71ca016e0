// The decoders a client reaches, as fuzz targets run in-process: each makes input number i
// from its own seeded generator and runs the decoder on it. A clean rejection is the
// decoder's own error (CoreError from the crypto core, the API's 400 HttpError); anything
// else thrown is a crash, and so is a core call that leaves its memory pool held, a
// validation message that is not one short line, or a forged credential that authenticates.
//
// To add a decoder (the XML of the SOAP front-end, multipart uploads), add a Target to
// makeTargets() with its seeds and generator; fuzz.ts, the worker and the summary take it
// from there (and add its endpoints to http-pass.ts).
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CERT_V1_SCHEMAS, type CertV1SchemaName } from '../../src/certd/api/cert-v1-schemas';
import { NotUtf8, takeSecretFields } from '../../src/certd/api/secret-fields';
import { MAX_DEPTH, MAX_ELEMENTS, parseXml, XmlRefused, type XmlElement } from '../../src/certd/api/soap-xml';
import { validBody } from '../../src/certd/api/validate';
import { parseAuthorization } from '../../src/certd/auth/auth-header';
import { Authenticator } from '../../src/certd/auth/authenticator';
import { rq } from '../certd/auth-request';
import { SPEC } from '../certd/soap-client';
import { UserStore } from '../../src/certd/auth/users';
import { HttpError } from '../../src/certd/http/errors';
import type { Core } from '../../wasm/core';
import { CoreError } from '../../wasm/errors';
import { Keys } from '../../wasm/keys';
import { Pkcs12 } from '../../wasm/pkcs12';
import { X509 } from '../../wasm/x509';
import type { Rng } from '../rng';
import { basicHeader, digestHeader, jsonBody, type DigestContext } from './grammar';
import { mutate, mutatePem, randomAsn1 } from './mutate';

export type Outcome = 'accepted' | 'rejected';

export interface Target {
  name: string;
  /** Input number i, from an rng seeded with (run seed, target, i). */
  input(rng: Rng): Uint8Array;
  /** Runs the decoder; throws on a crash. */
  run(input: Uint8Array): Outcome;
  /** Runs the crypto core (a crash then needs a fresh core). */
  core?: true;
}

/** A finding that is not an exception of the decoder itself. */
export class Violation extends Error {
  override readonly name = 'Violation';
}

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'out');
const files = (part: string, re: RegExp) => readdirSync(join(FIXTURES, part)).filter((f) => re.test(f)).sort().map((f) => join(FIXTURES, part, f));
const bytes = (file: string) => new Uint8Array(readFileSync(file));
const text = (file: string) => readFileSync(file, 'latin1');
const derOf = (pem: string) => new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''), 'base64'));
const firstPem = (t: string) => /-----BEGIN [\s\S]*?-----END [^-]+-----\n?/.exec(t)?.[0] ?? t;

/** Runs a core call; CoreError is a rejection, the pool must be empty afterwards. */
function coreRun(core: Core, fn: () => unknown): Outcome {
  let outcome: Outcome = 'accepted';
  try {
    fn();
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    outcome = 'rejected';
  }
  if (core.poolState().held !== 0) throw new Violation(`crypto core pool held ${core.poolState().held} regions after the call`);
  return outcome;
}

/** A DER (PEM with probability pem) input: mutated seed or, sometimes, random DER. */
function derOrPemInput(rng: Rng, pems: string[], ders: Uint8Array[], pem: boolean): Uint8Array {
  if (rng.chance(0.05)) return randomAsn1(rng);
  if (pem) return mutatePem(rng, rng.pick(pems), ders);
  return mutate(rng, rng.pick(ders), ders);
}

/** Passphrase and data, framed: u16 length of the passphrase, the passphrase, the data. */
function frame(pass: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + pass.length + data.length);
  out[0] = pass.length >> 8;
  out[1] = pass.length & 0xff;
  out.set(pass, 2);
  out.set(data, 2 + pass.length);
  return out;
}
function unframe(b: Uint8Array): [Uint8Array, Uint8Array] {
  const n = b.length >= 2 ? (b[0]! << 8) | b[1]! : 0;
  return [b.subarray(2, Math.min(b.length, 2 + n)), b.subarray(Math.min(b.length, 2 + n))];
}

/** The fields cert.v1 takes out of the raw body as bytes before parsing it (cert-v1.ts). */
const SECRET_FIELDS: Partial<Record<CertV1SchemaName, string[]>> = { addCertificate: ['private_key'], installFromPkcs12: ['pkcs12', 'passphrase'] };

/**
 * takeSecretFields against JSON.parse of the same bytes: it may refuse a body that is not
 * UTF-8 (NotUtf8) and no other; it must take no field JSON.parse
 * does not read as a string and miss none it does; what it takes must be that string (when
 * the body is valid UTF-8); afterwards the body must still parse, with the field all spaces
 * (no byte of the secret left in a JS string), as many as the string's UTF-16 units.
 * Messages carry no numbers: each kind of disagreement is one crash signature.
 */
function checkSecretFields(body: Buffer, names: string[]): 'rejected' | undefined {
  let data: Record<string, unknown> | undefined;
  try {
    const doc = JSON.parse(body.toString('utf8')) as { data?: unknown };
    if (doc && typeof doc === 'object' && doc.data && typeof doc.data === 'object' && !Array.isArray(doc.data)) data = doc.data as Record<string, unknown>;
  } catch {
    data = undefined;
  }
  let utf8 = true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    utf8 = false;
  }
  let taken: Map<string, Uint8Array>;
  try {
    taken = takeSecretFields(body, names);
  } catch (e) {
    // Its own refusal of a secret that is not UTF-8 (400 code 5), only for such bodies.
    if (!(e instanceof NotUtf8)) throw e;
    if (utf8) throw new Violation('takeSecretFields refused a valid UTF-8 body as not UTF-8');
    return 'rejected';
  }
  if (!data) return undefined;
  let after: Record<string, unknown>;
  try {
    after = (JSON.parse(body.toString('utf8')) as { data: Record<string, unknown> }).data;
  } catch {
    throw new Violation(`takeSecretFields left a body that no longer parses (${utf8 ? 'valid' : 'invalid'} UTF-8)`);
  }
  for (const f of names) {
    const want = Object.prototype.hasOwnProperty.call(data, f) ? data[f] : undefined;
    const got = taken.get(f);
    if (typeof want !== 'string') {
      if (got) throw new Violation(`takeSecretFields took a field JSON.parse does not read as a string`);
      continue;
    }
    if (!got) throw new Violation('takeSecretFields missed a string field');
    const blanked = after[f];
    if (typeof blanked !== 'string' || !/^ *$/.test(blanked)) throw new Violation(`part of a secret field is left after blanking (${utf8 ? 'valid' : 'invalid'} UTF-8)`);
    if (!utf8) continue;
    if (Buffer.from(want, 'utf8').toString('utf8') === want && Buffer.from(got).toString('utf8') !== want) throw new Violation('takeSecretFields read a field differently from JSON.parse');
    if (blanked.length !== want.length) throw new Violation('a blanked field has another length than the string');
  }
  return undefined;
}

function jsonTarget(name: CertV1SchemaName): Target {
  const secrets = SECRET_FIELDS[name];
  return {
    name: `json:${name}`,
    input: (rng) => jsonBody(rng, CERT_V1_SCHEMAS[name] as unknown as Record<string, unknown>),
    run(input) {
      // A copy: the secret scan blanks the body in place, as it does a request's.
      const body = Buffer.from(input);
      if (secrets && checkSecretFields(body, secrets) === 'rejected') return 'rejected';
      try {
        validBody(name, body);
        return 'accepted';
      } catch (e) {
        if (!(e instanceof HttpError) || e.status !== 400) throw e;
        if (e.message.length > 200 || /[\r\n]/.test(e.message)) throw new Violation(`validation message is not one short line: ${JSON.stringify(e.message.slice(0, 300))}`);
        return 'rejected';
      }
    },
  };
}

function authTargets(): Target[] {
  const realm = 'certd-fuzz';
  const dir = mkdtempSync(join(tmpdir(), 'certd-fuzz-users-'));
  const file = join(dir, 'users.json');
  UserStore.firstRun(file, realm);
  const users = UserStore.load(file);
  const password = 'fuzz-pass-31c7';
  users.setPassword('admin', password);
  rmSync(dir, { recursive: true, force: true }); // loaded: the file is not read again
  const auth = new Authenticator(users, { realm, basic: true, digestAlgorithms: ['SHA-256', 'MD5'], nonceTtlSeconds: 300 });
  const uri = '/config/rest/cert/v1/certificates';
  const H = (alg: 'MD5' | 'SHA-256', s: string) => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s, 'utf8').digest('hex');
  let forged = false;
  const check = (input: Uint8Array): Outcome => {
    const header = Buffer.from(input).toString('latin1');
    parseAuthorization(header);
    const r = auth.check(rq('GET', uri, header));
    if (r.ok && forged) throw new Violation('a forged credential authenticated');
    return r.ok ? 'accepted' : 'rejected';
  };
  const ctx = (): DigestContext => {
    const challenge = (auth.check(rq('GET', uri, undefined)) as { challenges: string[] }).challenges[0]!;
    const p = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(challenge)![1]!;
    return {
      realm, nonce: p('nonce'), opaque: p('opaque'), uri, method: 'GET', user: 'admin', password,
      response: (alg, user, pw, nonce, nc, cnonce, u) => H(alg, `${H(alg, `${user}:${realm}:${pw}`)}:${nonce}:${nc}:${cnonce}:auth:${H(alg, `GET:${u}`)}`),
    };
  };
  return [
    {
      name: 'auth:digest',
      input(rng) {
        const g = digestHeader(rng, ctx());
        forged = g.forged;
        return new Uint8Array(Buffer.from(g.header, 'latin1'));
      },
      run: check,
    },
    {
      name: 'auth:basic',
      input(rng) {
        const g = basicHeader(rng, 'admin', password);
        forged = g.forged;
        return new Uint8Array(Buffer.from(g.header, 'latin1'));
      },
      run: check,
    },
  ];
}

function coreTargets(core: Core): Target[] {
  const x509 = new X509(core);
  const keys = new Keys(core);
  const p12 = new Pkcs12(core);
  const certPems = files('certs', /\.pem$/).map(text).filter((t) => t.includes('BEGIN CERTIFICATE'));
  const certDers = [...certPems.map((t) => derOf(firstPem(t))), ...files('certs', /\.der$/).map(bytes)];
  const keyPems = [...files('keys', /\.pem$/), ...files('certs', /^(ec256|p384|p521|rsa2048|pss|rsa1024)\.key$/)].map(text);
  const keyDers = [...files('keys', /\.der$/).map(bytes), ...keyPems.filter((t) => !/ENCRYPTED|Proc-Type/.test(t)).map((t) => derOf(t))];
  const passes = [...files('keys', /pass\.txt$/), ...files('pkcs12', /pass\.txt$/)].map((f) => new Uint8Array(readFileSync(f)));
  const pfx = files('pkcs12', /\.p12$/).map(bytes);
  const withPass = (rng: Rng, data: Uint8Array) => frame(rng.chance(0.8) ? rng.pick(passes) : rng.bytes(rng.int(8)), data);
  return [
    { name: 'x509:pem', core: true, input: (rng) => derOrPemInput(rng, certPems, certDers, true), run: (i) => coreRun(core, () => x509.parse(i)) },
    { name: 'x509:der', core: true, input: (rng) => derOrPemInput(rng, certPems, certDers, false), run: (i) => coreRun(core, () => x509.parse(i)) },
    {
      name: 'key:pem',
      core: true,
      input: (rng) => withPass(rng, derOrPemInput(rng, keyPems, keyDers, true)),
      run: (i) => coreRun(core, () => keys.parse(unframe(i)[1], unframe(i)[0])),
    },
    {
      name: 'key:der',
      core: true,
      input: (rng) => withPass(rng, derOrPemInput(rng, keyPems, keyDers, false)),
      run: (i) => coreRun(core, () => keys.parse(unframe(i)[1], unframe(i)[0])),
    },
    {
      name: 'pkcs12',
      core: true,
      input: (rng) => withPass(rng, rng.chance(0.03) ? randomAsn1(rng) : mutate(rng, rng.pick(pfx), pfx)),
      run: (i) => coreRun(core, () => p12.decode(unframe(i)[1], unframe(i)[0])),
    },
  ];
}

/** Depth and element count of a tree the reader accepted. */
function treeSize(el: XmlElement, depth = 1): { depth: number; elements: number } {
  let out = { depth, elements: 1 };
  for (const c of el.children) {
    const s = treeSize(c, depth + 1);
    out = { depth: Math.max(out.depth, s.depth), elements: out.elements + s.elements };
  }
  return out;
}

/**
 * The SOAP front-end's XML reader on mutated recorded requests (spec/recorded: devices'
 * and real clients'): XmlRefused is a refusal, any other exception a crash, and a tree it
 * accepts must keep within its depth and element limits.
 */
function xmlTarget(): Target {
  const rec = join(SPEC, 'recorded');
  const seeds = ['axis-5.55', 'client-requests'].flatMap((d) => readdirSync(join(rec, d)).filter((f) => /\.xml$/.test(f) && !/Response|Error/.test(f)).sort()
    .map((f) => new Uint8Array(readFileSync(join(rec, d, f)))));
  return {
    name: 'xml:soap',
    input: (rng) => mutate(rng, rng.pick(seeds), seeds),
    run: (i) => {
      let tree: XmlElement;
      try {
        tree = parseXml(Buffer.from(i).toString('utf8'));
      } catch (e) {
        if (e instanceof XmlRefused) return 'rejected';
        throw e;
      }
      const size = treeSize(tree);
      if (size.depth > MAX_DEPTH || size.elements > MAX_ELEMENTS) throw new Violation('the XML reader accepted a tree over its limits');
      return 'accepted';
    },
  };
}

/** Every target, by name, in the order the summary lists them. */
export function makeTargets(core: Core): Map<string, Target> {
  const all = [
    ...(Object.keys(CERT_V1_SCHEMAS) as CertV1SchemaName[]).map(jsonTarget),
    ...authTargets(),
    ...coreTargets(core),
    xmlTarget(),
  ];
  return new Map(all.map((t) => [t.name, t]));
}
