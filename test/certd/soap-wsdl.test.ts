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
import { csrVerifies } from './ca';
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

t('CreateCertificate, GetPkcs10Request (openssl verifies the CSR), SetCertificatesStatus, Set/GetClientCertificateMode, Set/Get/Create/DeleteDot1XConfiguration, GetServiceCapabilities', async () => {
  const admin = await client('admin');
  const [made] = await admin.CreateCertificateAsync({ CertificateID: 'wsdl made', Subject: 'CN=made.example', ValidNotBefore: '2026-01-01T00:00:00Z', ValidNotAfter: '2031-01-01T00:00:00Z' });
  assert.is(made.NvtCertificate.CertificateID, 'wsdl made');
  const pem = `-----BEGIN CERTIFICATE-----\n${made.NvtCertificate.Certificate.Data}\n-----END CERTIFICATE-----\n`;
  assert.match(sh(['x509', '-noout', '-subject', '-enddate'], pem).toString(), /made\.example[\s\S]*Jan  1 00:00:00 2031 GMT/);
  const [csr] = await admin.GetPkcs10RequestAsync({ CertificateID: 'wsdl made', Subject: 'CN=renamed.example' });
  const csrPem = `-----BEGIN CERTIFICATE REQUEST-----\n${csr.Pkcs10Request.Data}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.ok(csrVerifies(csrPem));
  assert.match(sh(['req', '-noout', '-subject'], csrPem).toString(), 'renamed.example');
  await admin.SetCertificatesStatusAsync({ CertificateStatus: [{ CertificateID: 'wsdl made', Status: true }] });
  const [status] = await admin.GetCertificatesStatusAsync({});
  assert.equal([status.CertificateStatus].flat().filter((s: any) => String(s.Status) === 'true').map((s: any) => s.CertificateID), ['wsdl made']);
  await admin.SetClientCertificateModeAsync({ Enabled: true });
  assert.is(String((await admin.GetClientCertificateModeAsync({}))[0].Enabled), 'true');
  await admin.SetDot1XConfigurationAsync({ Dot1XConfiguration: { Dot1XConfigurationToken: 'EAPTLS_WIRED', Identity: 'cam-7', EAPMethod: 13, CACertificateID: ['wsdl root'], EAPMethodConfiguration: { TLSConfiguration: { CertificateID: 'made.example' } } } });
  const [dot1x] = await admin.GetDot1XConfigurationAsync({ Dot1XConfigurationToken: 'EAPTLS_WIRED' });
  assert.is(dot1x.Dot1XConfiguration.Identity, 'cam-7');
  assert.is(dot1x.Dot1XConfiguration.EAPMethodConfiguration.TLSConfiguration.CertificateID, 'wsdl made', 'named by its CN, answered by its ID');
  assert.equal([dot1x.Dot1XConfiguration.CACertificateID].flat(), ['wsdl root']);
  const [caps] = await admin.GetServiceCapabilitiesAsync({});
  const sec = caps.Capabilities.Security.attributes;
  assert.equal([sec.OnboardKeyGeneration, sec.Dot1X, sec['TLS1.2'], sec.HttpDigest, sec.UsernameToken].map(String), ['true', 'true', 'true', 'true', 'true']);
  await admin.DeleteDot1XConfigurationAsync({ Dot1XConfigurationToken: ['EAPTLS_WIRED'] });
  const [none] = await admin.GetDot1XConfigurationsAsync({});
  assert.is(none?.Dot1XConfiguration, undefined, 'deleted');
  assert.is((await svc.as('viewer').get('/certd/v1/bindings/dot1x')).json.data.certificate, null, 'the dot1x binding holds no certificate');
  const config = { Dot1XConfigurationToken: 'EAPTLS_WIRED', Identity: 'cam-8', EAPMethod: 13, CACertificateID: ['wsdl root'], EAPMethodConfiguration: { TLSConfiguration: { CertificateID: 'wsdl made' } } };
  await admin.CreateDot1XConfigurationAsync({ Dot1XConfiguration: config });
  let again: any;
  await admin.CreateDot1XConfigurationAsync({ Dot1XConfiguration: config }).catch((e: any) => { again = e; });
  assert.match(String(again?.body), 'ter:ReferenceToken', 'a second create is refused');
  await admin.DeleteDot1XConfigurationAsync({ Dot1XConfigurationToken: ['EAPTLS_WIRED'] });
  // The https binding the rest of this suite would trip over goes again.
  assert.is((await svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: null } })).status, 200);
});

t('DeleteCertificates; a viewer\'s change is a fault the client raises', async () => {
  const viewer = await client('viewer');
  let fault: any;
  await viewer.DeleteCertificatesAsync({ CertificateID: ['wsdl root'] }).catch((e: any) => { fault = e; });
  assert.ok(fault, 'refused');
  assert.is(fault.response.status, 400);
  assert.match(String(fault.body), 'ter:NotAuthorized');
  const admin = await client('admin');
  await admin.DeleteCertificatesAsync({ CertificateID: ['wsdl root', 'wsdl leaf', 'wsdl made'] });
  const [left] = await viewer.GetCertificatesAsync({});
  assert.is(left?.NvtCertificate, undefined);
});

t.run();
