// nginx (master and workers, SIGKILL) or certd killed in the middle of `PUT
// /certd/v1/bindings/https`, and nginx killed while certd idles: once nginx runs again it
// serves the binding on record, `nginx -t` takes the site and include, every file the include
// names exists and no other is left in the TLS folder, and keystored's service-key folder
// holds only the key in force. The moments: certd's nginx binary is a wrapper that, after a
// successful `nginx -t`, kills what the file `after-check` names (no hook in certd); "during
// confirmation" is this test killing nginx as soon as it sees the new leaf served.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { servedLeaf } from '../../src/certd/appliers/nginx';
import { livePid } from '../../src/common/pid-file';
import { freePort } from './pebble';
import { API, startService, type Service } from './service';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'nginx']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t = suite('nginx or certd killed during an https apply');
let svc: Service;
let work = '';
let prefix = '';
let httpsPort = 0;
const outcomes: string[] = [];

const masterPid = () => livePid(join(prefix, 'nginx.pid'), 'nginx: master process');
/** SIGKILL to nginx's master and its workers (stopped first, so it forks no new worker). */
const KILL_NGINX = 'kill -STOP "$1"; pkill -KILL -P "$1"; kill -KILL "$1"';
const killNginx = () => execFileSync('bash', ['-c', KILL_NGINX, '_', String(masterPid())]);
const afterCheck = (what: 'nginx' | 'certd') => writeFileSync(join(work, 'after-check'), what);

const admin = () => svc.as('admin');
const leafOf = async (alias: string): Promise<string> => {
  const entries = (await admin().get('/certd/v1/entries')).json.data as { alias: string; sha256: string }[];
  return entries.find((x) => x.alias === alias)!.sha256.replace(/:/g, '').toLowerCase();
};
const put = (alias: string) => admin().call('PUT', '/certd/v1/bindings/https', { data: { certificate: alias } });

/** The binding on record is what nginx serves (waiting for nginx to be back), and nothing is half-written or left over. */
async function recordServed(): Promise<string> {
  const alias = (await admin().get('/certd/v1/bindings/https')).json.data.certificate.alias as string;
  const want = await leafOf(alias);
  let served: string | null = null;
  for (let i = 0; i < 600 && served !== want; i++) {
    served = await servedLeaf('127.0.0.1', httpsPort, 1000);
    if (served !== want) await sleep(100);
  }
  assert.is(served, want, `nginx serves the binding on record (${alias})`);
  execFileSync('/usr/sbin/nginx', ['-t', '-q', '-p', prefix + '/', '-c', join(prefix, 'conf', 'nginx.conf')]);
  const named = [...readFileSync(join(prefix, 'conf', 'tls.conf'), 'utf8').matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  for (const f of named) assert.ok(existsSync(f), `${f} exists`);
  assert.equal(readdirSync(join(prefix, 'tls')).sort(), named.filter((f) => dirname(f) === join(prefix, 'tls')).map((f) => basename(f)).sort(), 'no other chain file');
  const key = named.find((f) => !f.startsWith(join(prefix, 'tls')))!;
  assert.equal(readdirSync(dirname(key)), [basename(key)], 'the service-key folder holds the key in force only');
  return alias;
}

t.before(async () => {
  work = mkdtempSync(join(tmpdir(), 'certd-nginx-crash-'));
  prefix = join(work, 'nginx');
  httpsPort = await freePort();
  const wrapper = join(work, 'nginx.sh');
  writeFileSync(wrapper, `#!/bin/bash
# Debian's nginx; after a successful check, kills what ${work}/after-check names, once.
/usr/sbin/nginx "$@" || exit $?
case " $* " in *" -t "*) ;; *) exit 0 ;; esac
[ -f ${work}/after-check ] || exit 0
what=$(cat ${work}/after-check); rm -f ${work}/after-check
if [ "$what" = certd ]; then kill -KILL $PPID; exit 0; fi
set -- "$(cat ${prefix}/nginx.pid)"
${KILL_NGINX}
`);
  chmodSync(wrapper, 0o755);
  svc = await startService({
    basic: true, basicOverHttp: false,
    certd: { listen: { host: '127.0.0.1', port: await freePort() }, https: { nginx: wrapper, prefix, host: '127.0.0.1', port: httpsPort }, default_certificate: { make: true } },
  });
  for (const alias of ['web-a', 'web-b']) assert.is((await admin().post(`${API}/create_certificate`, { alias, subject: `CN=${alias}` })).status, 200);
  assert.is((await put('web-a')).status, 200);
});
t.after(async () => {
  await svc?.stop();
  const pid = masterPid();
  if (pid !== undefined) process.kill(pid, 'SIGTERM');
});

t('nginx killed after `nginx -t`, before the HUP: certd starts a master on the new files; the API answers 200', async () => {
  afterCheck('nginx');
  const r = await put('web-b');
  assert.is(r.status, 200, r.text);
  assert.not.ok(existsSync(join(work, 'after-check')), 'the kill happened');
  assert.is(await recordServed(), 'web-b');
});

t('nginx killed while the new certificate is being confirmed: an answer, and the record served once nginx is back', async () => {
  const want = await leafOf('web-a');
  const answer = put('web-a');
  let seen = false;
  for (let i = 0; i < 3000 && !seen; i++) {
    seen = (await servedLeaf('127.0.0.1', httpsPort, 1000)) === want;
    if (!seen) await sleep(5);
  }
  assert.ok(seen, 'the new leaf was served');
  killNginx();
  const r = await answer;
  assert.ok(r.status === 200 || r.status === 502, r.text);
  outcomes.push(`killed during confirmation: ${r.status}`);
  assert.is(await recordServed(), r.status === 200 ? 'web-a' : 'web-b');
});

t('nginx killed while certd idles: certd notices and serves the binding on record again', async () => {
  const before = await recordServed();
  const since = new Date().toISOString();
  killNginx();
  assert.is(await servedLeaf('127.0.0.1', httpsPort, 1000), null, 'nginx is down');
  assert.is(await recordServed(), before);
  assert.match(svc.logs(), 'nginx was not running: the https binding on record is served again');
  // One audit record for the outage, by certd, naming the binding.
  const records = ((await admin().get(`/certd/v1/audit?since=${since}`)).json.data as { operation: string; user: string; outcome: string; target?: { alias?: string } }[])
    .filter((r) => r.operation === 'apply_recorded_binding');
  assert.equal(records.map((r) => [r.user, r.outcome, r.target?.alias]), [['certd', 'ok', 'https']]);
});

t('certd killed after `nginx -t` (include written, not confirmed): the restarted certd serves the binding on record', async () => {
  const next = (await recordServed()) === 'web-a' ? 'web-b' : 'web-a';
  afterCheck('certd');
  const r = await put(next).catch((e: Error) => e);
  assert.instance(r, Error, 'certd died before answering');
  await svc.killCertd();
  await svc.start();
  assert.is(await recordServed(), next, 'the change on record is applied again at start');
});

t.after(() => {
  console.log(`  ${outcomes.join('; ')}`);
});

t.run();
