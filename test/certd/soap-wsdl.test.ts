// A WSDL-driven client nobody here wrote (npm `soap`) against the real daemons: it builds
// its requests from the published ONVIF devicemgmt.wsdl (loaded from ../shared/spec/wsdl,
// its absolute imports mapped through urlmap.json; the project holds no copy) and parses
// every answer against the same schema. Basic authentication (the suite's plain listener
// allows it); openssl judges the certificates that come back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as soap from 'soap';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { API, PASSWORDS, startService, type Service } from './service';
import { SPEC } from './soap-client';

const t = suite('SOAP through a WSDL-driven client');
let svc: Service;
const dir = mkdtempSync(join(tmpdir(), 'certd-soap-wsdl-'));
const sh = (args: string[], input?: string) => execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] });
const WSDL = join(SPEC, 'wsdl');
const URLMAP = JSON.parse(readFileSync(join(WSDL, 'urlmap.json'), 'utf8')) as Record<string, string>;

/* eslint-disable @typescript-eslint/no-explicit-any */
async function client(role: 'admin' | 'viewer'): Promise<any> {
  const c = await soap.createClientAsync(join(WSDL, 'device-service-wrapper.wsdl'), {
    forceSoap12Headers: true,
    wsdl_options: { overrideImportLocation: (location: string) => (URLMAP[location] ? join(WSDL, URLMAP[location]!) : location) },
  } as soap.IOptions, `http://127.0.0.1:${svc.port}/vapix/services`);
  c.setSecurity(new soap.BasicAuthSecurity(role, PASSWORDS[role]));
  return c;
}

t.before(async () => {
  svc = await startService();
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=WSDL Root', '-addext', 'basicConstraints=critical,CA:TRUE']);
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.pem', '-days', '30', '-subj', '/O=certd/CN=wsdl.example']);
});
t.after(async () => {
  await svc.stop();
});

const der64 = (file: string) => sh(['x509', '-in', file, '-outform', 'DER']).toString('base64');

t('LoadCACertificates and LoadCertificateWithPrivateKey as the WSDL frames them; GetCACertificates and GetCertificates parse, and openssl reads the DER back', async () => {
  const admin = await client('admin');
  await admin.LoadCACertificatesAsync({ CACertificate: [{ CertificateID: 'wsdl root', Certificate: { Data: der64('ca.pem') } }] });
  const key = sh(['pkcs8', '-topk8', '-nocrypt', '-in', 'leaf.key', '-outform', 'DER']).toString('base64');
  await admin.LoadCertificateWithPrivateKeyAsync({ CertificateWithPrivateKey: [{ CertificateID: 'wsdl leaf', Certificate: { Data: der64('leaf.pem') }, PrivateKey: { Data: key } }] });

  const viewer = await client('viewer');
  const [cas] = await viewer.GetCACertificatesAsync({});
  const ca = [cas.CACertificate].flat()[0];
  assert.is(ca.CertificateID, 'wsdl root');
  const pem = `-----BEGIN CERTIFICATE-----\n${ca.Certificate.Data}\n-----END CERTIFICATE-----\n`;
  assert.match(sh(['x509', '-noout', '-subject'], pem).toString(), 'WSDL Root');
  const [leaves] = await viewer.GetCertificatesAsync({});
  const leaf = [leaves.NvtCertificate].flat()[0];
  assert.is(leaf.CertificateID, 'wsdl leaf');
  assert.is(leaf.Certificate.Data, der64('leaf.pem'));
  assert.is((await svc.as('viewer').get(`${API}/certificates/wsdl%20leaf`)).status, 200, 'cert.v1 sees the entry');
});

t('GetCertificateInformation and GetCertificatesStatus parse against the schema', async () => {
  const viewer = await client('viewer');
  const [info] = await viewer.GetCertificateInformationAsync({ CertificateID: 'wsdl leaf' });
  const i = info.CertificateInformation;
  assert.is(i.CertificateID, 'wsdl leaf');
  assert.is(i.SubjectDN, 'O=certd,CN=wsdl.example');
  assert.is(Number(i.KeyLength), 256);
  const serial = sh(['x509', '-in', 'leaf.pem', '-noout', '-serial']).toString().split('=')[1]!.trim().replace(/^(00)+/, '');
  assert.is(i.SerialNum, serial);
  const [status] = await viewer.GetCertificatesStatusAsync({});
  assert.equal([status.CertificateStatus].flat().map((s: any) => [s.CertificateID, String(s.Status)]), [['wsdl leaf', 'false']]);
});

t('DeleteCertificates; a viewer\'s change is a fault the client raises', async () => {
  const viewer = await client('viewer');
  let fault: any;
  await viewer.DeleteCertificatesAsync({ CertificateID: ['wsdl root'] }).catch((e: any) => { fault = e; });
  assert.ok(fault, 'refused');
  assert.is(fault.response.status, 400);
  assert.match(String(fault.body), 'ter:NotAuthorized');
  const admin = await client('admin');
  await admin.DeleteCertificatesAsync({ CertificateID: ['wsdl root', 'wsdl leaf'] });
  const [left] = await viewer.GetCertificatesAsync({});
  assert.is(left?.NvtCertificate, undefined);
});

t.run();
