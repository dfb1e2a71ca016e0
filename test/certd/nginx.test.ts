// The https applier against real nginx (Debian's, as root, in a temp prefix on a free port),
// through the applier conformance suite: the leaf nginx serves is read by a TLS handshake.
// The consumer "refuses" for real: the key keystored hands nginx is another key than the
// certificate's, so `nginx -t` fails on the mismatch and the previous certificate stays.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { NginxApplier, servedLeaf } from '../../src/certd/appliers/nginx';
import { KeystoredServiceKeys } from '../../src/certd/appliers/service-keys';
import type { ServiceKeys } from '../../src/certd/appliers/port';
import { applierConformance } from './applier-conformance';

execFileSync('bash', [join(__dirname, '..', '..', '..', 'scripts', 'packages.sh'), 'nginx']);

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
applierConformance('nginx', 'https', async (dir, keystores) => {
  port ||= await freePort();
  const real = new KeystoredServiceKeys(keystores);
  // Broken: the key of the previous open is handed out again, whatever key is asked for.
  let refusing = false;
  let last: { keystore: string; key_id: string } | undefined;
  const keys: ServiceKeys = {
    open: (service, key, owner) => {
      const k = refusing && last ? last : key;
      last = key;
      return real.open(service, k, owner);
    },
    close: (service, keep) => real.close(service, keep),
  };
  const applier = new NginxApplier({
    nginx: '/usr/sbin/nginx', prefix: dir, host: '127.0.0.1', port, user: 'www-data', owner: { uid: 33, gid: 33 },
    upstream: { host: '127.0.0.1', port: 9 },
  }, keys);
  masters.add(applier);
  return {
    applier,
    inUse: () => servedLeaf('127.0.0.1', port),
    breakConsumer: () => { refusing = true; },
    repairConsumer: () => { refusing = false; },
  };
});
