// The HTTP pass of the fuzzer: generated requests to every cert.v1 and /certd/v1 endpoint
// through a running certd (keystored + certd on SOFTWARE0, as the end-to-end suites start
// them), as admin with Basic credentials sent up front; plus Authorization headers of every
// kind on one endpoint.
// Every answer must be 2xx or 4xx, never 5xx or a dropped connection; certd must still answer
// at the end; a forged credential must never get 200. Requests answered 5xx are saved.
//
// Key types of create_certificate are EC here (an RSA-4096 key takes the core seconds to
// make; the in-process pass covers every key type name).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CERT_V1_SCHEMAS, type CertV1SchemaName } from '../../src/certd/api/cert-v1-schemas';
import { makeMaterial, PASSPHRASE } from '../certd/material';
import { API, PASSWORDS, startService } from '../certd/service';
import { Rng } from '../rng';
import { basicHeader, digestHeader, jsonBody, valueFor } from './grammar';
import { mutate, mutatePem } from './mutate';

export interface EndpointResult {
  endpoint: string;
  requests: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  /** No answer (connection reset, timeout). */
  errors: number;
}

export interface HttpResult {
  endpoints: EndpointResult[];
  server_up: boolean;
  forged_accepted: number;
  seconds: number;
}

interface Req {
  method: string;
  path: string;
  body?: Uint8Array;
  authorization?: string;
  forged?: boolean;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const BASIC = `Basic ${Buffer.from(`admin:${PASSWORDS.admin}`).toString('base64')}`;

type Answer = { status: number; headers: Record<string, string | string[] | undefined> } | undefined;

/** A request written by hand, for header values node:http refuses to send (CTLs, CR LF). */
function sendRaw(port: number, r: Req): Promise<Answer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1', () => {
      sock.end(Buffer.from(`${r.method} ${r.path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${r.authorization ?? ''}\r\nconnection: close\r\n\r\n`, 'latin1'));
    });
    sock.setTimeout(60_000, () => sock.destroy());
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      resolve(m ? { status: Number(m[1]), headers: {} } : undefined);
    });
  });
}

function send(port: number, r: Req): Promise<Answer> {
  if (r.authorization !== undefined && /[^\t\x20-\x7e\x80-\xff]/.test(r.authorization)) return sendRaw(port, r);
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: r.method, path: r.path, agent, timeout: 60_000, headers: {
      authorization: r.authorization ?? BASIC,
      ...(r.body ? { 'content-type': 'application/json', 'content-length': r.body.length } : {}),
    } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end(r.body);
  });
}

const enc = encodeURIComponent;

export async function runHttpPass(o: { requests: number; seed: string; outDir: string }): Promise<HttpResult> {
  const t0 = performance.now();
  const m = makeMaterial();
  const certDers = [m.cert, m.ca, m.otherCert].map((p) => new Uint8Array(Buffer.from(p.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')));
  const p12 = new Uint8Array(Buffer.from(m.p12, 'base64'));
  const svc = await startService({ basic: true });
  const out: EndpointResult[] = [];
  let forgedAccepted = 0;
  try {
    const admin = svc.as('admin', 'basic');
    await admin.post(`${API}/certificates`, { alias: 'fz-cert', certificate: m.cert, private_key: m.key });
    await admin.post(`${API}/ca_certificates`, { alias: 'fz-ca', certificate: m.ca });
    const segment = (s: string) => {
      try {
        return enc(s);
      } catch {
        return '%ED%A0%80'; // a lone surrogate: what a client that encodes it anyway sends
      }
    };
    const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'undefined');
    const alias = (rng: Rng, coll: string) => (rng.chance(0.4) ? (coll === 'ca_certificates' ? 'fz-ca' : 'fz-cert')
      : rng.chance(0.8) ? segment(text(valueFor(rng, { type: 'string', minLength: 1, maxLength: 128 }))) : rng.pick(['%ZZ', '%C3%28', '..', '%2F', 'a'.repeat(300), '%00']));
    const prop = (rng: Rng) => rng.pick(['alias', 'certificate', 'keystore', 'key_id', '__proto__', 'constructor', 'toString', 'id', 'key_types', 'x']);
    // Valid bodies (a fresh alias), some with one field then replaced: the 2xx paths get reached too.
    const fresh = (rng: Rng) => `fz-${rng.u32().toString(36)}`;
    const valid: Partial<Record<CertV1SchemaName, (rng: Rng) => Record<string, unknown>>> = {
      createCertificate: (rng) => ({ alias: fresh(rng), subject: 'CN=fz', key_type: 'EC-P256', subject_alt_names: ['DNS:fz.local'] }),
      addCertificate: (rng) => ({ alias: fresh(rng), certificate: m.cert, private_key: m.key }),
      addCaCertificate: (rng) => ({ alias: fresh(rng), certificate: m.ca }),
      installFromPkcs12: (rng) => ({ alias: fresh(rng), pkcs12: m.p12, passphrase: PASSPHRASE }),
      setCertificateEntry: () => ({ certificate: m.cert }),
      getCsr: () => ({}),
    };
    /** A schema body with PEM, key and PKCS#12 fields often replaced by mutated real ones. */
    const body = (rng: Rng, name: CertV1SchemaName): Uint8Array => {
      const schema = CERT_V1_SCHEMAS[name] as unknown as Record<string, unknown>;
      if (rng.chance(0.2)) return jsonBody(rng, schema);
      const doc = (rng.chance(0.25) && valid[name] ? { data: valid[name]!(rng) } : valueFor(rng, schema)) as { data?: unknown };
      const d = doc && typeof doc === 'object' && doc.data && typeof doc.data === 'object' ? (doc.data as Record<string, unknown>) : undefined;
      const pemOf = (p: string) => Buffer.from(mutatePem(rng, p, certDers)).toString('latin1');
      if (d) {
        if ('certificate' in d && rng.chance(0.6)) d.certificate = rng.chance(0.2) ? m.cert : pemOf(rng.pick([m.cert, m.cert2, m.ca, m.otherCert]));
        if ('private_key' in d && rng.chance(0.6)) d.private_key = rng.chance(0.3) ? m.key : pemOf(rng.pick([m.key, m.otherKey, m.encryptedKey]));
        if ('pkcs12' in d && rng.chance(0.6)) d.pkcs12 = Buffer.from(rng.chance(0.2) ? p12 : mutate(rng, p12, [p12])).toString('base64');
        if ('passphrase' in d && rng.chance(0.5)) d.passphrase = PASSPHRASE;
        if (typeof d.key_type === 'string' && d.key_type.startsWith('RSA')) d.key_type = 'EC-P256';
      } else if (name === 'setCertificate' && doc && typeof doc === 'object' && rng.chance(0.6)) {
        (doc as Record<string, unknown>).data = pemOf(m.cert2);
      }
      return new Uint8Array(Buffer.from(JSON.stringify(doc) ?? 'null'));
    };
    const endpoints: [string, (rng: Rng) => Req][] = [
      ['GET /', () => ({ method: 'GET', path: API })],
      ['GET /keystores', () => ({ method: 'GET', path: `${API}/keystores` })],
      ['GET /keystores/:id', (rng) => ({ method: 'GET', path: `${API}/keystores/${enc(rng.pick(['SOFTWARE0', 'SE0', 'x', '', '%']))}` })],
      ['GET /keystores/:id/:prop', (rng) => ({ method: 'GET', path: `${API}/keystores/${rng.pick(['SOFTWARE0', 'nope'])}/${prop(rng)}` })],
      ['GET /settings', () => ({ method: 'GET', path: `${API}/settings` })],
      ['GET /settings/keystore', () => ({ method: 'GET', path: `${API}/settings/keystore` })],
      ['PATCH /settings', (rng) => ({ method: 'PATCH', path: `${API}/settings`, body: body(rng, 'setSettings') })],
      ['PATCH /settings/keystore', (rng) => ({ method: 'PATCH', path: `${API}/settings/keystore`, body: body(rng, 'setKeystore') })],
      ['POST /create_certificate', (rng) => ({ method: 'POST', path: `${API}/create_certificate`, body: body(rng, 'createCertificate') })],
      ['POST /install_from_pkcs12', (rng) => ({ method: 'POST', path: `${API}/install_from_pkcs12`, body: body(rng, 'installFromPkcs12') })],
      ['POST /certificates', (rng) => ({ method: 'POST', path: `${API}/certificates`, body: body(rng, 'addCertificate') })],
      ['POST /ca_certificates', (rng) => ({ method: 'POST', path: `${API}/ca_certificates`, body: body(rng, 'addCaCertificate') })],
      ['POST /certificates/:alias/get_csr', (rng) => ({ method: 'POST', path: `${API}/certificates/${alias(rng, 'certificates')}/get_csr`, body: body(rng, 'getCsr') })],
    ];
    for (const coll of ['certificates', 'ca_certificates']) {
      endpoints.push(
        [`GET /${coll}`, () => ({ method: 'GET', path: `${API}/${coll}` })],
        [`GET /${coll}/:alias`, (rng) => ({ method: 'GET', path: `${API}/${coll}/${alias(rng, coll)}` })],
        [`GET /${coll}/:alias/:prop`, (rng) => ({ method: 'GET', path: `${API}/${coll}/${alias(rng, coll)}/${prop(rng)}` })],
        [`PATCH /${coll}/:alias`, (rng) => ({ method: 'PATCH', path: `${API}/${coll}/${alias(rng, coll)}`, body: body(rng, 'setCertificateEntry') })],
        [`PATCH /${coll}/:alias/certificate`, (rng) => ({ method: 'PATCH', path: `${API}/${coll}/${alias(rng, coll)}/certificate`, body: body(rng, 'setCertificate') })],
        // Never the two fixed entries: the other endpoints need them.
        [`DELETE /${coll}/:alias`, (rng) => ({ method: 'DELETE', path: `${API}/${coll}/${alias(rng, coll).replace(/^fz-(cert|ca)$/, 'fz-gone')}` })],
      );
    }
    // certd's own API: the audit trail's query, and health.
    const query = (rng: Rng) => segment(rng.chance(0.5) ? rng.pick(['2026-01-01T00:00:00Z', '1970-01-01', '+275760-09-13T00:00:00.000Z', '-271821-04-20', 'now', '', '0', '9'.repeat(20)])
      : text(valueFor(rng, { type: 'string', maxLength: 40 })));
    endpoints.push(
      ['GET /certd/v1/audit?since&limit', (rng) => ({ method: 'GET', path: `/certd/v1/audit?${[rng.chance(0.7) ? `since=${query(rng)}` : '', rng.chance(0.7) ? `limit=${rng.chance(0.5) ? String(rng.range(-1, 1001)) : query(rng)}` : '', rng.chance(0.1) ? `limit=1&limit=${query(rng)}` : ''].filter(Boolean).join('&')}` })],
      ['GET /certd/v1/health', () => ({ method: 'GET', path: '/certd/v1/health' })],
    );
    // Authorization headers of every kind; nonces from real challenges, refreshed as we go.
    let nonce = '';
    let opaque = '';
    const realm = 'certd-test';
    const H = (alg: 'MD5' | 'SHA-256', s: string) => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s, 'utf8').digest('hex');
    endpoints.push(['Authorization (GET /certificates)', (rng) => {
      const uri = `${API}/certificates`;
      const g = rng.chance(0.5) ? basicHeader(rng, 'admin', PASSWORDS.admin) : digestHeader(rng, {
        realm, nonce, opaque, uri, method: 'GET', user: 'admin', password: PASSWORDS.admin,
        response: (alg, user, pw, n, nc, cnonce, u) => H(alg, `${H(alg, `${user}:${realm}:${pw}`)}:${n}:${nc}:${cnonce}:auth:${H(alg, `GET:${u}`)}`),
      });
      return { method: 'GET', path: uri, authorization: g.header, forged: g.forged };
    }]);

    // What the valid bodies made goes after each endpoint: listings stay small, as on a camera.
    const removeMadeEntries = async () => {
      for (const coll of ['certificates', 'ca_certificates']) {
        const list = ((await admin.get(`${API}/${coll}`)).json?.data ?? []) as { alias: string }[];
        const gone = list.map((e) => e.alias).filter((a) => a !== 'fz-cert' && a !== 'fz-ca');
        await Promise.all(Array.from({ length: 8 }, async () => {
          for (let a = gone.pop(); a !== undefined; a = gone.pop()) await admin.del(`${API}/${coll}/${segment(a)}`);
        }));
      }
    };
    const saved = { n: 0 };
    const dir = join(o.outDir, 'http');
    for (const [name, make] of endpoints) {
      const r: EndpointResult = { endpoint: name, requests: 0, s2xx: 0, s4xx: 0, s5xx: 0, errors: 0 };
      let i = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (i < o.requests) {
          const n = i++;
          if (name.startsWith('Authorization') && n % 50 === 0) {
            const c = await send(svc.port, { method: 'GET', path: `${API}/certificates`, authorization: '' });
            const www = ([] as string[]).concat(c?.headers['www-authenticate'] ?? []).join(', ');
            nonce = /nonce="([^"]+)"/.exec(www)?.[1] ?? nonce;
            opaque = /opaque="([^"]+)"/.exec(www)?.[1] ?? opaque;
          }
          const req = make(new Rng(`${o.seed}/http/${name}/${n}`));
          const a = await send(svc.port, req);
          r.requests++;
          if (!a) r.errors++;
          else if (a.status >= 500) r.s5xx++;
          else if (a.status >= 400) r.s4xx++;
          else if (a.status >= 200 && a.status < 300) r.s2xx++;
          if (a?.status === 200 && req.forged) forgedAccepted++;
          if ((!a || a.status >= 500 || (a.status === 200 && req.forged)) && saved.n++ < 50) {
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, `${saved.n}.json`), JSON.stringify({ endpoint: name, status: a?.status ?? 'no answer', method: req.method, path: req.path,
              authorization: req.authorization, body_base64: req.body ? Buffer.from(req.body).toString('base64') : undefined }, null, 2));
          }
        }
      }));
      out.push(r);
      await removeMadeEntries();
      process.stdout.write(`  ${name}: ${r.requests} requests, ${r.s5xx} 5xx, ${r.errors} no answer\n`);
    }
    const up = await send(svc.port, { method: 'GET', path: API });
    return { endpoints: out, server_up: up?.status === 200, forged_accepted: forgedAccepted, seconds: Math.round((performance.now() - t0) / 1000) };
  } finally {
    await svc.stop();
    agent.destroy();
  }
}
