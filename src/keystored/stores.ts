// Builds the key stores a config names. The only place that knows every backend.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wipe } from '../../wasm/keys';
import type { KeyJobs, Keys } from '../../wasm/keys';
import type { StoreCrypto } from '../../wasm/store';
import { createLogger } from '../common/log';
import type { KeystoredConfig } from './config';
import { KekUnavailable } from './kek-file';
import type { KeyStore } from './port';
import { Pkcs11Store } from './pkcs11-store';
import { SoftwareStore } from './software-store';
import { UnopenedStore } from './unopened-store';

const log = createLogger('keystored');

export interface StoreDeps {
  keys: Keys;
  /** The same, in a worker thread: for the calls that take long. */
  jobs: KeyJobs;
  crypto: StoreCrypto;
}

/** The PIN bytes of a PIN file, without a trailing newline. */
function readPin(path: string, id: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`store ${id}: cannot read its PIN file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let n = bytes.length;
  while (n > 0 && (bytes[n - 1] === 0x0a || bytes[n - 1] === 0x0d)) n--;
  const pin = bytes.slice(0, n);
  wipe(bytes);
  return pin;
}

/**
 * The stores of `config`. At start, a SOFTWARE store whose sealed KEK the token does not give
 * is listed closed (UnopenedStore); on a reload that fails the reload, so the running store stays.
 */
export async function openStores(config: KeystoredConfig, deps: StoreDeps, reload = false): Promise<KeyStore[]> {
  // Token stores first: a SOFTWARE store may need one to unseal its KEK.
  const opened = new Map<string, KeyStore>();
  try {
    for (const entry of config.stores) {
      if (entry.kind === 'pkcs11') {
        const pin = readPin(entry.pin_file, entry.id);
        try {
          // Connects on first use: a token that is missing now must not keep the other stores down.
          opened.set(entry.id, new Pkcs11Store({
            ...entry,
            certifications: entry.certifications ?? [],
            pin,
            can_import: entry.can_import ?? false,
            can_secure_wipe: entry.can_secure_wipe ?? false,
          }, deps.keys, deps.crypto));
        } finally {
          wipe(pin);
        }
      }
    }
    for (const entry of config.stores) {
      if (entry.kind !== 'software') continue;
      const kekFile = entry.kek_file ?? join(config.data_dir, `${entry.id}.kek`);
      const sealer = entry.seal_kek_with === undefined ? undefined : (opened.get(entry.seal_kek_with) as Pkcs11Store);
      try {
        opened.set(entry.id, await SoftwareStore.open({ ...entry, dir: join(config.data_dir, entry.id), kekFile, sealer }, deps.keys, deps.jobs, deps.crypto));
      } catch (e) {
        if (!(e instanceof KekUnavailable) || reload) throw e;
        log.error('store not opened: its sealed key-encryption key is out of reach', { store: entry.id, error: e.message });
        opened.set(entry.id, new UnopenedStore(SoftwareStore.describe(entry), e.message));
      }
    }
    return config.stores.map((s) => opened.get(s.id)!);
  } catch (e) {
    await Promise.allSettled([...opened.values()].map((s) => s.close()));
    throw e;
  }
}
