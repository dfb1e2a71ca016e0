// The applier used until a service has a live one: it records what the service would use
// (certificate fingerprints, key reference, CA fingerprints, settings) in
// `applied/<binding>.json`, atomically. What it writes is what GET /certd/v1/bindings shows
// as applied.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file';
import type { Applier, BindingMaterial } from './port';

const sha256 = (pem: string) =>
  createHash('sha256').update(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex');

export class RecordOnlyApplier implements Applier {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  async apply(m: BindingMaterial): Promise<void> {
    const leaf = m.certificate?.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0];
    const record = {
      certificate_sha256: leaf ? sha256(leaf) : null,
      key: m.key ?? null,
      ca_sha256: m.ca.map(sha256),
      settings: m.settings,
      applied: new Date().toISOString(),
    };
    writeFileAtomic(join(this.dir, `${m.name}.json`), Buffer.from(JSON.stringify(record)));
  }
}
