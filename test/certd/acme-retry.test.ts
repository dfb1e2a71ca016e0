// When an ACME attempt fails, the next waits: acme.retry.first_ms, doubling up to max_ms,
// and never before the CA's Retry-After (seconds or an HTTP date) on 429/503 and on the
// rateLimited and serverInternal problems, itself bounded by max_ms. The CA here is a small
// HTTPS server of the suite (openssl-made certificate, the enrollment's only trust anchor)
// that notes when each attempt arrives; the enrollment shows next_attempt.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCertdConfig } from '../../src/certd/config';
import { TIME_SCALE } from '../time-scale';
import { startService, type Service } from './service';

const t = suite('acme-retry');
const E = '/certd/v1/enrollments';
const FIRST_MS = 1000;
const MAX_MS = 4000;
/** How late an attempt may come beyond its time on a loaded machine: just under what an uncapped wait (twice max_ms) would give. */
const SLACK_MS = MAX_MS - 1;

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;
/** Each test's CA lives under its own path prefix: how it answers, and when attempts (directory GETs) came. */
const cas = new Map<string, { handler: Handler; arrivals: number[] }>();
let svc: Service;
let ca: Server;
let caUrl = '';
let anchor = '';
let dir = '';

t.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certd-acme-retry-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  anchor = readFileSync(join(dir, 'cert.pem'), 'utf8');
  ca = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: anchor }, (req, res) => {
    const name = (req.url ?? '').split('/')[1] ?? '';
    const entry = cas.get(name);
    if (!entry) return res.writeHead(404).end();
    if (req.method === 'GET' && req.url === `/${name}/dir`) entry.arrivals.push(Date.now());
    req.resume();
    req.on('end', () => entry.handler(req, res, `${caUrl}/${name}`));
  });
  await new Promise<void>((r) => ca.listen(0, '127.0.0.1', r));
  caUrl = `https://127.0.0.1:${(ca.address() as { port: number }).port}`;
  svc = await startService({ certd: { acme: { retry: { first_ms: FIRST_MS, max_ms: MAX_MS } } } });
});
t.after(async () => {
  await svc?.stop();
  await new Promise((r) => ca?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

interface View { id: string; state: string; why: string | null; failures: number; next_attempt: string | null }

async function enrollAgainst(name: string, handler: Handler): Promise<{ id: string; arrivals: number[] }> {
  const arrivals: number[] = [];
  cas.set(name, { handler, arrivals });
  const r = await svc.as('admin').post(E, { directory_url: `${caUrl}/${name}/dir`, trust_anchors: [anchor], identifiers: [{ type: 'dns', value: 'localhost' }] });
  assert.is(r.status, 201, r.text);
  return { id: (r.json.data as View).id, arrivals };
}

async function until(id: string, done: (v: View) => boolean, seconds: number): Promise<View> {
  const deadline = Date.now() + seconds * 1000 * TIME_SCALE;
  for (;;) {
    const v = (await svc.as('admin').get(`${E}/${id}`)).json.data as View;
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`enrollment never got there: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const busy = (retryAfter?: string): Handler => (_req, res) => {
  res.writeHead(503, { 'content-type': 'application/problem+json', ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) });
  res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'busy' }));
};

t('without Retry-After the waits are first_ms, doubling up to max_ms; next_attempt says when', async () => {
  const { id, arrivals } = await enrollAgainst('plain', busy());
  const v = await until(id, (x) => x.failures >= 5, 60);
  assert.is(v.state, 'CA_UNREACHABLE');
  assert.match(v.why!, /HTTP 503/);
  const gaps = arrivals.slice(1, 5).map((a, i) => a - arrivals[i]!);
  [FIRST_MS, 2 * FIRST_MS, MAX_MS, MAX_MS].forEach((wait, i) => assert.ok(gaps[i]! >= wait, `gap ${i}: ${gaps[i]} ms, at least ${wait}`));
  assert.ok(gaps[3]! < MAX_MS + SLACK_MS, `the wait stops doubling at max_ms: ${gaps[3]} ms`);
  const next = Date.parse(v.next_attempt!);
  assert.ok(next >= arrivals[4]! + MAX_MS && next <= arrivals[4]! + MAX_MS + SLACK_MS, `next_attempt ${v.next_attempt} after the 5th attempt at ${new Date(arrivals[4]!).toISOString()}`);
  assert.is((await svc.as('admin').del(`${E}/${id}`)).status, 200);
});

t('a 503 with Retry-After in seconds: the next attempt is not before it', async () => {
  const { id, arrivals } = await enrollAgainst('secs', busy('3'));
  const v = await until(id, (x) => x.failures >= 2, 60);
  assert.is(v.state, 'CA_UNREACHABLE');
  assert.ok(arrivals[1]! - arrivals[0]! >= 3000, `${arrivals[1]! - arrivals[0]!} ms`);
  assert.ok(Date.parse(v.next_attempt!) >= arrivals[1]! + 3000, v.next_attempt!);
  assert.is((await svc.as('admin').del(`${E}/${id}`)).status, 200);
});

t('a 429 rateLimited problem with Retry-After as an HTTP date: CA_REJECTED, and the next attempt waits for the date', async () => {
  const dates: number[] = [];
  const { id, arrivals } = await enrollAgainst('limit', (req, res, base) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/account`, newOrder: `${base}/order` }));
    }
    if (req.method === 'HEAD') return res.writeHead(200, { 'replay-nonce': `n${Date.now()}` }).end();
    // An HTTP date has whole seconds: this one is 3-4 s ahead.
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 4000);
    dates.push(at.getTime());
    res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': at.toUTCString(), 'replay-nonce': `n${Date.now()}` });
    res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new accounts' }));
  });
  const v = await until(id, (x) => x.failures >= 2, 60);
  assert.is(v.state, 'CA_REJECTED');
  assert.match(v.why!, /^rateLimited: too many new accounts/);
  assert.ok(arrivals[1]! >= dates[0]!, `second attempt ${arrivals[1]} before ${dates[0]}`);
  assert.ok(Date.parse(v.next_attempt!) >= dates[1]!, `${v.next_attempt} before ${new Date(dates[1]!).toISOString()}`);
  assert.is((await svc.as('admin').del(`${E}/${id}`)).status, 200);
});

t('a Retry-After beyond max_ms is bounded by it', async () => {
  const { id, arrivals } = await enrollAgainst('long', busy('3600'));
  const v = await until(id, (x) => x.failures >= 2, 60);
  assert.ok(arrivals[1]! - arrivals[0]! >= MAX_MS, `${arrivals[1]! - arrivals[0]!} ms`);
  const next = Date.parse(v.next_attempt!);
  assert.ok(next >= arrivals[1]! + MAX_MS && next <= arrivals[1]! + MAX_MS + SLACK_MS, v.next_attempt!);
  assert.is((await svc.as('admin').del(`${E}/${id}`)).status, 200);
});

t('acme.retry in the config: defaults 5 s and 1 h, either may be set, a first over max or under 100 ms is refused', () => {
  const file = join(dir, 'certd.json');
  const load = (acme: unknown) => {
    writeFileSync(file, JSON.stringify(acme === undefined ? {} : { acme }));
    return loadCertdConfig(file).acme.retry;
  };
  assert.equal(load(undefined), { first_ms: 5_000, max_ms: 3_600_000 });
  assert.equal(load({ retry: { max_ms: 60_000 } }), { first_ms: 5_000, max_ms: 60_000 });
  assert.throws(() => load({ retry: { first_ms: 10_000, max_ms: 5_000 } }), /first_ms is over max_ms/);
  assert.throws(() => load({ retry: { first_ms: 10 } }), /first_ms/);
  assert.throws(() => load({ retry: { every_ms: 1000 } }), /additional/);
});

t.run();
