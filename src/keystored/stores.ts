// Builds the key stores a config names. The only place that knows every backend.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wipe } from '../../wasm/keys';
import type { KeyJobs, Keys } from '../../wasm/keys';
import type { StoreCrypto } from '../../wasm/store';
import type { KeystoredConfig } from './config';
import type { KeyStore } from './port';
import { Pkcs11Store } from './pkcs11-store';
import { SoftwareStore } from './software-store';

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

export async function openStores(config: KeystoredConfig, deps: StoreDeps): Promise<KeyStore[]> {
  const opened: KeyStore[] = [];
  try {
    for (const entry of config.stores) {
      if (entry.kind === 'software') {
        const kekFile = entry.kek_file ?? join(config.data_dir, `${entry.id}.kek`);
        opened.push(new SoftwareStore({ ...entry, dir: join(config.data_dir, entry.id), kekFile }, deps.keys, deps.jobs, deps.crypto));
      } else {
        const pin = readPin(entry.pin_file, entry.id);
        try {
          // Connects on first use: a token that is missing now must not keep the other stores down.
          opened.push(new Pkcs11Store({
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
    return opened;
  } catch (e) {
    await Promise.allSettled(opened.map((s) => s.close()));
    throw e;
  }
}
