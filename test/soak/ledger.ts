// What a client of the kill loop was told, and what the store must therefore show after a
// crash and restart: an acknowledged (2xx) add is there and an acknowledged delete is gone;
// an answered refusal (4xx/5xx) changed nothing; an operation whose answer never came
// (the daemon died) may have happened or not — except a batch's: all of it or none of it.
export type Kind = 'certificate' | 'ca';
export type Op = 'add' | 'delete';
/** An HTTP status, or undefined when no answer came. */
export type Answer = number | undefined;

export interface Finding {
  kind: 'lost' | 'refused-applied' | 'phantom' | 'torn-batch';
  alias: string;
  detail: string;
}

type State = 'present' | 'absent' | 'unknown';

interface Pending {
  op: Op;
  kind: Kind;
  answer: Answer;
}

export class Ledger {
  /** What the last check saw, per alias. */
  private readonly seen = new Map<string, Kind>();
  private readonly cycle = new Map<string, Pending>();
  /** The aliases of each batch sent this cycle (each also recorded on its own). */
  private readonly batches: string[][] = [];
  acknowledged = 0;
  refused = 0;
  unanswered = 0;

  /** Aliases of one kind the last check saw. */
  present(kind: Kind): string[] {
    return [...this.seen].filter(([a, k]) => k === kind && !this.cycle.has(a)).map(([a]) => a);
  }

  get size(): number {
    return this.seen.size;
  }

  /** One operation per alias per cycle, so that each answer says exactly one thing. */
  record(op: Op, kind: Kind, alias: string, answer: Answer): void {
    if (this.cycle.has(alias)) throw new Error(`two operations on ${alias} in one cycle`);
    this.cycle.set(alias, { op, kind, answer });
    if (answer === undefined) this.unanswered++;
    else if (answer >= 200 && answer < 300) this.acknowledged++;
    else this.refused++;
  }

  /** Several operations of one batch: after a crash, all of them happened or none. */
  recordBatch(members: { op: Op; kind: Kind; alias: string }[], answer: Answer): void {
    for (const m of members) this.record(m.op, m.kind, m.alias, answer);
    this.batches.push(members.map((m) => m.alias));
  }

  /** Compares the store after the restart with what the answers promised, then adopts it. */
  check(observed: Map<string, Kind>): Finding[] {
    const out: Finding[] = [];
    for (const [alias, p] of this.cycle) {
      const before: State = this.seen.has(alias) ? 'present' : 'absent';
      const after = observed.has(alias) ? 'present' : 'absent';
      const acked = p.answer !== undefined && p.answer >= 200 && p.answer < 300;
      const expected: State = p.answer === undefined ? 'unknown' : acked ? (p.op === 'add' ? 'present' : 'absent') : before;
      if (expected === 'unknown' || expected === after) continue;
      out.push({
        kind: acked ? 'lost' : 'refused-applied',
        alias,
        detail: `${p.op} ${p.kind} answered ${p.answer}: expected ${expected}, found ${after}`,
      });
    }
    for (const [alias, kind] of observed) {
      if (!this.seen.has(alias) && !this.cycle.has(alias)) out.push({ kind: 'phantom', alias, detail: `${kind} nobody created` });
    }
    for (const aliases of this.batches) {
      const applied = aliases.map((a) => (this.cycle.get(a)!.op === 'add') === observed.has(a));
      if (applied.some((x) => x !== applied[0])) {
        out.push({ kind: 'torn-batch', alias: aliases.join(' + '), detail: `applied: ${applied.join(', ')}` });
      }
    }
    this.batches.length = 0;
    this.seen.clear();
    for (const [a, k] of observed) this.seen.set(a, k);
    this.cycle.clear();
    return out;
  }
}
