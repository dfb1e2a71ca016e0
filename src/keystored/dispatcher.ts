// Front end -> backend: turns a decoded request into a call on the store it names and the
// store's answer into the reply body. Holds no key material and no store-specific rules.
//
// Requests naming the same key run one after another, in the order they arrived: a
// DELETE that certd sends to undo a GENERATE it gave up waiting for runs after that
// GENERATE has finished, so it deletes the key instead of finding none and leaving the
// key to appear later with nobody owning it.
import { KeystoreError } from '../../ipc/errors';
import { type Bodies, Opcode, Status } from '../../ipc/protocol';
import { createLogger } from '../common/log';
import { type PasswordSeal, sealedBy } from './password-seal';
import type { KeyStore } from './port';
import type { ServiceKeyFiles } from './service-key-files';

const log = createLogger('keystored');

type Req<O extends Opcode> = Bodies[O]['req'];

export class Dispatcher {
  private readonly stores: Map<string, KeyStore>;
  /** The last queued operation per "store/key id"; removed when the queue drains. */
  private readonly keyQueues = new Map<string, Promise<unknown>>();

  constructor(stores: KeyStore[], private readonly serviceKeys: ServiceKeyFiles) {
    this.stores = new Map(stores.map((s) => [s.description.id, s]));
  }

  /** The stores, e.g. for reload and shutdown. */
  all(): KeyStore[] {
    return [...this.stores.values()];
  }

  replace(stores: KeyStore[]): KeyStore[] {
    const old = this.all();
    this.stores.clear();
    for (const s of stores) this.stores.set(s.description.id, s);
    return old;
  }

  handle = (opcode: Opcode, body: unknown): Promise<unknown> => {
    const r = body as { store?: unknown; key_id?: unknown };
    if (typeof r.store !== 'string' || typeof r.key_id !== 'string') return this.run(opcode, body);
    const key = `${r.store}/${r.key_id}`;
    const prev = this.keyQueues.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.run(opcode, body), () => this.run(opcode, body));
    const tail = next.catch(() => undefined);
    this.keyQueues.set(key, tail);
    void tail.then(() => {
      if (this.keyQueues.get(key) === tail) this.keyQueues.delete(key);
    });
    return next;
  };

  private async run(opcode: Opcode, body: unknown): Promise<unknown> {
    switch (opcode) {
      case Opcode.DESCRIBE_STORES:
        return { stores: this.all().map((s) => s.description) };
      case Opcode.GENERATE_KEY: {
        const r = body as Req<Opcode.GENERATE_KEY>;
        return { spki: await this.store(r.store).generate(r.key_id, r.key_type) };
      }
      case Opcode.IMPORT_KEY: {
        const r = body as Req<Opcode.IMPORT_KEY>;
        try {
          const { spki, keyType } = await this.store(r.store).import(r.key_id, r.private_key);
          return { spki, key_type: keyType };
        } finally {
          r.private_key.fill(0);
        }
      }
      case Opcode.PUBLIC_KEY: {
        const r = body as Req<Opcode.PUBLIC_KEY>;
        return { spki: await this.store(r.store).publicKey(r.key_id) };
      }
      case Opcode.SIGN_DIGEST: {
        const r = body as Req<Opcode.SIGN_DIGEST>;
        return this.store(r.store).sign(r.key_id, r.scheme, r.digest_algorithm, r.digest);
      }
      case Opcode.DELETE_KEY: {
        const r = body as Req<Opcode.DELETE_KEY>;
        await this.store(r.store).delete(r.key_id);
        return {};
      }
      case Opcode.LIST_KEYS:
        return { key_ids: await this.store((body as Req<Opcode.LIST_KEYS>).store).list() };
      case Opcode.SERVICE_KEY:
        return this.serviceKey(body as Req<Opcode.SERVICE_KEY>);
      case Opcode.SERVICE_KEY_RELEASE: {
        const r = body as Req<Opcode.SERVICE_KEY_RELEASE>;
        const removed = this.serviceKeys.release(r.service, r.keep);
        if (removed.length > 0) log.info('service key files wiped', { service: r.service, files: removed });
        return {};
      }
      case Opcode.HEALTH:
        return {
          stores: await Promise.all(
            this.all().map(async (s) => {
              const h = await s.health().catch((e: Error) => ({ ok: false, detail: e.message }));
              return h.detail === undefined ? { id: s.description.id, ok: h.ok } : { id: s.description.id, ok: h.ok, detail: h.detail.slice(0, 256) };
            }),
          ),
        };
      case Opcode.SEAL_PASSWORD: {
        const r = body as Req<Opcode.SEAL_PASSWORD>;
        try {
          return { sealed: this.seal().seal(r.password) };
        } finally {
          r.password.fill(0);
        }
      }
      case Opcode.CHECK_PASSWORD_DIGEST: {
        const r = body as Req<Opcode.CHECK_PASSWORD_DIGEST>;
        return { ok: this.seal(sealedBy(r.sealed)).checkDigest(r.sealed, r.nonce, r.created, r.digest) };
      }
    }
  }

  // Logged as the audit of keystored: which key went to which service and where, never the key.
  private async serviceKey(r: Req<Opcode.SERVICE_KEY>): Promise<Bodies[Opcode.SERVICE_KEY]['res']> {
    const source = await this.store(r.store).serviceKey(r.key_id);
    const owner = r.uid === undefined ? undefined : { uid: r.uid, gid: r.gid ?? r.uid };
    if (source.kind === 'pkcs11') {
      const pinFile = this.serviceKeys.writePin(r.service, r.store, source.pin, owner);
      log.info('service key given by reference, its PIN file written', { service: r.service, store: r.store, key_id: r.key_id, path: pinFile, uid: owner?.uid ?? process.getuid!() });
      return { kind: 'pkcs11', module: source.module, uri: source.uri, pin_file: pinFile };
    }
    const path = this.serviceKeys.write(r.service, r.store, r.key_id, source.privateDer, source.spki, owner);
    log.info('service key file written', { service: r.service, store: r.store, key_id: r.key_id, path, uid: owner?.uid ?? process.getuid!() });
    return { kind: 'file', path };
  }

  /** The password seal of the store `id` (a blob names it), or of the first open SOFTWARE store. */
  private seal(id?: string): PasswordSeal {
    const has = (s: KeyStore): s is KeyStore & { passwords: PasswordSeal } => 'passwords' in s;
    const s = this.all().find((x) => has(x) && (id === undefined || x.description.id === id));
    if (!s || !has(s)) throw new KeystoreError(Status.NOT_SUPPORTED, id === undefined ? 'no open SOFTWARE store to seal passwords with' : `no open store ${id} to open the sealed password`);
    return s.passwords;
  }

  private store(id: string): KeyStore {
    const s = this.stores.get(id);
    if (!s) throw new KeystoreError(Status.UNKNOWN_STORE, `no key store ${id}`);
    return s;
  }
}
