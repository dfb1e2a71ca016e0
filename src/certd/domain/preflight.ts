// The checks a certificate passes before a service is bound to it. Each refusal is a
// PREFLIGHT_FAILED error whose field names the check:
//   key        the key is in its key store and signs for the certificate's public key
//   validity   valid now
//   key_usage  keyUsage, when present, allows signing (digitalSignature; RSA may use keyEncipherment)
//   extended_key_usage  serverAuth for https, clientAuth for dot1x, when EKU is present
//   ca         dot1x names at least one CA: without one the supplicant accepts any network's server
//   chain      the chain links to a CA the entry carries, the binding names or the store holds
//              (when one of them issued it; otherwise a warning)
// What does not refuse comes back as a warning: for https, device names the SANs miss;
// a chain that cannot be checked because no CA is known.
import type { CertificateInfo } from '../../../wasm/x509';
import type { Certificates, EntryDetails } from './certificates';
import { DomainError } from './errors';

export type Service = 'https' | 'dot1x' | 'other';

const ANY_EKU = '2.5.29.37.0';
const NEEDED_EKU: Record<Service, string | undefined> = { https: 'serverAuth', dot1x: 'clientAuth', other: undefined };

const fail = (check: string, why: string): never => {
  throw new DomainError('PREFLIGHT_FAILED', why, check);
};

export async function preflight(service: Service, leaf: EntryDetails, cas: EntryDetails[], certs: Certificates, deviceNames: string[]): Promise<string[]> {
  const { entry, info } = leaf;
  const warnings: string[] = [];
  if (service === 'dot1x' && cas.length === 0) fail('ca', 'an 802.1X binding names the CA certificates that validate the network\'s server; with none the supplicant would trust any server');
  const now = certs.nowSeconds();
  if (now < info.not_before_unix) fail('validity', `not valid before ${info.not_before}`);
  if (now > info.not_after_unix) fail('validity', `expired ${info.not_after}`);

  if (info.key_usage.length > 0) {
    const signs = info.key_usage.includes('digitalSignature') || (info.key.type === 'RSA' && info.key_usage.includes('keyEncipherment'));
    if (!signs) fail('key_usage', 'keyUsage allows neither digitalSignature nor keyEncipherment');
  }
  const eku = NEEDED_EKU[service];
  if (eku && info.extended_key_usage.length > 0 && !info.extended_key_usage.includes(eku) && !info.extended_key_usage.includes(ANY_EKU)) {
    fail('extended_key_usage', `extendedKeyUsage lacks ${eku}`);
  }

  if (!info.self_signed) {
    // Anchors: the CAs the binding names, and the store's CAs that issued the leaf or the
    // top of the chain it carries; a chain that ends in its own root trusts that root.
    const top = entry.chain.length > 0 ? entry.chain[entry.chain.length - 1]! : undefined;
    const topIssuer = top === undefined ? info.issuer : certs.parse(top).issuer;
    const stored = certs.details().filter((d) => d.entry.kind === 'ca' && (d.info.subject === info.issuer || d.info.subject === topIssuer));
    const anchors = [...cas, ...stored].map((d) => d.entry.certificate);
    if (anchors.length === 0 && top === undefined) {
      warnings.push('chain: no CA certificate of the issuer is known to check the chain against');
    } else {
      const result = certs.verifyChain(entry, top === undefined ? anchors : [...anchors, top]);
      const broken = result.flags.filter((f) => f !== 'EXPIRED' && f !== 'NOT_YET_VALID');
      if (broken.length > 0) fail('chain', `the chain does not verify (${broken.join(', ')})`);
    }
  }

  if (service === 'https') {
    const missing = missingDeviceNames(info, deviceNames);
    if (missing.length > 0) warnings.push(`subject_alt_names: the certificate does not name ${missing.join(', ')}`);
  }

  if (!entry.keystore || !entry.key_id) fail('key', 'the entry has no key');
  try {
    await certs.keySigns(entry);
  } catch (e) {
    if (e instanceof DomainError && e.code === 'KEYSTORE_UNAVAILABLE') throw e;
    fail('key', `the key does not sign for this certificate (${e instanceof DomainError ? e.code : 'error'})`);
  }
  return warnings;
}

/** The device names (host names or addresses) the certificate's SANs do not name. */
export function missingDeviceNames(info: CertificateInfo, deviceNames: string[]): string[] {
  const covered = new Set(info.subject_alt_names.map((n) => n.value.toLowerCase()));
  return deviceNames.filter((n) => !covered.has(n.toLowerCase()));
}
