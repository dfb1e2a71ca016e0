// Factory entries: identity material the firmware image brings (an IEEE 802.1AR device
// certificate whose key the image provisioned into the SE or TPM, or a CA certificate),
// declared in certd's config and imported at every start. They are protected: every API
// lists them, no API deletes or replaces them (PROTECTED), and certd never deletes their
// keys (their ids are not certd's, so no journal intent names them).
//
// At each start, for each declaration:
// - the key must sign for the certificate (keystored signs, the core verifies); if it does
//   not, or the file cannot be read, the entry is left as it was (absent, or its earlier
//   import) and the failure is logged, audited and shown in /certd/v1/health;
// - a certificate file that changed (a firmware update) replaces the entry's certificate
//   when its key signs for it; the entry keeps its id and the bindings using it apply again;
// - an alias held by an ordinary entry is a conflict: both are left as they are.
// A protected entry no longer declared is dropped from the store (its key is untouched),
// unless a binding uses it: then it stays and health says so.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Entry, RecordStore } from '../store/records';
import type { Audit } from './audit';
import { type Certificates, type FactoryStatus, KEY_PREFIX, type Usage } from './certificates';
import { DomainError } from './errors';
import { checkAlias } from './names';

export interface FactoryDeclaration {
  alias: string;
  /** PEM: the leaf, then its chain; a CA certificate alone when there is no key. */
  certificate_file: string;
  keystore?: string;
  /** The key the image provisioned (absent: a CA certificate). */
  key_id?: string;
}

const same = (a: Entry, b: Entry) =>
  a.kind === b.kind && a.certificate === b.certificate && a.chain.join('') === b.chain.join('') && a.keystore === b.keystore && a.key_id === b.key_id;

export async function importFactoryEntries(
  declared: FactoryDeclaration[],
  store: RecordStore,
  certs: Certificates,
  usage: Usage,
  audit: Audit,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Promise<FactoryStatus[]> {
  const status: FactoryStatus[] = [];
  const aliases = new Set<string>();
  for (const d of declared) {
    try {
      const alias = checkAlias(d.alias);
      aliases.add(alias);
      const outcome = await importOne(d, alias, store, certs, usage, audit, read);
      status.push({ alias, ok: true, detail: outcome });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      audit.note('factory_import', { alias: d.alias }, e.code);
      status.push({ alias: d.alias, ok: false, detail: `${e.code}: ${e.message}` });
    }
  }
  for (const e of store.all().filter((x) => x.protected && !aliases.has(x.alias))) {
    const users = usage.usedBy(e.id);
    if (users.length > 0) {
      status.push({ alias: e.alias, ok: false, detail: `no longer declared in the config; kept while the ${users.join(', ')} binding uses it` });
      continue;
    }
    store.remove(e.alias);
    audit.note('factory_remove', { id: e.id, alias: e.alias });
  }
  certs.factory = status;
  return status;
}

async function importOne(
  d: FactoryDeclaration, alias: string, store: RecordStore, certs: Certificates, usage: Usage, audit: Audit, read: (path: string) => string,
): Promise<'imported' | 'replaced' | 'unchanged'> {
  if ((d.keystore === undefined) !== (d.key_id === undefined)) throw new DomainError('INVALID', 'keystore and key_id go together', 'key_id');
  if (d.key_id?.startsWith(KEY_PREFIX)) throw new DomainError('INVALID', `must not begin with ${KEY_PREFIX} (those are keys certd made and may delete)`, 'key_id');
  let text: string;
  try {
    text = read(d.certificate_file);
  } catch (e) {
    throw new DomainError('BAD_CERTIFICATE', `cannot read ${d.certificate_file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'certificate_file');
  }
  const [leaf, ...chain] = certs.readCertificates(text, 'certificate_file');
  const kind = d.key_id === undefined ? 'ca' : 'certificate';
  if (kind === 'ca' && chain.length > 0) throw new DomainError('INVALID', 'a CA certificate file without key holds one certificate', 'certificate_file');

  const old = store.get(alias);
  if (old && !old.protected) throw new DomainError('ALIAS_EXISTS', 'an ordinary entry has this alias; both are left as they are', 'alias');
  const next: Entry = {
    id: old?.id ?? randomUUID(),
    alias,
    kind,
    certificate: leaf!.pem,
    chain: chain.map((c) => c.pem),
    ...(kind === 'certificate' ? { keystore: d.keystore!, key_id: d.key_id! } : {}),
    created: old?.created ?? new Date(certs.nowSeconds() * 1000).toISOString(),
    protected: true,
  };
  if (kind === 'certificate') {
    try {
      await certs.keySigns(next);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      throw new DomainError(e.code === 'KEYSTORE_UNAVAILABLE' ? e.code : 'KEY_MISMATCH', `the key ${d.keystore}/${d.key_id} does not sign for the certificate (${e.message})`, 'key_id');
    }
  }
  if (old && same(old, next)) return 'unchanged';
  store.put(next);
  audit.note(old ? 'factory_replace' : 'factory_import', { id: next.id, alias, ...(next.key_id ? { keystore: next.keystore, key_id: next.key_id } : {}) });
  if (old) await usage.reapply(next.id);
  return old ? 'replaced' : 'imported';
}
