// The journal's power-cut semantics (store/journal.ts): what a power cut keeps of the log
// is what was fsynced. Each fsync of the log is watched and the length it made durable
// noted; a "power cut" truncates the log to that length (and can tear the next line), and
// the journal reopened must hold exactly what the batch protocol (domain/batches.ts) needs:
// a batch whose begin returned, its commit mark once commitBatch returned, nothing once
// endBatch returned.
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Journal, type BatchCommit } from '../../src/certd/store/journal';

const t = suite('journal power cuts');
// The module object itself (an `import * as` copy would not see the replaced function).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require('node:fs') as { fsyncSync: (fd: number) => void; fstatSync: typeof import('node:fs').fstatSync; existsSync: typeof import('node:fs').existsSync };

let dir: string;
let durable = 0;
const realFsync = fs.fsyncSync;
t.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'certd-journal-'));
  durable = 0;
  // Each fsync of journal.log makes its current length durable.
  fs.fsyncSync = (fd: number) => {
    realFsync(fd);
    const log = join(dir, 'journal', 'journal.log');
    if (fs.existsSync(log) && fs.fstatSync(fd).ino === statSync(log).ino) durable = fs.fstatSync(fd).size;
  };
});
t.after.each(() => {
  fs.fsyncSync = realFsync;
  rmSync(dir, { recursive: true, force: true });
});

const logPath = () => join(dir, 'journal', 'journal.log');

/** Opens the journal; opening rewrites the log durably (temporary file, fsync, rename). */
function open(): Journal {
  const j = new Journal(dir);
  durable = statSync(logPath()).size;
  return j;
}

/** Loses what was not fsynced, keeping `torn` bytes of it (a write cut short), then reopens. */
function powerCut(torn = 0): Journal {
  truncateSync(logPath(), Math.min(statSync(logPath()).size, durable + torn));
  return open();
}

const records: BatchCommit = { puts: [], removes: [{ alias: 'x', id: 'id-x' }], bindings: [], old_keys: [{ keystore: 'SOFTWARE0', key_id: 'certd-old' }] };
const intent = { op: 'batch' as const, id: 'b1', generation: 'g1', new_keys: [{ keystore: 'SOFTWARE0', key_id: 'certd-new' }] };

t('a batch is durable from its begin, its commit mark from commitBatch, its end from endBatch', () => {
  const j = open();
  j.beginBatch(intent);
  let after = powerCut(5);
  assert.equal(after.batches().map((b) => [b.intent.id, b.commit]), [['b1', undefined]], 'begun, not committed: rolled back at start');
  assert.equal(after.keysNamed().map((k) => k.key_id), ['certd-new'], 'its new key is not unowned');

  const j2 = open();
  j2.commitBatch('b1', records);
  after = powerCut(7);
  assert.equal(after.batches()[0]!.commit, records, 'committed: rolled forward at start');

  const j3 = open();
  j3.endBatch('b1');
  after = powerCut();
  assert.equal(after.batches(), [], 'ended: never replayed over later changes');
});

t('a key intent is durable from its begin; its end need not be (a redone intent is found done)', () => {
  const j = open();
  const i = { op: 'add' as const, alias: 'a', keystore: 'SOFTWARE0', key_id: 'certd-k', generation: 'g1' };
  j.begin(i);
  j.end(i);
  const after = powerCut();
  assert.equal(after.pending(), [i]);
  after.end(i);
  assert.equal(open().pending(), [], 'an end that was written is read');
});

t.run();
