// SOAP 1.2 answers as the recorded Axis devices write them (spec/soap-axis-facts.md §1):
// every namespace declared once on SOAP-ENV:Envelope, fixed prefixes on every element, no
// default namespace, no Header. Clients look elements up by prefixed name (xml2js keys,
// GetElementsByTagName("acert:Id")), so the prefixes are part of the interface.

export const NS = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  acert: 'http://www.axis.com/vapix/ws/cert',
  acertificates: 'http://www.axis.com/vapix/ws/certificates',
  aweb: 'http://www.axis.com/vapix/ws/webserver',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
} as const;

/** Declared on every answer's Envelope, in the devices' order (the ones these answers can use). */
const DECLARED: [prefix: string, uri: string][] = [
  ['SOAP-ENV', NS.env],
  ['SOAP-ENC', 'http://www.w3.org/2003/05/soap-encoding'],
  ['xsi', 'http://www.w3.org/2001/XMLSchema-instance'],
  ['xsd', 'http://www.w3.org/2001/XMLSchema'],
  ['wsu', NS.wsu],
  ['wsse', NS.wsse],
  ['wsa5', 'http://www.w3.org/2005/08/addressing'],
  ['xmime', 'http://tempuri.org/xmime.xsd'],
  ['tt', NS.tt],
  ['acert', NS.acert],
  ['acertificates', NS.acertificates],
  ['aweb', NS.aweb],
  ['tds', NS.tds],
  ['ter', NS.ter],
];

export const CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/** A prefixed element around already-written content; an empty one as an open/close pair, as the devices write it. */
export function el(name: string, content = '', attrs = ''): string {
  return `<${name}${attrs}>${content}</${name}>`;
}

/** A prefixed element holding text. */
export function textEl(name: string, text: string): string {
  return el(name, escapeXml(text));
}

export function envelope(body: string): string {
  const xmlns = DECLARED.map(([p, uri]) => ` xmlns:${p}="${uri}"`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope${xmlns}><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;
}

export interface FaultShape {
  code: 'Sender' | 'Receiver';
  /** Qualified names, outermost first: ter:InvalidArgVal, ter:CertificateID. */
  subcodes: string[];
  reason: string;
  /** Detail text, as gSOAP writes it (a SOAP-ENV:Text inside Detail). */
  detail?: string;
}

export function faultBody(f: FaultShape): string {
  let sub = '';
  for (const s of [...f.subcodes].reverse()) sub = el('SOAP-ENV:Subcode', el('SOAP-ENV:Value', s) + sub);
  return el('SOAP-ENV:Fault',
    el('SOAP-ENV:Code', el('SOAP-ENV:Value', `SOAP-ENV:${f.code}`) + sub)
    + el('SOAP-ENV:Reason', el('SOAP-ENV:Text', escapeXml(f.reason), ' xml:lang="en"'))
    + (f.detail ? el('SOAP-ENV:Detail', textEl('SOAP-ENV:Text', f.detail)) : ''));
}
