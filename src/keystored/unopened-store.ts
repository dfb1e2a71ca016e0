// A SOFTWARE store whose sealing token did not give its KEK: listed, unhealthy, and every
// operation answers why. keystored keeps running rather than exit: a restart loop would try
// the token's PIN again each time, towards its lockout. A reload (SIGHUP) or restart tries again.
import { KeystoreError } from '../../ipc/errors';
import { Status, type StoreDescription } from '../../ipc/protocol';
import { BaseKeyStore } from './port';

export class UnopenedStore extends BaseKeyStore {
  constructor(readonly description: StoreDescription, private readonly reason: string) {
    super();
  }

  override generate(): Promise<never> {
    return this.refuse();
  }
  override import(): Promise<never> {
    return this.refuse();
  }
  override publicKey(): Promise<never> {
    return this.refuse();
  }
  override sign(): Promise<never> {
    return this.refuse();
  }
  override delete(): Promise<never> {
    return this.refuse();
  }
  override list(): Promise<never> {
    return this.refuse();
  }
  override async health(): Promise<{ ok: boolean; detail?: string }> {
    return { ok: false, detail: this.reason };
  }

  private refuse(): Promise<never> {
    return Promise.reject(new KeystoreError(Status.STORE_FAILURE, this.reason));
  }
}
