// Bindings: which entries each device service uses (https: the web server; dot1x: the
// wired 802.1X supplicant; other names: certificate sets kept as data). The rules:
// - a binding is accepted only after its pre-flight checks pass (preflight.ts);
// - a change is journaled (store/bindings.ts) before it is applied: a crash between the
//   two applies the binding on record again at the next start;
// - when the service's applier fails, the previous binding is put back and applied, and
//   the caller gets APPLY_FAILED;
// - a bound entry is not deleted, and replacing its certificate applies the binding again
//   (certificates.ts asks through the Usage interface).
import type { Applier, BindingMaterial } from '../appliers/port';
import type { Binding, BindingStore } from '../store/bindings';
import type { Audit } from './audit';
import type { Certificates, EntryDetails, Usage } from './certificates';
import { DomainError } from './errors';
import { preflight, type Service } from './preflight';

export const BINDING_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface SetBinding {
  /** The certificate entry, by id or alias; absent: none. */
  certificate?: string;
  /** CA entries, by id or alias. */
  ca: string[];
  settings: Record<string, unknown>;
}

/** What a pre-flight alone finds (Bindings.preview). */
export interface Preview {
  ok: boolean;
  errors: { check: string; message: string }[];
  warnings: string[];
}

export interface BindingView {
  name: string;
  certificate: { id: string; alias: string } | null;
  ca: { id: string; alias: string }[];
  settings: Record<string, unknown>;
}

export class Bindings implements Usage {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: BindingStore,
    private readonly certs: Certificates,
    private readonly applierFor: (name: string) => Applier,
    private readonly audit: Audit,
    /** The device's host names and addresses (https SANs should cover them). */
    readonly deviceNames: string[] = [],
  ) {}

  list(): BindingView[] {
    return this.store.all().map((b) => this.view(b));
  }

  get(name: string): BindingView {
    const b = this.store.get(name);
    if (!b) throw new DomainError('NOT_FOUND', `no binding ${name}`);
    return this.view(b);
  }

  usedBy(entryId: string): string[] {
    return this.store.all().filter((b) => b.certificate === entryId || b.ca.includes(entryId)).map((b) => b.name);
  }

  /** Sets a binding; answers the pre-flight warnings (checks that do not refuse). */
  set(name: string, req: SetBinding): Promise<{ warnings: string[] }> {
    return this.audit.change('set_binding', () => ({ alias: name }), () => this.serial(async () => {
      checkShape(name, req);
      const { binding, warnings } = await this.check(name, req, (n) => this.certs.find(n));
      await this.change(binding);
      return { warnings };
    }));
  }

  /**
   * The pre-flight of a request alone: nothing is recorded, applied or audited. A failed
   * check is an answer here (ok false, the check named), not an error; a request that
   * names no such entry or bad settings still is one.
   */
  async preview(name: string, req: SetBinding): Promise<Preview> {
    checkShape(name, req);
    try {
      const { warnings } = await this.check(name, req, (n) => this.certs.find(n));
      return { ok: true, errors: [], warnings };
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'PREFLIGHT_FAILED') throw e;
      return { ok: false, errors: [{ check: e.field ?? '', message: e.message }], warnings: [] };
    }
  }

  /**
   * The binding a checked request makes, and its pre-flight warnings. `find` resolves
   * entry names: a batch (domain/batches.ts) also sees the entries it is about to write.
   */
  async check(name: string, req: SetBinding, find: (name: string) => EntryDetails | undefined): Promise<{ binding: Binding; warnings: string[] }> {
    const leaf = req.certificate === undefined ? undefined : entryOf(find, req.certificate, 'certificate', 'certificate');
    const cas = req.ca.map((n) => entryOf(find, n, 'ca', 'ca'));
    const warnings = leaf ? await preflight(serviceOf(name), leaf, cas, this.certs, this.deviceNames) : [];
    return { binding: { name, ...(leaf ? { certificate: leaf.entry.id } : {}), ca: cas.map((c) => c.entry.id), settings: req.settings }, warnings };
  }

  /** Bindings as they are on record. */
  recorded(): Binding[] {
    return this.store.all();
  }

  /**
   * A binding a committed batch sets: recorded and applied, with no going back (the batch
   * is committed). A crash in between applies it again at start (recover).
   */
  recordAndApply(b: Binding): Promise<void> {
    return this.serial(async () => {
      this.store.begin(b.name);
      this.store.put(b);
      try {
        await this.applierFor(b.name).apply(this.material(b));
      } catch {
        throw new DomainError('APPLY_FAILED', `the ${b.name} service did not take the binding; it stays on record and is applied again at start`);
      }
      this.store.end();
    });
  }

  reapply(entryId: string): Promise<void> {
    return this.serial(async () => {
      for (const name of this.usedBy(entryId)) await this.change(this.store.get(name)!);
    });
  }

  /**
   * Applies the binding `name` as it is on record, changing no record: at start, for a
   * service that may have lost it while certd was away, and when the service comes back
   * while certd runs (a supplicant killed and restarted on an older config). `audited`:
   * recorded as `apply_recorded_binding` by certd (not for a caller that retries every few
   * seconds while the service stays down: the trail would fill with failures).
   */
  applyRecorded(name: string, audited = false, stillNeeded?: () => boolean): Promise<boolean> {
    return this.serial(async () => {
      const b = this.store.get(name);
      // A watch asks while a change is under way; by its turn that change may have brought
      // the service back already.
      if (!b || (stillNeeded && !stillNeeded())) return false;
      try {
        await this.applierFor(name).apply(this.material(b));
      } catch (e) {
        if (audited) this.audit.note('apply_recorded_binding', { alias: name }, 'APPLY_FAILED');
        throw e;
      }
      if (audited) this.audit.note('apply_recorded_binding', { alias: name });
      return true;
    });
  }

  /** At start: a binding change a crash interrupted is applied again as it is on record. */
  async recover(): Promise<string | undefined> {
    const name = this.store.pending();
    if (name === undefined) return undefined;
    const b = this.store.get(name);
    if (b) await this.applierFor(name).apply(this.material(b));
    this.store.end();
    return name;
  }

  /** Journal, record, apply; on failure the previous binding is recorded and applied again. */
  private async change(next: Binding): Promise<void> {
    const previous = this.store.get(next.name);
    this.store.begin(next.name);
    this.store.put(next);
    try {
      await this.applierFor(next.name).apply(this.material(next));
    } catch {
      if (previous) {
        this.store.put(previous);
        await this.applierFor(next.name).apply(this.material(previous)).catch(() => undefined);
      }
      this.store.end();
      throw new DomainError('APPLY_FAILED', `the ${next.name} service did not take the binding; the previous one is back`);
    }
    this.store.end();
  }

  private material(b: Binding): BindingMaterial {
    const leaf = b.certificate === undefined ? undefined : this.certs.find(b.certificate)?.entry;
    return {
      name: b.name,
      ...(leaf ? { certificate: [leaf.certificate, ...leaf.chain].join(''), key: { keystore: leaf.keystore!, key_id: leaf.key_id! } } : {}),
      ca: b.ca.flatMap((id) => this.certs.find(id)?.entry.certificate ?? []),
      settings: b.settings,
    };
  }

  private view(b: Binding): BindingView {
    const ref = (id: string) => {
      const e = this.certs.find(id)?.entry;
      return { id, alias: e?.alias ?? '' };
    };
    return { name: b.name, certificate: b.certificate === undefined ? null : ref(b.certificate), ca: b.ca.map(ref), settings: b.settings };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** What each service's settings may be; other bindings keep theirs as data. */
const SETTINGS: Record<Service, Record<string, (v: unknown) => boolean> | undefined> = {
  https: {
    tls: (v) => typeof v === 'boolean',
    http_listener: (v) => typeof v === 'boolean',
    protocols: (v) => typeof v === 'string' && /^(TLSv1\.[23])( TLSv1\.[23])*$/.test(v),
    ciphers: (v) => typeof v === 'string' && /^[A-Za-z0-9_:+!@=-]{1,1024}$/.test(v),
    client_certificate: (v) => v === 'off' || v === 'optional' || v === 'required',
  },
  dot1x: {
    identity: (v) => typeof v === 'string' && v.length > 0 && v.length <= 253 && !/[\x00-\x1f"\\]/.test(v),
    eap_method: (v) => v === 'EAP-TLS',
  },
  other: undefined,
};

function checkSettings(service: Service, settings: Record<string, unknown>): void {
  const allowed = SETTINGS[service];
  if (!allowed) return;
  for (const [k, v] of Object.entries(settings)) {
    const ok = Object.prototype.hasOwnProperty.call(allowed, k) ? allowed[k]!(v) : false;
    if (!ok) throw new DomainError('INVALID', Object.prototype.hasOwnProperty.call(allowed, k) ? 'invalid value' : `unknown setting for ${service}`, `settings.${/^\w{1,64}$/.test(k) ? k : '?'}`);
  }
}

/** What a binding request must be before any entry is looked at. */
export function checkShape(name: string, req: SetBinding): void {
  if (!BINDING_NAME.test(name)) throw new DomainError('INVALID', 'must be 1-64 characters of A-Z a-z 0-9 _ . -', 'name');
  checkSettings(serviceOf(name), req.settings);
}

function entryOf(find: (name: string) => EntryDetails | undefined, name: string, kind: 'certificate' | 'ca', field: string): EntryDetails {
  const d = find(name);
  if (!d || d.entry.kind !== kind) throw new DomainError('NOT_FOUND', `no ${kind === 'ca' ? 'CA certificate' : 'certificate'} ${JSON.stringify(name)}`, field);
  return d;
}

function serviceOf(name: string): Service {
  return name === 'https' || name === 'dot1x' ? name : 'other';
}
