// keystored's event loop stays free while an RSA-4096 key is generated (in its worker
// thread): DESCRIBE_STORES is answered meanwhile, and the key comes out whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Opcode } from '../../ipc/protocol';
import { TIME_SCALE } from '../time-scale';
import { startDaemon, type Daemon } from './daemon';

let d: Daemon;
test.before(async () => {
  d = await startDaemon();
});
test.after(async () => {
  await d?.stop();
});

test('DESCRIBE_STORES answers while an RSA-4096 keygen runs', async () => {
  const client = d.client();
  let generating = true;
  const gen = client.call(Opcode.GENERATE_KEY, { store: 'SOFTWARE0', key_id: 'big', key_type: 'RSA-4096' }).finally(() => (generating = false));
  const answers: number[] = [];
  while (generating) {
    const started = performance.now();
    const r = await client.call(Opcode.DESCRIBE_STORES, {}, 60_000 * TIME_SCALE);
    assert.ok(r.stores.length >= 1);
    answers.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 20));
  }
  const { spki } = await gen;
  assert.ok(spki.length > 500, 'an RSA-4096 SPKI');
  // Before, each DESCRIBE waited out the whole keygen (seconds); the bound is loose.
  assert.ok(answers.length >= 2, `answers during the keygen: ${answers.length}`);
  assert.ok(Math.max(...answers) < 1000 * TIME_SCALE, `slowest DESCRIBE: ${Math.max(...answers)} ms`);
  const sig = await client.call(Opcode.SIGN_DIGEST, { store: 'SOFTWARE0', key_id: 'big', scheme: 'RSA-PSS', digest_algorithm: 'SHA-256', digest: new Uint8Array(32) });
  assert.is(sig.signature.length, 512);
});

test.run();
