// The SOAP front-end at /vapix/services against the real daemons: the recorded requests
// (Axis 5.55's WS-Security ones, the Keyfactor and Axis-documentation bodies) answered with
// the recorded prefixes and namespaces, the recorded faults byte for byte, the content
// types real clients send, refusals of hostile XML (XXE, billion laughs, deep nesting,
// oversize) that change and read nothing, and the one store seen from SOAP and cert.v1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StateProbe } from './material';
import { API, startService, type Service } from './service';
import { csrVerifies, makeCa } from './ca';
import { axisEnvelope, bodyOf, faultCodes, nodeRed, recorded, rootNamespaces, soapPost, texts } from './soap-client';

const t = suite('SOAP /vapix/services');
let svc: Service;
let probe: StateProbe;
const dir = mkdtempSync(join(tmpdir(), 'certd-soap-'));
const sh = (args: string[], input?: string) => execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] });
const text = (name: string) => readFileSync(join(dir, name), 'utf8');
const der64 = (name: string) => sh(['x509', '-in', name, '-outform', 'DER']).toString('base64');
/** The PEM body with its armour removed and newlines kept, as pandosme sends it. */
const pemBody = (name: string) => text(name).replace(/-----[A-Z ]+-----/g, '').trim();

function selfSigned(name: string, subject: string, ca = false): void {
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', subject,
    ...(ca ? ['-addext', 'basicConstraints=critical,CA:TRUE'] : [])]);
}

const loadCa = (items: [id: string, data: string][]) => axisEnvelope(`<tds:LoadCACertificates xmlns="http://www.onvif.org/ver10/device/wsdl">${
  items.map(([id, data]) => `<CACertificate><tt:CertificateID>${id}</tt:CertificateID><tt:Certificate><tt:Data>${data}</tt:Data></tt:Certificate></CACertificate>`).join('')
}</tds:LoadCACertificates>`);
const deleteCerts = (ids: string[]) => axisEnvelope(`<tds:DeleteCertificates xmlns="http://www.onvif.org/ver10/device/wsdl">${ids.map((i) => `<CertificateID>${i}</CertificateID>`).join('')}</tds:DeleteCertificates>`);
const getInfo = (id: string) => axisEnvelope(`<tds:GetCertificateInformation><tds:CertificateID>${id}</tds:CertificateID></tds:GetCertificateInformation>`);

/** A fault's HTTP status and Code/Subcode values, and that the state did not change. */
async function refused(body: string, status: number, codes: string[], role: 'admin' | 'viewer' = 'admin', contentType?: string | null) {
  const before = await probe.read();
  const r = await soapPost(svc, role, body, contentType);
  assert.is(r.status, status, r.text);
  assert.equal(faultCodes(r.text), codes, r.text);
  assert.is(r.headers['content-type'], 'application/soap+xml; charset=utf-8');
  assert.equal(await probe.read(), before, 'nothing changed');
  return r;
}

t.before(async () => {
  svc = await startService();
  probe = new StateProbe(svc);
  selfSigned('ca1', '/CN=SOAP Root One', true);
  selfSigned('ca2', '/CN=SOAP Root Two', true);
  selfSigned('web', '/C=SE/O=Axis/CN=cam1.example');
});
t.after(async () => {
  probe.close();
  await svc.stop();
});

t('the 5.55 recorded GetCertificates request (WS-Security header, s: prefix) is answered as the 5.55 device answered an empty store', async () => {
  const r = await soapPost(svc, 'viewer', recorded('axis-5.55/GetCertificates.Request.xml'));
  assert.is(r.status, 200, r.text);
  assert.is(r.headers['content-type'], 'application/soap+xml; charset=utf-8');
  assert.is(bodyOf(r.text), '<tds:GetCertificatesResponse></tds:GetCertificatesResponse>');
});

t('every answer declares its namespaces on SOAP-ENV:Envelope with the URIs the devices declare, and nowhere else', async () => {
  const device = rootNamespaces(recorded('axis-12.11/soap-onvif-GetCertificates.ELIDED.xml'));
  const r = await soapPost(svc, 'viewer', recorded('axis-5.55/GetCACertificates.Request.xml'));
  assert.is(r.status, 200, r.text);
  const ours = rootNamespaces(r.text);
  for (const p of ['SOAP-ENV', 'tds', 'tt', 'acert', 'acertificates', 'aweb', 'ter', 'xmime']) assert.is(ours.get(p), device.get(p), p);
  for (const [p, uri] of ours) assert.is(uri, device.get(p), `${p} as the device declares it`);
  assert.is(r.text.split('xmlns').length - 1, ours.size, 'no declaration below the Envelope');
  assert.not.match(r.text, /<SOAP-ENV:Header/, '12.11 answers carry no Header');
});

t('content types real clients send, and none at all, are answered; SOAPAction is not needed; JSON is a Sender fault', async () => {
  const body = axisEnvelope('<tds:GetCertificates xmlns="http://www.onvif.org/ver10/device/wsdl" />');
  for (const type of ['application/xml', 'text/xml;charset=UTF-8', 'application/soap+xml; charset=utf-8; action="http://www.onvif.org/ver10/device/wsdl/GetCertificates"', null]) {
    const r = await soapPost(svc, 'viewer', body, type);
    assert.is(r.status, 200, `${type}: ${r.text}`);
    assert.match(r.text, '<tds:GetCertificatesResponse>');
  }
  await refused(body, 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal'], 'viewer', 'application/json');
});

t('an operation the Axis certificate service lacks gets the 12.11 fault, byte for byte', async () => {
  const r = await soapPost(svc, 'viewer', axisEnvelope('<acertificates:GetCACertificates/>'));
  assert.is(r.status, 500);
  assert.is(bodyOf(r.text), bodyOf(recorded('axis-12.11/soap-acertificates-GetCACertificates-fault.xml')));
});

t('GetClientCertificateMode answers as the 5.55 device did; an operation not built gets ActionNotSupported, not a made-up answer', async () => {
  const mode = await soapPost(svc, 'viewer', recorded('axis-5.55/GetClientCertificateMode.Request.xml'));
  assert.is(mode.status, 200, mode.text);
  assert.is(bodyOf(mode.text), '<tds:GetClientCertificateModeResponse><tds:Enabled>false</tds:Enabled></tds:GetClientCertificateModeResponse>');
  const r = await soapPost(svc, 'viewer', axisEnvelope('<tds:GetSystemDateAndTime/>'));
  assert.is(r.status, 500);
  assert.equal(faultCodes(r.text), ['SOAP-ENV:Receiver', 'ter:ActionNotSupported']);
});

t('no credentials: HTTP 401 with the Digest challenges and the recorded NotAuthorized fault; the recorded (stale) UsernameToken: 400, the same fault', async () => {
  const stale = await soapPost(svc, null, recorded('axis-5.55/GetCertificates.Request.xml'));
  assert.is(stale.status, 400);
  assert.equal(faultCodes(stale.text), ['SOAP-ENV:Sender', 'ter:NotAuthorized']);
  assert.ok((stale.headers['www-authenticate'] as string[]).some((c) => c.startsWith('Digest ')), 'Digest offered as the way in');
  const r = await soapPost(svc, null, recorded('axis-5.55/GetCertificates.Request.xml').replace(/<wsse:Security[\s\S]*<\/wsse:Security>/, ''));
  assert.is(r.status, 401);
  assert.ok((r.headers['www-authenticate'] as string[]).some((c) => c.startsWith('Digest ')));
  assert.equal(faultCodes(r.text), ['SOAP-ENV:Sender', 'ter:NotAuthorized']);
  assert.is(texts(r.text, 'SOAP-ENV:Text')[0], 'Sender not authorized');
});

t('LoadCACertificates takes base64 DER and a PEM body with newlines; the entries are cert.v1 CA entries of the same alias', async () => {
  const r = await soapPost(svc, 'admin', loadCa([['soap root 1', der64('ca1.pem')], ['soap root 2', pemBody('ca2.pem')]]));
  assert.is(r.status, 200, r.text);
  assert.is(bodyOf(r.text), '<tds:LoadCACertificatesResponse></tds:LoadCACertificatesResponse>');
  for (const [alias, file] of [['soap root 1', 'ca1.pem'], ['soap root 2', 'ca2.pem']]) {
    const v1 = await svc.as('viewer').get(`${API}/ca_certificates/${encodeURIComponent(alias!)}`);
    assert.is(v1.status, 200, alias);
    assert.is(v1.json.data.certificate.trim(), text(file!).trim());
  }
  const list = await soapPost(svc, 'viewer', recorded('axis-5.55/GetCACertificates.Request.xml'));
  assert.equal(texts(list.text, 'tt:CertificateID'), ['soap root 1', 'soap root 2']);
  assert.equal(texts(list.text, 'tt:Data'), [der64('ca1.pem'), der64('ca2.pem')], 'single-line base64 DER, as openssl writes it');
});

t('LoadCACertificates is all or nothing: garbage, an ID in use or a missing ID refuses the batch', async () => {
  await refused(loadCa([['fresh one', der64('ca1.pem')], ['fresh two', 'bm90IGEgY2VydGlmaWNhdGU=']]), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:BadCertificate']);
  await refused(loadCa([['fresh one', der64('ca1.pem')], ['fresh two', '%%%']]), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:BadCertificate']);
  await refused(loadCa([['fresh one', der64('ca1.pem')], ['soap root 1', der64('ca2.pem')]]), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID']);
  await refused(loadCa([['', der64('ca1.pem')]]), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID']);
  await refused(axisEnvelope('<tds:LoadCACertificates/>'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CACertificate']);
});

t('a viewer may read but not change: Sender / ter:NotAuthorized, nothing changed', async () => {
  await refused(deleteCerts(['soap root 1']), 400, ['SOAP-ENV:Sender', 'ter:NotAuthorized'], 'viewer');
  await refused(loadCa([['by viewer', der64('ca1.pem')]]), 400, ['SOAP-ENV:Sender', 'ter:NotAuthorized'], 'viewer');
});

t('an entry made over cert.v1 is listed by GetCertificates and described by GetCertificateInformation (with the Axis PEM extension)', async () => {
  const made = await svc.as('admin').post(`${API}/certificates`, { alias: 'web cert', certificate: text('web.pem'), private_key: text('web.key') });
  assert.is(made.status, 201, made.text);
  const list = await soapPost(svc, 'viewer', recorded('axis-5.55/GetCertificates.Request.xml'));
  assert.equal(texts(list.text, 'tt:CertificateID'), ['web cert']);
  assert.equal(texts(list.text, 'tt:Data'), [der64('web.pem')]);
  const info = await soapPost(svc, 'viewer', getInfo('web cert'));
  assert.is(info.status, 200, info.text);
  const subject = sh(['x509', '-in', 'web.pem', '-noout', '-subject', '-nameopt', 'RFC2253']).toString().replace(/^subject=/, '').trim();
  // RFC 2253 prints the RDNs last-first; certd writes them in DER order.
  assert.is(texts(info.text, 'tt:SubjectDN')[0], subject.split(',').reverse().join(','));
  assert.is(texts(info.text, 'tt:KeyLength')[0], '256');
  const serial = sh(['x509', '-in', 'web.pem', '-noout', '-serial']).toString().split('=')[1]!.trim().replace(/^(00)+/, '');
  assert.is(texts(info.text, 'tt:SerialNum')[0], serial);
  assert.is(texts(info.text, 'acert:CertificatePEM')[0]!.trim(), text('web.pem').trim());
  assert.match(info.text, /<tt:Extension><acert:CertificateInformationExtension><acert:CertificatePEM>/);
  await refused(getInfo('no such'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID'], 'viewer');
  await refused(axisEnvelope('<tds:GetCertificateInformation/>'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID'], 'viewer');
});

t('the https binding is the enabled certificate (GetCertificatesStatus) and the web server set (GetWebServerTlsConfiguration, the Keyfactor request)', async () => {
  assert.is((await svc.as('admin').call('PUT', '/certd/v1/bindings/https', { data: { certificate: 'web cert', ca: ['soap root 1'] } })).status, 200);
  const status = await soapPost(svc, 'viewer', recorded('axis-5.55/GetCertificatesStatus.Request.xml'));
  assert.equal(texts(status.text, 'tt:CertificateID'), ['web cert']);
  assert.equal(texts(status.text, 'tt:Status'), ['true']);
  const web = await soapPost(svc, 'viewer', recorded('client-requests/GetHttpsBinding.xml'), 'application/xml');
  assert.is(web.status, 200, web.text);
  assert.equal(texts(web.text, 'acert:Id'), ['web cert', 'soap root 1'], 'Keyfactor reads GetElementsByTagName("acert:Id")');
  assert.match(web.text, '<aweb:Configuration name="WebServer"><aweb:Tls>true</aweb:Tls>');
  assert.match(web.text, '<acert:TrustedCertificates></acert:TrustedCertificates>', 'empty lists as open/close pairs');
});

t('a bound entry refuses DeleteCertificates (ter:ReferenceExists) and cert.v1 DELETE alike; the batch deletes nothing', async () => {
  await refused(deleteCerts(['soap root 2', 'web cert']), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:ReferenceExists']);
  assert.is((await svc.as('admin').del(`${API}/certificates/web%20cert`)).status, 409);
  await refused(deleteCerts(['soap root 2', 'no such']), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID']);
  await refused(deleteCerts([]), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID']);
});

t('DeleteCertificates deletes several entries at once, as cert.v1 then sees', async () => {
  const r = await soapPost(svc, 'admin', recorded('axis-5.55/GetCertificates.Request.xml').replace('<tds:GetCertificates/>', '<tds:DeleteCertificates><tds:CertificateID>soap root 2</tds:CertificateID></tds:DeleteCertificates>'));
  assert.is(r.status, 200, r.text);
  assert.is((await svc.as('viewer').get(`${API}/ca_certificates/soap%20root%202`)).status, 404);
});

const loadWithKey = (id: string, cert: string, key: string) => axisEnvelope('<tds:LoadCertificateWithPrivateKey xmlns="http://www.onvif.org/ver10/device/wsdl"><CertificateWithPrivateKey>'
  + `<tt:CertificateID>${id}</tt:CertificateID>\n<tt:Certificate>\n<tt:Data>\n${cert}\n</tt:Data>\n</tt:Certificate>\n<tt:PrivateKey>\n<tt:Data>\n${key}\n</tt:Data>\n</tt:PrivateKey>\n`
  + '</CertificateWithPrivateKey></tds:LoadCertificateWithPrivateKey>');

t('LoadCertificateWithPrivateKey as pandosme sends it: PEM bodies with newlines; keys PKCS#8, PKCS#1 or SEC1 DER without a header; cert.v1 sees the entry', async () => {
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rsa.key', '-out', 'rsa.pem', '-days', '30', '-subj', '/CN=rsa.example']);
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rsa2.key', '-out', 'rsa2.pem', '-days', '30', '-subj', '/CN=rsa2.example']);
  sh(['rsa', '-in', 'rsa2.key', '-traditional', '-outform', 'DER', '-out', 'rsa1.der']);
  sh(['ec', '-in', 'web.key', '-outform', 'DER', '-out', 'sec1.der']);
  const cases: [string, string, string][] = [
    ['pkcs8 rsa', pemBody('rsa.pem'), pemBody('rsa.key')],
    ['pkcs1 rsa', der64('rsa2.pem'), readFileSync(join(dir, 'rsa1.der')).toString('base64')],
    ['sec1 ec', der64('web.pem'), readFileSync(join(dir, 'sec1.der')).toString('base64')],
  ];
  for (const [id, cert, key] of cases) {
    const r = await soapPost(svc, 'admin', loadWithKey(id, cert, key), null);
    assert.is(r.status, 200, `${id}: ${r.text}`);
    assert.is(bodyOf(r.text), '<tds:LoadCertificateWithPrivateKeyResponse></tds:LoadCertificateWithPrivateKeyResponse>');
    const v1 = await svc.as('viewer').get(`${API}/certificates/${encodeURIComponent(id)}`);
    assert.is(v1.status, 200, id);
  }
  await refused(loadWithKey('mismatch', der64('web.pem'), pemBody('rsa.key')), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:NoMatchingPrivateKey']);
  await refused(loadWithKey('garbage key', der64('web.pem'), 'AAAA'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:BadPrivateKey']);
  await refused(loadWithKey('sec1 ec', der64('web.pem'), readFileSync(join(dir, 'sec1.der')).toString('base64')), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID']);
});

t('Keyfactor SetHttpsBinding: the https binding takes the certificate, ciphers and policy; GetWebServerTlsConfiguration reads them back', async () => {
  const r = await soapPost(svc, 'admin', recorded('client-requests/SetHttpsBinding.xml').replace('{ALIAS}', 'sec1 ec'), 'application/xml');
  assert.is(r.status, 200, r.text);
  const b = (await svc.as('viewer').get('/certd/v1/bindings/https')).json.data;
  assert.is(b.certificate.alias, 'sec1 ec');
  assert.equal(b.ca, []);
  const web = await soapPost(svc, 'viewer', recorded('client-requests/GetHttpsBinding.xml'), 'application/xml');
  assert.equal(texts(web.text, 'acert:Id'), ['sec1 ec']);
  assert.equal(texts(web.text, 'aweb:Admin'), ['Https']);
  assert.is(texts(web.text, 'acert:Cipher').length, 8);
  await refused(recorded('client-requests/SetHttpsBinding.xml').replace('{ALIAS}', 'no such'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID']);
  await refused(recorded('client-requests/SetHttpsBinding.xml').replace('{ALIAS}', 'sec1 ec').replace('<aweb:Admin>Https', '<aweb:Admin>Sometimes'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:ConnectionPolicies']);
});

t('Keyfactor SetIEEEBinding names the certificate by its subject CN and no CA: refused until the device has a network CA, then taken unchanged keeping it; GetIEEEBinding answers the alias; CACertificateID after EAPMethodConfiguration is taken', async () => {
  // The recorded request names no CA; a dot1x binding without one is refused (the supplicant
  // would trust any server), so on a device with no network CA set it is refused with why.
  const keyfactor = recorded('client-requests/SetIEEEBinding.xml').replace('{ALIAS}', 'rsa.example');
  await refused(keyfactor, 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:BadCertificate']);
  const pandosme = axisEnvelope('<tds:SetDot1XConfiguration xmlns="http://www.onvif.org/ver10/device/wsdl"><Dot1XConfiguration><tt:Dot1XConfigurationToken>EAPTLS_WIRED</tt:Dot1XConfigurationToken><tt:Identity>cam1</tt:Identity><tt:EAPMethod>13</tt:EAPMethod>'
    + '<tt:EAPMethodConfiguration><tt:TLSConfiguration><tt:CertificateID>sec1 ec</tt:CertificateID></tt:TLSConfiguration></tt:EAPMethodConfiguration><tt:CACertificateID>soap root 1</tt:CACertificateID></Dot1XConfiguration></tds:SetDot1XConfiguration>');
  assert.is((await soapPost(svc, 'admin', pandosme)).status, 200);
  let b = (await svc.as('viewer').get('/certd/v1/bindings/dot1x')).json.data;
  assert.is(b.certificate.alias, 'sec1 ec');
  assert.equal(b.ca.map((c: { alias: string }) => c.alias), ['soap root 1']);
  assert.equal(b.settings, { eap_method: 'EAP-TLS', identity: 'cam1' });
  // the network CA is set: Keyfactor's request, unchanged, moves the certificate and keeps it
  const r = await soapPost(svc, 'admin', keyfactor, 'application/xml');
  assert.is(r.status, 200, r.text);
  b = (await svc.as('viewer').get('/certd/v1/bindings/dot1x')).json.data;
  assert.is(b.certificate.alias, 'pkcs8 rsa');
  assert.equal(b.ca.map((c: { alias: string }) => c.alias), ['soap root 1']);
  const get = await soapPost(svc, 'viewer', recorded('client-requests/GetIEEEBinding.xml'), 'application/xml');
  assert.is(get.status, 200, get.text);
  assert.equal(texts(get.text, 'tt:CertificateID'), ['pkcs8 rsa']);
  assert.equal(texts(get.text, 'tt:Identity'), ['identity']);
  assert.equal(texts(get.text, 'tt:CACertificateID'), ['soap root 1']);
  await refused(pandosme.replace('<tt:EAPMethod>13', '<tt:EAPMethod>25'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:EAPMethodNotSupported']);
});

/** openssl's reading of a bare base64 DER certificate or CSR. */
const opensslText = (kind: 'x509' | 'req', b64: string) => {
  const label = kind === 'x509' ? 'CERTIFICATE' : 'CERTIFICATE REQUEST';
  return sh([kind, '-noout', '-subject', ...(kind === 'x509' ? ['-dates'] : []), '-nameopt', 'RFC2253'], `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`).toString();
};

t('node-red CreateCertificate2 (dates without a zone are UTC) answers bare base64 DER; GetPkcs10Request2 a CSR openssl verifies; cert.v1 sees the entry', async () => {
  const r = await soapPost(svc, 'admin', nodeRed('acertificates:CreateCertificate2'), null);
  assert.is(r.status, 200, r.text);
  assert.equal(texts(r.text, 'acertificates:Id'), ['CSR_2026-11-29T14:05:19']);
  const cert = opensslText('x509', texts(r.text, 'acertificates:Certificate')[0]!);
  assert.match(cert, 'subject=CN=cam1.local,OU=Lab,O=Test,L=Lund,ST=Skane,C=SE');
  assert.match(cert, 'notBefore=Nov 29 14:05:19 2026 GMT');
  assert.match(cert, 'notAfter=Nov 29 14:05:19 2027 GMT');
  assert.is((await svc.as('viewer').get(`${API}/certificates/CSR_2026-11-29T14%3A05%3A19`)).status, 200);
  const csr = await soapPost(svc, 'viewer', nodeRed('acertificates:GetPkcs10Request2'), null);
  assert.is(csr.status, 200, csr.text);
  const b64 = texts(csr.text, 'acertificates:Pkcs10Request')[0]!;
  assert.match(b64, /^[A-Za-z0-9+/]+=*$/, 'bare base64, no armour');
  assert.ok(csrVerifies(`-----BEGIN CERTIFICATE REQUEST-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`));
  assert.match(opensslText('req', b64), 'CN=cam1.local');
  const again = await soapPost(svc, 'admin', nodeRed('acertificates:CreateCertificate2'), null);
  assert.equal(faultCodes(again.text), ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID'], 'an Id in use');
  await refused(nodeRed('acertificates:CreateCertificate2').replace('CSR_2026', 'X_2026').replace('2026-11-29T14:05:19</acertificates:ValidNotBefore>', 'yesterday</acertificates:ValidNotBefore>'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:ValidNotBefore']);
});

t('tds CreateCertificate and GetPkcs10Request; SetCertificatesStatus moves the https binding', async () => {
  const r = await soapPost(svc, 'admin', axisEnvelope('<tds:CreateCertificate><tds:CertificateID>onvif made</tds:CertificateID><tds:Subject>CN=onvif.example</tds:Subject><tds:ValidNotBefore>2026-01-01T00:00:00Z</tds:ValidNotBefore><tds:ValidNotAfter>2030-01-01T00:00:00Z</tds:ValidNotAfter></tds:CreateCertificate>'));
  assert.is(r.status, 200, r.text);
  assert.equal(texts(r.text, 'tt:CertificateID'), ['onvif made']);
  assert.match(opensslText('x509', texts(r.text, 'tt:Data')[0]!), 'notAfter=Jan  1 00:00:00 2030 GMT');
  const csr = await soapPost(svc, 'viewer', axisEnvelope('<tds:GetPkcs10Request><tds:CertificateID>onvif made</tds:CertificateID></tds:GetPkcs10Request>'));
  assert.is(csr.status, 200, csr.text);
  assert.match(opensslText('req', texts(csr.text, 'tt:Data')[0]!), 'CN=onvif.example');
  const set = await soapPost(svc, 'admin', axisEnvelope('<tds:SetCertificatesStatus><tds:CertificateStatus><tt:CertificateID>onvif made</tt:CertificateID><tt:Status>true</tt:Status></tds:CertificateStatus></tds:SetCertificatesStatus>'));
  assert.is(set.status, 200, set.text);
  assert.is((await svc.as('viewer').get('/certd/v1/bindings/https')).json.data.certificate.alias, 'onvif made');
  const status = await soapPost(svc, 'viewer', recorded('axis-5.55/GetCertificatesStatus.Request.xml'));
  const on = texts(status.text, 'tt:Status').map((s, i) => [texts(status.text, 'tt:CertificateID')[i], s]).filter(([, s]) => s === 'true');
  assert.equal(on, [['onvif made', 'true']]);
  await refused(axisEnvelope('<tds:SetCertificatesStatus><tds:CertificateStatus><tt:CertificateID>onvif made</tt:CertificateID><tt:Status>true</tt:Status></tds:CertificateStatus><tds:CertificateStatus><tt:CertificateID>sec1 ec</tt:CertificateID><tt:Status>true</tt:Status></tds:CertificateStatus></tds:SetCertificatesStatus>'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:CertificateID']);
});

t('certificate sets and the web server configuration, made over SOAP with the recorded aliases, read back byte for byte as 12.11 answered them', async () => {
  const empty = await soapPost(svc, 'viewer', axisEnvelope('<acertificates:GetCertSet><acertificates:CertSetName>EAPPEAP_MSCHAPV2_WIRED</acertificates:CertSetName></acertificates:GetCertSet>'));
  assert.is(bodyOf(empty.text), bodyOf(recorded('axis-12.11/soap-acertificates-GetCertSet-EAPPEAP_MSCHAPV2_WIRED.xml')).replace(/^<\?xml[^>]*>\n?/, ''));
  assert.is((await soapPost(svc, 'admin', loadCa([['Axis device ID Root CA ECC', der64('ca1.pem')], ['Axis device ID Root CA RSA', der64('ca2.pem')]]))).status, 200);
  for (const id of ['Axis device ID ECC-P256 (802.1AR)', 'Trustlix Device HTTPS lUZuIXuu']) {
    const made = await soapPost(svc, 'admin', axisEnvelope(`<acertificates:CreateCertificate2><acertificates:Id>${id}</acertificates:Id><acertificates:Subject><acert:CN>cam</acert:CN></acertificates:Subject></acertificates:CreateCertificate2>`));
    assert.is(made.status, 200, made.text);
  }
  const set = await soapPost(svc, 'admin', axisEnvelope('<acertificates:SetCertSet><acertificates:CertSetName>EAPTLS_WIRED_SERVER</acertificates:CertSetName><acertificates:CertSet>'
    + '<acert:Certificates><acert:Id>Axis device ID ECC-P256 (802.1AR)</acert:Id></acert:Certificates><acert:CACertificates><acert:Id>Axis device ID Root CA ECC</acert:Id><acert:Id>Axis device ID Root CA RSA</acert:Id></acert:CACertificates><acert:TrustedCertificates/></acertificates:CertSet></acertificates:SetCertSet>'));
  assert.is(set.status, 200, set.text);
  const got = await soapPost(svc, 'viewer', axisEnvelope('<acertificates:GetCertSet><acertificates:CertSetName>EAPTLS_WIRED_SERVER</acertificates:CertSetName></acertificates:GetCertSet>'));
  assert.is(bodyOf(got.text), bodyOf(recorded('axis-12.11/soap-acertificates-GetCertSet-EAPTLS_WIRED_SERVER.xml')).replace(/^<\?xml[^>]*>\n?/, ''));
  const six = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'];
  const web = recorded('client-requests/SetHttpsBinding.xml').replace('{ALIAS}', 'Trustlix Device HTTPS lUZuIXuu').replace('<aweb:Admin>Https', '<aweb:Admin>HttpAndHttps')
    .replace(/<aweb:Ciphers>[\s\S]*<\/aweb:Ciphers>/, `<aweb:Ciphers>${six.map((c) => `<acert:Cipher>${c}</acert:Cipher>`).join('')}</aweb:Ciphers>`);
  assert.is((await soapPost(svc, 'admin', web)).status, 200);
  const read = await soapPost(svc, 'viewer', recorded('client-requests/GetHttpsBinding.xml'));
  assert.is(bodyOf(read.text), bodyOf(recorded('axis-12.11/soap-GetWebServerTlsConfiguration.xml')).replace(/^<\?xml[^>]*>\n?/, ''));
  // ListCertSets: the firmware's names once each (EAPTLS_WIRED_SERVER made above is one of
  // them), then a set of certd's own made here; every name answers GetCertSet.
  assert.is((await soapPost(svc, 'admin', axisEnvelope('<acertificates:SetCertSet><acertificates:CertSetName>vms_client</acertificates:CertSetName><acertificates:CertSet>'
    + '<acert:Certificates/><acert:CACertificates><acert:Id>Axis device ID Root CA ECC</acert:Id></acert:CACertificates><acert:TrustedCertificates/></acertificates:CertSet></acertificates:SetCertSet>'))).status, 200);
  const list = await soapPost(svc, 'viewer', axisEnvelope('<acertificates:ListCertSets/>'));
  assert.is(list.status, 200, list.text);
  const names = texts(list.text, 'acertificates:CertSetName');
  assert.is(names.length, 18, names.join());
  assert.is(new Set(names).size, names.length);
  assert.equal([names[0], names[13], names[17]], ['EAPTLS_WIRED', 'WebServer', 'vms_client']);
  const mine = await soapPost(svc, 'viewer', axisEnvelope('<acertificates:GetCertSet><acertificates:CertSetName>vms_client</acertificates:CertSetName></acertificates:GetCertSet>'));
  assert.equal(texts(mine.text, 'acert:Id'), ['Axis device ID Root CA ECC']);
});

t('SetClientCertificateMode is the https binding\'s client_certificate', async () => {
  assert.is((await soapPost(svc, 'admin', axisEnvelope('<tds:SetClientCertificateMode><tds:Enabled>true</tds:Enabled></tds:SetClientCertificateMode>'))).status, 200);
  assert.is((await svc.as('viewer').get('/certd/v1/bindings/https')).json.data.settings.client_certificate, 'required');
  assert.equal(texts((await soapPost(svc, 'viewer', recorded('axis-5.55/GetClientCertificateMode.Request.xml'))).text, 'tds:Enabled'), ['true']);
  await refused(axisEnvelope('<tds:SetClientCertificateMode><tds:Enabled>maybe</tds:Enabled></tds:SetClientCertificateMode>'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:Enabled']);
});

t('LoadCertificates links a CA-signed certificate to the key of the entry with that ID, or of the one entry with its public key', async () => {
  const ca = makeCa('SOAP issuing CA');
  const csrOf = async (id: string) => {
    const r = await soapPost(svc, 'viewer', axisEnvelope(`<tds:GetPkcs10Request><tds:CertificateID>${id}</tds:CertificateID></tds:GetPkcs10Request>`));
    return `-----BEGIN CERTIFICATE REQUEST-----\n${texts(r.text, 'tt:Data')[0]!.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
  };
  const load = (id: string, pem: string) => axisEnvelope(`<tds:LoadCertificates xmlns="http://www.onvif.org/ver10/device/wsdl"><NVTCertificate><tt:CertificateID>${id}</tt:CertificateID><tt:Certificate><tt:Data>${pem.replace(/-----[A-Z ]+-----/g, '').trim()}</tt:Data></tt:Certificate></NVTCertificate></tds:LoadCertificates>`);
  const signed = ca.sign(await csrOf('onvif made'));
  assert.is((await soapPost(svc, 'admin', load('onvif made', signed))).status, 200);
  const v1 = await svc.as('viewer').get(`${API}/certificates/onvif%20made`);
  assert.is(v1.json.data.certificate.trim(), signed.trim());
  const other = ca.sign(await csrOf('CSR_2026-11-29T14:05:19'));
  assert.is((await soapPost(svc, 'admin', load('a name the device never gave', other))).status, 200);
  assert.is((await svc.as('viewer').get(`${API}/certificates/CSR_2026-11-29T14%3A05%3A19`)).json.data.certificate.trim(), other.trim());
  await refused(load('onvif made', text('web.pem')), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:NoMatchingPrivateKey']);
  await refused(load('nobody', text('ca1.pem')), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:NoMatchingPrivateKey']);
});

t('LoadCertificates with several certificates is one batch: all of them land, or a refused one leaves every entry as it was', async () => {
  const ca = makeCa('SOAP batch CA');
  const csrOf = async (id: string) => {
    const r = await soapPost(svc, 'viewer', axisEnvelope(`<tds:GetPkcs10Request><tds:CertificateID>${id}</tds:CertificateID></tds:GetPkcs10Request>`));
    return `-----BEGIN CERTIFICATE REQUEST-----\n${texts(r.text, 'tt:Data')[0]!.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
  };
  const item = (id: string, pem: string) => `<NVTCertificate><tt:CertificateID>${id}</tt:CertificateID><tt:Certificate><tt:Data>${pem.replace(/-----[A-Z ]+-----/g, '').trim()}</tt:Data></tt:Certificate></NVTCertificate>`;
  const load = (...items: string[]) => axisEnvelope(`<tds:LoadCertificates xmlns="http://www.onvif.org/ver10/device/wsdl">${items.join('')}</tds:LoadCertificates>`);
  const current = async (alias: string) => (await svc.as('viewer').get(`${API}/certificates/${encodeURIComponent(alias)}`)).json.data.certificate.trim() as string;
  for (const alias of ['batch one', 'batch two']) {
    assert.is((await soapPost(svc, 'admin', axisEnvelope(`<tds:CreateCertificate><tds:CertificateID>${alias}</tds:CertificateID><tds:Subject>CN=${alias}</tds:Subject></tds:CreateCertificate>`))).status, 200);
  }
  const before = [await current('batch one'), await current('batch two')];
  const one = ca.sign(await csrOf('batch one'));
  const two = ca.sign(await csrOf('batch two'));
  // The second does not fit its entry's key: neither changes.
  await refused(load(item('batch one', one), item('batch two', one)), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:NoMatchingPrivateKey']);
  assert.equal([await current('batch one'), await current('batch two')], before);
  // The same entry twice: refused, nothing changed.
  await refused(load(item('batch one', one), item('batch one', one)), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal']);
  assert.equal([await current('batch one'), await current('batch two')], before);
  const r = await soapPost(svc, 'admin', load(item('batch one', one), item('batch two', two)));
  assert.is(r.status, 200, r.text);
  assert.equal([await current('batch one'), await current('batch two')], [one.trim(), two.trim()]);
});

t('LoadPkcs12 as the Axis documentation writes it; a wrong password or garbage is refused without a trace of the password', async () => {
  sh(['pkcs12', '-export', '-inkey', 'web.key', '-in', 'web.pem', '-passout', 'pass:Pfx-Pass-5513', '-out', 'web.p12']);
  const p12 = readFileSync(join(dir, 'web.p12')).toString('base64');
  const load = (id: string, data: string, pass: string) => axisEnvelope(`<acertificates:LoadPkcs12 xmlns="http://www.axis.com/vapix/ws/certificates"><Pkcs12><acert:Id>${id}</acert:Id><acert:Certificate>${data}</acert:Certificate><acert:Password>${pass}</acert:Password></Pkcs12></acertificates:LoadPkcs12>`);
  const wrong = await refused(load('from pfx', p12, 'Wrong-Pass-9921'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:BadPassphrase']);
  assert.not.match(wrong.text, 'Wrong-Pass');
  await refused(load('from pfx', 'bm90IGEgcGtjczEy', 'Pfx-Pass-5513'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal', 'ter:BadPKCS12']);
  const r = await soapPost(svc, 'admin', load('from pfx', p12, 'Pfx-Pass-5513'));
  assert.is(r.status, 200, r.text);
  assert.is(bodyOf(r.text), '<acertificates:LoadPkcs12Response></acertificates:LoadPkcs12Response>');
  assert.is((await svc.as('viewer').get(`${API}/certificates/from%20pfx`)).json.data.certificate.trim(), text('web.pem').trim());
  const audit = (await svc.as('admin').get('/certd/v1/audit?limit=1000')).json.data as { api: string; user: string; operation: string; target: { alias?: string }; outcome: string }[];
  const mine = audit.filter((x) => x.target?.alias === 'from pfx');
  assert.ok(mine.length >= 2, 'refusals and the install are audited');
  assert.ok(mine.every((x) => x.api === 'soap' && x.user === 'admin'));
  assert.not.match(JSON.stringify(audit), 'Pass-');
  assert.not.match(svc.logs(), 'Pfx-Pass-5513');
  assert.not.match(svc.logs(), 'Wrong-Pass-9921');
});

t('XXE: an external entity is a Sender fault and its file is never read into the answer', async () => {
  const secret = join(dir, 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET-MARKER-5521');
  const xxe = `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://${secret}">]>${axisEnvelope('<tds:GetCertificateInformation><tds:CertificateID>&x;</tds:CertificateID></tds:GetCertificateInformation>')}`;
  const r = await refused(xxe, 400, ['SOAP-ENV:Sender', 'ter:WellFormed'], 'viewer');
  assert.not.match(r.text, 'TOP-SECRET');
  const undeclared = await refused(axisEnvelope('<tds:GetCertificateInformation><tds:CertificateID>&x;</tds:CertificateID></tds:GetCertificateInformation>'), 400, ['SOAP-ENV:Sender', 'ter:WellFormed'], 'viewer');
  assert.not.match(undeclared.text, 'TOP-SECRET');
});

t('billion laughs, deep nesting, malformed XML, a SOAP 1.1 envelope and an oversize body are refused', async () => {
  const lol = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    + axisEnvelope('<tds:GetCertificateInformation><tds:CertificateID>&c;</tds:CertificateID></tds:GetCertificateInformation>');
  await refused(lol, 400, ['SOAP-ENV:Sender', 'ter:WellFormed'], 'viewer');
  await refused(axisEnvelope(`${'<tds:x>'.repeat(5000)}${'</tds:x>'.repeat(5000)}`), 400, ['SOAP-ENV:Sender', 'ter:WellFormed'], 'viewer');
  await refused(axisEnvelope('<tds:GetCertificates>'), 400, ['SOAP-ENV:Sender', 'ter:WellFormed'], 'viewer');
  await refused('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetCertificates xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>', 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal'], 'viewer');
  await refused(axisEnvelope('<x:Foo xmlns:x="urn:nobody"/>'), 400, ['SOAP-ENV:Sender', 'ter:InvalidArgVal'], 'viewer');
  const big = axisEnvelope(`<tds:GetCertificates>${' '.repeat(1024 * 1024 + 10)}</tds:GetCertificates>`);
  const r = await soapPost(svc, 'viewer', big);
  assert.is(r.status, 413);
  assert.equal(faultCodes(r.text), ['SOAP-ENV:Sender', 'ter:InvalidArgVal']);
});

t.run();
