// Each API's names for entries, resolved in one place (DESIGN.md "One store, many names"):
//   cert.v1  the alias
//   SOAP     CertificateID = the alias; for SetDot1XConfiguration also the subject CN,
//            when exactly one entry has it
//   2N       "@name" = the entry whose alias is name ([A-Za-z0-9_-]{1,40}); "#name" = the
//            protected entry whose alias is name; or the leaf's SHA-1, 40 lowercase hex
//   SPS      the object key = the entry's id
// Each resolver answers the entry or a DomainError (NOT_FOUND, or INVALID for a name that
// cannot be one) naming the request field, so every front-end maps the same errors.
import type { CertificateInfo } from '../../../wasm/x509';
import type { Entry, EntryKind } from '../store/records';
import { DomainError } from './errors';
import { lookupForm } from './names';

/** What the resolvers read (the record store: every lookup but the CN one is O(1)). */
export interface EntryIndex {
  get(alias: string): Entry | undefined;
  getById(id: string): Entry | undefined;
  getByFingerprint(hex: string): readonly Entry[];
  all(): Entry[];
}

/** A 2N user-defined id, without its "@". */
export const TWO_N_NAME = /^[A-Za-z0-9_-]{1,40}$/;
const SHA1_HEX = /^[0-9a-f]{40}$/;
const TWO_N_MAX = 40;

const what = (kind?: EntryKind) => (kind === 'ca' ? 'CA certificate' : kind === 'certificate' ? 'certificate' : 'entry');

export class EntryNames {
  constructor(
    private readonly index: EntryIndex,
    /** A stored certificate's details (Certificates parses each once). */
    private readonly parse: (pem: string) => CertificateInfo,
  ) {}

  /** The subject CN of an entry's leaf (the last one, as a name's most specific part). */
  commonName(e: Entry): string | undefined {
    return this.parse(e.certificate).subject_attrs.filter((a) => a.type === 'CN').pop()?.value;
  }

  /** cert.v1: the alias as sent, or in NFC (domain/names.ts). */
  alias(name: string, kind?: EntryKind, field = 'alias'): Entry {
    return this.of(this.index.get(name) ?? this.index.get(lookupForm(name)), kind, field, () => `alias ${JSON.stringify(name)}`);
  }

  /** SOAP CertificateID: the alias. */
  certificateId(id: string, kind?: EntryKind): Entry {
    return this.alias(id, kind, 'CertificateID');
  }

  /**
   * SOAP SetDot1XConfiguration's CertificateID: the alias, else the subject CN when exactly
   * one entry (of `kind`) has it; several are INVALID (the client must name one by alias).
   */
  certificateIdOrCn(id: string, kind?: EntryKind): Entry {
    const e = this.index.get(id) ?? this.index.get(lookupForm(id));
    if (e && (!kind || e.kind === kind)) return e;
    const cn = lookupForm(id);
    const found = this.index.all().filter((x) => (!kind || x.kind === kind) && this.commonName(x) === cn);
    if (found.length > 1) throw new DomainError('INVALID', `${found.length} entries have the subject CN ${JSON.stringify(id)}; name one by its CertificateID`, 'CertificateID');
    return this.of(found[0], kind, 'CertificateID', () => `CertificateID or subject CN ${JSON.stringify(id)}`);
  }

  /** 2N's id: "@name", "#name" (a protected entry) or a SHA-1 fingerprint. */
  twoN(id: string, kind?: EntryKind, field = 'id'): Entry {
    if (id.startsWith('@')) {
      const name = id.slice(1);
      if (!TWO_N_NAME.test(name)) throw new DomainError('INVALID', 'an @name is 1 to 40 characters of A-Z a-z 0-9 _ -', field);
      return this.of(this.index.get(name), kind, field, () => `id ${id}`);
    }
    if (id.startsWith('#')) {
      const e = this.index.get(id.slice(1)) ?? this.index.get(lookupForm(id.slice(1)));
      return this.of(e?.protected ? e : undefined, kind, field, () => `id ${id} (# names a protected, factory entry)`);
    }
    if (!SHA1_HEX.test(id)) throw new DomainError('INVALID', 'must be @name, #name or a SHA-1 fingerprint (40 lowercase hex digits)', field);
    const found = this.index.getByFingerprint(id).filter((x) => !kind || x.kind === kind);
    if (found.length > 1) throw new DomainError('INVALID', `${found.length} entries hold this certificate; name one by @name`, field);
    return this.of(found[0], kind, field, () => `fingerprint ${id}`);
  }

  /** SPS: the object key is the entry's id. */
  spsKey(key: string, kind?: EntryKind): Entry {
    return this.of(this.index.getById(key), kind, 'key', () => `object ${JSON.stringify(key)}`);
  }

  /**
   * An alias for a 2N upload without id: the CN reduced to 2N's characters (a run of
   * others becomes one "-"), at most 40; "cert" when nothing is left; "-2", "-3" … when
   * taken. The same CN and store give the same alias.
   */
  newTwoNAlias(commonName: string | undefined): string {
    const base = (commonName ?? '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, TWO_N_MAX) || 'cert';
    if (!this.index.get(base)) return base;
    for (let n = 2; ; n++) {
      const suffix = `-${n}`;
      const alias = base.slice(0, TWO_N_MAX - suffix.length) + suffix;
      if (!this.index.get(alias)) return alias;
    }
  }

  /** The id a 2N listing shows: "#alias" for protected entries, "@alias" when 2N can say it, else the SHA-1. */
  twoNId(e: Entry, sha1: string): string {
    if (e.protected) return `#${e.alias}`;
    return TWO_N_NAME.test(e.alias) ? `@${e.alias}` : sha1;
  }

  private of(e: Entry | undefined, kind: EntryKind | undefined, field: string, named: () => string): Entry {
    if (!e || (kind && e.kind !== kind)) throw new DomainError('NOT_FOUND', `no ${what(kind)} with ${named()}`, field);
    return e;
  }
}
