// The dispatcher runs requests naming the same key one after another, in arrival order,
// and requests on different keys side by side. A fake store (the KeyStore port) whose key
// generation takes a while shows both.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeystoreError } from '../../ipc/errors';
import { Opcode, Status, type KeyType } from '../../ipc/protocol';
import { Dispatcher } from '../../src/keystored/dispatcher';
import { BaseKeyStore } from '../../src/keystored/port';
import { ServiceKeyFiles } from '../../src/keystored/service-key-files';

/** Never written: these requests name no service key (the folder is made on first write). */
const unusedFiles = new ServiceKeyFiles('/nonexistent/service-keys');

class SlowStore extends BaseKeyStore {
  readonly description = {
    id: 'SLOW0', security_level: 'SOFTWARE' as const, certifications: [], key_types: ['EC-P256' as KeyType],
    can_generate: true, can_import: false, can_secure_wipe: false,
  };
  readonly keys = new Set<string>();
  running = 0;
  maxRunning = 0;

  override async generate(keyId: string): Promise<Uint8Array> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 100));
    this.keys.add(keyId);
    this.running--;
    return new Uint8Array([1]);
  }

  override async delete(keyId: string): Promise<void> {
    if (!this.keys.delete(keyId)) throw new KeystoreError(Status.UNKNOWN_KEY, `no key ${keyId}`);
  }
}

const t = suite('keystored dispatcher');

t('a DELETE sent while the same key is being generated waits for it and deletes the key', async () => {
  const store = new SlowStore();
  const d = new Dispatcher([store], unusedFiles);
  const gen = d.handle(Opcode.GENERATE_KEY, { store: 'SLOW0', key_id: 'k1', key_type: 'EC-P256' });
  const del = d.handle(Opcode.DELETE_KEY, { store: 'SLOW0', key_id: 'k1' });
  await gen;
  await del; // without the queue this is UNKNOWN_KEY and k1 stays behind, owned by no one
  assert.equal([...store.keys], []);
});

t('a failed operation does not stop the next one on the same key', async () => {
  const store = new SlowStore();
  const d = new Dispatcher([store], unusedFiles);
  const first = d.handle(Opcode.DELETE_KEY, { store: 'SLOW0', key_id: 'k2' }).catch((e: KeystoreError) => e.status);
  const gen = d.handle(Opcode.GENERATE_KEY, { store: 'SLOW0', key_id: 'k2', key_type: 'EC-P256' });
  assert.is(await first, Status.UNKNOWN_KEY);
  await gen;
  assert.equal([...store.keys], ['k2']);
});

t('operations on different keys run side by side', async () => {
  const store = new SlowStore();
  const d = new Dispatcher([store], unusedFiles);
  await Promise.all(['a', 'b', 'c'].map((k) => d.handle(Opcode.GENERATE_KEY, { store: 'SLOW0', key_id: k, key_type: 'EC-P256' })));
  assert.is(store.maxRunning, 3);
});

t.run();
