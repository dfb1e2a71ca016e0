// Builds the key stores a config names. The only place that knows every backend.
import { join } from 'node:path';
import type { Keys } from '../../wasm/keys';
import type { StoreCrypto } from '../../wasm/store';
import type { KeystoredConfig } from './config';
import type { KeyStore } from './port';
import { SoftwareStore } from './software-store';

export interface StoreDeps {
  keys: Keys;
  crypto: StoreCrypto;
}

export async function openStores(config: KeystoredConfig, deps: StoreDeps): Promise<KeyStore[]> {
  const opened: KeyStore[] = [];
  try {
    for (const entry of config.stores) {
      if (entry.kind === 'software') {
        opened.push(new SoftwareStore({ ...entry, dir: join(config.data_dir, entry.id) }, deps.keys, deps.crypto));
      } else {
        throw new Error(`store ${entry.id}: PKCS#11 stores are not available in this build`);
      }
    }
    return opened;
  } catch (e) {
    await Promise.allSettled(opened.map((s) => s.close()));
    throw e;
  }
}
