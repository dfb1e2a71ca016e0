// certd's side of keystored: the keystore protocol's statuses become domain errors here
// and nowhere else.
import type { KeystoreClient } from '../../../ipc/client';
import { KeystoreError } from '../../../ipc/errors';
import { type Bodies, Opcode, Status, type StoreDescription } from '../../../ipc/protocol';
import { DomainError } from './errors';

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

export class Keystores {
  private described: { at: number; stores: Promise<StoreDescription[]> } | undefined;

  constructor(private readonly client: KeystoreClient, private readonly clock: () => number = () => performance.now()) {}

  private async call<O extends Opcode>(op: O, body: Bodies[O]['req'], field?: string): Promise<Bodies[O]['res']> {
    try {
      return await this.client.call(op, body);
    } catch (e) {
      return toDomain(e, field);
    }
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
    return this.call(Opcode.GENERATE_KEY, { store, key_id: keyId, key_type: keyType }, 'key_type');
  }

  import(store: string, keyId: string, privateKey: Uint8Array) {
    return this.call(Opcode.IMPORT_KEY, { store, key_id: keyId, private_key: privateKey }, 'keystore');
  }

  sign(req: Bodies[Opcode.SIGN_DIGEST]['req']) {
    return this.call(Opcode.SIGN_DIGEST, req);
  }

  /** Deletes a key; one that is already gone is fine (deletes are retried after a crash). */
  async delete(store: string, keyId: string): Promise<void> {
    try {
      await this.client.call(Opcode.DELETE_KEY, { store, key_id: keyId });
    } catch (e) {
      if (e instanceof KeystoreError && e.status === Status.UNKNOWN_KEY) return;
      toDomain(e, undefined);
    }
  }

  async health(): Promise<Bodies[Opcode.HEALTH]['res']['stores']> {
    return (await this.call(Opcode.HEALTH, {})).stores;
  }

  async list(store: string): Promise<string[]> {
    return (await this.call(Opcode.LIST_KEYS, { store })).key_ids;
  }
}
