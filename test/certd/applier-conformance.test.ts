// The Applier conformance suite (applier-conformance.ts) against every applier there is:
// the record-only applier certd uses until a service has a live one, and a file applier
// with a consumer that can be made to refuse (the shape of the live appliers: write the
// service's files, then have the service take them).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordOnlyApplier } from '../../src/certd/appliers/record-only';
import { applierConformance } from './applier-conformance';
import { FileApplier } from './file-applier';

applierConformance('record only', 'https', (dir) => {
  const file = (name: string) => join(dir, `${name}.json`);
  return {
    applier: new RecordOnlyApplier(dir),
    inUse: async (name) => (existsSync(file(name)) ? (JSON.parse(readFileSync(file(name), 'utf8')) as { certificate_sha256: string | null }).certificate_sha256 : null),
    // Its consumer is the file: a folder in its place cannot be replaced.
    breakConsumer: () => {
      rmSync(file('https'), { force: true });
      mkdirSync(file('https'));
      writeFileSync(join(file('https'), 'x'), '');
    },
    repairConsumer: () => rmSync(file('https'), { recursive: true }),
  };
});

applierConformance('files and a service that reloads them', 'dot1x', (dir) => {
  const applier = new FileApplier(dir);
  return {
    applier,
    inUse: async (name) => applier.service.serving(name),
    breakConsumer: () => { applier.service.refusing = true; },
    repairConsumer: () => { applier.service.refusing = false; },
  };
});
