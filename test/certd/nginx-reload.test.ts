// The https applier when nginx is not certd's to run (the firmware's certd-nginx.service):
// certd runs the `reload` command instead of `nginx -t` and signals. Here that command does
// what the unit's ExecReload/ExecStart do, through the very check the tree ships
// (scripts/firmware/nginx-check): the include's directives, then `nginx -t`. The conformance
// suite proves the applier still applies, refuses and restores through it; the last suite
// proves the check refuses an include with a directive certd never writes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NginxApplier, servedLeaf } from '../../src/certd/appliers/nginx';
import { KeystoredServiceKeys } from '../../src/certd/appliers/service-keys';
import { applierConformance, refusableKeys } from './applier-conformance';

const ROOT = join(__dirname, '..', '..', '..');
const CHECK = join(ROOT, 'scripts', 'firmware', 'nginx-check');
execFileSync('bash', [join(ROOT, 'scripts', 'packages.sh'), 'nginx']);

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const masters = new Set<NginxApplier>();
process.on('exit', () => {
  for (const a of masters) {
    const pid = a.masterPid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
  }
});

let port = 0;
applierConformance('nginx through its reload command', 'https', async (dir, keystores) => {
  port ||= await freePort();
  // Broken: the key of the previous open is handed out again, so nginx -t fails on the mismatch.
  const keys = refusableKeys(new KeystoredServiceKeys(keystores));
  const conf = join(dir, 'conf', 'nginx.conf');
  const pid = join(dir, 'nginx.pid');
  // the unit: check, then HUP the master, or start it when none runs
  const reload = ['sh', '-c', `"$0" "$1" "$2" && { kill -HUP "$(cat "$3" 2>/dev/null)" 2>/dev/null || /usr/sbin/nginx -e stderr -p "${dir}/" -c "$1"; }`,
    CHECK, conf, join(dir, 'conf', 'tls.conf'), pid];
  const applier = new NginxApplier({
    nginx: '/bin/false', // never run: the reload command does it all
    prefix: dir, host: '127.0.0.1', port, user: 'www-data', owner: { uid: 33, gid: 33 },
    upstream: { host: '127.0.0.1', port: 9 }, reload, pidFile: pid,
  }, keys.keys);
  masters.add(applier);
  return {
    applier,
    inUse: () => servedLeaf('127.0.0.1', port),
    breakConsumer: () => { keys.refusing = true; },
    repairConsumer: () => { keys.refusing = false; },
  };
});

const check = suite('nginx-check: the include certd writes, and nothing else');
const dir = mkdtempSync(join(tmpdir(), 'nginx-check-'));
// a site whose nginx -t passes whatever the include holds, so only the allowlist can refuse
const site = join(dir, 'nginx.conf');
writeFileSync(site, `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp { access_log off; }\n`);
const run = (include: string) => {
  const f = join(dir, 'tls.conf');
  writeFileSync(f, include);
  return spawnSync(CHECK, [site, f], { encoding: 'utf8' });
};

check('takes every directive the applier writes', () => {
  const r = run(['# Written by certd', 'ssl_certificate "/var/lib/certd-nginx/tls/chain-ab.pem";',
    'ssl_certificate_key "engine:pkcs11:pkcs11:token=web;object=k;type=private;pin-source=file:/run/p/x.pin";',
    'ssl_protocols TLSv1.2 TLSv1.3;', 'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256;',
    'ssl_verify_client optional;', 'ssl_client_certificate "/var/lib/certd-nginx/tls/ca-cd.pem";', ''].join('\n'));
  assert.is(r.status, 0, r.stderr);
});

for (const [what, line] of [
  ['a location serving files', 'location / { root /; }'],
  ['a log the master opens', 'access_log /etc/cron.d/x;'],
  ['a second directive after a path', 'ssl_certificate "/a.pem"; root /;'],
  ['a variable in a path', 'ssl_certificate "/tls/$host.pem";'],
  ['an include', 'include /etc/shadow;'],
]) {
  check(`refuses ${what}`, () => {
    const r = run(`ssl_certificate "/a.pem";\n${line}\n`);
    assert.is(r.status, 1);
    assert.match(r.stderr, /line 2 is not a directive certd writes/);
  });
}

check.run();
