// certd serving HTTPS itself from a configured certificate and key (openssl-made).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { API, PASSWORDS, startService, type Service } from './service';

const t = suite('certd over HTTPS');
const dir = mkdtempSync(join(tmpdir(), 'certd-tls-'));
let svc: Service;

t.before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'https.key'), '-out', join(dir, 'https.pem'),
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2'], { stdio: 'pipe' });
  svc = await startService({ basicOverHttp: false, certd: { tls: { cert_file: join(dir, 'https.pem'), key_file: join(dir, 'https.key') } } });
});
t.after(async () => {
  await svc?.stop();
});

function get(path: string, auth?: string): Promise<{ status: number; body: string; peer: string }> {
  return new Promise((resolve, reject) => {
    // The peer certificate is read at the handshake: by the time a slow client (QEMU) sees
    // the answer, certd may already have closed the socket, and a closed one reports none.
    let peer = '';
    const req = request({ host: '127.0.0.1', port: svc.port, path, ca: readFileSync(join(dir, 'https.pem')), headers: auth ? { authorization: auth } : {} }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, peer }));
    });
    req.on('socket', (s) => s.once('secureConnect', () => (peer = (s as TLSSocket).getPeerCertificate().subject?.CN ?? '')));
    req.on('error', reject);
    req.end();
  });
}

t('serves the API over TLS with the configured certificate, and still asks for credentials (Basic taken: the connection is TLS)', async () => {
  const anon = await get(API);
  assert.is(anon.status, 401);
  assert.is(anon.peer, 'localhost');
  const ok = await get(API, `Basic ${Buffer.from(`viewer:${PASSWORDS.viewer}`).toString('base64')}`);
  assert.is(ok.status, 200, ok.body);
  assert.is(JSON.parse(ok.body).status, 'success');
});

t.run();
