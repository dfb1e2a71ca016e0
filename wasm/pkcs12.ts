// PKCS#12 (PFX) files through the crypto core: the private key, its certificate and the
// rest of the chain. The private key bytes belong to the caller, who wipes them (`wipe`
// in keys.ts), as the passphrase bytes.
import type { Core } from './core';
import type { CoreWorkers } from './core-workers';

export interface Pkcs12Contents {
  /** The private key in the core's canonical DER (RSAPrivateKey or ECPrivateKey). */
  privateDer: Uint8Array;
  /** Its SubjectPublicKeyInfo, DER. */
  spki: Uint8Array;
  /** The certificate of the key, DER. */
  certificateDer: Uint8Array;
  /** Every other certificate of the file as PEM, in file order; '' if none. */
  chainPem: string;
}

export class Pkcs12 {
  /** Its KDFs take up to seconds (ARM: tens): daemons give it CoreWorkers, not their Core. */
  constructor(private readonly core: Core | CoreWorkers) {}

  /**
   * Decodes a PKCS#12 file (DER or BER) with its passphrase (UTF-8, empty for none).
   * Errors: BAD_PKCS12, WRONG_PASSPHRASE (also a MAC that does not check), PKCS12_NO_KEY,
   * PKCS12_NO_CERTIFICATE, UNSUPPORTED_ALGORITHM, UNSUPPORTED_KEY_TYPE,
   * TOO_MANY_ITERATIONS (refused before the KDF run over the cap, see cc_pkcs12.h).
   */
  async decode(pfx: Uint8Array, passphrase: Uint8Array): Promise<Pkcs12Contents> {
    const { out } = await this.core.call('cc_pkcs12_decode', [pfx, passphrase], 4);
    return {
      privateDer: out[0]!,
      spki: out[1]!,
      certificateDer: out[2]!,
      chainPem: Buffer.from(out[3]!).toString('latin1'),
    };
  }
}
