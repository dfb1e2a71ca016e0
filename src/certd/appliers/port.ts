// The Applier port: makes a device service use what a binding names. One implementation
// per service (the web server for https, the 802.1X supplicant for dot1x); the domain
// (domain/bindings.ts) decides what to apply, journals it, and restores the previous
// binding when an applier fails. test/certd/applier-conformance.ts runs against every
// implementation.

/** What a service needs to use a binding: certificate chain, key reference, CA certificates. */
export interface BindingMaterial {
  /** The binding's name (https, dot1x, or a named certificate set). */
  name: string;
  /** Leaf then chain, PEM; absent when the binding names no certificate. */
  certificate?: string;
  /** Where the certificate's key is: keystored's store and key id (never the key itself). */
  key?: { keystore: string; key_id: string };
  /** CA certificates the service trusts (client certificates, the network's server), PEM. */
  ca: string[];
  settings: Record<string, unknown>;
}

export interface Applier {
  /** Makes the service use `material`; throws (any error) when the service did not take it. */
  apply(material: BindingMaterial): Promise<void>;
}

/**
 * How a device service (nginx, wpa_supplicant) reaches the key of a binding. keystored
 * answers it: it alone knows where keys live. A SOFTWARE store key is written by keystored
 * to a 0600 file on a RAM-backed folder, owned by the service's user, while the binding
 * lasts (audited); a token key is a PKCS#11 URI with its module and a PIN file keystored
 * writes alike (certd never reads the PIN: libp11's pin-source=file: does).
 */
export type ServiceKey =
  | { kind: 'file'; path: string }
  | { kind: 'pkcs11'; module: string; uri: string; pin_file: string };

/** The ServiceKeys port (keystored's service_key operations, seen from certd). */
export interface ServiceKeys {
  /** Where `service` finds `key` from now on; writes the key file for SOFTWARE stores. */
  open(service: string, key: { keystore: string; key_id: string }, owner?: { uid: number; gid: number }): Promise<ServiceKey>;
  /**
   * The binding moved: keystored wipes and removes the files it wrote for `service` (tokens:
   * nothing), except the one of `keep` (the key the service uses now: an applier opens the
   * new key beside the old, so it can go back to the old one until the new one is confirmed).
   */
  close(service: string, keep?: { keystore: string; key_id: string }): Promise<void>;
}
