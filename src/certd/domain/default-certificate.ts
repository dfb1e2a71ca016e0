// The device's default certificate: at the first start certd makes a self-signed EC-P256
// certificate in the default key store, naming the device's configured host names and
// addresses, and binds https to it (through Bindings.set: pre-flight and applier run), so
// HTTPS works out of the box. It is an ordinary entry. Made once: a marker records it,
// so an entry an admin deleted or rebound later is not made again.
//
// Steps and a crash: the entry is made (if its alias is free), https is bound to it (if
// https has no certificate), the marker is written last. A start that finds no marker
// takes up an entry already under the alias, so a crash between steps never makes two.
import { isIP } from 'node:net';
import type { Marker } from '../store/marker';
import type { Bindings } from './bindings';
import type { Certificates } from './certificates';

export interface DefaultCertificateConfig {
  /** false: never make one (tests, devices whose factory certificate serves https). */
  make: boolean;
  alias: string;
  valid_days: number;
}

const DAY_S = 24 * 3600;

/** RFC 4514: escape what would end or change an attribute value. */
const dnValue = (v: string) => v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);

/** What was done, for the start-up log. */
export async function ensureDefaultCertificate(
  cfg: DefaultCertificateConfig, deviceNames: string[], certs: Certificates, bindings: Bindings, marker: Marker,
): Promise<'disabled' | 'made earlier' | 'https already bound' | 'made'> {
  if (!cfg.make) return 'disabled';
  if (marker.read()) return 'made earlier';
  const https = bindings.list().find((b) => b.name === 'https');
  if (https?.certificate) {
    marker.write({ made: false, reason: 'https already bound' });
    return 'https already bound';
  }
  let entry = certs.find(cfg.alias)?.entry;
  if (!entry) {
    const cn = deviceNames.find((n) => isIP(n) === 0) ?? deviceNames[0] ?? 'certd';
    const now = certs.nowSeconds();
    await certs.createCertificate({
      alias: cfg.alias,
      subject: `CN=${dnValue(cn)}`,
      subjectAltNames: deviceNames.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)),
      keyType: 'EC-P256',
      validFrom: now,
      validTo: now + cfg.valid_days * DAY_S,
    });
    entry = certs.find(cfg.alias)!.entry;
  }
  await bindings.set('https', { certificate: entry.id, ca: https?.ca.map((c) => c.id) ?? [], settings: https?.settings ?? {} });
  marker.write({ made: true, id: entry.id, alias: entry.alias });
  return 'made';
}
