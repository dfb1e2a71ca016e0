// What the store hands a PKCS#11 token: the attribute templates of its key objects, the
// mechanisms it generates and signs with, and the DigestInfo prefixes RSA PKCS#1 v1.5 needs
// (CKM_RSA_PKCS signs the DigestInfo as given). Kept apart from the session and the key
// operations so that the object layout is written down in one place.
//
// Key objects are token objects with CKA_ID = the key id's UTF-8 bytes and CKA_LABEL = the key
// id: the private key CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_SIGN; the public key
// CKA_VERIFY.
import * as pkcs11js from 'pkcs11js';
import { KeystoreError } from '../../ipc/errors';
import { Status, type DigestAlgorithm, type KeyType, type SignatureScheme } from '../../ipc/protocol';
import type { KeyParts } from '../../wasm/store';

type Template = pkcs11js.Template;

const CURVE_OID: Record<string, string> = {
  'EC-P256': '06082a8648ce3d030107',
  'EC-P384': '06052b81040022',
  'EC-P521': '06052b81040023',
};

export interface DigestInfo {
  length: number;
  ckm: number;
  mgf: number;
  /** DER of DigestInfo up to the hash (RFC 8017 §9.2 note 1). */
  prefix: Buffer;
}

export const DIGESTS: Record<DigestAlgorithm, DigestInfo> = {
  'SHA-256': {
    length: 32,
    ckm: pkcs11js.CKM_SHA256,
    mgf: pkcs11js.CKG_MGF1_SHA256,
    prefix: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  },
  'SHA-384': {
    length: 48,
    ckm: pkcs11js.CKM_SHA384,
    mgf: pkcs11js.CKG_MGF1_SHA384,
    prefix: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  },
  'SHA-512': {
    length: 64,
    ckm: pkcs11js.CKM_SHA512,
    mgf: pkcs11js.CKG_MGF1_SHA512,
    prefix: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
  },
};

/** CKA_ID of key `keyId`. */
export const ckaId = (keyId: string): Buffer => Buffer.from(keyId, 'utf8');

/** A Buffer over the same memory (no copy), so wiping the original wipes what the module saw. */
const view = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** DER OCTET STRING around `v` (CKA_EC_POINT). */
function derOctetString(v: Uint8Array): Buffer {
  const n = v.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([0x04, ...len]), view(v)]);
}

const identity = (keyId: string): Template => [
  { type: pkcs11js.CKA_TOKEN, value: true },
  { type: pkcs11js.CKA_ID, value: ckaId(keyId) },
  { type: pkcs11js.CKA_LABEL, value: keyId },
];
const PRIVATE_USE: Template = [
  { type: pkcs11js.CKA_PRIVATE, value: true },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  { type: pkcs11js.CKA_SIGN, value: true },
];
const PUBLIC_USE: Template = [
  { type: pkcs11js.CKA_PRIVATE, value: false },
  { type: pkcs11js.CKA_VERIFY, value: true },
];

/** Mechanism and templates to generate key `keyId` of `type` (an EC-* or RSA-* type). */
export function generateTemplates(keyId: string, type: KeyType): { mechanism: number; what: string; pub: Template; priv: Template } {
  const ec = type.startsWith('EC-');
  return {
    mechanism: ec ? pkcs11js.CKM_EC_KEY_PAIR_GEN : pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN,
    what: `${ec ? 'EC' : 'RSA'} key generation`,
    pub: [
      ...identity(keyId),
      ...PUBLIC_USE,
      ...(ec
        ? [{ type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(CURVE_OID[type]!, 'hex') }]
        : [
            { type: pkcs11js.CKA_MODULUS_BITS, value: Number(type.slice(4)) },
            { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
          ]),
    ],
    priv: [...identity(keyId), ...PRIVATE_USE],
  };
}

/** Templates of the two objects (private first) that import key `keyId`; they view `parts`, not copy it. */
export function importTemplates(keyId: string, parts: KeyParts): [priv: Template, pub: Template] {
  const common: Template = [{ type: pkcs11js.CKA_KEY_TYPE, value: parts.kind === 'EC' ? pkcs11js.CKK_EC : pkcs11js.CKK_RSA }, ...identity(keyId)];
  // The public components, in both objects.
  const shared: Template = parts.kind === 'EC'
    ? [{ type: pkcs11js.CKA_EC_PARAMS, value: view(parts.params) }]
    : [
        { type: pkcs11js.CKA_MODULUS, value: view(parts.n) },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: view(parts.e) },
      ];
  const secret: Template = parts.kind === 'EC'
    ? [{ type: pkcs11js.CKA_VALUE, value: view(parts.d) }]
    : [
        { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: view(parts.d) },
        { type: pkcs11js.CKA_PRIME_1, value: view(parts.p) },
        { type: pkcs11js.CKA_PRIME_2, value: view(parts.q) },
        { type: pkcs11js.CKA_EXPONENT_1, value: view(parts.dp) },
        { type: pkcs11js.CKA_EXPONENT_2, value: view(parts.dq) },
        { type: pkcs11js.CKA_COEFFICIENT, value: view(parts.qinv) },
      ];
  const point: Template = parts.kind === 'EC' ? [{ type: pkcs11js.CKA_EC_POINT, value: derOctetString(parts.point) }] : [];
  return [
    [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, ...common, ...PRIVATE_USE, ...shared, ...secret],
    [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, ...common, ...PUBLIC_USE, ...shared, ...point],
  ];
}

/**
 * The signing mechanism for `scheme`, what to call it when the token lacks it, and the data
 * it signs (`hash`, or for PKCS#1 v1.5 the DigestInfo around it). PSS: salt as long as the hash.
 */
export function signMechanism(scheme: SignatureScheme, d: DigestInfo, hash: Buffer): { mechanism: pkcs11js.Mechanism; what: string; data: Buffer } {
  switch (scheme) {
    case 'ECDSA':
      return { mechanism: { mechanism: pkcs11js.CKM_ECDSA }, what: 'ECDSA', data: hash };
    case 'RSA-PKCS1-V1_5':
      return { mechanism: { mechanism: pkcs11js.CKM_RSA_PKCS }, what: 'RSA PKCS#1 v1.5 signatures', data: Buffer.concat([d.prefix, hash]) };
    case 'RSA-PSS': {
      const parameter: pkcs11js.RsaPSS = { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg: d.ckm, mgf: d.mgf, saltLen: d.length };
      return { mechanism: { mechanism: pkcs11js.CKM_RSA_PKCS_PSS, parameter }, what: 'RSA-PSS signatures', data: hash };
    }
    default:
      throw new KeystoreError(Status.BAD_REQUEST, `unknown signature scheme ${String(scheme)}`);
  }
}

/**
 * The key that seals SOFTWARE stores' KEK files (kek-file.ts): RSA-2048, decrypting only
 * inside the token. Its CKA_ID starts with 0xFF, which is never UTF-8, so it is no key id of
 * ours: LIST_KEYS does not show it and no request can name it.
 */
export const SEAL_KEY_ID = Buffer.concat([Buffer.from([0xff]), Buffer.from('certd-kek-seal', 'ascii')]);

export function sealKeyTemplates(): { pub: Template; priv: Template } {
  const ident: Template = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: SEAL_KEY_ID },
    { type: pkcs11js.CKA_LABEL, value: 'certd-kek-seal' },
  ];
  return {
    pub: [
      ...ident,
      { type: pkcs11js.CKA_PRIVATE, value: false },
      { type: pkcs11js.CKA_ENCRYPT, value: true },
      { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    ],
    priv: [
      ...ident,
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_DECRYPT, value: true },
    ],
  };
}

/** RSA-OAEP with SHA-256 and MGF1-SHA-256, no label (tpm2-pkcs11 1.9 decrypts it in the TPM). */
const oaepSha256: pkcs11js.RsaOAEP = { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, source: 1 };
export const OAEP_SHA256: pkcs11js.Mechanism = { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter: oaepSha256 };
