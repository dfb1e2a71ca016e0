// Audit records copied to syslog: a real UDP receiver reads what certd sends and checks each
// datagram against a strict RFC 5424 grammar (written here from the RFC), the structured
// data's escaping of '"', '\' and ']', and that no key, passphrase or password used in the
// run is in any line; a receiver that is not there changes no answer, and the failures are
// counted and logged once.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCertdConfig } from '../../src/certd/config';
import type { AuditRecord, AuditSink } from '../../src/certd/domain/audit';
import { SyslogCopy } from '../../src/certd/store/audit-syslog';
import { makeMaterial, PASSPHRASE } from './material';
import { Client } from './client';
import { API, startService, type Service } from './service';

// RFC 5424 §6: HEADER SP STRUCTURED-DATA [SP MSG]; PARAM-VALUE with '"', '\', ']' escaped.
const PARAM = '[!#-<>-\\\\^-~]{1,32}="(?:[^"\\\\\\]]|\\\\["\\\\\\]])*"';
const LINE = new RegExp(
  '^<(\\d{1,3})>1 ' +
  '(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{1,6})?(?:Z|[+-]\\d\\d:\\d\\d)) ' +
  '([\\x21-\\x7e]{1,255}) ([\\x21-\\x7e]{1,48}) ([\\x21-\\x7e]{1,128}) ([\\x21-\\x7e]{1,32}) ' +
  `((?:\\[[!#-<>-\\\\^-~]{1,32}(?: ${PARAM})*\\])+) ` +
  '\\ufeff([^\\x00-\\x1f\\x7f]*)$', 'u');

interface Parsed { pri: number; time: string; app: string; procId: string; msgId: string; sdId: string; params: Record<string, string>; msg: string }

function parse(line: string): Parsed {
  const m = LINE.exec(line);
  assert.ok(m, `not RFC 5424: ${JSON.stringify(line)}`);
  const sd = m![7]!;
  const params: Record<string, string> = {};
  for (const p of sd.matchAll(/ ([^=\s]+)="((?:[^"\\\]]|\\["\\\]])*)"/g)) params[p[1]!] = p[2]!.replace(/\\(["\\\]])/g, '$1');
  return { pri: Number(m![1]), time: m![2]!, app: m![4]!, procId: m![5]!, msgId: m![6]!, sdId: /^\[([^ \]]+)/.exec(sd)![1]!, params, msg: m![8]! };
}

function receiver(): Promise<{ socket: Socket; port: number; lines: string[]; next(n: number): Promise<string[]> }> {
  const socket = createSocket('udp4');
  const lines: string[] = [];
  let wake = () => undefined as void;
  socket.on('message', (b) => {
    lines.push(b.toString('utf8'));
    wake();
  });
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve({
    socket, port: socket.address().port, lines,
    async next(n) {
      const deadline = Date.now() + 30_000;
      while (lines.length < n && Date.now() < deadline) await new Promise<void>((r) => { wake = r; setTimeout(r, 200); });
      return lines.splice(0, n);
    },
  })));
}

const memory = (): AuditSink & { records: AuditRecord[] } => {
  const records: AuditRecord[] = [];
  return { records, append: (r) => records.push(r), read: () => records };
};

const t = suite('audit to syslog');

t('each record is one RFC 5424 datagram; quotes, backslashes and brackets are escaped', async () => {
  const rx = await receiver();
  const inner = memory();
  const copy = new SyslogCopy(inner, { host: '127.0.0.1', port: rx.port, facility: 'local3', app_name: 'certd' }, () => assert.unreachable('no failure'));
  const odd = 'cam "main" [1] \\ back]slash é';
  const records: AuditRecord[] = [
    { time: '2026-11-29T19:00:00.123Z', user: 'admin', source: '127.0.0.1', api: 'cert.v1', operation: 'add_certificate', target: { id: 'a5e1c0de-0000-4000-8000-000000000001', alias: odd }, outcome: 'ok', request_id: 'r-1' },
    { time: '2026-11-29T19:00:01.000Z', user: 'mall"ory]\n', source: '::1', api: 'cert.v1', operation: 'login', outcome: 'bad_password' },
  ];
  for (const r of records) copy.append(r);
  const [a, b] = (await rx.next(2)).map(parse);
  assert.equal(inner.records, records, 'the inner sink got every record');
  assert.is(a!.pri, 19 * 8 + 6, 'local3.info');
  assert.is(a!.time, records[0]!.time);
  assert.is(a!.app, 'certd');
  assert.is(a!.procId, String(process.pid));
  assert.is(a!.msgId, 'add_certificate');
  assert.is(a!.sdId, 'certd@32473');
  assert.equal(a!.params, { user: 'admin', source: '127.0.0.1', api: 'cert.v1', operation: 'add_certificate', outcome: 'ok', request_id: 'r-1', target_id: records[0]!.target!.id!, target_alias: odd });
  assert.is(a!.msg, `admin add_certificate ${odd}: ok`);
  assert.is(b!.pri, 19 * 8 + 4, 'a failure is a warning');
  assert.is(b!.params.user, 'mall"ory]\ufffd', 'a control character cannot split the line');
  assert.is(copy.failures, 0);
  copy.close();
  rx.socket.close();
});

t('a receiver that is not there: the records still go to the file, failures counted and reported once', async () => {
  const rx = await receiver();
  const port = rx.port;
  rx.socket.close(); // nothing listens on the port now
  const inner = memory();
  const reported: Error[] = [];
  const copy = new SyslogCopy(inner, { host: '127.0.0.1', port, facility: 'auth', app_name: 'certd' }, (e) => reported.push(e));
  const rec: AuditRecord = { time: new Date().toISOString(), user: 'admin', source: '', api: 'internal', operation: 'x', outcome: 'ok' };
  for (let i = 0; i < 20 && copy.failures < 2; i++) {
    copy.append(rec);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(copy.failures >= 2, `failures counted (${copy.failures})`);
  assert.is(reported.length, 1, 'reported once');
  assert.match(reported[0]!.message, /ECONNREFUSED/);
  assert.ok(inner.records.length >= 2);
  copy.close();
});

t('certd sends its records; no secret is in any line; a missing receiver changes no answer', async () => {
  const m = makeMaterial();
  const rx = await receiver();
  let svc: Service | undefined = await startService({ certd: { audit: { syslog: { host: '127.0.0.1', port: rx.port, facility: 'local0' } } } });
  try {
    const admin = svc.as('admin');
    assert.is((await admin.post(`${API}/certificates`, { alias: 'up "1"]', certificate: m.cert, private_key: m.key })).status, 201);
    assert.is((await admin.post(`${API}/install_from_pkcs12`, { alias: 'p12', pkcs12: m.p12, passphrase: PASSPHRASE })).status, 200);
    const wrong = 'Wrong-Password-5521';
    assert.is((await new Client(svc.port, { user: 'admin', password: wrong, scheme: 'basic' }).get(`${API}/certificates`)).status, 401);
    const lines = await rx.next(3);
    const parsed = lines.map(parse);
    assert.equal(parsed.map((p) => p.msgId).sort(), ['add_certificate', 'install_pkcs12', 'login']);
    assert.ok(parsed.every((p) => p.pri === 16 * 8 + 6 || p.pri === 16 * 8 + 4));
    assert.ok(parsed.some((p) => p.params.target_alias === 'up "1"]'));
    assert.ok(parsed.some((p) => p.msgId === 'login' && p.params.user === 'admin'));
    for (const secret of [m.keyBody, m.keyScalar, m.key.split('\n')[1]!, m.p12.slice(0, 40), PASSPHRASE, wrong, 'admin-pass-8c1f']) {
      assert.not.ok(lines.some((l) => l.includes(secret)), 'a secret in a syslog line');
    }
    await svc.stop();
    rx.socket.close();

    svc = await startService({ certd: { audit: { syslog: { host: '127.0.0.1', port: rx.port } } } });
    for (let i = 0; i < 3; i++) {
      assert.is((await svc.as('admin').post(`${API}/create_certificate`, { alias: `c${i}`, subject: 'CN=c' })).status, 200);
    }
    assert.match(svc.logs(), /audit records are not reaching syslog/);
    assert.is(svc.logs().match(/not reaching syslog/g)!.length, 1, 'logged once');
  } finally {
    await svc?.stop();
  }
});

t('config: audit.syslog defaults, and a target that is not an IP address or a facility that is not one are refused', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'certd-syslog-config-')), 'certd.json');
  const load = (syslog: unknown) => {
    writeFileSync(file, JSON.stringify({ audit: { syslog } }));
    return loadCertdConfig(file);
  };
  assert.equal(load({ host: '::1', port: 514 }).audit.syslog, { host: '::1', port: 514, facility: 'auth', app_name: 'certd' });
  assert.throws(() => load({ host: 'syslog.example', port: 514 }), /audit\/syslog\/host must be an IP address/);
  assert.throws(() => load({ host: '127.0.0.1', port: 514, facility: 'nope' }), /facility/);
  assert.throws(() => load({ host: '127.0.0.1', port: 514, app_name: 'two words' }), /app_name/);
  writeFileSync(file, '{}');
  assert.is(loadCertdConfig(file).audit.syslog, undefined, 'off unless configured');
});

t.run();
