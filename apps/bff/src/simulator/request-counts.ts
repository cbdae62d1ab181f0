import { bucketIndex, histogramQuantile, ISTIO_DURATION_BUCKETS_MS } from './exposition';

/** Per-second counts of the simulated mesh's requests: per Service, per rendered rule and per call edge. */

export interface ServiceSecond {
  readonly second: number;
  readonly sent: number;
  readonly allowed: number;
  readonly limited: number;
  /** Of the allowed, those the fault filter aborted. */
  readonly aborted: number;
}

export interface RuleSecond {
  readonly second: number;
  readonly allowed: number;
  readonly limited: number;
}

export interface EdgeRate {
  /** `namespace/name` of the caller and the callee. */
  readonly from: string;
  readonly to: string;
  /** Requests per second over the window, and how many of them the callee's limits refused. */
  readonly rps: number;
  readonly limitedRps: number;
  /** Answered 5xx per second (a fault filter's aborts, a MetaProtocol call no route or pod takes). */
  readonly errorRps: number;
  /** 95th percentile of the answers' latency (ms), as Istio's histogram buckets give it; null without answers. */
  readonly p95Ms: number | null;
}

interface EdgeCounts {
  sent: number;
  limited: number;
  errors: number;
  /** Answers per Istio duration bucket (the last is +Inf), not cumulative. */
  readonly hist: Float64Array;
}

const freshEdge = (): EdgeCounts => ({
  sent: 0,
  limited: 0,
  errors: 0,
  hist: new Float64Array(ISTIO_DURATION_BUCKETS_MS.length + 1),
});

type Counts<C> = Map<string, Map<number, C>>;

/** The counts of `key` in `second`, made with `fresh` when there are none yet. */
function countsAt<C>(table: Counts<C>, key: string, second: number, fresh: () => C): C {
  let bySecond = table.get(key);
  if (!bySecond) table.set(key, (bySecond = new Map()));
  let counts = bySecond.get(second);
  if (!counts) bySecond.set(second, (counts = fresh()));
  return counts;
}

function oldestFirst<C extends object>(bySecond: Map<number, C> | undefined): ({ second: number } & C)[] {
  return bySecond ? [...bySecond].sort(([a], [b]) => a - b).map(([second, c]) => ({ second, ...c })) : [];
}

export class RequestCounts {
  private readonly services: Counts<{ sent: number; allowed: number; limited: number; aborted: number }> =
    new Map();
  private readonly rules: Counts<{ allowed: number; limited: number }> = new Map();
  private readonly edges: Counts<EdgeCounts> = new Map();

  /**
   * Counts a request to `service` (a key) in `second`, and under the rule that decided it, if one did;
   * `aborted`: the limits let it through and the fault filter answered it.
   */
  count(
    service: string,
    ruleId: string | undefined,
    second: number,
    allowed: boolean,
    aborted = false,
  ): void {
    const counts = countsAt(this.services, service, second, () => ({
      sent: 0,
      allowed: 0,
      limited: 0,
      aborted: 0,
    }));
    counts.sent++;
    if (allowed) counts.allowed++;
    else counts.limited++;
    if (allowed && aborted) counts.aborted++;
    if (ruleId === undefined) return;
    const rc = countsAt(this.rules, ruleId, second, () => ({ allowed: 0, limited: 0 }));
    if (allowed) rc.allowed++;
    else rc.limited++;
  }

  /** Counts a call from one Service to another (keys) in `second`. */
  countCall(from: string, to: string, second: number, allowed: boolean): void {
    const ec = countsAt(this.edges, `${from}>${to}`, second, freshEdge);
    ec.sent++;
    if (!allowed) ec.limited++;
  }

  /** Counts the answer to a call counted by {@link countCall}: its latency, and whether it was a 5xx. */
  answerCall(from: string, to: string, second: number, latencyMs: number, error: boolean): void {
    const ec = countsAt(this.edges, `${from}>${to}`, second, freshEdge);
    ec.hist[bucketIndex(ISTIO_DURATION_BUCKETS_MS, latencyMs)]!++;
    if (error) ec.errors++;
  }

  serviceSeconds(service: string): ServiceSecond[] {
    return oldestFirst(this.services.get(service));
  }

  ruleSeconds(ruleId: string): RuleSecond[] {
    return oldestFirst(this.rules.get(ruleId));
  }

  /** The rules that decided requests in the kept history. */
  ruleIds(): string[] {
    return [...this.rules.keys()].sort();
  }

  /** Calls over the `windowSeconds` seconds before `endSecond` (the edges seen). */
  edgeRates(endSecond: number, windowSeconds: number): EdgeRate[] {
    const start = endSecond - windowSeconds;
    const out: EdgeRate[] = [];
    for (const [edge, seconds] of this.edges) {
      let sent = 0;
      let limited = 0;
      let errors = 0;
      const hist = new Float64Array(ISTIO_DURATION_BUCKETS_MS.length + 1);
      for (const [second, c] of seconds)
        if (second >= start && second < endSecond) {
          sent += c.sent;
          limited += c.limited;
          errors += c.errors;
          for (let i = 0; i < hist.length; i++) hist[i]! += c.hist[i]!;
        }
      const [from = '', to = ''] = edge.split('>');
      const p95 = histogramQuantile(0.95, ISTIO_DURATION_BUCKETS_MS, hist);
      out.push({
        from,
        to,
        rps: sent / windowSeconds,
        limitedRps: limited / windowSeconds,
        errorRps: errors / windowSeconds,
        p95Ms: Number.isFinite(p95) ? p95 : null,
      });
    }
    return out.sort((a, b) => `${a.from}>${a.to}`.localeCompare(`${b.from}>${b.to}`));
  }

  /** Forgets the seconds before `oldest`. */
  prune(oldest: number): void {
    for (const m of [...this.services.values(), ...this.rules.values(), ...this.edges.values()]) {
      for (const second of m.keys()) if (second < oldest) m.delete(second);
    }
  }
}
