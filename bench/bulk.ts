// Entries written straight into a stopped certd's entries/ folder (making 10,000 through the
// API would be a benchmark of its own): CA certificates, as the store writes them.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService, type Service } from '../test/certd/service';

/** A self-signed EC P-256 CA certificate, PEM (openssl). */
export function caPem(cn: string): string {
  return execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', `/CN=${cn}`, '-days', '30'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** `count` CA entries of one certificate, aliases "<prefix> 0" …; answers the entries folder's new ids. */
export function writeCaEntries(entriesDir: string, prefix: string, count: number, pem: string): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const alias = `${prefix} ${i}`;
    const file = createHash('sha256').update(alias).digest('hex').slice(0, 40) + '.json';
    const id = randomUUID();
    writeFileSync(join(entriesDir, file), JSON.stringify({ id, alias, kind: 'ca', certificate: pem, chain: [], created: new Date().toISOString() }));
    ids.push(id);
  }
  return ids;
}

/** A running certd whose store `write` filled while it was stopped (write answers what it wrote). */
export async function serviceWithEntries<T>(write: (entriesDir: string) => T): Promise<{ svc: Service; written: T }> {
  const svc = await startService();
  try {
    await svc.stop();
    const written = write(join(svc.dir, 'certd', 'entries'));
    await svc.start();
    return { svc, written };
  } catch (e) {
    await svc.stop();
    throw e;
  }
}
