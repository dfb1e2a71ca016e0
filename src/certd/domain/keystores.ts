// certd's side of keystored: the keystore protocol's statuses become domain errors here
// and nowhere else. It also knows whether keystored is there: a call unanswered for
// PROBE_AFTER_MS makes it probe keystored; a probe or a call that finds it gone marks it
// down, fails the calls in flight at once, and later calls fail at once (503) until a
// background probe finds it again. So a stopped or dead keystored costs seconds, not a
// call's whole timeout.
//
// A call given up on may still complete in keystored (a GENERATE that was only slow): the
// add that made it is undone by deleting the key (certificates.ts withNewKey, retried while
// keystored is away), and keystored runs operations on one key id in order, so that delete
// waits for the generate rather than finding nothing and leaving the key behind.
import type { KeystoreClient } from '../../../ipc/client';
import { KeystoreError } from '../../../ipc/errors';
import { type Bodies, Opcode, Status, type StoreDescription } from '../../../ipc/protocol';
import { DomainError } from './errors';
import { PROBE_AFTER_MS, PROBE_EVERY_MS, PROBE_TIMEOUT_MS, timeoutFor } from './keystore-timeouts';

function toDomain(e: unknown, field: string | undefined): never {
  if (!(e instanceof KeystoreError)) throw e;
  switch (e.status) {
    case Status.UNKNOWN_STORE:
      throw new DomainError('UNKNOWN_KEYSTORE', 'no such keystore', field ?? 'keystore');
    case Status.UNSUPPORTED_KEY_TYPE:
    case Status.NOT_SUPPORTED:
      throw new DomainError('UNSUPPORTED_KEY_TYPE', e.message, field);
    case Status.BAD_KEY:
      throw new DomainError('BAD_PRIVATE_KEY', 'the keystore does not accept this private key', 'private_key');
    case Status.TIMEOUT:
    case Status.UNAVAILABLE:
    case Status.TOKEN_MISSING:
    case Status.SLOT_NOT_FOUND:
    case Status.WRONG_PIN:
    case Status.PIN_LOCKED:
      throw new DomainError('KEYSTORE_UNAVAILABLE', `keystore unavailable (${e.code})`);
    default:
      throw new DomainError('KEYSTORE_FAILURE', `keystore failed (${e.code})`);
  }
}

/** How long a description of the stores is reused (they change only when keystored reloads). */
const DESCRIBE_TTL_MS = 5000;

/** up: answering; suspect: a call is late and a probe is out; down: not answering. */
export type KeystoredState = 'up' | 'suspect' | 'down';

interface InFlight {
  since: number;
  abort(e: Error): void;
}

export class Keystores {
  private described: { at: number; stores: Promise<StoreDescription[]> } | undefined;
  private current: KeystoredState = 'up';
  private readonly inFlight = new Set<InFlight>();
  private probing: Promise<void> | undefined;
  private lastProbe = 0;
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly client: KeystoreClient, private readonly clock: () => number = () => performance.now()) {
    this.watchdog = setInterval(() => this.watch(), Math.min(500, PROBE_AFTER_MS / 2));
    this.watchdog.unref();
    // A keystored that comes back is asked at once, not at the next round of the watchdog.
    client.onConnect(() => {
      if (this.current !== 'up') void this.probe();
    });
  }

  get state(): KeystoredState {
    return this.current;
  }

  close(): void {
    clearInterval(this.watchdog);
  }

  private async call<O extends Opcode>(op: O, body: Bodies[O]['req'], field?: string, timeoutMs = timeoutFor(op)): Promise<Bodies[O]['res']> {
    try {
      return await this.raw(op, body, timeoutMs);
    } catch (e) {
      return toDomain(e, field);
    }
  }

  /** A call, failed at once while keystored is down, and given up on when a probe finds it gone. */
  private async raw<O extends Opcode>(op: O, body: Bodies[O]['req'], timeoutMs: number): Promise<Bodies[O]['res']> {
    if (this.current === 'down') throw new KeystoreError(Status.UNAVAILABLE, 'keystored is not answering');
    let entry: InFlight | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      entry = { since: this.clock(), abort: reject };
    });
    this.inFlight.add(entry!);
    try {
      const reply = await Promise.race([this.client.call(op, body, timeoutMs), abandoned]);
      this.current = 'up';
      return reply;
    } catch (e) {
      if (e instanceof KeystoreError && e.status === Status.UNAVAILABLE) this.markDown();
      else if (e instanceof KeystoreError && e.status === Status.TIMEOUT) void this.probe();
      else if (e instanceof KeystoreError) this.current = 'up'; // it answered, with an error
      throw e;
    } finally {
      this.inFlight.delete(entry!);
    }
  }

  private watch(): void {
    const now = this.clock();
    if (this.current === 'down') {
      if (now - this.lastProbe >= PROBE_EVERY_MS) void this.probe();
      return;
    }
    for (const c of this.inFlight) {
      if (now - c.since >= PROBE_AFTER_MS && now - this.lastProbe >= PROBE_AFTER_MS) {
        void this.probe();
        return;
      }
    }
  }

  /** Asks keystored for something it answers from memory; no answer in time: it is down. */
  private probe(): Promise<void> {
    this.probing ??= (async () => {
      this.lastProbe = this.clock();
      if (this.current === 'up') this.current = 'suspect';
      try {
        await this.client.call(Opcode.DESCRIBE_STORES, {}, PROBE_TIMEOUT_MS);
        this.current = 'up';
      } catch {
        this.markDown();
      } finally {
        this.lastProbe = this.clock();
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  private markDown(): void {
    this.current = 'down';
    const gone = new KeystoreError(Status.UNAVAILABLE, 'keystored is not answering');
    for (const c of this.inFlight) c.abort(gone);
    this.inFlight.clear();
  }

  describe(): Promise<StoreDescription[]> {
    const now = this.clock();
    if (!this.described || now - this.described.at > DESCRIBE_TTL_MS) {
      const stores = this.call(Opcode.DESCRIBE_STORES, {}).then((r) => r.stores);
      this.described = { at: now, stores };
      stores.catch(() => (this.described = undefined));
    }
    return this.described.stores;
  }

  generate(store: string, keyId: string, keyType: Bodies[Opcode.GENERATE_KEY]['req']['key_type']) {
    return this.call(Opcode.GENERATE_KEY, { store, key_id: keyId, key_type: keyType }, 'key_type', timeoutFor(Opcode.GENERATE_KEY, keyType));
  }

  import(store: string, keyId: string, privateKey: Uint8Array) {
    return this.call(Opcode.IMPORT_KEY, { store, key_id: keyId, private_key: privateKey }, 'keystore');
  }

  publicKey(store: string, keyId: string) {
    return this.call(Opcode.PUBLIC_KEY, { store, key_id: keyId });
  }

  sign(req: Bodies[Opcode.SIGN_DIGEST]['req']) {
    return this.call(Opcode.SIGN_DIGEST, req);
  }

  /** Deletes a key; one that is already gone is fine (deletes are retried after a crash). */
  async delete(store: string, keyId: string): Promise<void> {
    try {
      await this.raw(Opcode.DELETE_KEY, { store, key_id: keyId }, timeoutFor(Opcode.DELETE_KEY));
    } catch (e) {
      if (e instanceof KeystoreError && e.status === Status.UNKNOWN_KEY) return;
      toDomain(e, undefined);
    }
  }

  async health(): Promise<Bodies[Opcode.HEALTH]['res']['stores']> {
    return (await this.call(Opcode.HEALTH, {})).stores;
  }

  /** The password sealed by keystored, Base64, for the user's record (auth/wsse-scheme.ts); the bytes sent are wiped. */
  async sealPassword(password: string): Promise<string> {
    const bytes = Buffer.from(password, 'utf8');
    try {
      return Buffer.from((await this.call(Opcode.SEAL_PASSWORD, { password: bytes })).sealed).toString('base64');
    } finally {
      bytes.fill(0);
    }
  }

  /** Whether a UsernameToken's digest is right for the sealed password (keystored decides). */
  async checkDigest(sealed: Uint8Array, nonce: Uint8Array, created: string, digest: Uint8Array): Promise<boolean> {
    return (await this.call(Opcode.CHECK_PASSWORD_DIGEST, { sealed, nonce, created, digest })).ok;
  }

  async list(store: string): Promise<string[]> {
    return (await this.call(Opcode.LIST_KEYS, { store })).key_ids;
  }

  serviceKey(req: Bodies[Opcode.SERVICE_KEY]['req']) {
    return this.call(Opcode.SERVICE_KEY, req);
  }

  async releaseServiceKeys(req: Bodies[Opcode.SERVICE_KEY_RELEASE]['req']): Promise<void> {
    await this.call(Opcode.SERVICE_KEY_RELEASE, req);
  }
}
