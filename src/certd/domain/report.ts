// The expiry and compliance report (GET /certd/v1/report): for every entry, the days left
// and what an operator should act on, each finding a stable code and words. Chains are
// judged by the core's signature check, the same one uploads and pre-flight use.
import { createHash } from 'node:crypto';
import type { Binding } from '../store/bindings';
import type { Certificates, EntryDetails } from './certificates';
import { missingDeviceNames } from './preflight';

export type FindingCode =
  | 'EXPIRED' | 'EXPIRES_WITHIN_7_DAYS' | 'EXPIRES_WITHIN_30_DAYS' | 'WEAK_RSA_KEY' | 'WEAK_SIGNATURE'
  | 'SELF_SIGNED_HTTPS' | 'INCOMPLETE_CHAIN' | 'SAN_MISSING_DEVICE_NAMES' | 'UNUSED_CA';

export interface Finding {
  code: FindingCode;
  message: string;
}

export interface ReportEntry {
  id: string;
  alias: string;
  kind: 'certificate' | 'ca';
  subject: string;
  not_after: string;
  /** Whole days until not_after (negative once expired). */
  days_left: number;
  findings: Finding[];
}

const DAY_S = 86400;
const MIN_RSA_BITS = 2048;
/** SHA-1, MD5 and MD2 signatures: collisions can be made for the first two. */
const WEAK_DIGEST = /sha-?1(?!\d)|md5|md2/i;

/** The bindings as the report needs them (domain/bindings.ts). */
export interface BoundEntries {
  recorded(): Binding[];
  readonly deviceNames: string[];
}

const print = (hex: string) => hex.replace(/:/g, '').toLowerCase();
/**
 * Chain verdicts remembered between reports, keyed by the certificates checked: a check
 * costs ~2 ms of core time (1,000 issued entries: 2 s on the loop), and whether a chain
 * links does not change with time (validity is not part of the verdict).
 */
const VERDICTS_MAX = 4096;

interface Verdict {
  linked: boolean;
  /** SHA-256 fingerprints (lowercase hex) of the path, the leaf first. */
  path: string[];
}

export class ComplianceReports {
  private readonly verdicts = new Map<string, Verdict>();

  constructor(private readonly certs: Certificates, private readonly bindings: BoundEntries) {}

  report(): ReportEntry[] {
    return complianceReport(this.certs, this.bindings, (d, anchors) => this.verdict(d, anchors));
  }

  private verdict(d: EntryDetails, anchors: string[]): Verdict {
    const key = createHash('sha256').update([d.entry.certificate, ...d.entry.chain, '|', ...anchors].join('\n')).digest('base64');
    let v = this.verdicts.get(key);
    if (!v) {
      const result = this.certs.verifyChain(d.entry, anchors);
      v = { linked: !result.flags.includes('NOT_TRUSTED'), path: result.path.map((p) => print(p.sha256)) };
      if (this.verdicts.size >= VERDICTS_MAX) this.verdicts.delete(this.verdicts.keys().next().value!);
      this.verdicts.set(key, v);
    }
    return v;
  }
}

function complianceReport(certs: Certificates, bindings: BoundEntries, verdict: (d: EntryDetails, anchors: string[]) => Verdict): ReportEntry[] {
  const now = certs.nowSeconds();
  const all = certs.details();
  const cas = all.filter((d) => d.entry.kind === 'ca');
  const caBySubject = new Map<string, EntryDetails[]>();
  for (const d of cas) caBySubject.set(d.info.subject, [...(caBySubject.get(d.info.subject) ?? []), d]);
  const caByPrint = new Map(cas.map((d) => [d.sha256, d]));
  const recorded = bindings.recorded();
  const https = recorded.find((b) => b.name === 'https')?.certificate;

  // Each non-self-signed entry checked against its own chain's top and the store's CAs of
  // its issuers; the path says which stored CAs it reached.
  const reached = new Map<string, string[]>();
  const incomplete = new Set<string>();
  for (const d of all) {
    if (d.info.self_signed) continue;
    const top = d.entry.chain.length > 0 ? d.entry.chain[d.entry.chain.length - 1]! : undefined;
    const topIssuer = top === undefined ? d.info.issuer : certs.parse(top).issuer;
    const stored = [...new Set([...(caBySubject.get(d.info.issuer) ?? []), ...(caBySubject.get(topIssuer) ?? [])])].filter((c) => c !== d);
    // The core takes at most 256 anchors; more CAs of one name than that is no store's case.
    const anchors = [...stored.slice(0, 255).map((c) => c.entry.certificate), ...(top === undefined ? [] : [top])];
    const v = verdict(d, anchors);
    if (!v.linked) incomplete.add(d.entry.id);
    reached.set(d.entry.id, v.path);
  }

  // Used CAs: named by a binding, or reached from a certificate entry, or from a used CA.
  const used = new Set<string>(recorded.flatMap((b) => [...b.ca, ...(b.certificate ? [b.certificate] : [])]));
  const queue = [...all.filter((d) => d.entry.kind === 'certificate').map((d) => d.entry.id), ...used];
  while (queue.length > 0) {
    for (const p of reached.get(queue.pop()!) ?? []) {
      const ca = caByPrint.get(p);
      if (ca && !used.has(ca.entry.id)) {
        used.add(ca.entry.id);
        queue.push(ca.entry.id);
      }
    }
  }

  return all.map((d) => {
    const { entry, info } = d;
    const findings: Finding[] = [];
    const add = (code: FindingCode, message: string) => findings.push({ code, message });
    const left = info.not_after_unix - now;
    if (left < 0) add('EXPIRED', `expired ${info.not_after}`);
    else if (left < 7 * DAY_S) add('EXPIRES_WITHIN_7_DAYS', `expires ${info.not_after}, within 7 days`);
    else if (left < 30 * DAY_S) add('EXPIRES_WITHIN_30_DAYS', `expires ${info.not_after}, within 30 days`);
    if (info.key.type === 'RSA' && info.key.bits < MIN_RSA_BITS) add('WEAK_RSA_KEY', `RSA key of ${info.key.bits} bits, below ${MIN_RSA_BITS}`);
    if (WEAK_DIGEST.test(info.signature_algorithm)) add('WEAK_SIGNATURE', `signed with ${info.signature_algorithm}`);
    if (incomplete.has(entry.id)) add('INCOMPLETE_CHAIN', `the issuer (${info.issuer}) is neither in the entry's chain nor a CA entry of the store`);
    if (entry.id === https) {
      if (info.self_signed) add('SELF_SIGNED_HTTPS', 'a self-signed certificate serves https: clients cannot verify it');
      const missing = missingDeviceNames(info, bindings.deviceNames);
      if (missing.length > 0) add('SAN_MISSING_DEVICE_NAMES', `the subject alternative names do not cover ${missing.join(', ')}`);
    }
    if (entry.kind === 'ca' && !used.has(entry.id)) add('UNUSED_CA', 'no binding names this CA certificate and no entry chains to it');
    return {
      id: entry.id, alias: entry.alias, kind: entry.kind, subject: info.subject, not_after: info.not_after,
      days_left: Math.floor(left / DAY_S), findings,
    };
  });
}
