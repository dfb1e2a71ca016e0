// SOFTWARE0 makes and uses EC keys on keystored's event loop: no worker thread starts for
// them (a thread start cost the first create after boot, or after the worker's idle stop,
// ~200 ms). RSA keygen still goes to the worker (responsive.test.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SoftwareStore } from '../../src/keystored/software-store';
import { Core } from '../../wasm/core';
import { CoreWorkers } from '../../wasm/core-workers';
import { KeyJobs, Keys } from '../../wasm/keys';
import { StoreCrypto } from '../../wasm/store';

const t = suite('SOFTWARE0 EC keys on the event loop');
const workers = new CoreWorkers({ idleMs: 60_000 });
t.after(() => workers.close());

t('EC keygen and signing start no worker thread; RSA keygen does', async () => {
  const core = await Core.load();
  const keys = new Keys(core);
  const base = mkdtempSync(join(tmpdir(), 'ec-loop-'));
  const store = await SoftwareStore.open({ id: 'SOFTWARE0', dir: join(base, 'keys'), kekFile: join(base, 'SOFTWARE0.kek') }, keys, new KeyJobs(workers), new StoreCrypto(core));
  for (const [type, alg, size] of [['EC-P256', 'SHA-256', 32], ['EC-P384', 'SHA-384', 48]] as const) {
    const digest = Buffer.alloc(size, 3);
    const spki = await store.generate(`k-${type}`, type);
    const sig = await store.sign(`k-${type}`, 'ECDSA', alg, digest);
    assert.ok(keys.verify(spki, 'ECDSA', alg, digest, sig.signature), type);
  }
  assert.is(workers.running, 0, 'no worker thread for EC keys');
  await store.generate('k-rsa', 'RSA-2048');
  assert.is(workers.running, 1, 'RSA keygen runs in the worker');
  await store.close();
});

t.run();
