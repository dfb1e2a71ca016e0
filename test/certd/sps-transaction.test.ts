// The SPS transaction on an injected clock and a recording batch: lapse after its idle time
// (rolled back, staged keys wiped, lock freed), the commit's one batch.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BatchStep, Batches } from '../../src/certd/domain/batches';
import { TRANSACTION_MS, Transactions } from '../../src/certd/api/sps-transaction';
import { Sessions } from '../../src/certd/auth/sessions';

const t = suite('SPS transaction');

function setup() {
  const applied: BatchStep[][] = [];
  const changed: string[] = [];
  const clock = { now: 1_000_000 };
  const batches = { apply: async (steps: BatchStep[]) => { applied.push(steps); return { id: 'b', entries: [], warnings: [] }; } } as unknown as Batches;
  return { applied, changed, clock, tx: new Transactions(batches, () => undefined, {
    record: (name: string, password: string) => ({ name, role: 'operator' as const, ha1_md5: `md5(${password})`, ha1_sha256: `sha256(${password})` }),
    changed: (users: string[]) => { changed.push(...users); },
    rootHash: (password: string) => `hash(${password})`,
    rootChanged: (hash: string) => { changed.push(`root ${hash}`); },
  }, () => clock.now) };
}

t('an open transaction left idle for its time rolls back: staged keys wiped, the lock free for others', () => {
  const { clock, tx } = setup();
  const key = Buffer.from('-----BEGIN RSA PRIVATE KEY-----');
  tx.stageX509('a', { key: 'k1', certificate: 'C', issuerChain: [], privateKey: key });
  const object = Buffer.from('-----BEGIN RSA PRIVATE KEY----- object');
  tx.stagePrivateKey('a', 'pk1', { pem: object, type: 'rsa', spkiSha256: '00' });
  assert.is(tx.status('a').status, 'open');
  assert.is(tx.status('a').remainingSeconds, TRANSACTION_MS / 1000);
  assert.throws(() => tx.begin('b'), /locked/);
  clock.now += TRANSACTION_MS - 1000;
  assert.is(tx.status('a').remainingSeconds, 1);
  clock.now += 1000;
  assert.is(tx.status('a').status, 'closed');
  assert.ok(key.every((b) => b === 0));
  assert.ok(object.every((b) => b === 0), 'a private_keys object is wiped too');
  assert.ok(tx.begin('b'));
});

t('a commit applies every staged object in one batch, each with its key as the entry id, then closes', async () => {
  const { applied, tx } = setup();
  tx.stageX509('a', { key: 'k1', certificate: 'C1', issuerChain: ['CA'], privateKey: Buffer.from('K1') });
  tx.stageX509('a', { key: 'k2', certificate: 'C2', issuerChain: [], privateKey: Buffer.from('K2') });
  await tx.commit('a');
  assert.is(applied.length, 1);
  assert.equal(applied[0]!.map((s) => s.op === 'add_certificate' && [s.id, s.alias, s.certificate]), [['k1', 'sps-k1', 'C1\nCA'], ['k2', 'sps-k2', 'C2']]);
  assert.is(tx.status('a').status, 'closed');
  assert.ok(tx.begin('b'));
});

t('a user\'s new password is a step of the commit\'s one batch, as the hashed record; the user is told changed after it', async () => {
  const { applied, changed, tx } = setup();
  tx.stageX509('a', { key: 'k1', certificate: 'C1', issuerChain: [], privateKey: Buffer.from('K1') });
  tx.stagePassword('a', 'p1', { plain: 'new-secret' });
  tx.stageUserPassword('a', 'operator', 'p1');
  await tx.commit('a');
  assert.is(applied.length, 1);
  assert.equal(applied[0]!.map((s) => s.op), ['add_certificate', 'set_user_password']);
  assert.equal(applied[0]![1], { op: 'set_user_password', record: { name: 'operator', role: 'operator', ha1_md5: 'md5(new-secret)', ha1_sha256: 'sha256(new-secret)' } });
  assert.equal(changed, ['operator']);
});

t('the root password is a step of the same batch, as its hash; told changed after it; a rollback stages nothing', async () => {
  const { applied, changed, tx } = setup();
  tx.stagePassword('a', 'p1', { plain: 'root-secret' });
  tx.stageRootPassword('a', 'p1');
  tx.rollback('a');
  tx.stagePassword('a', 'p2', { plain: 'other-secret' });
  tx.stageUserPassword('a', 'operator', 'p2');
  tx.stagePassword('a', 'p3', { plain: 'root-secret' });
  tx.stageRootPassword('a', 'p3');
  await tx.commit('a');
  assert.is(applied.length, 1);
  assert.equal(applied[0]!.map((s) => s.op), ['set_user_password', 'set_root_password']);
  assert.equal(applied[0]![1], { op: 'set_root_password', hash: 'hash(root-secret)' });
  assert.equal(changed, ['operator', 'root hash(root-secret)']);
});

t('every call of its session starts the transaction\'s idle time again (reads too); once lapsed, a call does not bring it back', () => {
  const { clock, tx } = setup();
  const sessions = new Sessions(() => clock.now, TRANSACTION_MS);
  sessions.onUse((id) => tx.touch(id));
  const s = sessions.start('admin');
  tx.stagePassword(s.id, 'p1', { plain: 'x' });
  for (let i = 0; i < 3; i++) {
    clock.now += TRANSACTION_MS - 1000;
    assert.ok(sessions.use(s.id));
    assert.is(tx.status(s.id).remainingSeconds, TRANSACTION_MS / 1000, `call ${i}`);
  }
  // Another session's calls do not keep it open.
  const other = sessions.start('admin');
  clock.now += TRANSACTION_MS - 1000;
  sessions.use(other.id);
  clock.now += 1000;
  sessions.use(other.id);
  assert.is(tx.status(s.id).status, 'closed');
  tx.touch(s.id);
  assert.is(tx.status(s.id).status, 'closed');
});

t('while its commit waits on keystored nothing may change, roll back or lapse the transaction; a logout meanwhile closes it when the commit ends', async () => {
  let release!: () => void;
  const applied: BatchStep[][] = [];
  const batches = { apply: async (steps: BatchStep[]) => {
    applied.push(steps);
    await new Promise<void>((r) => { release = r; });
    return { id: 'b', entries: [], warnings: [] };
  } } as unknown as Batches;
  const clock = { now: 1_000_000 };
  const tx = new Transactions(batches, () => undefined, {
    record: (name: string) => ({ name, role: 'operator' as const, ha1_md5: 'x', ha1_sha256: 'y' }),
    changed: () => undefined, rootHash: () => 'h', rootChanged: () => undefined,
  }, () => clock.now);
  const key = Buffer.from('K1');
  tx.stageX509('a', { key: 'k1', certificate: 'C1', issuerChain: [], privateKey: key });
  const committing = tx.commit('a');
  await new Promise((r) => setImmediate(r));
  assert.is(applied.length, 1, 'the batch is being applied');
  assert.throws(() => tx.rollback('a'), /being committed/);
  assert.throws(() => tx.stageX509('a', { key: 'k2', certificate: 'C2', issuerChain: [], privateKey: Buffer.from('K2') }), /being committed/);
  await tx.commit('a').then(() => assert.unreachable('a second commit ran'), (e: Error) => assert.match(e.message, /being committed/));
  clock.now += TRANSACTION_MS * 2;
  tx.sessionEnded('a');
  assert.is(tx.status('a').status, 'open', 'neither the lapse nor the logout dropped it mid-commit');
  assert.ok(key.equals(Buffer.from('K1')), 'the key the batch imports is not wiped under it');
  release();
  await committing;
  assert.is(tx.status('a').status, 'closed');
  assert.is(applied.length, 1);
  assert.ok(tx.begin('b'), 'the lock is free');
});

t.run();
