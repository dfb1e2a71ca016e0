// The core section of `npm run bench`: the crypto core's operations timed through
//  - wasm:   the WASI module through the typed TS APIs (wasm/keys.ts, ...), as certd calls it;
//  - native: the same C and mbedTLS configuration built by gcc (build/bench/core_bench,
//            spawned; bench/native/core_bench.c) — the limit the wasm build is held to;
//  - forge:  node-forge (pure JS; no EC);
//  - node:   Node's own crypto (OpenSSL with assembly; keys cannot be seeded, no CSR or
//            PKCS#12 API).
// Inputs (seeds, digest, subject, PKCS#12 files) are the same for every implementation:
// bench/params.json and build/bench/p12/ (made by bench/build.sh).
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Core, DEFAULT_MODULE_PATH } from '../wasm/core';
import { type Digest, Keys, type KeyPair, type KeyType, type SignatureScheme } from '../wasm/keys';
import params from './params.json';
import {
  type BenchOptions,
  type Measurement,
  type Section,
  fmtRatio,
  fmtTime,
  isMissing,
  na,
  ROOT,
  table,
  timeOp,
} from './lib';

// --- the operations ----------------------------------------------------------------------

export type Impl = 'wasm' | 'native' | 'forge' | 'node';
const IMPLS: readonly Impl[] = ['wasm', 'native', 'forge', 'node'];

interface OpDef {
  id: string;
  label: string;
}

const OPS: readonly OpDef[] = [
  { id: 'keygen-p256', label: 'keygen EC P-256' },
  { id: 'keygen-p384', label: 'keygen EC P-384' },
  { id: 'keygen-rsa2048', label: `keygen RSA-2048 (${params.rsaSeeds.length} seeds)` },
  { id: 'sign-p256', label: 'sign P-256 (ECDSA, SHA-256)' },
  { id: 'sign-rsa2048', label: 'sign RSA-2048 (PKCS#1 v1.5)' },
  { id: 'csr-p256', label: 'CSR build P-256' },
  { id: 'csr-rsa2048', label: 'CSR build RSA-2048' },
  { id: 'p12-rsa2048', label: 'PKCS#12 decode (RSA-2048)' },
  { id: 'p12-p256', label: 'PKCS#12 decode (P-256)' },
];

/** The goals: wasm time / native time at most this. */
const GOALS: readonly { op: string; max: number }[] = [
  { op: 'keygen-p256', max: 1.3 },
  { op: 'sign-p256', max: 1.3 },
  { op: 'sign-rsa2048', max: 2.5 },
];

const P12_DIR = join(ROOT, 'build', 'bench', 'p12');
const P12_FILES: Record<string, string> = {
  'p12-rsa2048': join(P12_DIR, 'rsa2048.p12'),
  'p12-p256': join(P12_DIR, 'p256.p12'),
};
const NATIVE_DRIVER = join(ROOT, 'build', 'bench', 'core_bench');

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const DIGEST = new Uint8Array(Buffer.from(params.digestHex, 'hex'));
const EC_SEEDS = params.ecSeeds.map(utf8);
const RSA_SEEDS = params.rsaSeeds.map(utf8);

export type Results = Record<string, Measurement>;
type OpRunner = () => Measurement;

/** Runs the selected operations of one implementation; a setup that throws is reported per op. */
function runAll(opts: BenchOptions, runners: Record<string, OpRunner | string>): Results {
  const out: Results = {};
  for (const op of OPS) {
    if (opts.only.length > 0 && !opts.only.includes(op.id)) continue;
    const r = runners[op.id];
    if (r === undefined) out[op.id] = na('not implemented in this benchmark');
    else if (typeof r === 'string') out[op.id] = na(r);
    else {
      try {
        out[op.id] = r();
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        out[op.id] = { status: isMissing(e) ? 'n/a' : 'error', reason };
      }
    }
  }
  return out;
}

function seededTiming(opts: BenchOptions, warmup: () => void): { minTime: number; minIters: number; fixedIters: number; warmup: () => void } {
  return { minTime: opts.minTime, minIters: opts.minIters, fixedIters: RSA_SEEDS.length, warmup };
}

function p12File(id: string): Uint8Array {
  const path = P12_FILES[id]!;
  if (!existsSync(path)) throw new Error(`${path} not present (bench/build.sh makes it)`);
  return new Uint8Array(readFileSync(path));
}

// --- wasm ---------------------------------------------------------------------------------

/** Loads a typed API module of wasm/ if it is there yet (CSR writing, PKCS#12 arrive later). */
function optionalWasmModule<T>(name: string, exportName: string): T | null {
  const path = join(__dirname, '..', 'wasm', `${name}.js`);
  if (!existsSync(path)) return null;
  // A runtime require: the bench compiles whether or not the module exists yet.
  const mod = require(path) as Record<string, unknown>;
  return (mod[exportName] as T | undefined) ?? null;
}

/* The typed APIs the bench uses, as far as it relies on their shape. */
type Pkcs12Api = new (core: Core) => { decode(pfx: Uint8Array, passphrase: Uint8Array): unknown };
type X509WriterApi = new (core: Core) => {
  csrTbs(f: { spki: Uint8Array; subject: string; subjectAltNames?: readonly string[] }): {
    tbs: Uint8Array;
    digest: Uint8Array;
    scheme: SignatureScheme;
    digestAlg: Digest;
  };
  assembleCsr(cri: Uint8Array, signature: Uint8Array, format?: 'der' | 'raw'): Uint8Array;
};

const NOT_YET_CSR = 'not in the core yet: cc_x509_csr_tbs/cc_x509_csr_assemble';
const NOT_YET_P12 = 'not in the core yet: cc_pkcs12_decode';

/** A core function that the module does not export yet is "not yet", not an error. */
function notYet(reason: string, fn: () => Measurement): Measurement {
  const m = fn();
  return m.status !== 'ok' && /has no function/.test(m.reason) ? na(reason) : m;
}

/** The seeded signing keys, made once per core (an RSA-2048 key takes the core ~0.3 s). */
const signKeys = new WeakMap<Core, Map<KeyType, KeyPair>>();

function runWasm(opts: BenchOptions, core: Core): Results {
  const keys = new Keys(core);
  const t = { minTime: opts.minTime, minIters: opts.minIters };

  const keygen = (type: KeyType): OpRunner => () =>
    timeOp((i) => keys.generate(type, EC_SEEDS[i % EC_SEEDS.length]), t);
  const signKey = (type: KeyType, scheme: SignatureScheme): KeyPair => {
    const cache = signKeys.get(core) ?? new Map<KeyType, KeyPair>();
    signKeys.set(core, cache);
    let pair = cache.get(type);
    if (!pair) {
      pair = keys.generate(type, utf8(params.keySeed));
      const sig = keys.sign(pair.privateDer, scheme, 'SHA-256', DIGEST);
      if (!keys.verify(pair.spki, scheme, 'SHA-256', DIGEST, sig)) throw new Error('sign/verify check failed');
      cache.set(type, pair);
    }
    return pair;
  };
  const sign = (type: KeyType, scheme: SignatureScheme): OpRunner => () => {
    const pair = signKey(type, scheme);
    return timeOp(() => keys.sign(pair.privateDer, scheme, 'SHA-256', DIGEST), t);
  };
  const X509Writer = optionalWasmModule<X509WriterApi>('x509write', 'X509Writer');
  const csr = (type: KeyType, scheme: SignatureScheme): OpRunner | string => {
    if (X509Writer === null) return `${NOT_YET_CSR} (no wasm/x509write.ts)`;
    return () =>
      notYet(NOT_YET_CSR, () => {
        const pair = signKey(type, scheme);
        const writer = new X509Writer(core);
        const fields = { spki: pair.spki, subject: params.csrSubject, subjectAltNames: params.csrSans };
        // As certd with a key store: TBS and digest, sign, assemble (which checks the signature).
        return timeOp(() => {
          const tbs = writer.csrTbs(fields);
          const sig = keys.sign(pair.privateDer, tbs.scheme, tbs.digestAlg, tbs.digest);
          writer.assembleCsr(tbs.tbs, sig, 'der');
        }, t);
      });
  };
  const Pkcs12 = optionalWasmModule<Pkcs12Api>('pkcs12', 'Pkcs12');
  const p12 = (id: string): OpRunner | string => {
    if (Pkcs12 === null) return `${NOT_YET_P12} (no wasm/pkcs12.ts)`;
    return () =>
      notYet(NOT_YET_P12, () => {
        const api = new Pkcs12(core);
        const pfx = p12File(id);
        const pass = utf8(params.p12Password);
        return timeOp(() => api.decode(pfx, pass), t);
      });
  };

  return runAll(opts, {
    'keygen-p256': keygen('EC-P256'),
    'keygen-p384': keygen('EC-P384'),
    'keygen-rsa2048': () =>
      timeOp(
        (i) => keys.generate('RSA-2048', RSA_SEEDS[i]),
        seededTiming(opts, () => keys.generate('RSA-2048', utf8(params.rsaWarmupSeed))),
      ),
    'sign-p256': sign('EC-P256', 'ECDSA'),
    'sign-rsa2048': sign('RSA-2048', 'RSA-PKCS1-V1_5'),
    'csr-p256': csr('EC-P256', 'ECDSA'),
    'csr-rsa2048': csr('RSA-2048', 'RSA-PKCS1-V1_5'),
    'p12-rsa2048': p12('p12-rsa2048'),
    'p12-p256': p12('p12-p256'),
  });
}

// --- native ---------------------------------------------------------------------------------

interface DriverOp {
  id: string;
  status: 'ok' | 'n/a' | 'error';
  reason?: string;
  samples_us?: number[];
  iterations?: number;
  total_s?: number;
  mean_us?: number;
  median_us?: number;
  min_us?: number;
  max_us?: number;
  ops_per_s?: number;
}

function runNative(opts: BenchOptions): Results {
  const all = (reason: string): Results => runAll(opts, Object.fromEntries(OPS.map((o) => [o.id, reason])));
  const driver = opts.nativeDriver ?? NATIVE_DRIVER;
  if (!existsSync(driver)) return all(`${driver} not built (bench/build.sh)`);
  const args = ['--min-time', String(opts.minTime), '--min-iters', String(opts.minIters)];
  if (opts.only.length > 0) args.push('--only', opts.only.join(','));
  for (const [id, file] of Object.entries(P12_FILES)) args.push('--p12', `${id}=${file}`);
  args.push('--pass', params.p12Password);
  const r = spawnSync(driver, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 << 20 });
  if (r.status !== 0) return all(`native driver failed (status ${r.status}): ${(r.stderr || String(r.error ?? '')).trim()}`);
  const parsed = JSON.parse(r.stdout) as { ops: DriverOp[] };
  const byId = new Map(parsed.ops.map((o) => [o.id, o]));
  return runAll(
    opts,
    Object.fromEntries(
      OPS.map((o) => {
        const d = byId.get(o.id);
        if (d === undefined) return [o.id, 'not measured by the native driver'];
        if (d.status !== 'ok') {
          const reason = (d.reason ?? d.status).replace(/^cc_(.*) not in the core yet$/, 'not in the core yet: cc_$1');
          return [o.id, () => ({ status: d.status === 'error' ? 'error' : 'n/a', reason }) as Measurement];
        }
        const { id: _id, status: _s, reason: _r, ...rest } = d;
        return [o.id, () => ({ status: 'ok', ...rest }) as Measurement];
      }),
    ),
  );
}

// --- node-forge --------------------------------------------------------------------------------

/* A minimal typing of the parts of node-forge used here (no @types/node-forge installed). */
interface ForgeBuffer {
  getBytes(): string;
}
interface ForgeRsaPrivateKey {
  n: unknown;
  e: unknown;
  sign(md: { algorithm: string; digest(): ForgeBuffer }, scheme?: string): string;
}
interface ForgeCsr {
  publicKey: unknown;
  setSubject(attrs: { shortName?: string; name?: string; value: string }[]): void;
  setAttributes(attrs: unknown[]): void;
  sign(key: ForgeRsaPrivateKey, md: unknown): void;
  verify(): boolean;
}
interface Forge {
  options: { usePureJavaScript: boolean };
  util: { createBuffer(bytes: string, encoding?: string): ForgeBuffer };
  asn1: { fromDer(bytes: string | ForgeBuffer): unknown; toDer(obj: unknown): ForgeBuffer };
  md: { sha256: { create(): unknown } };
  pki: {
    rsa: {
      generateKeyPair(o: { bits: number; e: number; prng: { getBytesSync(n: number): string } }): {
        privateKey: ForgeRsaPrivateKey;
        publicKey: unknown;
      };
      setPublicKey(n: unknown, e: unknown): unknown;
    };
    privateKeyFromAsn1(obj: unknown): ForgeRsaPrivateKey;
    privateKeyToAsn1(key: ForgeRsaPrivateKey): unknown;
    publicKeyToAsn1(key: unknown): unknown;
    createCertificationRequest(): ForgeCsr;
    certificationRequestToAsn1(csr: ForgeCsr): unknown;
  };
  pkcs12: {
    pkcs12FromAsn1(obj: unknown, strict: boolean, password: string): {
      getBags(filter: { bagType: string }): Record<string, { key?: unknown; cert?: unknown }[] | undefined>;
    };
  };
}

/** A deterministic byte source for forge's prng option: SHA-256 in counter mode over the seed. */
function seededPrng(seed: string): { getBytesSync(n: number): string } {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return {
    getBytesSync(n: number): string {
      while (pool.length < n) {
        const block = createHash('sha256').update(seed).update(String(counter++)).digest();
        pool = Buffer.concat([pool, block]);
      }
      const out = pool.subarray(0, n);
      pool = pool.subarray(n);
      return out.toString('binary');
    },
  };
}

function subjectAttrs(dn: string): { shortName: string; value: string }[] {
  return dn.split(',').map((part) => {
    const [k, v] = part.split('=') as [string, string];
    return { shortName: k.trim(), value: v.trim() };
  });
}

function sanList(sans: readonly string[]): { type: number; value?: string; ip?: string }[] {
  return sans.map((s) => {
    const i = s.indexOf(':');
    const type = s.slice(0, i);
    const value = s.slice(i + 1);
    return type === 'IP' ? { type: 7, ip: value } : { type: 2, value };
  });
}

function runForge(opts: BenchOptions): Results {
  let forge: Forge;
  try {
    forge = require('node-forge') as Forge;
  } catch {
    return runAll(opts, Object.fromEntries(OPS.map((o) => [o.id, 'node-forge not installed'])));
  }
  // Pure JS everywhere: forge would otherwise hand unseeded RSA key generation to Node.
  forge.options.usePureJavaScript = true;
  const t = { minTime: opts.minTime, minIters: opts.minIters };
  const noEc = 'node-forge has no EC';
  const binary = (b: Uint8Array): string => Buffer.from(b).toString('binary');

  // The same RSA key as the other columns (seeded, made once by the core), as forge reads it.
  const rsaKeyDer = (): string => binary(keyDerFromCoreCache('RSA-2048'));
  const parseKey = (der: string): ForgeRsaPrivateKey => forge.pki.privateKeyFromAsn1(forge.asn1.fromDer(der));
  const digestMd = { algorithm: 'sha256', digest: (): ForgeBuffer => forge.util.createBuffer(binary(DIGEST)) };

  return runAll(opts, {
    'keygen-p256': noEc,
    'keygen-p384': noEc,
    'keygen-rsa2048': () => {
      const gen = (seed: string): unknown => forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001, prng: seededPrng(seed) });
      const m = timeOp((i) => gen(params.rsaSeeds[i]!), seededTiming(opts, () => gen(params.rsaWarmupSeed)));
      if (m.status === 'ok') m.note = "same seeds, forge's own prime search (not the same work as mbedTLS)";
      return m;
    },
    'sign-p256': noEc,
    'sign-rsa2048': () => {
      const der = rsaKeyDer();
      // Like cc_pk_sign: parse the private key DER, then sign the digest.
      return timeOp(() => parseKey(der).sign(digestMd), t);
    },
    'csr-p256': noEc,
    'csr-rsa2048': () => {
      const der = rsaKeyDer();
      const subject = subjectAttrs(params.csrSubject);
      const altNames = sanList(params.csrSans);
      return timeOp(() => {
        const key = parseKey(der);
        const csr = forge.pki.createCertificationRequest();
        csr.publicKey = forge.pki.rsa.setPublicKey(key.n, key.e);
        csr.setSubject(subject);
        csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
        csr.sign(key, forge.md.sha256.create());
        // The core's assemble checks the signature (the signer may be a TPM): so does this.
        if (!csr.verify()) throw new Error('forge: CSR signature does not verify');
        forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes();
      }, t);
    },
    'p12-rsa2048': () => {
      const pfx = binary(p12File('p12-rsa2048'));
      return timeOp(() => {
        const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx), false, params.p12Password);
        const keyBags = p12.getBags({ bagType: '1.2.840.113549.1.12.10.1.2' })['1.2.840.113549.1.12.10.1.2'];
        const certBags = p12.getBags({ bagType: '1.2.840.113549.1.12.10.1.3' })['1.2.840.113549.1.12.10.1.3'];
        if (!keyBags?.[0]?.key || !certBags || certBags.length < 2) throw new Error('forge: PKCS#12 without key or chain');
      }, t);
    },
    'p12-p256': () => {
      // forge reads no EC key or certificate; try, so that the reason is recorded.
      const pfx = binary(p12File('p12-p256'));
      try {
        forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx), false, params.p12Password);
      } catch (e) {
        return na(`node-forge: ${e instanceof Error ? e.message : String(e)}`);
      }
      return timeOp(() => forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx), false, params.p12Password), t);
    },
  });
}

// --- Node crypto ---------------------------------------------------------------------------------

function runNode(opts: BenchOptions): Results {
  const t = { minTime: opts.minTime, minIters: opts.minIters };
  const der = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { format: 'der' } } as const;
  const ec = (namedCurve: string): OpRunner => () =>
    timeOp(() => generateKeyPairSync('ec', { namedCurve, ...der, privateKeyEncoding: { type: 'sec1', format: 'der' } }), t);
  // Like cc_pk_sign: the private key DER is parsed on every call. Node hashes its input, so it
  // signs the 32 digest bytes as a message with SHA-256 (one SHA-256 block, < 1 µs).
  const sign = (type: KeyType, keyType: 'sec1' | 'pkcs1'): OpRunner => () => {
    const key = Buffer.from(keyDerFromCoreCache(type));
    const data = Buffer.from(DIGEST);
    return timeOp(() => nodeSign('sha256', data, { key, format: 'der', type: keyType }), t);
  };
  return runAll(opts, {
    'keygen-p256': ec('P-256'),
    'keygen-p384': ec('P-384'),
    'keygen-rsa2048': () => {
      const gen = (): unknown =>
        generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537, publicKeyEncoding: der.publicKeyEncoding, privateKeyEncoding: { type: 'pkcs1', format: 'der' } });
      const m = timeOp(gen, { minTime: opts.minTime, minIters: Math.max(opts.minIters, RSA_SEEDS.length), warmup: gen });
      if (m.status === 'ok') m.note = 'Node cannot be seeded: random primes, calibrated by time';
      return m;
    },
    'sign-p256': sign('EC-P256', 'sec1'),
    'sign-rsa2048': sign('RSA-2048', 'pkcs1'),
    'csr-p256': 'Node crypto has no CSR API',
    'csr-rsa2048': 'Node crypto has no CSR API',
    'p12-rsa2048': 'Node crypto has no PKCS#12 API',
    'p12-p256': 'Node crypto has no PKCS#12 API',
  });
}

/** One crypto core instance per module path: measured (wasm column) and used to make the
 * bench's signing keys (seeded, so every column signs with the same key). */
const cores = new Map<string, Core>();
async function coreFor(opts: BenchOptions): Promise<Core> {
  const path = opts.wasmPath ?? DEFAULT_MODULE_PATH;
  let core = cores.get(path);
  if (!core) {
    core = await Core.load(path);
    cores.set(path, core);
  }
  return core;
}
const keyCache = new Map<KeyType, Uint8Array>();
let keyCore: Core | undefined;
function keyDerFromCoreCache(type: KeyType): Uint8Array {
  let der = keyCache.get(type);
  if (!der) {
    if (!keyCore) throw new Error('crypto core not loaded');
    der = new Keys(keyCore).generate(type, utf8(params.keySeed)).privateDer;
    keyCache.set(type, der);
  }
  return der;
}

/** Runs one implementation's selected operations (the section, and tuning scripts). */
export async function runImpl(impl: Impl, opts: BenchOptions): Promise<Results> {
  const core = await coreFor(opts);
  keyCore ??= core;
  switch (impl) {
    case 'wasm':
      return runWasm(opts, core);
    case 'native':
      return runNative(opts);
    case 'forge':
      return runForge(opts);
    case 'node':
      return runNode(opts);
  }
}

// --- the section ---------------------------------------------------------------------------------

/**
 * The figure compared: the median time per op; for RSA key generation the mean over the
 * seeds (each seed's prime search is different work, the set is the same for wasm and native).
 */
function figure(m: Measurement | undefined, op: string): number | null {
  if (m?.status !== 'ok') return null;
  return op === 'keygen-rsa2048' ? m.mean_us : m.median_us;
}

/** Of several rounds of one implementation and operation, the least disturbed one. */
function bestRound(rounds: Measurement[]): Measurement {
  const ok = rounds.filter((m): m is Extract<Measurement, { status: 'ok' }> => m.status === 'ok');
  if (ok.length < rounds.length) return rounds.find((m) => m.status !== 'ok')!;
  const best = ok.reduce((a, b) => (b.median_us < a.median_us ? b : a));
  return ok.length === 1 ? best : { ...best, rounds_median_us: ok.map((m) => m.median_us) };
}

function ratio(a: Measurement | undefined, b: Measurement | undefined, op: string): number | null {
  const x = figure(a, op);
  const y = figure(b, op);
  return x !== null && y !== null && y > 0 ? Math.round((x / y) * 1000) / 1000 : null;
}

export const coreSection: Section = {
  name: 'core',
  async run(opts: BenchOptions) {
    const selected = IMPLS.filter((i) => opts.impls.length === 0 || opts.impls.includes(i));
    const ops = OPS.filter((o) => opts.only.length === 0 || opts.only.includes(o.id));
    const results: Partial<Record<Impl, Results>> = {};
    const took: Record<string, number> = {};
    // Operation by operation, every implementation in turn, in `rounds` short rounds: load from
    // other processes on a shared machine then falls on every column of a row alike, and the
    // least disturbed round (lowest median) is the one reported.
    for (const op of ops) {
      const rounds = op.id === 'keygen-rsa2048' ? 1 : Math.max(1, opts.rounds);
      const all: Partial<Record<Impl, Measurement[]>> = {};
      process.stderr.write(`bench core: ${op.id}:`);
      for (let round = 0; round < rounds; round++) {
        for (const impl of selected) {
          const t0 = performance.now();
          const r = await runImpl(impl, { ...opts, minTime: opts.minTime / rounds, only: [op.id] });
          (all[impl] ??= []).push(r[op.id]!);
          took[impl] = Math.round(((took[impl] ?? 0) + (performance.now() - t0) / 1000) * 1000) / 1000;
          process.stderr.write(` ${impl}`);
        }
      }
      for (const impl of selected) (results[impl] ??= {})[op.id] = bestRound(all[impl]!);
      process.stderr.write('\n');
    }

    // Table: one footnote per distinct reason for a missing cell.
    const reasons: string[] = [];
    const cell = (m: Measurement | undefined, op: string): string => {
      if (m === undefined) return 'skipped';
      if (m.status === 'ok') return fmtTime(figure(m, op)!);
      let k = reasons.indexOf(m.reason);
      if (k < 0) k = reasons.push(m.reason) - 1;
      const tag = m.status === 'error' ? 'ERROR' : m.reason.startsWith('not in the core yet') ? 'not yet' : 'n/a';
      return `${tag} [${k + 1}]`;
    };
    const rows = ops.map((o) => {
      const w = results.wasm?.[o.id];
      const n = results.native?.[o.id];
      const f = results.forge?.[o.id];
      const c = results.node?.[o.id];
      return [o.label, cell(w, o.id), cell(n, o.id), fmtRatio(ratio(w, n, o.id)), cell(f, o.id), fmtRatio(ratio(f, w, o.id)), cell(c, o.id), fmtRatio(ratio(c, w, o.id))];
    });
    const header = ['op (time per op)', 'wasm', 'native', 'wasm/native', 'forge', 'forge/wasm', 'node crypto', 'node/wasm'];

    const goals = GOALS.map((g) => {
      const r = ratio(results.wasm?.[g.op], results.native?.[g.op], g.op);
      return { op: g.op, max_wasm_over_native: g.max, wasm_over_native: r, met: r === null ? null : r <= g.max };
    });
    const goalLines = goals.map(
      (g) => `goal ${g.op}: wasm/native ${fmtRatio(g.wasm_over_native)} (≤ ${g.max_wasm_over_native}×) ${g.met === null ? 'not measured' : g.met ? 'met' : 'NOT met'}`,
    );
    const text = [
      table(header, rows),
      '',
      ...reasons.map((r, i) => `[${i + 1}] ${r}`),
      ...(reasons.length ? [''] : []),
      ...goalLines,
      '',
      `Times: median per op, of the least disturbed of ${Math.max(1, opts.rounds)} interleaved rounds; RSA keygen: the mean over its seeds, each once.`,
      'Keygen rows: wasm and native run the same seeds (identical work); forge is seeded too but searches primes its own way; Node cannot be seeded.',
      'CSR rows: TBS + digest, sign, assemble (which verifies the signature, as for a TPM-made one).',
      'Sign/CSR rows parse the private key DER on every call (as cc_pk_sign does) in every column.',
      'native = the same C and mbedTLS config built by gcc -O3 (no asm; 64x64->128 multiply via __int128); node crypto = OpenSSL with assembly.',
    ].join('\n');

    const json = {
      ops: ops.map((o) => ({
        id: o.id,
        label: o.label,
        ...Object.fromEntries(selected.map((i) => [i, results[i]?.[o.id] ?? null])),
        ratios: {
          statistic: o.id === 'keygen-rsa2048' ? 'mean_us' : 'median_us',
          wasm_over_native: ratio(results.wasm?.[o.id], results.native?.[o.id], o.id),
          forge_over_wasm: ratio(results.forge?.[o.id], results.wasm?.[o.id], o.id),
          node_over_wasm: ratio(results.node?.[o.id], results.wasm?.[o.id], o.id),
        },
      })),
      goals,
      inputs: params,
      seconds_per_implementation: took,
      options: { min_time_s: opts.minTime, min_iters: opts.minIters, rounds: opts.rounds, wasm_module: opts.wasmPath ?? DEFAULT_MODULE_PATH, native_driver: opts.nativeDriver ?? NATIVE_DRIVER },
    };
    return { text, json };
  },
};
