// The store as metrics: per entry the x509-certificate-exporter's gauges and labels
// (subject_CN, issuer_CN, serial_number in decimal) plus alias and keystore; which entry
// each binding uses; whether each key store answers.
import type { NameAttribute } from '../../../wasm/x509';
import type { Certificates } from '../domain/certificates';
import type { Binding } from '../store/bindings';
import type { Exposition } from './exposition';

const cn = (attrs: NameAttribute[]) => attrs.find((a) => a.type === 'CN')?.value ?? '';

export function writeStoreMetrics(out: Exposition, certs: Certificates, bindings: Binding[], keystores: { id: string; ok: boolean }[]): void {
  const now = certs.nowSeconds();
  const rows = certs.details().map((d) => ({
    labels: {
      subject_CN: cn(d.info.subject_attrs), issuer_CN: cn(d.info.issuer_attrs), serial_number: BigInt(`0x${d.info.serial || '0'}`).toString(),
      alias: d.entry.alias, keystore: d.entry.keystore ?? '',
    },
    info: d.info,
  }));
  out.family('x509_cert_not_after', 'gauge', 'The certificate\'s notAfter, Unix seconds.');
  for (const r of rows) out.sample('x509_cert_not_after', r.labels, r.info.not_after_unix);
  out.family('x509_cert_not_before', 'gauge', 'The certificate\'s notBefore, Unix seconds.');
  for (const r of rows) out.sample('x509_cert_not_before', r.labels, r.info.not_before_unix);
  out.family('x509_cert_expired', 'gauge', '1 once the certificate is past its notAfter.');
  for (const r of rows) out.sample('x509_cert_expired', r.labels, now > r.info.not_after_unix ? 1 : 0);

  out.family('certd_binding_info', 'gauge', 'The entries each binding uses (certificate and CAs), by alias.');
  for (const b of bindings) {
    for (const id of [...(b.certificate ? [b.certificate] : []), ...b.ca]) {
      const d = certs.find(id);
      if (d) out.sample('certd_binding_info', { binding: b.name, alias: d.entry.alias }, 1);
    }
  }
  out.family('certd_keystore_up', 'gauge', '1 when the key store answers keystored\'s health check.');
  for (const k of keystores) out.sample('certd_keystore_up', { keystore: k.id }, k.ok ? 1 : 0);
}
