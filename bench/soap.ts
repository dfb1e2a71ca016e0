// The SOAP section: GetCertificates over /vapix/services with 100 entries beside cert.v1's
// GET of the same entries (p50/p99 and throughput), CreateCertificate p50, the XML read and
// the answer written in-process (per request), and certd's idle RSS with the SOAP
// front-end loaded. Its own daemons, so that the store holds exactly 100 entries.
import { request, Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envelope } from '../src/certd/api/soap-envelope';
import { parseXml } from '../src/certd/api/soap-xml';
import { API, PASSWORDS, startService } from '../test/certd/service';
import { SPEC } from '../test/certd/soap-client';
import { type Section, fmtTime, rssMb, table } from './lib';
import { percentiles } from './service';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const BASIC = `Basic ${Buffer.from(`admin:${PASSWORDS.admin}`).toString('base64')}`;

function post(port: number, method: string, path: string, body: string | undefined, type: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { authorization: BASIC, ...(body ? { 'content-type': type, 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const envelopeOf = (op: string) => `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>${op}</s:Body></s:Envelope>`;
const GET_CERTS = envelopeOf('<tds:GetCertificates/>');
const SOAP_TYPE = 'application/soap+xml; charset=utf-8';

async function timedN(n: number, fn: (i: number) => Promise<number>): Promise<ReturnType<typeof percentiles>> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const status = await fn(i);
    samples.push(performance.now() - t0);
    if (status !== 200 && status !== 201) throw new Error(`status ${status}`);
  }
  return percentiles(samples);
}

async function perSecond(seconds: number, fn: () => Promise<number>, workers = 16): Promise<number> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < until) {
      if ((await fn()) !== 200) throw new Error('a refused request');
      done++;
    }
  }));
  return Math.round(done / ((performance.now() - t0) / 1000));
}

export const soapSection: Section = {
  name: 'soap',
  async run(opts) {
    const svc = await startService();
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const idleRss = rssMb(svc.certdPid());
      for (let b = 0; b < 2; b++) {
        const steps = Array.from({ length: 50 }, (_, j) => ({ op: 'create_certificate', alias: `s-${b}-${j}`, subject: `CN=soap ${b} ${j}`, keystore: 'SOFTWARE0' }));
        if ((await post(svc.port, 'POST', '/certd/v1/batch', JSON.stringify({ data: { steps } }), 'application/json')) !== 200) throw new Error('batch refused');
      }
      const n = Math.max(50, opts.minIters);
      const secs = Math.max(2, opts.minTime);
      const rows: Record<string, { p50_ms: number; p99_ms: number; n: number; per_s?: number }> = {};
      const v1 = () => post(svc.port, 'GET', `${API}/certificates`, undefined, '');
      const soap = () => post(svc.port, 'POST', '/vapix/services', GET_CERTS, SOAP_TYPE);
      rows['GET cert.v1 /certificates, 100 entries'] = { ...(await timedN(n, v1)), per_s: await perSecond(secs, v1) };
      rows['SOAP GetCertificates, 100 entries'] = { ...(await timedN(n, soap)), per_s: await perSecond(secs, soap) };
      rows['SOAP CreateCertificate EC-P256 SOFTWARE0'] = await timedN(Math.min(n, 100), (i) => post(svc.port, 'POST', '/vapix/services',
        envelopeOf(`<tds:CreateCertificate><tds:CertificateID>c-${i}</tds:CertificateID><tds:Subject>CN=c ${i}</tds:Subject></tds:CreateCertificate>`), SOAP_TYPE));

      // In-process: the recorded 5.55 request (WS-Security header and all) read, and an answer of 100 entries written.
      const recorded = readFileSync(join(SPEC, 'recorded', 'axis-5.55', 'GetCertificates.Request.xml'), 'utf8');
      const answer = Array.from({ length: 100 }, (_, i) => `<tds:NvtCertificate><tt:CertificateID>s-${i}</tt:CertificateID><tt:Certificate><tt:Data>${'A'.repeat(600)}</tt:Data></tt:Certificate></tds:NvtCertificate>`).join('');
      const iters = 20_000;
      let t0 = performance.now();
      for (let i = 0; i < iters; i++) parseXml(recorded);
      const parseUs = ((performance.now() - t0) * 1000) / iters;
      t0 = performance.now();
      // byteLength flattens the string as the HTTP core does when it sends it.
      for (let i = 0; i < iters; i++) Buffer.byteLength(envelope(`<tds:GetCertificatesResponse>${answer}</tds:GetCertificatesResponse>`));
      const writeUs = ((performance.now() - t0) * 1000) / iters;

      const text = table(['operation', 'p50', 'p99', 'n', 'requests/s (16 clients)'], Object.entries(rows).map(([k, r]) => [k, `${r.p50_ms.toFixed(2)} ms`, `${r.p99_ms.toFixed(2)} ms`, String(r.n), r.per_s === undefined ? '' : String(r.per_s)]))
        + `\n\nin-process: read the recorded GetCertificates request ${fmtTime(parseUs)}, write a 100-entry envelope ${fmtTime(writeUs)}`
        + `\ncertd idle RSS with the SOAP front-end loaded: ${idleRss} MB\n`;
      return { text, json: { latency: rows, parse_us: parseUs, write_us: writeUs, idle_rss_mb: idleRss } };
    } finally {
      await svc.stop();
    }
  },
};
