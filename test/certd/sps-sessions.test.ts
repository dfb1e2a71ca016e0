// SPS sessions on an injected clock: 20 minutes idle life renewed by use, logout, the bound.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IDLE_MS, Sessions } from '../../src/certd/auth/sessions';
import { cookieDate } from '../../src/certd/api/sps-format';

const t = suite('SPS sessions');

t('a session lives while used within 20 minutes and lapses after 20 idle minutes', () => {
  let now = 1_000_000;
  const s = new Sessions(() => now);
  const a = s.start('admin');
  assert.match(a.id, /^[0-9a-f]{40}$/);
  now += IDLE_MS - 1000;
  assert.is(s.use(a.id)?.user, 'admin');
  now += IDLE_MS - 1000; // 39 minutes after the start, 19 after the last use
  assert.is(s.use(a.id)?.user, 'admin');
  now += IDLE_MS;
  assert.is(s.use(a.id), undefined);
  assert.is(s.peek(a.id), undefined);
});

t('ending a session tells the hooks once; a lapsed one is ended (and told) when the next session starts', () => {
  let now = 0;
  const s = new Sessions(() => now);
  const ended: string[] = [];
  s.onEnd((id) => ended.push(id));
  const a = s.start('admin');
  const b = s.start('admin');
  s.end(a.id);
  s.end(a.id);
  assert.equal(ended, [a.id]);
  now += IDLE_MS;
  const c = s.start('viewer');
  assert.equal(ended, [a.id, b.id]);
  assert.is(s.use(c.id)?.user, 'viewer');
});

t('past 256 sessions the one used longest ago goes', () => {
  const s = new Sessions();
  const first = s.start('a');
  const second = s.start('a');
  for (let i = 0; i < 254; i++) s.start('b');
  s.use(first.id);
  s.start('c');
  assert.ok(s.peek(first.id));
  assert.is(s.peek(second.id), undefined);
});

t('cookie dates are in the form EEE, d MMM yyyy HH:mm:ss z, the day unpadded', () => {
  assert.is(cookieDate(Date.UTC(2026, 0, 4, 7, 5, 9)), 'Sun, 4 Jan 2026 07:05:09 GMT');
  assert.is(cookieDate(Date.UTC(2026, 10, 29, 23, 59, 59)), 'Sun, 29 Nov 2026 23:59:59 GMT');
});

t.run();
