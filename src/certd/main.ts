// certd's composition root: config -> crypto core -> keystored client -> store, journal,
// domain -> HTTP app with its front-ends -> HTTP or HTTPS server. Before serving, it
// finishes or undoes whatever a crash interrupted (Certificates.reconcile).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeystoreClient } from '../../ipc/client';
import { endpointFor } from '../../ipc/server';
import { Core } from '../../wasm/core';
import { CoreWorkers } from '../../wasm/core-workers';
import { Keys } from '../../wasm/keys';
import { Pkcs12 } from '../../wasm/pkcs12';
import { X509 } from '../../wasm/x509';
import { X509Writer } from '../../wasm/x509write';
import { writeFileAtomic } from '../common/atomic-file';
import { createLogger } from '../common/log';
import { registerCertV1, errorEnvelope } from './api/cert-v1';
import { registerCertdV1 } from './api/certd-v1';
import { registerDiscovery } from './api/discovery';
import { registerMetrics } from './api/metrics';
import { RequestMetrics } from './metrics/request-metrics';
import { registerEnrollments } from './api/enrollments';
import { registerUiPage } from './api/ui-page';
import { registerTwoN } from './api/two-n';
import { registerTwoNCsr } from './api/two-n-csr';
import { registerSps, registerSpsTransaction } from './api/sps';
import { Transactions } from './api/sps-transaction';
import { registerSpsX509 } from './api/sps-x509';
import { registerSpsManagement } from './api/sps-management';
import { registerSpsUsers } from './api/sps-users';
import { registerSpsRootPassword } from './api/sps-root-password';
import { hashRootPassword, RootPasswordHook, writeRootPassword } from './auth/root-password';
import { registerSpsPrivateKeys } from './api/sps-private-keys';
import { Sessions } from './auth/sessions';
import { SessionScheme } from './auth/session-scheme';
import { registerSoap } from './api/soap';
import { Authenticator } from './auth/authenticator';
import { FailureLog } from './auth/failure-log';
import { clientAddress, Throttle } from './auth/throttle';
import { tlsByProxy } from './http/forwarded-tls';
import { generatePassword, UserStore, type UserRecord } from './auth/users';
import { WsseScheme } from './auth/wsse-scheme';
import { loadCertdConfig } from './config';
import { nginxApplier, type NginxApplier } from './appliers/nginx';
import { RecordOnlyApplier } from './appliers/record-only';
import { KeystoredServiceKeys } from './appliers/service-keys';
import { WpaSupplicantApplier } from './appliers/wpa-supplicant';
import { Audit } from './domain/audit';
import { Batches } from './domain/batches';
import { Bindings } from './domain/bindings';
import { Certificates } from './domain/certificates';
import { ensureDefaultCertificate } from './domain/default-certificate';
import { Challenges, Enrollments } from './domain/enrollments';
import { importFactoryEntries } from './domain/factory';
import { Keystores } from './domain/keystores';
import { App } from './http/app';
import { currentRequest } from './http/context';
import { createCertdServer } from './http/server';
import { AuditLog } from './store/audit-log';
import { SyslogCopy } from './store/audit-syslog';
import { BindingStore } from './store/bindings';
import { Journal } from './store/journal';
import { Marker } from './store/marker';
import { RecordStore } from './store/records';

const log = createLogger('certd');

function configPath(): string | undefined {
  const i = process.argv.indexOf('--config');
  return i > 0 ? process.argv[i + 1] : process.env.CERTD_CONFIG;
}

async function waitForKeystored(keystores: Keystores): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await keystores.describe();
      return;
    } catch (e) {
      if (attempt >= 60) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const NGINX_WATCH_MS = 2000;

/** Applies the https binding again whenever nginx's master is gone; one log line per outage. */
function watchNginx(nginx: NginxApplier, applyRecorded: (audited: boolean) => Promise<boolean>): void {
  let busy = false;
  let failing = false;
  setInterval(() => {
    if (busy || nginx.masterPid() !== undefined) return;
    busy = true;
    // The first attempt of each outage is audited (it worked, or it did not); the retries of
    // an outage that lasts are only logged once, or the trail would fill every 2 s.
    applyRecorded(!failing).then((applied) => {
      // Nothing on record, or a change brought nginx back first: nothing to say.
      if (applied) log.warn('nginx was not running: the https binding on record is served again');
      failing = false;
    }, (e: Error) => {
      if (!failing) log.error('nginx is not running and the https binding on record did not start it (tried again)', { error: e.message });
      failing = true;
    }).finally(() => { busy = false; });
  }, NGINX_WATCH_MS).unref();
}

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadCertdConfig(configPath());
  const core = await Core.load();
  // PKCS#12 KDFs run in a worker thread: a file at the iteration cap takes seconds.
  const workers = new CoreWorkers();
  const crypto = { keys: new Keys(core), x509: new X509(core), writer: new X509Writer(core), pkcs12: new Pkcs12(workers) };
  // Each call brings its own timeout (domain/keystore-timeouts.ts).
  const client = new KeystoreClient(endpointFor(config.keystored_socket_dir));
  const keystores = new Keystores(client);
  const store = new RecordStore(config.data_dir);
  if (store.opened === 'new') log.info('entries folder made', { generation: store.generation });
  const auditLog = new AuditLog(config.data_dir, { maxBytes: config.audit.max_bytes, keep: config.audit.keep });
  const syslog = config.audit.syslog;
  const audit = new Audit(syslog
    ? new SyslogCopy(auditLog, syslog, (e) => log.warn('audit records are not reaching syslog (counted, logged once)', { target: `${syslog.host}:${syslog.port}`, error: e.message }))
    : auditLog, currentRequest);
  const journal = new Journal(config.data_dir);
  const certs = new Certificates(store, journal, keystores, crypto, audit);
  // Until a service has a live applier, what it would use is recorded under applied/.
  const recorder = new RecordOnlyApplier(join(config.data_dir, 'applied'));
  const dot1x = config.dot1x && new WpaSupplicantApplier(config.dot1x, new KeystoredServiceKeys(keystores));
  const https = config.https && nginxApplier(config.https, config.listen, new KeystoredServiceKeys(keystores));
  const bindings = new Bindings(new BindingStore(config.data_dir), certs, (name) => (name === 'dot1x' && dot1x) || (name === 'https' && https) || recorder, audit, config.device_names);
  certs.attach(bindings);
  // Before the batches: one that a crash left committed may still have users' records to write.
  const first = UserStore.firstRun(config.users_file, config.realm);
  const users = UserStore.load(config.users_file);
  const batchUsers = {
    get: (name: string) => users.get(name), putRecords: (r: UserRecord[]) => users.putRecords(r),
    putRootPassword: (hash: string) => writeRootPassword(config.data_dir, hash),
  };
  const batches = new Batches(store, journal, keystores, certs, bindings, audit, batchUsers, (e) => {
    log.error('a committed batch could not be written; certd stops and finishes it at start', { error: e.message });
    process.exit(1);
  });

  await waitForKeystored(keystores);
  // Every password set seals the password in keystored for WS-UsernameToken (auth/wsse-scheme.ts);
  // when keystored cannot, the user keeps Digest and Basic and has no UsernameToken until the next set.
  const sealed = (password: string) => keystores.sealPassword(password).catch((e: Error) => {
    log.warn('password not sealed: no WS-UsernameToken for this user until the next password set', { error: e.message });
    return undefined;
  });
  if (first.created) users.setPassword(first.user, first.password, await sealed(first.password));
  const rolled = await batches.recover();
  if (rolled.rolledBack + rolled.rolledForward + rolled.setAside > 0) log.warn('finished batches an earlier run left unfinished', rolled);
  const found = await certs.reconcile();
  const reapplied = await bindings.recover();
  if (reapplied) log.warn('applied again a binding whose change an earlier run left unfinished', { binding: reapplied });
  if (found.finished) log.warn('finished operations an earlier run left unfinished', { count: found.finished });
  if (found.setAside.length) {
    log.warn('journal intents of another store generation set aside in journal/unowned (their keys were not touched)', {
      intents: found.setAside.map((i) => ({ op: i.op, keystore: i.keystore, key_id: i.key_id })),
    });
  }
  if (found.unowned.length) {
    // Keys only a journaled operation may delete: these stay until a person decides.
    log.warn('keys of certd that no entry uses were kept', { count: found.unowned.length, keys: found.unowned.slice(0, 100) });
  }
  for (const f of await importFactoryEntries(config.factory_entries, store, certs, bindings, audit)) {
    if (f.ok) log.info('factory entry', { alias: f.alias, outcome: f.detail });
    else log.warn('factory entry not in force (see /certd/v1/health)', { alias: f.alias, problem: f.detail });
  }
  // A failure is logged and tried again at the next start; certd serves meanwhile.
  await ensureDefaultCertificate(config.default_certificate, config.device_names, certs, bindings, new Marker(join(config.data_dir, 'default-certificate.json')))
    .then((outcome) => log.info('default certificate', { alias: config.default_certificate.alias, outcome }))
    .catch((e: Error) => log.error('default certificate not made', { alias: config.default_certificate.alias, error: e.message }));
  // nginx may not run yet (boot, or https newly configured): it gets the binding on record.
  const served = https && https.masterPid() === undefined ? bindings.recorded().find((b) => b.name === 'https')?.certificate : undefined;
  if (served) await bindings.reapply(served).catch((e: Error) => log.error('https binding not served by nginx', { error: e.message }));
  // nginx killed while certd runs (a crash, the OOM killer, a person): certd is its only
  // starter, so it looks at the master's pid every NGINX_WATCH_MS and, with none, applies the
  // https binding on record again, which starts a master on it (an apply nginx died in has
  // already answered: its rollback, or this, puts the record back in force). No supervisor.
  if (https) watchNginx(https, (audited) => bindings.applyRecorded('https', audited, () => https.masterPid() === undefined));
  // The supplicant may have been restarted on an older config while certd was away. Not
  // awaited: authenticating takes seconds; binding changes queue behind it.
  // The same when its unit restarts it while certd runs (a crash, a firmware script).
  if (dot1x) {
    // Audited: at most one a start and one a return of the supplicant (its watch coalesces).
    const applyRecorded = (why: string) => void bindings.applyRecorded('dot1x', true).then(() => log.info('dot1x binding on record applied', { why }), (e: Error) => log.error('dot1x binding on record not applied', { why, error: e.message }));
    applyRecorded('certd started');
    dot1x.watch(() => applyRecorded("the supplicant's control socket is back"));
  }

  const t = config.auth.throttle;
  const throttle = new Throttle({
    freeFailures: t.free_failures, baseDelayMs: t.base_delay_ms, maxDelayMs: t.max_delay_ms, lockAfter: t.lock_after,
    addressLockAfter: t.address_lock_after, windowSeconds: t.window_seconds, lockSeconds: t.lock_seconds, maxTracked: t.max_tracked,
  });
  const requestMetrics = new RequestMetrics();
  const failureLog = new FailureLog(log, t.log_lines_per_minute, undefined, (user, address, api, outcome) => audit.failedLogin(user, address, api, outcome));
  setInterval(() => failureLog.flush(), 60_000).unref();
  const auth = new Authenticator(users, {
    realm: config.realm, basic: config.auth.basic, basicOverHttp: config.auth.basic_over_http, digestAlgorithms: config.auth.digest,
    nonceTtlSeconds: 300, nonceFailures: config.auth.nonce_failures,
  }, { throttle, onFailure: (f) => {
    failureLog.record(f);
    requestMetrics.authFailure(f.api);
  } });
  const proxies = new Set(config.auth.trusted_proxies);
  const app = new App({
    clientAddress: (remote, forwardedFor) => clientAddress(remote, forwardedFor, proxies),
    tlsByProxy: (remote, forwardedProto) => tlsByProxy(remote, forwardedProto, proxies),
    authenticate: (req) => auth.authenticate(req),
    bodyLimit: config.body_limit,
    trustedOrigins: config.trusted_origins,
    errorBody: errorEnvelope,
    observe: (api, status, seconds) => requestMetrics.observe(api, status, seconds),
    onError: (e, req) => log.error('request failed', { method: req.method, path: req.url?.split('?')[0], error: (e as Error).message }),
  });
  registerCertV1(app, certs);
  registerDiscovery(app);
  registerCertdV1(app, certs, bindings, batches, audit);
  registerUiPage(app);
  registerTwoN(app, certs, batches);
  registerTwoNCsr(app, certs);
  // SPS: the session cookie, else Basic (auth.basic) to log in with; no Digest challenge.
  const sessions = new Sessions();
  auth.setChain('sps', [new SessionScheme(sessions, users), ...auth.defaultChain.filter((s) => s.name === 'basic')]);
  registerSps(app, sessions);
  const rootHook = config.sps.root_password_hook && new RootPasswordHook(config.sps.root_password_hook, (failure) =>
    log.error('the root password hook failed; the hash is stored, the OS keeps its password', { error: failure }));
  const transactions = new Transactions(batches, (name) => bindings.recorded().find((b) => b.name === name), {
    record: async (user, password) => users.passwordRecord(user, password, await sealed(password)),
    // One audit record per user, naming the user only. The user's other sessions end: a
    // password change is how an admin shuts out whoever learned the old one.
    changed: (changed, session) => {
      for (const user of changed) {
        audit.note('set_password', { alias: user });
        sessions.endUser(user, session);
      }
    },
    rootHash: hashRootPassword,
    rootChanged: (hash) => {
      audit.note('set_root_password', {});
      void rootHook?.push(hash);
    },
  });
  sessions.onEnd((id) => transactions.sessionEnded(id));
  sessions.onUse((id) => transactions.touch(id));
  registerSpsTransaction(app, sessions, transactions);
  registerSpsX509(app, certs, sessions, transactions);
  registerSpsPrivateKeys(app, certs, sessions, transactions);
  registerSpsManagement(app, certs, bindings, sessions, transactions);
  registerSpsUsers(app, users, sessions, transactions);
  registerSpsRootPassword(app, sessions, transactions, config.realm);
  registerSoap(app, certs, batches, bindings);
  // Checked for unknown users, so that their refusal takes as long as a wrong password's.
  const dummy = await keystores.sealPassword(generatePassword()).catch(() => undefined);
  auth.setChain('soap', [...auth.defaultChain, new WsseScheme(users, keystores, dummy === undefined ? {} : { dummy })]);
  const enrollments = new Enrollments(config.data_dir, certs, keystores, bindings, batches, audit, new Challenges(), config.acme.retry);
  registerMetrics(app, certs, bindings, requestMetrics, config.metrics.anonymous, () => enrollments.list());
  registerEnrollments(app, enrollments);

  const tls = config.tls && { cert: readFileSync(config.tls.cert_file), key: readFileSync(config.tls.key_file) };
  const { server, maxConnections } = createCertdServer({ limits: config.http, tls, errorBody: errorEnvelope }, app.listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, resolve);
  });
  const address = server.address() as { address: string; port: number };
  const url = `${config.tls ? 'https' : 'http'}://${address.address}:${address.port}`;
  if (first.created) {
    // Printed once, on the run that created the users file, and never logged. stdout may
    // end in a log others can read (a journal), so the password is also left in a 0600
    // file beside the users file, for the admin to read and delete.
    const saved = join(dirname(config.users_file), 'first-run-password');
    writeFileAtomic(saved, Buffer.from(`${first.user}:${first.password}\n`), 0o600);
    process.stdout.write(`\ncertd first run: user "${first.user}", password "${first.password}" (shown once; also in ${saved}, mode 0600: delete it once stored)\n\n`);
  }
  log.info('ready', { url, ms: Date.now() - started, max_connections: maxConnections });
  // After listening: an http-01 answer is served by this listener.
  enrollments.start();

  const stop = (signal: string) => {
    log.info('stopping', { signal });
    enrollments.stop();
    server.close(() => {
      keystores.close();
      client.close();
      void workers.close().finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: Error) => {
  log.error('cannot start', { error: e.message });
  process.exit(1);
});
