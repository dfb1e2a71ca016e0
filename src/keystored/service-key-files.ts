// The key files keystored writes for device services (nginx, wpa_supplicant) from SOFTWARE
// stores: PEM PKCS#8, 0600, owned by the service's user, in a RAM-backed folder so the key
// in the clear never reaches flash. One file per service and key, so a service's previous
// key stays readable until its new one is confirmed (an applier that fails goes back to it);
// release overwrites with zeros, then unlinks.
import { chmodSync, chownSync, closeSync, existsSync, fchownSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { wipe } from '../../wasm/keys';
import { KeystoreError } from '../../ipc/errors';
import { Status } from '../../ipc/protocol';
import { uidsOf } from '../common/system-accounts';
import { fsyncDir, unlinkDurable } from '../common/atomic-file';
import { pkcs8Pem } from './pkcs8-pem';

const SUFFIX = '.pem';

export class ServiceKeyFiles {
  /** `users`: the one user each service's key file may be given to (keystored's config). */
  constructor(private readonly dir: string, private readonly users: Record<string, string> = {}) {}

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
      this.ensureDir();
      const path = join(this.dir, fileName(service, store, keyId));
      if (existsSync(path)) {
        if (owner) chownSync(path, owner.uid, owner.gid);
        chmodSync(path, 0o600);
        return path;
      }
      pem = pkcs8Pem(privateDer, spki);
      const tmp = join(this.dir, `.${fileName(service, store, keyId)}.${process.pid}.tmp`);
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        for (let off = 0; off < pem.length; ) off += writeSync(fd, pem, off, pem.length - off);
        if (owner) fchownSync(fd, owner.uid, owner.gid);
        fsyncSync(fd);
      } catch (e) {
        closeSync(fd);
        unlinkSync(tmp);
        throw e;
      }
      closeSync(fd);
      renameSync(tmp, path);
      fsyncDir(this.dir);
      return path;
    } finally {
      wipe(privateDer, pem);
    }
  }

  /** Wipes and removes the service's files, except the one of `keep`; the names of those removed. */
  release(service: string, keep?: { store: string; key_id: string }): string[] {
    const kept = keep ? fileName(service, keep.store, keep.key_id) : undefined;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const removed = names.filter((n) => n.startsWith(`${service}+`) && n.endsWith(SUFFIX) && n !== kept);
    for (const n of removed) {
      this.zero(join(this.dir, n));
      unlinkDurable(join(this.dir, n));
    }
    return removed;
  }

  // Made on first use (most daemons never write one): 0711 so the service's user reaches its
  // own file by name without listing the others; a folder someone else made is refused.
  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    const st = lstatSync(this.dir);
    if (!st.isDirectory() || st.uid !== process.getuid!()) throw new Error(`service key folder ${this.dir} is not a folder of keystored's user`);
    chmodSync(this.dir, 0o711);
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
const fileName = (service: string, store: string, keyId: string) => `${service}+${store}+${keyId}${SUFFIX}`;
