// `npm start`'s launcher passes on what the daemons logged before they were ready: a
// warning at certd's start (here: a journal intent of another store generation) reaches
// the terminal instead of being dropped with the other start-up lines.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const t = suite('launcher');

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

t('start-up warnings of certd reach the launcher\'s output, the first-run password too', async () => {
  const data = mkdtempSync(join(tmpdir(), 'certd-launch-'));
  mkdirSync(join(data, 'certd', 'journal'), { recursive: true });
  writeFileSync(join(data, 'certd', 'journal', 'certd-x.json'), JSON.stringify({ op: 'add', alias: 'x', keystore: 'SOFTWARE0', key_id: 'certd-x', generation: 'elsewhere' }));
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'src', 'launcher.js')], {
    env: { ...process.env, CERTD_DATA_DIR: data, CERTD_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  try {
    for (let i = 0; i < 240 && !out.includes('certd is serving'); i++) await new Promise((r) => setTimeout(r, 250));
    assert.match(out, /certd is serving/);
    assert.match(out, /journal intents of another store generation set aside/);
    assert.match(out, /certd first run: user "admin", password "[^"]+"/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

t('as root, npm start puts nginx in front: HTTPS URL printed, the default certificate served, cert.v1 answers through it with Basic; stopping stops nginx', async () => {
  const data = mkdtempSync(join(tmpdir(), 'certd-launch-'));
  const [certdPort, httpsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'src', 'launcher.js')], {
    env: { ...process.env, CERTD_DATA_DIR: data, CERTD_PORT: String(certdPort), CERTD_HTTPS_PORT: String(httpsPort) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  let pid = 0;
  try {
    for (let i = 0; i < 480 && !out.includes('HTTPS'); i++) await new Promise((r) => setTimeout(r, 250));
    assert.match(out, new RegExp(`HTTPS \\(nginx\\): https://[^:]+:${httpsPort}/config/rest/cert/v1`));
    pid = Number(readFileSync(join(data, 'nginx', 'nginx.pid'), 'utf8'));
    const password = /password "([^"]+)"/.exec(out)![1]!;
    const get = (path: string) => new Promise<{ status: number; leaf: string; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: httpsPort, path, rejectUnauthorized: false,
        headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } }, (res) => {
        const leaf = createHash('sha256').update((res.socket as TLSSocket).getPeerCertificate().raw).digest('hex');
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, leaf, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const answer = await get('/config/rest/cert/v1/certificates');
    assert.is(answer.status, 200);
    const entries = JSON.parse((await get('/certd/v1/entries')).body).data as { alias: string; sha256: string }[];
    assert.is(answer.leaf, entries.find((e) => e.alias === 'default')!.sha256.replace(/:/g, '').toLowerCase(), 'nginx serves the default certificate');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 50));
    } catch {
      gone = true;
    }
  }
  assert.ok(gone, 'nginx stopped with npm start');
});

t.run();
