// cert.v1 end to end on every key store, as a VMS drives it: create (key made inside the
// store) -> get_csr -> a CA signs it -> PATCH the signed certificate in; upload keys and
// PKCS#12 files; delete. Oracle: openssl.
import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startSimulators, type Simulators } from '../sim';
import { csrVerifies, makeCa, type TestCa } from './ca';
import { API, startService, type Service } from './service';

const t = suite('cert.v1 lifecycle');
let sims: Simulators;
let svc: Service;
let ca: TestCa;

t.before(async () => {
  sims = startSimulators();
  svc = await startService({ stores: sims.stores, env: sims.env });
  ca = makeCa();
});
t.after(async () => {
  await svc?.stop();
  sims?.stop();
});

const openssl = (args: string[], input: string) => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
const enc = encodeURIComponent;


for (const [store, keyType] of [['SOFTWARE0', 'EC-P256'], ['SOFTWARE0', 'RSA-2048'], ['TPM0', 'EC-P256'], ['TPM0', 'RSA-2048'], ['SE0', 'EC-P384'], ['SE0', 'RSA-2048']] as const) {
  t(`${store} ${keyType}: create, get_csr, CA signs, PATCH in; a certificate for another key is refused`, async () => {
    const admin = svc.as('admin');
    const alias = `Cam ${store} ${keyType} (802.1X)`;
    let r = await admin.post(`${API}/create_certificate`, { alias, subject: 'C=SE,O=Camera Vendor,CN=cam-1.example', subject_alt_names: ['DNS:cam-1.example', 'IP:192.0.2.7'], keystore: store, key_type: keyType });
    assert.is(r.status, 200, r.text);
    assert.equal(r.json, { status: 'success' });
    r = await admin.get(`${API}/certificates/${enc(alias)}`);
    assert.is(r.json.data.keystore, store);
    const selfSigned = r.json.data.certificate as string;
    assert.match(openssl(['x509', '-noout', '-subject', '-ext', 'subjectAltName'], selfSigned), 'CN = cam-1.example');

    r = await admin.post(`${API}/certificates/${enc(alias)}/get_csr`, {});
    assert.is(r.status, 200, r.text);
    const csr = r.json.data as string;
    assert.type(csr, 'string');
    assert.ok(csrVerifies(csr), 'openssl req -verify');
    const signed = ca.sign(csr);
    r = await admin.patch(`${API}/certificates/${enc(alias)}`, { certificate: signed });
    assert.is(r.status, 200, r.text);
    r = await admin.get(`${API}/certificates/${enc(alias)}`);
    assert.is(r.json.data.keystore, store);
    assert.match(openssl(['x509', '-noout', '-issuer'], r.json.data.certificate), 'certd test CA');
    // The key stayed: a new CSR still matches the CA-signed certificate's key.
    const again = (await admin.post(`${API}/certificates/${enc(alias)}/get_csr`, {})).json.data as string;
    assert.is(openssl(['req', '-noout', '-pubkey'], again), openssl(['x509', '-noout', '-pubkey'], signed));

    // Another key's certificate: refused, nothing changes.
    const other = openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=other', '-days', '1'], '');
    r = await admin.patch(`${API}/certificates/${enc(alias)}`, { certificate: other });
    assert.is(r.status, 400);
    assert.is(r.json.error.code, 8);
    assert.match(openssl(['x509', '-noout', '-issuer'], (await admin.get(`${API}/certificates/${enc(alias)}`)).json.data.certificate), 'certd test CA');

    r = await admin.del(`${API}/certificates/${enc(alias)}`);
    assert.is(r.status, 200);
    assert.is((await admin.get(`${API}/certificates/${enc(alias)}`)).status, 404);
  });
}

t.run();
