// The files keystored writes for device services (nginx, wpa_supplicant): a SOFTWARE store's
// key (PEM PKCS#8) or a token store's PIN (libp11's pin-source=file:), 0600, owned by the
// service's user, in a RAM-backed folder so no secret in the clear reaches flash. One key
// file per service and key, one PIN file per service and token, so a service's previous key
// stays usable until its new one is confirmed (an applier that fails goes back to it);
// release overwrites with zeros, then unlinks. A write cut short (crash before the rename)
// leaves `.<name>.<pid>.tmp`: release and keystored's start wipe those too.
import { chmodSync, chownSync, closeSync, existsSync, fchownSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { wipe } from '../../wasm/keys';
import { KeystoreError } from '../../ipc/errors';
import { Status } from '../../ipc/protocol';
import { uidsOf } from '../common/system-accounts';
import { fsyncDir, unlinkDurable } from '../common/atomic-file';
import { pkcs8Pem } from './pkcs8-pem';

const KEY = '.pem';
const PIN = '.pin';
const TMP = '.tmp';

export class ServiceKeyFiles {
  /** `users`: the one user each service's key file may be given to (keystored's config). */
  constructor(private readonly dir: string, private readonly users: Record<string, string> = {}) {
    const left = this.names().filter((n) => n.startsWith('.') && n.endsWith(TMP));
    if (left.length > 0 && lstatSync(dir).uid === process.getuid!()) this.remove(left);
  }

  /**
   * Whom a file may be given to is keystored's decision, not the caller's: only the user its
   * config names for the service (a client asking for a file of its own would read the key).
   */
  private checkOwner(service: string, owner: { uid: number } | undefined): void {
    if (owner === undefined) return;
    const user = this.users[service];
    const uid = user === undefined ? undefined : uidsOf([user])[0];
    if (uid !== owner.uid) {
      throw new KeystoreError(Status.BAD_REQUEST, user === undefined
        ? `a ${service} key file stays keystored's: no service_key_users entry names its user`
        : `a ${service} key file may only be given to ${user}`);
    }
  }

  /**
   * Writes the key for `service` and returns its path; `privateDer` is wiped here. A file for
   * the same key is left as it is (same bytes; the service may be reading it right now) and
   * only given to `owner`.
   */
  write(service: string, store: string, keyId: string, privateDer: Uint8Array, spki: Uint8Array, owner?: { uid: number; gid: number }): string {
    let pem: Uint8Array | undefined;
    try {
      this.checkOwner(service, owner);
      return this.put(keyName(service, store, keyId), owner, () => true, () => (pem = pkcs8Pem(privateDer, spki)));
    } finally {
      wipe(privateDer, pem);
    }
  }

  /**
   * Writes the PIN of token `store` for `service` (every byte is the PIN: libp11 reads the
   * whole file, a newline included) and returns its path; `pin` is wiped here. A file with
   * another PIN (changed by a reload) is zeroed and replaced.
   */
  writePin(service: string, store: string, pin: Uint8Array, owner?: { uid: number; gid: number }): string {
    try {
      this.checkOwner(service, owner);
      return this.put(pinName(service, store), owner, (path) => this.holds(path, pin), () => pin);
    } finally {
      wipe(pin);
    }
  }

  /**
   * Writes `name` atomically, 0600, `owner`'s. A file already there that `current` accepts
   * is only given to `owner` (the service may be reading it); one it refuses is zeroed first.
   */
  private put(name: string, owner: { uid: number; gid: number } | undefined, current: (path: string) => boolean, bytes: () => Uint8Array): string {
    this.ensureDir();
    const path = join(this.dir, name);
    if (existsSync(path)) {
      if (current(path)) {
        if (owner) chownSync(path, owner.uid, owner.gid);
        chmodSync(path, 0o600);
        return path;
      }
      this.zero(path);
    }
    const data = bytes();
    const tmp = join(this.dir, `.${name}.${process.pid}${TMP}`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      this.remove([`.${name}.${process.pid}${TMP}`]);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, path);
    fsyncDir(this.dir);
    return path;
  }

  /**
   * Wipes and removes the service's files (a write's leftovers too), except the key file of
   * `keep` and its store's PIN file; the names of those removed.
   */
  release(service: string, keep?: { store: string; key_id: string }): string[] {
    const kept = keep ? [keyName(service, keep.store, keep.key_id), pinName(service, keep.store)] : [];
    const removed = this.names().filter((n) =>
      (n.startsWith(`${service}+`) && (n.endsWith(KEY) || n.endsWith(PIN)) && !kept.includes(n)) ||
      (n.startsWith(`.${service}+`) && n.endsWith(TMP)));
    this.remove(removed);
    return removed;
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  private remove(names: string[]): void {
    for (const n of names) {
      this.zero(join(this.dir, n));
      unlinkDurable(join(this.dir, n));
    }
  }

  // Made on first use (most daemons never write one): 0711 so the service's user reaches its
  // own file by name without listing the others; a folder someone else made is refused.
  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    const st = lstatSync(this.dir);
    if (!st.isDirectory() || st.uid !== process.getuid!()) throw new Error(`service key folder ${this.dir} is not a folder of keystored's user`);
    chmodSync(this.dir, 0o711);
  }

  /** Whether the file holds exactly `bytes` (what is read is wiped). */
  private holds(path: string, bytes: Uint8Array): boolean {
    const seen = readFileSync(path);
    try {
      return seen.length === bytes.length && seen.every((b, i) => b === bytes[i]);
    } finally {
      wipe(seen);
    }
  }

  /** Overwrites a file's bytes with zeros (tmpfs has no journal: the bytes are gone). */
  private zero(path: string): void {
    let size: number;
    try {
      size = statSync(path).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const fd = openSync(path, 'r+');
    try {
      const zeros = new Uint8Array(Math.min(size, 65536));
      for (let off = 0; off < size; ) off += writeSync(fd, zeros, 0, Math.min(zeros.length, size - off), off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

// Ids are [A-Za-z0-9._-]: '+' cannot occur in them, so names never collide.
const keyName = (service: string, store: string, keyId: string) => `${service}+${store}+${keyId}${KEY}`;
const pinName = (service: string, store: string) => `${service}+${store}${PIN}`;
