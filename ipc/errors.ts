// The one error class of the keystore protocol: a numbered wire status and a message that
// never holds key material, PINs or passphrases.
import { Status } from './protocol';

export class KeystoreError extends Error {
  readonly status: Status;

  constructor(status: Status, message: string) {
    super(message);
    this.name = 'KeystoreError';
    this.status = status;
  }

  /** The status's name, e.g. "UNKNOWN_KEY": stable, for logs and for mapping at certd's edge. */
  get code(): string {
    return Status[this.status] ?? `STATUS_${this.status}`;
  }
}
