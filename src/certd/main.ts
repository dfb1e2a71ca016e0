// certd's composition root: config -> crypto core -> keystored client -> store, journal,
// domain -> HTTP app with its front-ends -> HTTP or HTTPS server. Before serving, it
// finishes or undoes whatever a crash interrupted (Certificates.reconcile).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeystoreClient } from '../../ipc/client';
import { endpointFor } from '../../ipc/server';
import { Core } from '../../wasm/core';
import { Keys } from '../../wasm/keys';
import { Pkcs12 } from '../../wasm/pkcs12';
import { X509 } from '../../wasm/x509';
import { X509Writer } from '../../wasm/x509write';
import { writeFileAtomic } from '../common/atomic-file';
import { createLogger } from '../common/log';
import { registerCertV1, errorEnvelope } from './api/cert-v1';
import { registerCertdV1 } from './api/certd-v1';
import { registerDiscovery } from './api/discovery';
import { Authenticator } from './auth/authenticator';
import { UserStore } from './auth/users';
import { loadCertdConfig } from './config';
import { Audit } from './domain/audit';
import { Certificates } from './domain/certificates';
import { Keystores } from './domain/keystores';
import { App } from './http/app';
import { currentRequest } from './http/context';
import { createCertdServer } from './http/server';
import { AuditLog } from './store/audit-log';
import { Journal } from './store/journal';
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

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadCertdConfig(configPath());
  const core = await Core.load();
  const crypto = { keys: new Keys(core), x509: new X509(core), writer: new X509Writer(core), pkcs12: new Pkcs12(core) };
  const client = new KeystoreClient(endpointFor(config.keystored_socket_dir), { timeoutMs: 60_000 });
  const keystores = new Keystores(client);
  const store = new RecordStore(config.data_dir);
  if (store.opened === 'new') log.info('entries folder made', { generation: store.generation });
  const audit = new Audit(new AuditLog(config.data_dir, { maxBytes: config.audit.max_bytes, keep: config.audit.keep }), currentRequest);
  const certs = new Certificates(store, new Journal(config.data_dir), keystores, crypto, audit);

  await waitForKeystored(keystores);
  const found = await certs.reconcile();
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

  const first = UserStore.firstRun(config.users_file, config.realm);
  const users = UserStore.load(config.users_file);
  const auth = new Authenticator(users, { realm: config.realm, basic: config.auth.basic, digestAlgorithms: config.auth.digest, nonceTtlSeconds: 300 });
  const app = new App({
    authenticate: (method, url, header) => auth.check(method, url, header),
    bodyLimit: config.body_limit,
    trustedOrigins: config.trusted_origins,
    errorBody: errorEnvelope,
    onError: (e, req) => log.error('request failed', { method: req.method, path: req.url?.split('?')[0], error: (e as Error).message }),
  });
  registerCertV1(app, certs);
  registerDiscovery(app);
  registerCertdV1(app, certs, audit);

  const tls = config.tls && { cert: readFileSync(config.tls.cert_file), key: readFileSync(config.tls.key_file) };
  const { server, maxConnections } = createCertdServer({ limits: config.http, tls }, app.listener);
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

  const stop = (signal: string) => {
    log.info('stopping', { signal });
    server.close(() => {
      client.close();
      process.exit(0);
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
