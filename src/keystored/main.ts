// keystored's composition root: config -> crypto core -> key stores -> dispatcher -> server.
// SIGHUP reloads the config (a bad one is logged and the running stores stay), SIGTERM and
// SIGINT shut down cleanly; every write is atomic, so SIGKILL loses nothing.
import { KeystoreServer } from '../../ipc/server';
import { Opcode } from '../../ipc/protocol';
import { Core } from '../../wasm/core';
import { CoreWorkers } from '../../wasm/core-workers';
import { KeyJobs, Keys } from '../../wasm/keys';
import { StoreCrypto } from '../../wasm/store';
import { createLogger } from '../common/log';
import { loadConfig } from './config';
import { Dispatcher } from './dispatcher';
import { ServiceKeyFiles } from './service-key-files';
import { openStores } from './stores';

const log = createLogger('keystored');

function configPath(): string | undefined {
  const i = process.argv.indexOf('--config');
  return i > 0 ? process.argv[i + 1] : process.env.CERTD_KEYSTORED_CONFIG;
}

async function main(): Promise<void> {
  const started = Date.now();
  const path = configPath();
  const config = loadConfig(path);
  const core = await Core.load();
  // Key generation and RSA signing run in a worker thread: an RSA-4096 keygen takes seconds.
  const workers = new CoreWorkers();
  const deps = { keys: new Keys(core), jobs: new KeyJobs(workers), crypto: new StoreCrypto(core) };
  const dispatcher = new Dispatcher(await openStores(config, deps), new ServiceKeyFiles(config.service_key_dir, config.service_key_users));
  const server = new KeystoreServer(dispatcher.handle, {
    socketDir: config.socket_dir,
    allowedUids: config.allowed_uids,
    socketGid: config.socket_gid,
    onRefused: (uid) => log.warn('peer refused', { uid: uid ?? 'unknown' }),
    onInternalError: (opcode, e) => log.error('request failed', { op: Opcode[opcode], error: (e as Error).message }),
  });
  const endpoint = await server.start();
  log.info('ready', { endpoint, stores: dispatcher.all().map((s) => s.description.id), ms: Date.now() - started });

  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        const next = await openStores(loadConfig(path), deps, true);
        const old = dispatcher.replace(next);
        await Promise.allSettled(old.map((s) => s.close()));
        log.info('config reloaded', { stores: next.map((s) => s.description.id) });
      } catch (e) {
        log.error('config reload failed; keeping the running stores', { error: (e as Error).message });
      }
    });
  });
  const stop = async (signal: string) => {
    log.info('stopping', { signal });
    await server.stop();
    await Promise.allSettled(dispatcher.all().map((s) => s.close()));
    await workers.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((e: Error) => {
  log.error('cannot start', { error: e.message });
  process.exit(1);
});
