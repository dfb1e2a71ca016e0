// The supplicant's configuration file for a wired EAP-TLS network: what the dot1x binding
// names, as wpa_supplicant reads it. The identity is written hex-encoded, so no value can
// end the quoted string or the block. A token key's PIN is not in it: libp11 reads
// keystored's PIN file named by the key URI's pin-source (the file is on tmpfs).
import type { ServiceKey } from './port';

export interface SupplicantFiles {
  /** Leaf then chain, PEM. */
  clientCert: string;
  /** The CA certificates that validate the network's server, PEM; absent: the binding names none. */
  caCert?: string;
  key: ServiceKey;
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const path = (p: string) => {
  if (/["\n\r\x00]/.test(p)) throw new Error('a path the supplicant cannot read from its config');
  return p;
};
const quoted = (p: string) => `"${path(p)}"`;

/** Global lines: the control socket (in a folder of its own) and the wired driver's ap_scan=0. */
export function baseConfig(ctrlDir: string): string[] {
  return [`ctrl_interface=${ctrlDir}`, 'ap_scan=0', 'eapol_version=2'];
}

export function supplicantConfig(ctrlDir: string, identity: string, files?: SupplicantFiles): string {
  const lines = baseConfig(ctrlDir);
  if (files) {
    // Token keys: OpenSSL's pkcs11 engine, told which module to load (not p11-kit-proxy's every module).
    if (files.key.kind === 'pkcs11') lines.push(`pkcs11_module_path=${path(files.key.module)}`);
    lines.push('network={', '\tkey_mgmt=IEEE8021X', '\teap=TLS', '\teapol_flags=0', `\tidentity=${hex(identity)}`);
    if (files.caCert) lines.push(`\tca_cert=${quoted(files.caCert)}`);
    lines.push(`\tclient_cert=${quoted(files.clientCert)}`);
    if (files.key.kind === 'file') lines.push(`\tprivate_key=${quoted(files.key.path)}`);
    else lines.push('\tengine=1', '\tengine_id="pkcs11"', `\tkey_id=${quoted(`${files.key.uri};pin-source=file:${files.key.pin_file}`)}`);
    lines.push('}');
  }
  return lines.join('\n') + '\n';
}
