// The ServiceKeys port over keystored's service_key operations: certd never sees a key,
// only where the service finds it.
import type { Keystores } from '../domain/keystores';
import type { ServiceKey, ServiceKeys } from './port';

export class KeystoredServiceKeys implements ServiceKeys {
  constructor(private readonly keystores: Keystores) {}

  open(service: string, key: { keystore: string; key_id: string }, owner?: { uid: number; gid: number }): Promise<ServiceKey> {
    return this.keystores.serviceKey({ service, store: key.keystore, key_id: key.key_id, ...(owner ?? {}) });
  }

  close(service: string, keep?: { keystore: string; key_id: string }): Promise<void> {
    return this.keystores.releaseServiceKeys(keep ? { service, keep: { store: keep.keystore, key_id: keep.key_id } } : { service });
  }
}
