// certd's HTTP server against hostile clients, with real daemons and small limits: a client
// pipelining GETs of a large listing without reading them, more connections than allowed,
// requests that never finish their headers, large bodies of refused requests, cross-site
// requests from a browser, and resource names that are Object.prototype's.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectionCap, softFdLimit, FD_RESERVE } from '../../src/certd/http/server';
import { makeMaterial } from './material';
import { API, PASSWORDS, startService, type Service } from './service';

const basic = (role: keyof typeof PASSWORDS) => `Basic ${Buffer.from(`${role}:${PASSWORDS[role]}`).toString('base64')}`;
const MiB = 1024 * 1024;
const m = makeMaterial();

/** A field of /proc/<pid>/<file> ("VmRSS:  1234 kB" or "rchar: 1234"), in bytes. */
function procField(pid: number, file: 'status' | 'io', field: string): number {
  const line = readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!;
  const n = Number(/(\d+)/.exec(line)![1]);
  return file === 'status' ? n * 1024 : n;
}

function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => {
      // Resets by certd are expected here; the tests look at 'close'.
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

/** Everything a socket receives until it closes or `until` holds. */
function collect(s: Socket, until: (text: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (until(text)) resolve(text);
    });
    s.once('close', () => resolve(text));
  });
}

/** The status lines of the answers in `text`. */
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((x) => Number(x[1]));

function request(method: string, path: string, headers: Record<string, string>, body = ''): string {
  const lines = Object.entries({ host: '127.0.0.1', ...(body || method !== 'GET' ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers });
  return `${method} ${path} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** One request on its own connection; the answer's status, headers and parsed JSON body. */
async function once(port: number, method: string, path: string, headers: Record<string, string>, body = '') {
  const s = await open(port);
  s.write(request(method, path, { host: `127.0.0.1:${port}`, connection: 'close', ...headers }, body));
  const text = await collect(s);
  const split = text.indexOf('\r\n\r\n');
  const json = (() => {
    try {
      return JSON.parse(text.slice(split + 4));
    } catch {
      return undefined;
    }
  })();
  return { status: statuses(text)[0], head: text.slice(0, split).toLowerCase(), json };
}

// --- pipelining -----------------------------------------------------------------------------

const pipe = suite('hostile: pipelining');
let big: Service;
const LISTING = `${API}/ca_certificates`;
let listingBytes = 0;

pipe.before(async () => {
  big = await startService({ certd: { max_pipelined_requests: 1024 } });
  const admin = big.as('admin', 'basic');
  for (let i = 0; i < 250; i++) assert.is((await admin.post(LISTING, { alias: `CA ${i} ${'x'.repeat(100)}`, certificate: m.ca })).status, 201);
  listingBytes = (await admin.get(LISTING)).text.length;
});
pipe.after(async () => big?.stop());

pipe('GETs of a large listing pipelined by a client that does not read: certd answers one at a time, its memory stays bounded, others are served', async () => {
  const pid = big.certdPid();
  const N = 1000; // the most max_pipelined_requests allows
  const before = procField(pid, 'status', 'VmRSS');
  const s = await open(big.port);
  s.pause(); // reads nothing until the end
  const get = request('GET', LISTING, { authorization: basic('viewer') });
  s.write(get.repeat(N));
  // What certd would hold if it answered all of them at once.
  const unbounded = N * listingBytes;
  assert.ok(unbounded > 150 * MiB, `listing ${listingBytes} bytes`);
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 150));
    peak = Math.max(peak, procField(pid, 'status', 'VmRSS'));
  }
  assert.ok(peak - before < 120 * MiB, `certd grew ${((peak - before) / MiB).toFixed(0)} MiB (all answers: ${(unbounded / MiB).toFixed(0)} MiB)`);
  // Another client is served meanwhile.
  assert.is((await big.as('viewer', 'basic').get(`${API}/keystores`)).status, 200);
  // Once the client reads, every answer comes, in order, whole.
  let received = 0;
  let status200 = 0;
  await new Promise<void>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`${status200} of ${N} answers`)), 120_000);
    s.once('close', () => reject(new Error(`closed after ${status200} of ${N} answers`)));
    s.on('data', (d: Buffer) => {
      received += d.length;
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const split = buf.indexOf('\r\n\r\n');
        if (split < 0) return;
        const head = buf.subarray(0, split).toString('latin1');
        const length = Number(/content-length: (\d+)/i.exec(head)![1]);
        if (buf.length < split + 4 + length) return;
        if (head.startsWith('HTTP/1.1 200 ')) status200++;
        buf = buf.subarray(split + 4 + length);
        if (status200 === N) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    s.resume();
  });
  s.destroy();
  assert.is(status200, N);
  assert.ok(received >= unbounded);
});

// --- connections ----------------------------------------------------------------------------

const conns = suite('hostile: connections');
let few: Service;
const PER_ADDRESS = 4;
const TOTAL = 6;

conns.before(async () => {
  few = await startService({ certd: { max_connections: TOTAL, max_connections_per_address: PER_ADDRESS, header_timeout_ms: 3000 } });
});
conns.after(async () => few?.stop());

conns('the connection cap keeps descriptors for the daemon below the soft limit of open files', () => {
  const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 4096                 files     \n';
  assert.is(softFdLimit(limits), 1024);
  assert.is(softFdLimit('Max open files            unlimited            unlimited            files     \n'), undefined);
  assert.is(connectionCap(128, 1024), 128);
  assert.is(connectionCap(2000, 1024), 1024 - FD_RESERVE);
  assert.is(connectionCap(128, 100), 100 - FD_RESERVE);
  assert.is(connectionCap(128, 10), 1);
});

conns('more connections than allowed per address and in all: the excess is closed at once, the rest after the header timeout, then clients are served', async () => {
  const mine = await Promise.all(Array.from({ length: 10 }, () => open(few.port, '127.0.0.2')));
  let down = 0;
  const sixth = new Promise<number>((resolve) => {
    for (const s of mine) {
      s.on('error', () => undefined);
      s.once('close', () => ++down === 10 - PER_ADDRESS && resolve(mine.filter((x) => !x.destroyed).length));
    }
  });
  // When the excess is gone, the allowed ones still stand (they go at the header timeout).
  assert.is(await sixth, PER_ADDRESS);
  // Another address gets what is left of the total.
  const theirs = await Promise.all(Array.from({ length: 4 }, () => open(few.port, '127.0.0.3')));
  theirs.forEach((s) => s.on('error', () => undefined));
  const firstTwo = new Promise<number>((resolve) => {
    let n = 0;
    for (const s of theirs) s.once('close', () => ++n === TOTAL - PER_ADDRESS && resolve(theirs.filter((x) => !x.destroyed).length));
  });
  assert.is(await firstTwo, TOTAL - PER_ADDRESS);
  // None of them sent a request: all are closed by the header timeout.
  await Promise.all([...mine, ...theirs].map(closed));
  assert.is((await few.as('viewer').get(`${API}/keystores`)).status, 200);
  const again = await open(few.port, '127.0.0.2');
  again.write(request('GET', `${API}/keystores`, { authorization: basic('viewer'), connection: 'close' }));
  assert.equal(statuses(await collect(again)), [200]);
});

conns('requests whose headers never end are dropped after the header timeout, unanswered', async () => {
  const half = await Promise.all([1, 2, 3].map(() => open(few.port, '127.0.0.4')));
  const got = half.map((s, i) => {
    s.write(`POST ${API}/create_certificate HTTP/1.1\r\nHost: 127.0.0.1\r\n${i > 0 ? 'Authorization: ' : ''}`);
    return collect(s);
  });
  assert.equal(await Promise.all(got), ['', '', '']);
  assert.is((await few.as('viewer').get(`${API}/keystores`)).status, 200);
});

// --- refused bodies, pipelining cap, cross-site, prototype names ----------------------------

const small = suite('hostile: refused bodies, pipelining cap, cross-site');
let svc: Service;
const BODY_LIMIT = 64 * 1024;
const TRUSTED = 'https://camera.example';

small.before(async () => {
  svc = await startService({ certd: { body_limit: BODY_LIMIT, max_pipelined_requests: 8, trusted_origins: [TRUSTED] } });
});
small.after(async () => svc?.stop());

/** Sends `head` and then a body of `declared` bytes as fast as certd takes it; what happened. */
async function streamBody(head: string, declared: number) {
  const pid = svc.certdPid();
  const readBefore = procField(pid, 'io', 'rchar');
  const s = await open(svc.port);
  const answer = collect(s);
  let written = 0;
  s.write(head);
  const chunk = Buffer.alloc(64 * 1024, '{');
  await new Promise<void>((resolve) => {
    s.once('close', () => resolve());
    const pump = () => {
      while (!s.destroyed && written < declared) {
        written += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
    };
    pump();
  });
  const text = await answer;
  return { written, read: procField(pid, 'io', 'rchar') - readBefore, status: statuses(text)[0], head: text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase() };
}

small('refused requests with a large body (401, 403, 404, 405): answered, then closed; certd reads a bounded part of the body', async () => {
  const DECLARED = 50 * MiB;
  const cases: [number, string, Record<string, string>][] = [
    [401, `${API}/ca_certificates`, {}],
    [403, `${API}/ca_certificates`, { authorization: basic('viewer') }],
    [404, `${API}/no_such_thing`, { authorization: basic('admin') }],
    [405, `${API}/keystores`, { authorization: basic('admin') }],
    [413, `${API}/ca_certificates`, { authorization: basic('admin') }],
  ];
  for (const [status, path, headers] of cases) {
    const head = request('POST', path, { ...headers, 'content-type': 'application/json', 'content-length': String(DECLARED) });
    const r = await streamBody(head, DECLARED);
    assert.is(r.status, status, `${path}: ${r.head}`);
    assert.match(r.head, /\r\nconnection: close/, `${status}: ${r.head}`);
    // Bounded: the body limit plus socket buffers, not the 50 MiB sent.
    assert.ok(r.read < 16 * MiB, `${status}: certd read ${(r.read / MiB).toFixed(1)} MiB`);
    assert.ok(r.written < 30 * MiB, `${status}: the client got ${(r.written / MiB).toFixed(1)} MiB out before the close`);
  }
});

small('a refused request with a small body keeps its connection: the next request on it is answered', async () => {
  const s = await open(svc.port);
  const answers = collect(s, (t) => statuses(t).length === 3);
  const body = JSON.stringify({ data: { alias: 'klein', certificate: 'x' } });
  s.write(request('POST', `${API}/ca_certificates`, { 'content-type': 'application/json' }, body));
  s.write(request('POST', `${API}/nothing_here`, { authorization: basic('admin'), 'content-type': 'application/json' }, body));
  s.write(request('GET', `${API}/keystores`, { authorization: basic('viewer') }));
  const text = await answers;
  s.destroy();
  assert.equal(statuses(text), [401, 404, 200]);
  assert.not.match(text.toLowerCase(), /connection: close/);
});

small('more pipelined requests than allowed on a connection close it; other clients are served', async () => {
  const s = await open(svc.port);
  s.pause();
  const get = request('GET', `${API}/keystores`, { authorization: basic('viewer') });
  s.write(get.repeat(200));
  const text = collect(s);
  s.resume();
  const got = statuses(await text);
  assert.ok(got.length < 200, `${got.length} answers`);
  assert.ok(got.every((x) => x === 200));
  assert.is((await svc.as('viewer').get(`${API}/keystores`)).status, 200);
});

const CA_LIST = `${API}/ca_certificates`;
const aliases = async () => ((await svc.as('viewer').get(CA_LIST)).json.data as { alias: string }[]).map((e) => e.alias).sort();
const addCa = (alias: string, headers: Record<string, string>) =>
  once(svc.port, 'POST', CA_LIST, { authorization: basic('admin'), ...headers }, JSON.stringify({ data: { alias, certificate: m.ca } }));

small('cross-site: a foreign Origin, Sec-Fetch-Site cross-site or same-site, or a form content type from a browser: 403 code 20, nothing changes', async () => {
  const own = `http://127.0.0.1:${svc.port}`;
  const before = await aliases();
  const refused: [string, Record<string, string>][] = [
    ['foreign origin', { origin: 'http://evil.example', 'content-type': 'application/json' }],
    ['foreign port', { origin: `http://127.0.0.1:${svc.port + 1}`, 'content-type': 'application/json' }],
    ['null origin', { origin: 'null', 'content-type': 'application/json' }],
    ['cross-site', { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }],
    ['same-site', { 'sec-fetch-site': 'same-site', 'content-type': 'application/json' }],
    ['text/plain from own origin', { origin: own, 'content-type': 'text/plain' }],
    ['form from a browser without Origin', { 'sec-fetch-mode': 'navigate', 'content-type': 'application/x-www-form-urlencoded' }],
    ['multipart from own origin', { origin: own, 'content-type': 'multipart/form-data; boundary=x' }],
  ];
  for (const [label, headers] of refused) {
    const r = await addCa(`xsite ${label}`, headers);
    assert.is(r.status, 403, label);
    assert.is(r.json?.error?.code, 20, label);
    assert.match(r.json.error.message, /^cross-site request refused/, label);
  }
  const del = await once(svc.port, 'DELETE', `${CA_LIST}/${encodeURIComponent(before[0] ?? 'none')}`, { authorization: basic('admin'), origin: 'http://evil.example' });
  assert.is(del.status, 403);
  assert.equal(await aliases(), before);
  // Reading is not refused (it changes nothing, and the browser keeps the answer from the page).
  assert.is((await once(svc.port, 'GET', CA_LIST, { authorization: basic('viewer'), origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })).status, 200);
});

small('cross-site: scripts without browser markers (curl -d), the own origin and trusted origins are served', async () => {
  const own = `http://127.0.0.1:${svc.port}`;
  const served: [string, Record<string, string>][] = [
    ['curl -d', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['no content type', {}],
    ['own origin', { origin: own, 'content-type': 'application/json; charset=utf-8', 'sec-fetch-site': 'same-origin' }],
    ['own origin, default port written out', { host: 'camera.local:80', origin: 'http://camera.local', 'content-type': 'application/json' }],
    ['typed address', { 'sec-fetch-site': 'none', 'content-type': 'application/json' }],
    ['trusted origin', { origin: TRUSTED, 'content-type': 'application/json' }],
  ];
  for (const [label, headers] of served) {
    const r = await addCa(`served ${label}`, headers);
    assert.is(r.status, 201, `${label}: ${JSON.stringify(r.json)}`);
  }
  for (const [label] of served) assert.ok((await aliases()).includes(`served ${label}`), label);
});

small('names of Object.prototype are no resources: 404', async () => {
  const viewer = svc.as('viewer');
  const [entry] = await aliases();
  assert.ok(entry);
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
    for (const path of [`${API}/${name}`, `${CA_LIST}/${name}`, `${CA_LIST}/${encodeURIComponent(entry!)}/${name}`, `${API}/keystores/SOFTWARE0/${name}`, `${API}/keystores/${name}`]) {
      const r = await viewer.get(path);
      assert.is(r.status, 404, `${path}: ${r.text}`);
      assert.is(r.json.error.code, 1, path);
    }
  }
  // Their own fields are still there.
  assert.is((await viewer.get(`${API}/keystores/SOFTWARE0/id`)).json.data, 'SOFTWARE0');
  assert.is((await viewer.get(`${CA_LIST}/${encodeURIComponent(entry!)}/alias`)).json.data, entry);
});

pipe.run();
conns.run();
small.run();
