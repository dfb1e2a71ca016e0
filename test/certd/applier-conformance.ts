// What every Applier (src/certd/appliers/port.ts) must pass, run through the real domain:
// certd's Certificates and Bindings in this process, on a store in a temp folder, with a
// real keystored. The applier under test serves one binding; the suite drives the domain
// and asks the applier's consumer what it really uses:
// - apply: the consumer uses the bound certificate;
// - a certificate that fails pre-flight is refused and nothing reaches the applier;
// - the consumer fails: the caller gets APPLY_FAILED, the previous binding is on record and
//   applied again;
// - a crash between the journal and the apply (the process stops inside apply): at the
//   next start the binding on record is applied.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KeystoreClient } from '../../ipc/client';
import { endpointFor } from '../../ipc/server';
import type { Applier, BindingMaterial, ServiceKeys } from '../../src/certd/appliers/port';
import { Audit } from '../../src/certd/domain/audit';
import { Bindings } from '../../src/certd/domain/bindings';
import { Certificates, type Crypto } from '../../src/certd/domain/certificates';
import { DomainError } from '../../src/certd/domain/errors';
import { Keystores } from '../../src/certd/domain/keystores';
import { AuditLog } from '../../src/certd/store/audit-log';
import { BindingStore } from '../../src/certd/store/bindings';
import { Journal } from '../../src/certd/store/journal';
import { RecordStore } from '../../src/certd/store/records';
import { Core } from '../../wasm/core';
import { CoreWorkers } from '../../wasm/core-workers';
import { Keys } from '../../wasm/keys';
import { Pkcs12 } from '../../wasm/pkcs12';
import { X509 } from '../../wasm/x509';
import { X509Writer } from '../../wasm/x509write';
import { startService, type Service } from './service';
import { makeCa } from './ca';

export interface ApplierUnderTest {
  applier: Applier;
  /** SHA-256 (hex) of the leaf the consumer uses for `binding` now; null: none. */
  inUse(binding: string): Promise<string | null>;
  /** The consumer refuses what it is given from now on (the applier's apply must throw). */
  breakConsumer(): void | Promise<void>;
  repairConsumer(): void | Promise<void>;
  /**
   * A consumer that checks certificates against a CA of its own (an 802.1X network): the
   * suite's certificates are issued by `sign` (a CSR of the entry's key), and `caPem` is the
   * CA entry the bindings name.
   */
  network?: { caPem: string; sign(csrPem: string): string };
  /** Stops what `make` started (called once, at the end). */
  stop?(): Promise<void>;
}

/**
 * `real` with a switch that breaks it: while `refusing`, the key of the previous open is
 * handed out again, whatever key is asked for (a service then refuses the certificate).
 */
export function refusableKeys(real: ServiceKeys): { keys: ServiceKeys; refusing: boolean } {
  let last: { keystore: string; key_id: string } | undefined;
  const r = {
    refusing: false,
    keys: {
      open: (service, key, owner) => {
        const k = r.refusing && last ? last : key;
        last = key;
        return real.open(service, k, owner);
      },
      close: (service, keep) => real.close(service, keep),
    } as ServiceKeys,
  };
  return r;
}

/**
 * `binding`: the binding the applier serves (https, dot1x). `make(dir, keystores)` makes the
 * applier and its consumer over `dir` (keystores: certd's side of the suite's keystored); it
 * is called again over the same folder after a "restart".
 */
export function applierConformance(name: string, binding: string, make: (dir: string, keystores: Keystores) => Promise<ApplierUnderTest> | ApplierUnderTest): void {
  const t = suite(`applier conformance: ${name}`);
  let svc: Service;
  let client: KeystoreClient;
  let workers: CoreWorkers;
  let crypto: Crypto;
  let dir: string;

  /** certd's domain as main.ts composes it; `applier` wraps the one under test. */
  const domain = (applier: Applier) => {
    const audit = new Audit(new AuditLog(dir, { maxBytes: 1 << 20, keep: 1 }), () => undefined);
    const certs = new Certificates(new RecordStore(dir), new Journal(dir), new Keystores(client), crypto, audit);
    const bindings = new Bindings(new BindingStore(dir), certs, () => applier, audit);
    certs.attach(bindings);
    return { certs, bindings };
  };

  /** The applier under test as the domain sees it: calls counted; a "crash" never returns. */
  const spy = (real: ApplierUnderTest) => {
    const s = {
      calls: [] as BindingMaterial[],
      crash: false,
      failOnce: false,
      applier: {
        apply: async (m: BindingMaterial) => {
          s.calls.push(m);
          if (s.crash) return new Promise<void>(() => undefined);
          if (!s.failOnce) return real.applier.apply(m);
          s.failOnce = false;
          await real.breakConsumer();
          try {
            await real.applier.apply(m);
          } finally {
            await real.repairConsumer();
          }
          assert.unreachable('the applier reported success while its consumer refused');
        },
      } as Applier,
    };
    return s;
  };

  const leafSha256 = (pem: string) =>
    createHash('sha256').update(Buffer.from(pem.split('-----END CERTIFICATE-----')[0]!.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex');

  let real: ApplierUnderTest;
  let s: ReturnType<typeof spy>;
  let d: ReturnType<typeof domain>;
  const sha = (alias: string) => leafSha256(d.certs.find(alias)!.entry.certificate);
  /** The CA entries every binding of the suite names. */
  let ca: string[] = [];

  t.before(async () => {
    svc = await startService();
    await svc.killCertd(); // only its keystored is used
    client = new KeystoreClient(endpointFor(join(svc.dir, 'run')));
    workers = new CoreWorkers();
    const core = await Core.load();
    crypto = { keys: new Keys(core), x509: new X509(core), writer: new X509Writer(core), pkcs12: new Pkcs12(workers) };
    dir = mkdtempSync(join(tmpdir(), 'certd-conformance-'));
    real = await make(join(dir, 'applier'), new Keystores(client));
    s = spy(real);
    d = domain(s.applier);
    await d.certs.reconcile();
    await d.certs.createCertificate({ alias: 'one', subject: 'CN=one', subjectAltNames: ['DNS:cam1.local'] });
    await d.certs.createCertificate({ alias: 'two', subject: 'CN=two', subjectAltNames: ['DNS:cam1.local'] });
    await d.certs.createCertificate({ alias: 'expired', subject: 'CN=expired', validFrom: 1_000_000_000, validTo: 1_100_000_000 });
    const network = real.network;
    if (network) for (const alias of ['one', 'two']) await d.certs.replace('certificate', alias, network.sign(await d.certs.csr(alias, {})));
    // dot1x needs a network CA beside its certificate (pre-flight `ca`); https takes none here
    if (binding === 'dot1x') {
      await d.certs.addCa('network', network?.caPem ?? makeCa('conformance network CA').certPem);
      ca = [d.certs.find('network')!.entry.id];
    }
  });
  t.after(async () => {
    await real?.stop?.();
    client?.close();
    await workers?.close();
    await svc?.stop();
  });

  t('apply: the consumer uses the bound certificate', async () => {
    assert.is(await real.inUse(binding), null, 'nothing before the first binding');
    await d.bindings.set(binding, { certificate: 'one', ca, settings: {} });
    assert.is(s.calls.length, 1);
    assert.is(await real.inUse(binding), sha('one'));
  });

  t('a certificate that fails pre-flight is refused; nothing is applied', async () => {
    const before = s.calls.length;
    const e = await d.bindings.set(binding, { certificate: 'expired', ca, settings: {} }).catch((x: unknown) => x);
    assert.instance(e, DomainError);
    assert.is((e as DomainError).code, 'PREFLIGHT_FAILED');
    assert.is(s.calls.length, before, 'the applier was not called');
    assert.is(d.bindings.get(binding).certificate!.alias, 'one');
    assert.is(await real.inUse(binding), sha('one'));
  });

  t('the consumer fails: APPLY_FAILED, the previous binding is on record and applied again', async () => {
    const before = s.calls.length;
    s.failOnce = true;
    const e = await d.bindings.set(binding, { certificate: 'two', ca, settings: {} }).catch((x: unknown) => x);
    assert.instance(e, DomainError);
    assert.is((e as DomainError).code, 'APPLY_FAILED');
    assert.equal(s.calls.slice(before).map((m) => leafSha256(m.certificate!)), [sha('two'), sha('one')], 'the new one tried, then the previous one applied again');
    assert.is(d.bindings.get(binding).certificate!.alias, 'one');
    assert.is(await real.inUse(binding), sha('one'));
  });

  t('a crash between the journal and the apply: the binding on record is applied at the next start', async () => {
    s.crash = true;
    void d.bindings.set(binding, { certificate: 'two', ca, settings: {} });
    const deadline = Date.now() + 30_000;
    while (s.calls.length === 0 || leafSha256(s.calls[s.calls.length - 1]!.certificate!) !== sha('two')) {
      assert.ok(Date.now() < deadline, 'the change reached the applier');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.is(await real.inUse(binding), sha('one'), 'the applier never ran');
    // The next start: a fresh domain and applier over the same folders.
    real = await make(join(dir, 'applier'), new Keystores(client));
    s = spy(real);
    d = domain(s.applier);
    await d.certs.reconcile();
    assert.is(await d.bindings.recover(), binding);
    assert.is(d.bindings.get(binding).certificate!.alias, 'two');
    assert.is(await real.inUse(binding), sha('two'));
    assert.is(await d.bindings.recover(), undefined, 'nothing left to recover');
  });

  t.run();
}
