// A test applier shaped like the live ones: it writes the binding's files (chain, CA
// certificates, settings) for its service, then has the service reload them; the service
// (a fake consumer) keeps what it serves in a file, so it outlives a restart, and can be
// made to refuse a reload.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/common/atomic-file';
import type { Applier, BindingMaterial } from '../../src/certd/appliers/port';

const LEAF = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/;

class FakeService {
  refusing = false;

  constructor(private readonly dir: string) {}

  /** Loads the binding's files; what it serves changes only when all of them are good. */
  reload(name: string): void {
    if (this.refusing) throw new Error('the service refused its new configuration');
    const chain = readFileSync(join(this.dir, name, 'chain.pem'), 'utf8');
    JSON.parse(readFileSync(join(this.dir, name, 'settings.json'), 'utf8'));
    const leaf = LEAF.exec(chain);
    const sha = leaf ? createHash('sha256').update(Buffer.from(leaf[1]!.replace(/\s+/g, ''), 'base64')).digest('hex') : '';
    writeFileAtomic(join(this.dir, name, 'serving'), Buffer.from(sha));
  }

  serving(name: string): string | null {
    const file = join(this.dir, name, 'serving');
    return existsSync(file) ? readFileSync(file, 'utf8') || null : null;
  }
}

export class FileApplier implements Applier {
  readonly service: FakeService;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.service = new FakeService(dir);
  }

  async apply(m: BindingMaterial): Promise<void> {
    const folder = join(this.dir, m.name);
    mkdirSync(folder, { recursive: true });
    writeFileAtomic(join(folder, 'chain.pem'), Buffer.from(m.certificate ?? ''));
    writeFileAtomic(join(folder, 'ca.pem'), Buffer.from(m.ca.join('')));
    writeFileAtomic(join(folder, 'settings.json'), Buffer.from(JSON.stringify({ key: m.key ?? null, ...m.settings })));
    this.service.reload(m.name);
  }
}
