// A raw SOAP client for the tests: posts a body as real clients do (their Content-Type or
// none), authenticates with Digest SHA-256 on a 401 (client.ts), and reads the answer's
// fault and prefixed elements by the prefixed names real clients use.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestHeader, raw, type Reply } from './client';
import { PASSWORDS, type Service } from './service';

/**
 * The seed documents, never copied into the project (the ONVIF WSDL's licence forbids
 * modified copies): ../shared/spec beside the checkout (a worktree sits a level deeper),
 * or CERTD_SPEC_DIR.
 */
const ROOT = join(__dirname, '..', '..', '..');
export const SPEC = process.env.CERTD_SPEC_DIR
  ?? [join(ROOT, '..', 'shared', 'spec'), join(ROOT, '..', '..', 'shared', 'spec')].find((d) => existsSync(d))
  ?? join(ROOT, '..', 'shared', 'spec');
export const recorded = (path: string) => readFileSync(join(SPEC, 'recorded', path), 'utf8');

export const PATH = '/vapix/services';

/** The n-th body the node-red Axis client sent for `op` (client-requests/node-red-axis-soap-requests.txt). */
export function nodeRed(op: string, n = 0): string {
  const blocks = recorded('client-requests/node-red-axis-soap-requests.txt').split(/^==== /m).filter((b) => b.includes(`op=${op} `));
  const block = blocks[n];
  if (!block) throw new Error(`no recorded ${op} #${n}`);
  return block.slice(block.indexOf('\n') + 1).trim();
}

/** `contentType` null: no Content-Type header at all (pandosme's got). */
export async function soapPost(svc: Service, role: 'admin' | 'operator' | 'viewer' | null, body: string | Buffer, contentType: string | null = 'application/soap+xml; charset=utf-8'): Promise<Reply> {
  const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
  const send = (extra: Record<string, string>) => rawNoDefaultType(svc.port, body, { ...headers, ...extra });
  const first = await send({});
  // A refused WS-Security token (a recorded one, long stale) is a 400 with the same challenges.
  if ((first.status !== 401 && !(first.status === 400 && first.headers['www-authenticate']?.length)) || role === null) return first;
  const www = first.headers['www-authenticate'];
  const challenges = Array.isArray(www) ? www : www ? [www] : [];
  return send({ authorization: digestHeader({ user: role, password: PASSWORDS[role] }, 'POST', PATH, challenges) });
}

/** client.ts's raw() adds a JSON Content-Type to every body; a SOAP client may send none. */
function rawNoDefaultType(port: number, body: string | Buffer, headers: Record<string, string>): Promise<Reply> {
  if (headers['content-type'] !== undefined) return raw(port, 'POST', PATH, body, headers);
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { request } = require('node:http') as typeof import('node:http');
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: PATH, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const www = res.rawHeaders.filter((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]!.toLowerCase() === 'www-authenticate');
        resolve({ status: res.statusCode!, headers: { ...res.headers, 'www-authenticate': www }, text: Buffer.concat(chunks).toString('utf8'), json: undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An envelope as the Axis documentation's examples write it. */
export function axisEnvelope(body: string): string {
  return '<SOAP-ENV:Envelope xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"'
    + ' xmlns:acertificates="http://www.axis.com/vapix/ws/certificates" xmlns:acert="http://www.axis.com/vapix/ws/cert"'
    + ' xmlns:aweb="http://www.axis.com/vapix/ws/webserver" xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope">'
    + `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;
}

/** The text of every element with this prefixed name, as GetElementsByTagName("acert:Id") reads it. */
export function texts(xml: string, qname: string): string[] {
  const q = qname.replace(/[.]/g, '\\.');
  return [...xml.matchAll(new RegExp(`<${q}(?:\\s[^>]*)?>([^<]*)</${q}>`, 'g'))].map((m) => m[1]!);
}

/** The fault's Code value and Subcode values, outermost first. */
export function faultCodes(xml: string): string[] {
  return texts(xml, 'SOAP-ENV:Value');
}

/** What is between <SOAP-ENV:Body> and </SOAP-ENV:Body>. */
export function bodyOf(xml: string): string {
  const m = /<SOAP-ENV:Body>([\s\S]*)<\/SOAP-ENV:Body>/.exec(xml);
  if (!m) throw new Error(`no SOAP-ENV:Body in ${xml.slice(0, 300)}`);
  return m[1]!;
}

/** prefix -> URI of the xmlns declarations on the root element. */
export function rootNamespaces(xml: string): Map<string, string> {
  const root = /<[A-Za-z-]+:Envelope\b([^>]*)>/.exec(xml)![1]!;
  return new Map([...root.matchAll(/xmlns:([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}
