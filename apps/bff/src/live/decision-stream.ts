/**
 * The live data the API serves: limiter decisions (per-second aggregates per policy and descriptor, and
 * recent raw decisions), per-service history for charts, and the event log.
 */
import type { RenderedRule } from '../modules/limiter/render';
import type { MeshDecision, Simulator } from '../simulator';
import { Feed } from '../lib/feed';

export interface AggregateRow {
  readonly namespace: string;
  readonly service: string;
  /** `namespace/name` of the SmartLimiter whose descriptor decided; null when no limit applied. */
  readonly policy: string | null;
  readonly set: string | null;
  readonly descriptor: number | null;
  readonly ruleId: string | null;
  readonly allowed: number;
  readonly limited: number;
  readonly shadow: number;
  /** The descriptor's quota when the second ended (per pod for single and average). */
  readonly quota: number | null;
}

export interface SecondAggregate {
  /** Unix second. */
  readonly second: number;
  readonly rows: readonly AggregateRow[];
}

export interface RawDecision extends MeshDecision {
  readonly policy: string | null;
  readonly set: string | null;
}

/**
 * The service decisions are counted under when they name no service the mesh knows and match no rule:
 * one row, whatever the caller put in its descriptors, so that callers cannot add rows (or services).
 */
export const UNMATCHED = { namespace: '', service: '(unmatched)' } as const;

/** Longest caller-given text kept or shown (a pod or user name in a raw decision). */
export const MAX_VALUE_LENGTH = 256;

/** `s` cut to `max` characters, ending in `…` when cut. */
export function capLength(s: string, max = MAX_VALUE_LENGTH): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A service the mesh knows (from the informers), with its own name strings, or undefined. */
export type KnownService = (
  namespace: string,
  name: string,
) => { namespace: string; name: string } | undefined;

/** One second's aggregate rows being counted, by service and rule. */
type SecondRows = Map<string, { row: Omit<AggregateRow, 'quota'>; counts: [number, number, number] }>;

/**
 * How long after a second ends its aggregate waits for late decisions: decisions arrive nearly in time
 * order, not exactly (the simulated mesh decides a tick's requests, then the calls they make; concurrent
 * RLS calls finish out of order).
 */
const LATE_MS = 250;

/** Decisions of the mesh as feeds: one item per completed second (in order, each once), and the raw decisions. */
export class DecisionStream {
  readonly seconds = new Feed<SecondAggregate>(900);
  readonly recent = new Feed<RawDecision>(5000);
  /** Seconds still open for late decisions. */
  private readonly open = new Map<number, SecondRows>();
  /** The last second published: later decisions for it or before it are counted in no aggregate. */
  private published = -1;
  /** When the earliest open second ends (ms); Infinity when none is open. */
  private dueAt = Number.POSITIVE_INFINITY;

  /**
   * `ruleOf` finds the rendered rule of a decision; `knownService` the service it names, if the mesh has
   * it. Rows are keyed by those alone (a known service, or the rule's SmartLimiter, or {@link UNMATCHED}),
   * never by what a caller sent: a second holds at most a row per service and rule, plus one.
   */
  constructor(
    private readonly ruleOf: (id: string) => RenderedRule | undefined,
    private readonly knownService: KnownService,
  ) {}

  readonly onDecision = (d: MeshDecision): void => {
    const second = Math.floor(d.t / 1000);
    const rule = d.ruleId !== null ? this.ruleOf(d.ruleId) : undefined;
    const policy = rule ? `${rule.namespace}/${rule.limiter}` : null;
    // The mesh's (or the rule's) own strings: a caller's would keep its whole request alive in the feeds.
    const known = this.knownService(d.namespace, d.service);
    const namespace = known ? known.namespace : rule ? rule.namespace : UNMATCHED.namespace;
    const service = known ? known.name : rule ? rule.limiter : UNMATCHED.service;
    this.recent.publish({
      ...d,
      namespace,
      service,
      pod: capLength(d.pod),
      user: capLength(d.user),
      policy,
      set: rule?.set ?? null,
    });
    if (second > this.published) {
      let rows = this.open.get(second);
      if (!rows) {
        this.open.set(second, (rows = new Map()));
        this.dueAt = Math.min(this.dueAt, (second + 1) * 1000);
      }
      const key = `${namespace}/${service}\u0000${d.ruleId ?? ''}`;
      let entry = rows.get(key);
      if (!entry) {
        entry = {
          row: {
            namespace,
            service,
            policy,
            set: rule?.set ?? null,
            descriptor: rule?.index ?? null,
            ruleId: d.ruleId,
            allowed: 0,
            limited: 0,
            shadow: 0,
          },
          counts: [0, 0, 0],
        };
        rows.set(key, entry);
      }
      entry.counts[d.outcome === 'allowed' ? 0 : d.outcome === 'limited' ? 1 : 2]++;
    }
    this.flushUntil(d.t - LATE_MS);
  };

  /** Publishes, in order, every open second that ended at or before `t` (ms). */
  flushUntil(t: number): void {
    // Called for every decision: most find nothing due, by one comparison.
    if (t < this.dueAt) return;
    const done = [...this.open.keys()].filter((s) => (s + 1) * 1000 <= t).sort((a, b) => a - b);
    for (const second of done) {
      const rows = [...this.open.get(second)!.values()].map(({ row, counts }) => ({
        ...row,
        allowed: counts[0],
        limited: counts[1],
        shadow: counts[2],
        quota: row.ruleId !== null ? (this.ruleOf(row.ruleId)?.quota ?? null) : null,
      }));
      rows.sort((a, b) =>
        `${a.namespace}/${a.service}/${a.ruleId}`.localeCompare(`${b.namespace}/${b.service}/${b.ruleId}`),
      );
      this.open.delete(second);
      this.published = second;
      this.seconds.publish({ second, rows });
    }
    this.dueAt = this.open.size === 0 ? Number.POSITIVE_INFINITY : (Math.min(...this.open.keys()) + 1) * 1000;
  }
}

export interface ServicePoint {
  /** Unix ms at the start of the step. */
  readonly t: number;
  readonly rps: number;
  readonly allowedRps: number;
  readonly limitedRps: number;
  readonly p99Ms: number | null;
  readonly cpuPercent: number | null;
}

interface Sample {
  readonly second: number;
  readonly sent: number;
  readonly allowed: number;
  readonly limited: number;
  readonly p99: number | null;
  readonly cpu: number | null;
}

const ONE_HOUR = 3600;
const ONE_DAY_MINUTES = 1440;

/**
 * Per-service history of the simulated mesh for charts: one sample a second for the last hour, one a minute
 * (averaged) for the last day.
 */
export class MeshHistory {
  private readonly perSecond = new Map<string, Sample[]>();
  private readonly perMinute = new Map<string, Sample[]>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSecond = 0;

  constructor(
    private readonly simulator: Simulator,
    private readonly podsOf: (namespace: string, service: string) => readonly string[],
    private readonly services: () => readonly { namespace: string; name: string }[],
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records the last completed second of every service (the timer calls it). */
  sample(): void {
    const second = Math.floor(this.simulator.nowMs / 1000) - 1;
    if (second <= this.lastSecond) return;
    this.lastSecond = second;
    for (const s of this.services()) {
      const key = `${s.namespace}/${s.name}`;
      const counts = this.simulator.serviceSecondsOf(key).find((c) => c.second === second);
      const v = this.simulator.metricValues(s.namespace, this.podsOf(s.namespace, s.name));
      const sample: Sample = {
        second,
        sent: counts?.sent ?? 0,
        allowed: counts?.allowed ?? 0,
        limited: counts?.limited ?? 0,
        p99: v.rt99 ?? null,
        cpu: v['cpu.percent'] ?? null,
      };
      const seconds = this.perSecond.get(key) ?? [];
      seconds.push(sample);
      if (seconds.length > ONE_HOUR) seconds.shift();
      this.perSecond.set(key, seconds);
      if (second % 60 === 59) {
        const minute = seconds.filter((x) => x.second > second - 60);
        const minutes = this.perMinute.get(key) ?? [];
        minutes.push(averageOf(second - 59, minute));
        if (minutes.length > ONE_DAY_MINUTES) minutes.shift();
        this.perMinute.set(key, minutes);
      }
    }
  }

  /** Points of `stepSeconds` over the last `rangeSeconds`, oldest first. */
  series(namespace: string, service: string, rangeSeconds: number, stepSeconds: number): ServicePoint[] {
    const key = `${namespace}/${service}`;
    const fine = rangeSeconds <= ONE_HOUR && stepSeconds < 60;
    const samples = (fine ? this.perSecond.get(key) : this.perMinute.get(key)) ?? [];
    const end = this.lastSecond + 1;
    const start = end - rangeSeconds;
    const buckets = new Map<number, Sample[]>();
    for (const s of samples) {
      if (s.second < start) continue;
      const b = start + Math.floor((s.second - start) / stepSeconds) * stepSeconds;
      const list = buckets.get(b) ?? [];
      list.push(s);
      buckets.set(b, list);
    }
    const width = fine ? 1 : 60;
    return [...buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([b, list]) => {
        const avg = averageOf(b, list);
        // Counts are per sample (a second, or a minute's mean per second): rates per second either way.
        return {
          t: b * 1000,
          rps: avg.sent / (fine ? 1 : width / 60),
          allowedRps: avg.allowed,
          limitedRps: avg.limited,
          p99Ms: avg.p99,
          cpuPercent: avg.cpu,
        };
      });
  }
}

function averageOf(second: number, list: readonly Sample[]): Sample {
  const n = Math.max(1, list.length);
  const mean = (f: (s: Sample) => number | null): number | null => {
    const xs = list.map(f).filter((x): x is number => x !== null);
    return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  return {
    second,
    sent: list.reduce((a, s) => a + s.sent, 0) / n,
    allowed: list.reduce((a, s) => a + s.allowed, 0) / n,
    limited: list.reduce((a, s) => a + s.limited, 0) / n,
    p99: mean((s) => s.p99),
    cpu: mean((s) => s.cpu),
  };
}
