// The wire: malformed frames, another version, unknown opcodes, oversize and off-schema
// bodies each get a named status, and the daemon keeps serving. Peers of another uid are
// refused, both by the socket folder's mode and by the ZAP check.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Dealer } from 'zeromq';
import { Packr } from 'msgpackr';
import { KeystoreClient } from '../../ipc/client';
import { HEADER, MAX_BODY_BYTES, Opcode, Status } from '../../ipc/protocol';
import { startDaemon, type Daemon } from './daemon';

const t = suite('keystore protocol');
let d: Daemon;
let raw: Dealer;
const packr = new Packr({ useRecords: false });
t.before(async () => {
  d = await startDaemon();
  raw = new Dealer({ receiveTimeout: 5000, linger: 0 });
  raw.connect(d.endpoint);
});
t.after(async () => {
  raw.close();
  await d.stop();
});

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };

async function exchange(frames: Buffer[]): Promise<{ id: number; status: number; message: string }> {
  await raw.send(frames);
  const [, id, status, body] = await raw.receive();
  return { id: id!.readUInt32BE(), status: status!.readUInt16BE(), message: (packr.unpack(body!) as { message: string }).message };
}

async function healthy(): Promise<void> {
  const c = new KeystoreClient(d.endpoint, { timeoutMs: 5000 });
  const h = await c.call(Opcode.HEALTH, {});
  c.close();
  assert.ok(h.stores.every((s) => s.ok));
}

t('wrong protocol or version: BAD_VERSION', async () => {
  const r = await exchange([Buffer.from('certd-keystore/2'), u32(7), u16(Opcode.HEALTH), packr.pack({})]);
  assert.is(r.id, 7);
  assert.is(r.status, Status.BAD_VERSION);
  await healthy();
});

t('unknown opcode: UNKNOWN_OPCODE', async () => {
  const r = await exchange([Buffer.from(HEADER), u32(8), u16(999), packr.pack({})]);
  assert.is(r.status, Status.UNKNOWN_OPCODE);
  await healthy();
});

t('oversize body: TOO_LARGE, not decoded', async () => {
  const r = await exchange([Buffer.from(HEADER), u32(9), u16(Opcode.HEALTH), Buffer.alloc(MAX_BODY_BYTES + 1)]);
  assert.is(r.status, Status.TOO_LARGE);
  await healthy();
});

t('a body that is not msgpack, or off the schema: BAD_REQUEST naming the field', async () => {
  let r = await exchange([Buffer.from(HEADER), u32(10), u16(Opcode.LIST_KEYS), Buffer.from([0xc1])]);
  assert.is(r.status, Status.BAD_REQUEST);
  r = await exchange([Buffer.from(HEADER), u32(11), u16(Opcode.LIST_KEYS), packr.pack({ store: 'SOFTWARE0', extra: 1 })]);
  assert.is(r.status, Status.BAD_REQUEST);
  assert.match(r.message, 'extra');
  r = await exchange([Buffer.from(HEADER), u32(12), u16(Opcode.GENERATE_KEY), packr.pack({ store: 'SOFTWARE0', key_id: '../etc', key_type: 'EC-P256' })]);
  assert.is(r.status, Status.BAD_REQUEST);
  assert.match(r.message, 'key_id');
  r = await exchange([Buffer.from(HEADER), u32(13), u16(Opcode.SIGN_DIGEST), packr.pack({ store: 'SOFTWARE0', key_id: 'a', scheme: 'ECDSA', digest_algorithm: 'SHA-256', digest: 'not bytes' })]);
  assert.is(r.status, Status.BAD_REQUEST);
  assert.match(r.message, 'digest');
  await healthy();
});

t('malformed frames with a readable id get BAD_REQUEST; without one they are dropped', async () => {
  const r = await exchange([Buffer.from(HEADER), u32(14), Buffer.from([1])]);
  assert.is(r.status, Status.BAD_REQUEST);
  await raw.send([Buffer.from('x')]);
  await healthy();
});

t('a dead daemon is a clean UNAVAILABLE, not a hang', async () => {
  const c = new KeystoreClient(`ipc://${join(d.dir, 'nowhere.sock')}`, { timeoutMs: 2000, connectWaitMs: 300 });
  const started = Date.now();
  const e = await c.call(Opcode.HEALTH, {}).catch((x: Error) => x);
  c.close();
  assert.is((e as { code?: string }).code, 'UNAVAILABLE');
  assert.ok(Date.now() - started < 2000);
});

// Runs a client as uid/gid 65534 (nobody) in a child process; prints the outcome.
function asNobody(endpoint: string): Promise<string> {
  const script = `
    const { KeystoreClient } = require(${JSON.stringify(join(__dirname, '..', '..', 'ipc', 'client.js'))});
    const c = new KeystoreClient(${JSON.stringify(endpoint)}, { timeoutMs: 1500, connectWaitMs: 1000 });
    c.call(1, {}).then(() => console.log('SERVED'), (e) => console.log(e.code)).finally(() => c.close());`;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (out += b));
    p.on('exit', () => resolve(out.trim()));
  });
}

t('another uid cannot reach the socket (0700 folder)', async () => {
  assert.is.not(await asNobody(d.endpoint), 'SERVED');
});

t('another uid that can reach the socket is refused by the ZAP check', async () => {
  // A second daemon whose socket folder is opened up by hand after start, so that only the
  // ZAP check stands between nobody and the store.
  const dir = mkdtempSync(join(tmpdir(), 'keystored-zap-'));
  chmodSync(dir, 0o755);
  const open = await startDaemon({}, {}, dir);
  try {
    chmodSync(join(dir, 'run'), 0o777);
    chmodSync(join(dir, 'run', 'keystored.sock'), 0o666);
    const outcome = await asNobody(open.endpoint);
    assert.is.not(outcome, 'SERVED');
    assert.match(open.logs(), '"msg":"peer refused","uid":65534');
  } finally {
    await open.stop();
  }
});

t.run();
