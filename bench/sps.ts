// The SPS rows of the service section: a login (Basic → session cookie), a commit of three
// x509 objects and a management/certificates change (the commit PUT timed alone; the POSTs
// and the PUT before it are not), and GET x509 by key, all with the session cookie on a
// keep-alive connection.
import { Agent, request } from 'node:http';
import { PASSWORDS, type Service } from '../test/certd/service';
import { percentiles } from './service';

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

export const SPS_ROWS = {
  login: 'SPS login (GET /api/authentication, Basic)',
  commit: 'SPS commit: 3 x509 EC-P256 + management/certificates',
  get: 'SPS GET /api/configuration/x509/<key>',
} as const;

function call(port: number, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: string; cookie?: string }> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, cookie: /^session_id=([0-9a-f]{40})/.exec([res.headers['set-cookie'] ?? []].flat()[0] ?? '')?.[1] }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function expect(r: { status: number; body: string }, status: number): void {
  if (r.status !== status) throw new Error(`SPS: status ${r.status}: ${r.body.slice(0, 200)}`);
}

export async function spsRows(svc: Service, n: number, pair: { cert: string; key: string }): Promise<Record<string, ReturnType<typeof percentiles>>> {
  const basic = { authorization: `Basic ${Buffer.from(`admin:${PASSWORDS.admin}`).toString('base64')}` };
  const login: number[] = [];
  let cookie = '';
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await call(svc.port, 'GET', '/api/authentication', basic);
    login.push(performance.now() - t0);
    expect(r, 200);
    cookie = r.cookie!;
  }
  const session = { cookie: `session_id=${cookie}` };
  const commit: number[] = [];
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const made: string[] = [];
    for (let j = 0; j < 3; j++) {
      const r = await call(svc.port, 'POST', '/api/configuration/x509', session, { certificate: pair.cert, private_key: pair.key, issuer_chain: [] });
      expect(r, 201);
      made.push((JSON.parse(r.body) as { key: string }).key);
    }
    expect(await call(svc.port, 'PUT', '/api/configuration/management/certificates', session, { ca: { selection: 'identity', x509_identity: made[0] }, server: made[1], tsa: made[2] }), 200);
    const t0 = performance.now();
    const r = await call(svc.port, 'PUT', '/api/transaction', session, { status: 'commit' });
    commit.push(performance.now() - t0);
    expect(r, 200);
    keys.push(...made);
  }
  const get: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await call(svc.port, 'GET', `/api/configuration/x509/${keys[i % keys.length]}`, session);
    get.push(performance.now() - t0);
    expect(r, 200);
  }
  return { [SPS_ROWS.login]: percentiles(login), [SPS_ROWS.commit]: percentiles(commit), [SPS_ROWS.get]: percentiles(get) };
}
