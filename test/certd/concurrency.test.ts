// Adding an entry with a key reserves its alias in the write queue and makes the key
// outside it: a slow key generation holds up no other write, and two adds of one alias
// still end with one entry and one key.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeCa } from './ca';
import { API, certdKeys, startService, type Service } from './service';

const t = suite('cert.v1 concurrent writes');
let svc: Service;
t.before(async () => {
  svc = await startService();
});
t.after(async () => {
  await svc?.stop();
});

t('a CA certificate added while an RSA-3072 key is being made is answered first', async () => {
  const admin = svc.as('admin');
  const order: string[] = [];
  const slow = admin.post(`${API}/create_certificate`, { alias: 'slow', subject: 'CN=slow', key_type: 'RSA-3072' }).then((r) => {
    order.push('create');
    return r;
  });
  await new Promise((r) => setTimeout(r, 50));
  const ca = await admin.post(`${API}/ca_certificates`, { alias: 'quick ca', certificate: makeCa().certPem });
  order.push('ca');
  assert.is(ca.status, 201, ca.text);
  assert.is((await slow).status, 200);
  assert.equal(order, ['ca', 'create']);
});

t('two creates of one alias at once: one entry, one key, the other answered 409', async () => {
  const admin = svc.as('admin');
  const before = (await certdKeys(svc)).length;
  const replies = await Promise.all([1, 2, 3].map((i) => admin.post(`${API}/create_certificate`, { alias: 'twice', subject: `CN=twice ${i}`, key_type: 'RSA-2048' })));
  assert.equal(replies.map((r) => r.status).sort(), [200, 409, 409]);
  assert.is((await certdKeys(svc)).length, before + 1);
});

t.run();
