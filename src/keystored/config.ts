// keystored's configuration: which key stores exist and how to reach them. With no config
// file, SOFTWARE0 alone is the embedded default.
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadValidators } from '../common/validators';
import { gidOf, uidsOf } from '../common/system-accounts';
import type { KeyType, SecurityLevel } from '../../ipc/protocol';

export interface SoftwareStoreEntry {
  kind: 'software';
  id: string;
  /** The store's key-encryption key; default <data_dir>/<id>.kek (outside the key folder). */
  kek_file?: string;
  /** A pkcs11 store of this config whose token seals the KEK (the file alone then opens nothing). */
  seal_kek_with?: string;
  certifications?: string[];
  key_types?: KeyType[];
}

export interface Pkcs11StoreEntry {
  kind: 'pkcs11';
  id: string;
  security_level: SecurityLevel;
  certifications?: string[];
  key_types: KeyType[];
  /** Path of the PKCS#11 module (.so). */
  module: string;
  token_label: string;
  /** File holding the user PIN (read at start and on reload; never logged). */
  pin_file: string;
  can_import?: boolean;
  can_secure_wipe?: boolean;
}

export type StoreEntry = SoftwareStoreEntry | Pkcs11StoreEntry;

export interface KeystoredConfig {
  /** Where SOFTWARE stores keep their files. */
  data_dir: string;
  /** Folder of the ipc socket (0700; 0710 with socket_group). */
  socket_dir: string;
  /** Other uids allowed to connect (the daemon's own always is), with those of the file's allowed_users (names, resolved through /etc/passwd when it is read). */
  allowed_uids: number[];
  /** Group given the socket folder (0710) and the socket (0660), resolved to a gid; none: 0700 and 0600. */
  socket_gid?: number;
  /** Where key files for device services go (service_key): a RAM-backed folder. */
  service_key_dir: string;
  /** Service → the user its SOFTWARE key file may be owned by (default: https → www-data, nginx's workers). */
  service_key_users: Record<string, string>;
  stores: StoreEntry[];
}

const validate = loadValidators<'config'>('keystored').config;

export const PROJECT_ROOT = resolve(__dirname, '..', '..', '..');

/**
 * Default folder of service key files: on tmpfs (/run as root, else /dev/shm), one per data
 * folder so daemons of tests and development do not meet; a device's config names its own
 * (e.g. /run/keystored/service-keys). Without a writable tmpfs: <data_dir>/service-keys
 * (on disk: tests only).
 */
function defaultServiceKeyDir(dataDir: string): string {
  const tag = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12);
  for (const ram of ['/run', '/dev/shm']) {
    try {
      accessSync(ram, constants.W_OK);
      return join(ram, `certd-service-keys.${tag}`);
    } catch {
      // Not writable here: try the next.
    }
  }
  return join(dataDir, 'service-keys');
}

export function defaultConfig(dataDir = join(PROJECT_ROOT, 'data')): KeystoredConfig {
  return {
    data_dir: join(dataDir, 'keystored'),
    socket_dir: join(dataDir, 'run'),
    service_key_dir: defaultServiceKeyDir(join(dataDir, 'keystored')),
    service_key_users: { https: 'www-data' },
    allowed_uids: [],
    stores: [{ kind: 'software', id: 'SOFTWARE0' }],
  };
}

/** Reads and checks a config file; relative paths are taken from the file's folder. */
export function loadConfig(path: string | undefined): KeystoredConfig {
  if (!path) return defaultConfig(process.env.CERTD_DATA_DIR);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`config ${path}: ${(e as Error).message}`);
  }
  if (!validate(raw)) {
    const err = validate.errors?.[0];
    throw new Error(`config ${path}: ${err?.instancePath || '/'} ${err?.message ?? 'invalid'}`);
  }
  const base = resolve(path, '..');
  const abs = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const def = defaultConfig(process.env.CERTD_DATA_DIR);
  const c = raw as Partial<KeystoredConfig> & { stores: StoreEntry[]; allowed_users?: string[]; socket_group?: string | number };
  const ids = new Map<string, StoreEntry>();
  for (const s of c.stores) {
    if (ids.has(s.id)) throw new Error(`config ${path}: store id ${s.id} appears twice`);
    ids.set(s.id, s);
  }
  for (const s of c.stores) {
    if (s.kind === 'software' && s.seal_kek_with !== undefined && ids.get(s.seal_kek_with)?.kind !== 'pkcs11') {
      throw new Error(`config ${path}: store ${s.id}: seal_kek_with names no pkcs11 store of this config (${s.seal_kek_with})`);
    }
  }
  const allowedUsers = c.allowed_users ?? [];
  let accounts: { uids: number[]; gid: number | undefined };
  try {
    accounts = { uids: uidsOf(allowedUsers), gid: c.socket_group === undefined ? undefined : gidOf(c.socket_group) };
  } catch (e) {
    throw new Error(`config ${path}: ${(e as Error).message}`);
  }
  return {
    data_dir: c.data_dir ? abs(c.data_dir) : def.data_dir,
    socket_dir: c.socket_dir ? abs(c.socket_dir) : def.socket_dir,
    service_key_dir: c.service_key_dir ? abs(c.service_key_dir) : defaultServiceKeyDir(c.data_dir ? abs(c.data_dir) : def.data_dir),
    service_key_users: c.service_key_users ?? def.service_key_users,
    allowed_uids: [...new Set([...(c.allowed_uids ?? []), ...accounts.uids])],
    ...(accounts.gid === undefined ? {} : { socket_gid: accounts.gid }),
    stores: c.stores.map((s) =>
      s.kind === 'pkcs11' ? { ...s, module: abs(s.module), pin_file: abs(s.pin_file) } : s.kek_file ? { ...s, kek_file: abs(s.kek_file) } : s),
  };
}
