// The https applier when nginx is not certd's to run (the firmware's certd-nginx.service):
// certd runs the `reload` command instead of `nginx -t` and signals. Here that command does
// what the unit's ExecReload/ExecStart do, through the very check the tree ships
// (scripts/firmware/nginx-check): the include's directives, then `nginx -t`. The conformance
// suite proves the applier still applies, refuses and restores through it; the last suite
// proves the check refuses an include with a directive certd never writes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NginxApplier, servedLeaf } from '../../src/certd/appliers/nginx';
import { KeystoredServiceKeys } from '../../src/certd/appliers/service-keys';
import { freePort } from './pebble';
import { stopAtExit } from './nginx-masters';
import { applierConformance, refusableKeys } from './applier-conformance';

const ROOT = join(__dirname, '..', '..', '..');
const CHECK = join(ROOT, 'scripts', 'firmware', 'nginx-check');
execFileSync('bash', [join(ROOT, 'scripts', 'packages.sh'), 'nginx']);

let port = 0;
applierConformance('nginx through its reload command', 'https', async (dir, keystores) => {
  port ||= await freePort();
  // Broken: the key of the previous open is handed out again, so nginx -t fails on the mismatch.
  const keys = refusableKeys(new KeystoredServiceKeys(keystores));
  const conf = join(dir, 'conf', 'nginx.conf');
  const pid = join(dir, 'nginx.pid');
  // the unit: check, then HUP the master, or start it when none runs
  // (the site certd writes here includes its own include, so that is the checked copy too;
  // the key folder is keystored's for this test, read from the include)
  const reload = ['sh', '-c', `CERTD_NGINX_TLS_DIR="${dir}/tls" CERTD_NGINX_CHECKED="$2" \\
    CERTD_NGINX_KEY_DIR="$(sed -n 's|^ssl_certificate_key "\\(.*\\)/[^/]*";$|\\1|p' "$2")" "$0" "$1" "$2" \\
    && { kill -HUP "$(cat "$3" 2>/dev/null)" 2>/dev/null || /usr/sbin/nginx -e stderr -p "${dir}/" -c "$1"; }`,
    CHECK, conf, join(dir, 'conf', 'tls.conf'), pid];
  const applier = new NginxApplier({
    nginx: '/bin/false', // never run: the reload command does it all
    prefix: dir, host: '127.0.0.1', port, user: 'www-data', owner: { uid: 33, gid: 33 },
    upstream: { host: '127.0.0.1', port: 9 }, reload, pidFile: pid,
  }, keys.keys);
  stopAtExit(applier);
  return {
    applier,
    inUse: () => servedLeaf('127.0.0.1', port),
    breakConsumer: () => { keys.refusing = true; },
    repairConsumer: () => { keys.refusing = false; },
  };
});

const check = suite('nginx-check: the include certd writes, and nothing else');
const dir = mkdtempSync(join(tmpdir(), 'nginx-check-'));
const TLS = '/var/lib/certd-nginx/tls';
const KEYS = '/run/certd-service-keys';
const CHAIN = `"${TLS}/chain-${'ab'.repeat(16)}.pem"`;
const checked = join(dir, 'checked.conf');
const env = (tls: string, keys: string) => ({ ...process.env, CERTD_NGINX_TLS_DIR: tls, CERTD_NGINX_KEY_DIR: keys, CERTD_NGINX_CHECKED: checked });
// a site whose nginx -t passes whatever the include holds, so only the allowlist can refuse
const site = join(dir, 'nginx.conf');
writeFileSync(site, `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp { access_log off; }\n`);
const run = (include: string, conf = site, tls = TLS, keys = KEYS) => {
  const f = join(dir, 'tls.conf');
  writeFileSync(f, include);
  return spawnSync(CHECK, [conf, f], { encoding: 'utf8', env: env(tls, keys) });
};

check('takes every directive the applier writes, file and token keys, and leaves the checked copy', () => {
  for (const key of [`"${KEYS}/https+SOFTWARE0+k-1.pem"`, `"engine:pkcs11:pkcs11:token=web;object=k;type=private;pin-source=file:${KEYS}/https+SE0.pin"`]) {
    const include = ['# Written by certd', `ssl_certificate ${CHAIN};`, `ssl_certificate_key ${key};`,
      'ssl_protocols TLSv1.2 TLSv1.3;', 'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256;',
      'ssl_verify_client optional;', `ssl_client_certificate "${TLS}/ca-${'cd'.repeat(16)}.pem";`, ''].join('\n');
    const r = run(include);
    assert.is(r.status, 0, r.stderr);
    assert.is(readFileSync(checked, 'utf8'), include);
  }
});

for (const [what, line] of [
  ['a location serving files', 'location / { root /; }'],
  ['a log the master opens', 'access_log /etc/cron.d/x;'],
  ['a second directive after a path', `ssl_certificate ${CHAIN}; root /;`],
  ['a variable in a path', `ssl_certificate "${TLS}/$host.pem";`],
  ['an include', 'include /etc/shadow;'],
  ['an engine loaded from a path (dlopen)', `ssl_certificate_key "engine:${TLS}/x.so:k";`],
  ['a PIN read from another file', 'ssl_certificate_key "engine:pkcs11:pkcs11:token=web;object=k;type=private;pin-source=file:/etc/shadow";'],
  ['a key outside the service-key folder', 'ssl_certificate_key "/etc/ssl/private/other.pem";'],
  ['another service\'s key', `ssl_certificate_key "${KEYS}/dot1x+SOFTWARE0+k.pem";`],
  ['a certificate outside the TLS folder', 'ssl_certificate "/etc/ssl/private/other.pem";'],
  ['a climb out of the TLS folder', `ssl_certificate "${TLS}/../../../etc/chain-${'ab'.repeat(16)}.pem";`],
]) {
  check(`refuses ${what}`, () => {
    const before = readFileSync(checked, 'utf8');
    const r = run(`ssl_certificate ${CHAIN};\n${line}\n`);
    assert.is(r.status, 1);
    assert.match(r.stderr, /line 2 is not a directive certd writes/);
    assert.is(readFileSync(checked, 'utf8'), before, 'the checked copy is unchanged');
  });
}

check('nginx -t refusing the copy puts the previous checked copy back; a later change to the include reaches nothing', () => {
  const tls = join(dir, 'tls');
  const keys = join(dir, 'keys');
  mkdirSync(tls);
  mkdirSync(keys);
  const chain = `${tls}/chain-${'ef'.repeat(16)}.pem`;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=t', '-days', '2',
    '-keyout', `${keys}/https+SOFTWARE0+a.pem`, '-out', chain], { stdio: 'ignore' });
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${keys}/https+SOFTWARE0+b.pem`], { stdio: 'ignore' });
  const tlsSite = join(dir, 'tls-site.conf');
  writeFileSync(tlsSite, `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp { access_log off; server { listen 127.0.0.1:1 ssl; include ${checked}; } }\n`);
  const good = `ssl_certificate "${chain}";\nssl_certificate_key "${keys}/https+SOFTWARE0+a.pem";\n`;
  const r = run(good, tlsSite, tls, keys);
  assert.is(r.status, 0, r.stderr);
  // the key does not match the certificate: nginx -t refuses, the copy in force stays
  const mismatched = run(`ssl_certificate "${chain}";\nssl_certificate_key "${keys}/https+SOFTWARE0+b.pem";\n`, tlsSite, tls, keys);
  assert.is(mismatched.status, 1);
  assert.is(readFileSync(checked, 'utf8'), good);
  assert.not.ok(existsSync(`${checked}.prev`));
});

check.run();
