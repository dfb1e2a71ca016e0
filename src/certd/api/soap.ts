// POST /vapix/services, the SOAP 1.2 endpoint of Axis cameras (spec/soap-axis-facts.md),
// over the one store: CertificateID is the entry's alias, so an entry made here is the
// cert.v1 entry of that alias and the other way round. The operation is the Body's first
// element (namespace + local name); SOAPAction and action= are not needed. Child elements
// are looked up by name wherever they stand (real clients break the schema's order).
// Reads need the viewer role, changes admin; HTTP Digest or Basic authenticate (the App), or a
// WS-Security UsernameToken in the envelope's header (auth/wsse-scheme.ts; the App reads the
// body of a request without an Authorization header for it, credentialsInBody).
import { randomBytes } from 'node:crypto';
import type { App, Request, Response, Role } from '../http/app';
import type { BatchStep, Batches } from '../domain/batches';
import type { Bindings, BindingView } from '../domain/bindings';
import type { Certificates, EntryDetails } from '../domain/certificates';
import { DomainError } from '../domain/errors';
import type { EntryKind } from '../store/records';
import { derToPem } from '../../../wasm/pem';
import { escapeDnValue } from './dn';
import { CONTENT_TYPE, el, envelope, NS, textEl } from './soap-envelope';
import { actionNotSupported, faultResponse, notAuthorized, sender, soapErrorForm, soapFaultOf } from './soap-errors';
import { child, childrenNamed, parseXml, type XmlElement } from './soap-xml';

export const SOAP_PATH = '/vapix/services';

/** What clients that work against real devices send (facts §1), and none at all. */
const MEDIA_TYPES = ['application/soap+xml', 'text/xml', 'application/xml'];
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const KNOWN_NS = new Set<string>([NS.tds, NS.acertificates, NS.aweb]);

type Operation = { role: Role; run: (op: XmlElement) => Promise<string> | string };

/** The Body's operation element, or a Sender fault for anything that is not a SOAP 1.2 request. */
function operationOf(doc: XmlElement): XmlElement {
  if (doc.local !== 'Envelope') throw sender(['ter:InvalidArgVal'], 'the document is not a SOAP envelope');
  if (doc.ns !== NS.env) throw sender(['ter:InvalidArgVal'], 'only SOAP 1.2 envelopes are answered');
  const body = child(doc, NS.env, 'Body');
  const op = body?.children[0];
  if (!op) throw sender(['ter:InvalidArgVal'], 'the envelope has no operation in its Body');
  return op;
}

/** One text child, trimmed; a missing or empty one is a Sender fault naming it. */
function required(parent: XmlElement | undefined, ns: string, local: string): string {
  const v = parent && child(parent, ns, local)?.text.trim();
  if (!v) throw sender(['ter:InvalidArgVal', `ter:${local}`], `${local} is missing`);
  return v;
}

/**
 * A certificate's Data as PEM: base64 DER (ONVIF), the base64 of a PEM body with its armour
 * removed and newlines kept (pandosme), or the PEM itself.
 */
function certificatePem(data: string, field: string): string {
  if (data.includes('-----BEGIN ')) return data;
  return derToPem('CERTIFICATE', base64Bytes(data, field, 'BAD_CERTIFICATE'));
}

/** Base64 (whitespace anywhere, as PEM bodies keep their newlines) as bytes. */
function base64Bytes(data: string, field: string, code: 'BAD_CERTIFICATE' | 'BAD_PRIVATE_KEY'): Buffer {
  const b64 = data.replace(/\s+/g, '');
  if (b64 === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new DomainError(code, 'not base64', field);
  return Buffer.from(b64, 'base64');
}

function bool(v: string, field: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw sender(['ter:InvalidArgVal', `ter:${field}`], `${field} is true or false`);
}

/** The acert:Id texts of one list of an aweb:CertificateSet. */
function idsIn(set: XmlElement | undefined, list: string): string[] {
  const l = set && child(set, NS.acert, list);
  return l ? childrenNamed(l, NS.acert, 'Id').map((x) => x.text.trim()).filter((x) => x !== '') : [];
}

const ids = (list: { alias: string }[]) => list.map((x) => textEl('acert:Id', x.alias)).join('');

/** The binding an Axis certificate set name stands for. */
const SETS: Record<string, string> = { WebServer: 'https', EAPTLS_WIRED: 'dot1x' };
const bindingOf = (set: string) => SETS[set] ?? set;
/** The certificate sets Axis firmware 12.11 has (soap-axis-facts.md, recorded notes). */
const FIRMWARE_SETS = ['EAPTLS_WIRED', 'EAPTLS_WIRED_SERVER', 'EAPTLS_WIFI', 'EAPPEAP_MSCHAPV2_WIFI', 'EAPPEAP_MSCHAPV2_WIRED', 'AUDIOSITE',
  'MediaPlayerClient', 'NTS', 'AVHS', 'SIP', 'Streaming_RTSPS', 'RemoteSyslog', 'StreamingMediaClient', 'WebServer',
  'StreamingDeviceEventClient', 'mqtt_client', 'O3C'];

/** The one 802.1X configuration, as Axis names it (Keyfactor asks for it by this token). */
const DOT1X_TOKEN = 'EAPTLS_WIRED';
/** EAP-TLS's IANA method number. */
const EAP_TLS = '13';

function dot1xEl(b: BindingView): string {
  const identity = typeof b.settings.identity === 'string' ? b.settings.identity : '';
  // The schema's order: token, Identity, EAPMethod, CACertificateID*, EAPMethodConfiguration.
  return el('tds:Dot1XConfiguration', textEl('tt:Dot1XConfigurationToken', DOT1X_TOKEN) + textEl('tt:Identity', identity) + textEl('tt:EAPMethod', EAP_TLS)
    + b.ca.map((c) => textEl('tt:CACertificateID', c.alias)).join('')
    + el('tt:EAPMethodConfiguration', el('tt:TLSConfiguration', b.certificate ? textEl('tt:CertificateID', b.certificate.alias) : '')));
}

/** The Axis Subject fields, in the order X.509 names list them, as RFC 4514 text; empty ones left out. */
const AXIS_SUBJECT = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber'];
function axisSubject(s: XmlElement | undefined): string {
  if (!s) return '';
  return AXIS_SUBJECT.flatMap((f) => {
    const v = child(s, NS.acert, f)?.text.trim();
    return v ? [`${f}=${escapeDnValue(v)}`] : [];
  }).join(',');
}

/** xs:dateTime as Unix seconds; a date without a zone is UTC. */
function seconds(v: string, field: string): number {
  const zoned = /(Z|[+-]\d\d:\d\d)$/.test(v) ? v : `${v}Z`;
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(zoned) ? Date.parse(zoned) : NaN;
  if (Number.isNaN(ms)) throw sender(['ter:InvalidArgVal', `ter:${field}`], `${field} is an xs:dateTime`);
  return Math.floor(ms / 1000);
}

/** ValidNotBefore / ValidNotAfter of a create request, where given. */
function validity(o: XmlElement, ns: string): { validFrom?: number; validTo?: number } {
  const from = child(o, ns, 'ValidNotBefore')?.text.trim();
  const to = child(o, ns, 'ValidNotAfter')?.text.trim();
  return { ...(from ? { validFrom: seconds(from, 'ValidNotBefore') } : {}), ...(to ? { validTo: seconds(to, 'ValidNotAfter') } : {}) };
}

/** A PEM's base64 on one line, armour removed. */
const bareBase64 = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

/** DER as ONVIF's base64: one line, no whitespace (as recorded). */
const b64Of = (d: EntryDetails) => d.info.der;

const certificateEl = (name: string, d: EntryDetails) =>
  el(name, textEl('tt:CertificateID', d.entry.alias) + el('tt:Certificate', textEl('tt:Data', b64Of(d))));

/** xs:dateTime as the devices write it. */
const dateTime = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');

export function registerSoap(app: App, certs: Certificates, batches: Batches, bindings: Bindings): void {
  app.errorForm(SOAP_PATH, soapErrorForm);
  // The envelope for the UsernameToken scheme; one that does not parse carries no token (the route faults it, once authenticated).
  app.credentialsInBody(SOAP_PATH, (raw) => {
    try {
      return parseXml(raw.toString('utf8').replace(/^\uFEFF/, ''));
    } catch {
      return undefined;
    }
  });

  const ofKind = (kind: EntryKind) => certs.details().filter((d) => d.entry.kind === kind);
  const https = () => bindings.list().find((b) => b.name === 'https');

  const ops = new Map<string, Operation>();
  const op = (ns: string, local: string, role: Role, run: Operation['run']) => ops.set(`{${ns}}${local}`, { role, run });

  op(NS.tds, 'GetCertificates', 'viewer', () =>
    el('tds:GetCertificatesResponse', ofKind('certificate').map((d) => certificateEl('tds:NvtCertificate', d)).join('')));

  op(NS.tds, 'GetCACertificates', 'viewer', () =>
    el('tds:GetCACertificatesResponse', ofKind('ca').map((d) => certificateEl('tds:CACertificate', d)).join('')));

  // The enabled server certificate is the one the https binding uses.
  op(NS.tds, 'GetCertificatesStatus', 'viewer', () => {
    const inUse = https()?.certificate?.id;
    return el('tds:GetCertificatesStatusResponse', ofKind('certificate').map((d) =>
      el('tds:CertificateStatus', textEl('tt:CertificateID', d.entry.alias) + textEl('tt:Status', String(d.entry.id === inUse)))).join(''));
  });

  op(NS.tds, 'GetCertificateInformation', 'viewer', (o) => {
    const e = certs.names.certificateId(required(o, NS.tds, 'CertificateID'));
    const d = certs.find(e.id)!;
    const i = d.info;
    // The Axis extension carries the PEM a real client reads (facts §2); a strict client takes it in tt:Extension.
    const extension = el('tt:Extension', el('acert:CertificateInformationExtension', textEl('acert:CertificatePEM', d.entry.certificate)));
    return el('tds:GetCertificateInformationResponse', el('tds:CertificateInformation',
      textEl('tt:CertificateID', e.alias) + textEl('tt:IssuerDN', i.issuer) + textEl('tt:SubjectDN', i.subject)
      + textEl('tt:KeyLength', String(i.key.bits)) + textEl('tt:Version', String(i.version)) + textEl('tt:SerialNum', i.serial)
      + textEl('tt:SignatureAlgorithm', i.signature_algorithm)
      + el('tt:Validity', textEl('tt:From', dateTime(i.not_before)) + textEl('tt:Until', dateTime(i.not_after)))
      + extension));
  });

  // All or nothing: one batch; a bound or protected entry refuses the whole request.
  op(NS.tds, 'DeleteCertificates', 'admin', async (o) => {
    const ids = childrenNamed(o, NS.tds, 'CertificateID').map((c) => c.text.trim());
    if (ids.length === 0 || ids.includes('')) throw sender(['ter:InvalidArgVal', 'ter:CertificateID'], 'CertificateID is missing');
    const entries = ids.map((id) => certs.names.certificateId(id));
    await batches.apply(entries.map((e) => ({ op: 'delete' as const, alias: e.alias })));
    return el('tds:DeleteCertificatesResponse');
  });

  // All or nothing: one batch of new CA entries; an ID in use is refused.
  op(NS.tds, 'LoadCACertificates', 'admin', async (o) => {
    const items = childrenNamed(o, NS.tds, 'CACertificate');
    if (items.length === 0) throw sender(['ter:InvalidArgVal', 'ter:CACertificate'], 'CACertificate is missing');
    const steps = items.map((c) => ({
      op: 'add_ca_certificate' as const,
      alias: required(c, NS.tt, 'CertificateID'),
      certificate: certificatePem(required(child(c, NS.tt, 'Certificate'), NS.tt, 'Data'), 'Certificate'),
    }));
    await batches.apply(steps);
    return el('tds:LoadCACertificatesResponse');
  });

  op(NS.tds, 'GetServiceCapabilities', 'viewer', () =>
    el('tds:GetServiceCapabilitiesResponse', el('tds:Capabilities',
      el('tds:Network') + el('tds:Security', '', ' TLS1.2="true" OnboardKeyGeneration="true" Dot1X="true" HttpDigest="true" UsernameToken="true"') + el('tds:System'))));

  // The https binding as Axis's web server configuration (facts §3): Tls is settings.tls,
  // the Admin connection policy settings.http_listener (HttpAndHttps: the plain listener
  // stays), ciphers the OpenSSL list, the certificate set the binding's entries.
  op(NS.aweb, 'GetWebServerTlsConfiguration', 'viewer', () => {
    const b = https();
    const s = b?.settings ?? {};
    const ciphers = typeof s.ciphers === 'string' ? s.ciphers.split(':') : [];
    return el('aweb:GetWebServerTlsConfigurationResponse', el('aweb:Configuration',
      textEl('aweb:Tls', String(s.tls !== false))
      + el('aweb:ConnectionPolicies', textEl('aweb:Admin', s.http_listener === false ? 'Https' : 'HttpAndHttps'))
      + el('aweb:Ciphers', ciphers.map((c) => textEl('acert:Cipher', c)).join(''))
      + el('aweb:CertificateSet', el('acert:Certificates', ids(b?.certificate ? [b.certificate] : [])) + el('acert:CACertificates', ids(b?.ca ?? [])) + el('acert:TrustedCertificates')),
      ' name="WebServer"'));
  });

  // Keyfactor's and the Axis documentation's request: Configuration and Tls unprefixed in aweb.
  op(NS.aweb, 'SetWebServerTlsConfiguration', 'admin', async (o) => {
    const c = child(o, NS.aweb, 'Configuration');
    if (!c) throw sender(['ter:InvalidArgVal', 'ter:Configuration'], 'Configuration is missing');
    const settings: Record<string, unknown> = { ...(https()?.settings ?? {}) };
    const tls = child(c, NS.aweb, 'Tls')?.text.trim();
    if (tls !== undefined) settings.tls = bool(tls, 'Tls');
    const policy = child(c, NS.aweb, 'ConnectionPolicies');
    const admin = policy && child(policy, NS.aweb, 'Admin')?.text.trim();
    if (admin !== undefined) {
      if (admin !== 'Https' && admin !== 'HttpAndHttps') throw sender(['ter:InvalidArgVal', 'ter:ConnectionPolicies'], 'Admin is Https or HttpAndHttps');
      settings.http_listener = admin === 'HttpAndHttps';
    }
    const ciphers = child(c, NS.aweb, 'Ciphers');
    if (ciphers) settings.ciphers = childrenNamed(ciphers, NS.acert, 'Cipher').map((x) => x.text.trim()).join(':');
    const set = child(c, NS.aweb, 'CertificateSet');
    const certIds = idsIn(set, 'Certificates');
    if (certIds.length > 1) throw sender(['ter:InvalidArgVal', 'ter:CertificateID'], 'the web server uses one certificate');
    const cert = certIds[0] === undefined ? undefined : certs.names.certificateId(certIds[0], 'certificate');
    const cas = idsIn(set, 'CACertificates').map((id) => certs.names.certificateId(id, 'ca').id);
    await bindings.set('https', { ...(cert ? { certificate: cert.id } : {}), ca: cas, settings });
    return el('aweb:SetWebServerTlsConfigurationResponse');
  });

  // The dot1x binding as ONVIF's one wired EAP-TLS configuration.
  // The dot1x binding without a certificate is no 802.1X configuration (DeleteDot1XConfiguration leaves it so).
  const dot1x = () => bindings.list().find((x) => x.name === 'dot1x' && x.certificate !== null);

  op(NS.tds, 'GetDot1XConfiguration', 'viewer', (o) => {
    const token = required(o, NS.tds, 'Dot1XConfigurationToken');
    const b = dot1x();
    if (token !== DOT1X_TOKEN || !b) throw sender(['ter:InvalidArgVal', 'ter:InvalidDot1XConfigurationToken'], `no 802.1X configuration ${token}`);
    return el('tds:GetDot1XConfigurationResponse', dot1xEl(b));
  });

  op(NS.tds, 'GetDot1XConfigurations', 'viewer', () => {
    const b = dot1x();
    return el('tds:GetDot1XConfigurationsResponse', b ? dot1xEl(b) : '');
  });

  // The certificate by CertificateID or by its subject CN (the Axis documentation's rule);
  // CACertificateID wherever the client puts it (pandosme: after EAPMethodConfiguration).
  const setDot1x = async (o: XmlElement) => {
    const c = child(o, NS.tds, 'Dot1XConfiguration');
    if (!c) throw sender(['ter:InvalidArgVal', 'ter:Dot1XConfiguration'], 'Dot1XConfiguration is missing');
    const token = required(c, NS.tt, 'Dot1XConfigurationToken');
    if (token !== DOT1X_TOKEN) throw sender(['ter:InvalidArgVal', 'ter:InvalidDot1XConfigurationToken'], `the 802.1X configuration is ${DOT1X_TOKEN}`);
    const method = required(c, NS.tt, 'EAPMethod');
    if (method !== EAP_TLS) throw sender(['ter:InvalidArgVal', 'ter:EAPMethodNotSupported'], 'only EAP-TLS (13) is supported');
    const tlsConf = child(child(c, NS.tt, 'EAPMethodConfiguration') ?? c, NS.tt, 'TLSConfiguration');
    const cert = certs.names.certificateIdOrCn(required(tlsConf, NS.tt, 'CertificateID'), 'certificate');
    // No CACertificateID (Keyfactor's SetIEEEBinding sends none) keeps the network CAs the
    // binding has: replacing them with none would make the supplicant trust any server, and
    // the domain refuses that, which would break an unchanged real client. A device with no
    // CA set yet still refuses, with the reason.
    const named = childrenNamed(c, NS.tt, 'CACertificateID').map((x) => certs.names.certificateId(x.text.trim(), 'ca').id);
    const cas = named.length > 0 ? named : dot1x()?.ca.map((x) => x.id) ?? [];
    const identity = child(c, NS.tt, 'Identity')?.text.trim();
    await bindings.set('dot1x', { certificate: cert.id, ca: cas, settings: { eap_method: 'EAP-TLS', ...(identity ? { identity } : {}) } });
  };
  op(NS.tds, 'SetDot1XConfiguration', 'admin', async (o) => {
    await setDot1x(o);
    return el('tds:SetDot1XConfigurationResponse');
  });

  op(NS.tds, 'CreateDot1XConfiguration', 'admin', async (o) => {
    if (dot1x()) throw sender(['ter:InvalidArgVal', 'ter:ReferenceToken'], `${DOT1X_TOKEN} exists; change it with SetDot1XConfiguration`);
    await setDot1x(o);
    return el('tds:CreateDot1XConfigurationResponse');
  });

  op(NS.tds, 'DeleteDot1XConfiguration', 'admin', async (o) => {
    const tokens = childrenNamed(o, NS.tds, 'Dot1XConfigurationToken').map((t) => t.text.trim());
    if (tokens.length === 0 || tokens.some((t) => t !== DOT1X_TOKEN) || !dot1x()) throw sender(['ter:InvalidArgVal', 'ter:InvalidDot1XConfigurationToken'], `the 802.1X configuration is ${DOT1X_TOKEN}`);
    await bindings.set('dot1x', { ca: [], settings: {} });
    return el('tds:DeleteDot1XConfigurationResponse');
  });

  // New entries from certificates and their keys, one batch; an ID in use is refused. Keys
  // come as DER (PKCS#8, PKCS#1 or SEC1; the domain tells them apart) and are wiped after.
  op(NS.tds, 'LoadCertificateWithPrivateKey', 'admin', async (o) => {
    const items = childrenNamed(o, NS.tds, 'CertificateWithPrivateKey');
    if (items.length === 0) throw sender(['ter:InvalidArgVal', 'ter:CertificateWithPrivateKey'], 'CertificateWithPrivateKey is missing');
    const keys: Buffer[] = [];
    try {
      const steps = items.map((c) => {
        const key = base64Bytes(required(child(c, NS.tt, 'PrivateKey'), NS.tt, 'Data'), 'PrivateKey', 'BAD_PRIVATE_KEY');
        keys.push(key);
        return {
          op: 'add_certificate' as const,
          alias: required(c, NS.tt, 'CertificateID'),
          certificate: certificatePem(required(child(c, NS.tt, 'Certificate'), NS.tt, 'Data'), 'Certificate'),
          privateKey: key,
        };
      });
      await batches.apply(steps);
    } finally {
      for (const k of keys) k.fill(0);
    }
    return el('tds:LoadCertificateWithPrivateKeyResponse');
  });

  // The enabled server certificate is the https binding's; one Status true at most.
  op(NS.tds, 'SetCertificatesStatus', 'admin', async (o) => {
    const items = childrenNamed(o, NS.tds, 'CertificateStatus').map((c) => ({ id: required(c, NS.tt, 'CertificateID'), on: bool(required(c, NS.tt, 'Status'), 'Status') }));
    const entries = items.map((i) => ({ ...i, entry: certs.names.certificateId(i.id, 'certificate') }));
    const enabled = entries.filter((i) => i.on);
    if (enabled.length > 1) throw sender(['ter:InvalidArgVal', 'ter:CertificateID'], 'the web server uses one certificate: one Status true at most');
    const b = https();
    const current = b?.certificate?.id;
    const next = enabled[0]?.entry.id ?? (entries.some((i) => i.entry.id === current) ? undefined : current);
    if (next !== current) await bindings.set('https', { ...(next ? { certificate: next } : {}), ca: b?.ca.map((c) => c.id) ?? [], settings: b?.settings ?? {} });
    return el('tds:SetCertificatesStatusResponse');
  });

  // A self-signed certificate with a new key (ONVIF: the ID and subject are optional).
  op(NS.tds, 'CreateCertificate', 'admin', async (o) => {
    const alias = child(o, NS.tds, 'CertificateID')?.text.trim() || `onvif-${randomBytes(4).toString('hex')}`;
    const subject = child(o, NS.tds, 'Subject')?.text.trim() || 'CN=certd';
    await batches.apply([{ op: 'create_certificate', request: { alias, subject, ...validity(o, NS.tds) } }]);
    return el('tds:CreateCertificateResponse', certificateEl('tds:NvtCertificate', certs.find(certs.names.certificateId(alias).id)!));
  });

  op(NS.tds, 'GetPkcs10Request', 'viewer', async (o) => {
    const e = certs.names.certificateId(required(o, NS.tds, 'CertificateID'), 'certificate');
    const subject = child(o, NS.tds, 'Subject')?.text.trim();
    const csr = await certs.csr(e.alias, subject ? { subject } : {});
    return el('tds:GetPkcs10RequestResponse', el('tds:Pkcs10Request', textEl('tt:Data', bareBase64(csr))));
  });

  // Axis: Subject as acert:* fields, dates without a zone; the answer is bare base64 DER (facts §3).
  op(NS.acertificates, 'CreateCertificate2', 'admin', async (o) => {
    const alias = required(o, NS.acertificates, 'Id');
    const subject = axisSubject(child(o, NS.acertificates, 'Subject')) || 'CN=certd';
    await batches.apply([{ op: 'create_certificate', request: { alias, subject, ...validity(o, NS.acertificates) } }]);
    const d = certs.find(certs.names.certificateId(alias).id)!;
    return el('acertificates:CreateCertificate2Response', textEl('acertificates:Id', alias) + textEl('acertificates:Certificate', b64Of(d)));
  });

  // The Axis documentation's request: Pkcs12/{acert:Id, acert:Certificate (base64 PKCS#12),
  // acert:Password}; the element names were never recorded, so acertificates: ones are taken too.
  op(NS.acertificates, 'LoadPkcs12', 'admin', async (o) => {
    const p = child(o, NS.acertificates, 'Pkcs12') ?? o;
    const field = (local: string) => child(p, NS.acert, local) ?? child(p, NS.acertificates, local);
    const id = field('Id')?.text.trim();
    if (!id) throw sender(['ter:InvalidArgVal', 'ter:CertificateID'], 'Id is missing');
    const pfx = base64Bytes(field('Certificate')?.text ?? '', 'Certificate', 'BAD_CERTIFICATE');
    // The password arrives as a string of the XML reader's; its bytes at least are wiped.
    const password = Buffer.from(field('Password')?.text ?? '', 'utf8');
    try {
      await certs.installPkcs12(id, pfx, password);
    } finally {
      pfx.fill(0);
      password.fill(0);
    }
    return el('acertificates:LoadPkcs12Response');
  });

  op(NS.acertificates, 'GetPkcs10Request2', 'viewer', async (o) => {
    const e = certs.names.certificateId(required(o, NS.acertificates, 'Id'), 'certificate');
    const subject = axisSubject(child(o, NS.acertificates, 'Subject'));
    const csr = await certs.csr(e.alias, subject ? { subject } : {});
    return el('acertificates:GetPkcs10Request2Response', textEl('acertificates:Pkcs10Request', bareBase64(csr)));
  });

  // CA-signed certificates for keys the device holds: each onto the entry with its ID, or
  // else the one entry whose key it is (a CSR's entry under another name); all of them in
  // one batch, so a refused one leaves every entry as it was.
  op(NS.tds, 'LoadCertificates', 'admin', async (o) => {
    const items = childrenNamed(o, NS.tds, 'NVTCertificate');
    if (items.length === 0) throw sender(['ter:InvalidArgVal', 'ter:NVTCertificate'], 'NVTCertificate is missing');
    const steps: BatchStep[] = items.map((item) => {
      const id = required(item, NS.tt, 'CertificateID');
      const pem = certificatePem(required(child(item, NS.tt, 'Certificate'), NS.tt, 'Data'), 'Certificate');
      const named = certs.byAlias(id);
      if (named) return { op: 'replace_certificate', alias: named.alias, certificate: pem };
      const spki = certs.parse(certs.readCertificates(pem, 'Certificate')[0]!.pem).spki;
      const same = certs.details().filter((d) => d.entry.kind === 'certificate' && d.info.spki === spki);
      if (same.length !== 1) throw sender(['ter:InvalidArgVal', 'ter:NoMatchingPrivateKey'], `no entry ${JSON.stringify(id)} and ${same.length} entries with this public key`);
      return { op: 'replace_certificate', alias: same[0]!.entry.alias, certificate: pem };
    });
    await batches.apply(steps);
    return el('tds:LoadCertificatesResponse');
  });

  // Client certificates on the web server: the https binding's client_certificate (true: required).
  op(NS.tds, 'GetClientCertificateMode', 'viewer', () => {
    const mode = https()?.settings.client_certificate;
    return el('tds:GetClientCertificateModeResponse', textEl('tds:Enabled', String(mode === 'required' || mode === 'optional')));
  });

  op(NS.tds, 'SetClientCertificateMode', 'admin', async (o) => {
    const on = bool(required(o, NS.tds, 'Enabled'), 'Enabled');
    const b = https();
    await bindings.set('https', { ...(b?.certificate ? { certificate: b.certificate.id } : {}), ca: b?.ca.map((c) => c.id) ?? [], settings: { ...(b?.settings ?? {}), client_certificate: on ? 'required' : 'off' } });
    return el('tds:SetClientCertificateModeResponse');
  });

  // Axis certificate sets are bindings: WebServer is https, EAPTLS_WIRED dot1x, any other its own name.
  op(NS.acertificates, 'GetCertSet', 'viewer', (o) => {
    const b = bindings.list().find((x) => x.name === bindingOf(required(o, NS.acertificates, 'CertSetName')));
    return el('acertificates:GetCertSetResponse', el('acertificates:CertSet',
      el('acert:Certificates', ids(b?.certificate ? [b.certificate] : [])) + el('acert:CACertificates', ids(b?.ca ?? [])) + el('acert:TrustedCertificates')));
  });

  // The answer's shape was never recorded (soap-axis-facts.md): one acertificates:CertSetName
  // per set, in the form GetCertSet takes, the 12.11 firmware's names first, then any other
  // set a client made with SetCertSet. UNVERIFIED against a device; written down in the README.
  op(NS.acertificates, 'ListCertSets', 'viewer', () => {
    const toSet = Object.fromEntries(Object.entries(SETS).map(([set, binding]) => [binding, set]));
    const names = new Set([...FIRMWARE_SETS, ...bindings.list().map((b) => toSet[b.name] ?? b.name)]);
    return el('acertificates:ListCertSetsResponse', [...names].map((n) => textEl('acertificates:CertSetName', n)).join(''));
  });

  op(NS.acertificates, 'SetCertSet', 'admin', async (o) => {
    const name = bindingOf(required(o, NS.acertificates, 'CertSetName'));
    const set = child(o, NS.acertificates, 'CertSet');
    if (!set) throw sender(['ter:InvalidArgVal', 'ter:CertSet'], 'CertSet is missing');
    if (idsIn(set, 'TrustedCertificates').length > 0) throw sender(['ter:InvalidArgVal', 'ter:TrustedCertificates'], 'TrustedCertificates are not kept; name CA certificates');
    const certIds = idsIn(set, 'Certificates');
    if (certIds.length > 1) throw sender(['ter:InvalidArgVal', 'ter:CertificateID'], 'a set uses one certificate');
    const b = bindings.list().find((x) => x.name === name);
    await bindings.set(name, {
      ...(certIds[0] !== undefined ? { certificate: certs.names.certificateId(certIds[0], 'certificate').id } : {}),
      ca: idsIn(set, 'CACertificates').map((id) => certs.names.certificateId(id, 'ca').id),
      settings: b?.settings ?? {},
    });
    return el('acertificates:SetCertSetResponse');
  });

  const answer = async (req: Request): Promise<Response> => {
    const type = req.headers['content-type'];
    if (type !== undefined && !MEDIA_TYPES.includes(type.split(';')[0]!.trim().toLowerCase())) {
      throw sender(['ter:InvalidArgVal'], `Content-Type must be one of ${MEDIA_TYPES.join(', ')}`);
    }
    const o = operationOf(parseXml(req.body.toString('utf8').replace(/^\uFEFF/, '')));
    const found = ops.get(`{${o.ns}}${o.local}`);
    if (!found) {
      if (KNOWN_NS.has(o.ns)) throw actionNotSupported();
      throw sender(['ter:InvalidArgVal'], `no operation ${o.local} in namespace ${o.ns.slice(0, 200)}`);
    }
    if (RANK[req.principal.role] < RANK[found.role]) throw notAuthorized();
    return { status: 200, body: envelope(await found.run(o)), headers: { 'content-type': CONTENT_TYPE } };
  };

  app.route('POST', SOAP_PATH, 'viewer', async (req) => {
    try {
      return await answer(req);
    } catch (e) {
      const f = soapFaultOf(e);
      if (!f) throw e;
      return faultResponse(f);
    }
  }, [...MEDIA_TYPES]);
}
