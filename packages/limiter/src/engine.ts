import { systemClock, type Clock } from './clock';
import {
  AT_MS,
  DecisionRing,
  HITS,
  OUTCOME_ALLOWED,
  OUTCOME_LIMITED,
  OUTCOME_SHADOW,
  TOKENS,
  type Decision,
  type DecisionListener,
  type RecordedDecision,
  type RuleSeries,
} from './decision';
import { GlobalWindows } from './global-windows';
import { LocalBuckets } from './local-buckets';
import { summarizeRule, type RuleSummary } from './rule-summary';
import { compileRuleSet, type CompiledRuleSet, type Descriptor, type RuleSetInput } from './rules';
import type { WindowStore } from './stores/window-store';
import { BUCKET_LAST_MS, BUCKET_TOKENS, TOKEN_EPSILON } from './token-bucket';
import { WorkingDecision, writeUnlimited } from './working-decision';

export type { RuleSummary } from './rule-summary';

/** A request to decide: its descriptors (as Envoy's route `rate_limits` actions produce them) and its cost. */
export interface DecideRequest {
  /** Each is matched against the rules independently; the request is limited if any matched limit is exhausted. */
  readonly descriptors: readonly Descriptor[];
  /** Tokens (or counter increments) the request costs: Envoy's `hits_addend`. Absent or 0 means 1. */
  readonly hits?: number;
}

/** Options of {@link RateLimitEngine}. */
export interface EngineOptions {
  readonly rules?: RuleSetInput;
  /** Default: {@link systemClock}. */
  readonly clock?: Clock;
  /**
   * Shared store for global rules. Without one, global rules are counted in this process and
   * {@link RateLimitEngine.decide} handles them synchronously; with one, use {@link RateLimitEngine.decideAsync}.
   */
  readonly store?: WindowStore;
  /** Decisions kept in the ring of recent decisions. Default 1,024; 0 keeps none. */
  readonly recentCapacity?: number;
  /** Seconds of per-rule, per-second history kept. Default 60. */
  readonly historySeconds?: number;
  /** Bound on the local cache of shared-store keys known to be over limit. Default 100,000. */
  readonly overLimitCacheSize?: number;
  /**
   * How a request that one of several matched buckets denies is charged. `atomic` (default): no bucket is
   * charged, so "a denied request takes nothing" holds across buckets. `envoy`: as Envoy's local rate
   * limiter, which takes tokens bucket by bucket in order of fill rate and stops at the first that denies:
   * the buckets before it keep their charge. Replays and the simulated mesh use `envoy` to behave as the
   * sidecars do.
   */
  readonly charging?: 'atomic' | 'envoy';
}

/** Normalises Envoy's `hits_addend`: 0 or absent means 1. */
function requestHits(hits: number | undefined): number {
  if (hits === undefined || hits === 0) return 1;
  if (!(Number.isInteger(hits) && hits > 0))
    throw new RangeError(`hits must be a positive integer (got ${hits})`);
  return hits;
}

/**
 * The rate-limit engine: matches a request's descriptors against the rule set, draws from Envoy-style
 * token buckets (local rules, default bucket) and envoyproxy/ratelimit-style fixed windows (global rules),
 * and returns a {@link Decision}. It never logs: observe it with {@link subscribe}, {@link recent} and
 * {@link series}.
 *
 * The in-memory path ({@link decide}, {@link decideInBatch}) is synchronous and allocates nothing per
 * decision: it returns the same mutable decision object each time, valid until the next call. Copy it
 * ({@link copyDecision}) to keep it.
 */
export class RateLimitEngine {
  private ruleSet: CompiledRuleSet;
  private readonly clock: Clock;
  private readonly store: WindowStore | null;
  private readonly historySeconds: number;
  private readonly ring: DecisionRing;
  private readonly listeners: DecisionListener[] = [];
  private readonly result = new WorkingDecision();
  /** Start and end (ms) of the second {@link second} numbers. */
  private readonly secondBounds = new Float64Array([Number.NaN, Number.NaN]);
  private second = 0;
  /**
   * The current decision's time, read by the hot path from here rather than passed as an argument (the
   * local buckets and the global windows share it).
   */
  private readonly time = new Float64Array(1);
  private readonly local: LocalBuckets;
  private readonly global: GlobalWindows;

  constructor(options: EngineOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? null;
    this.historySeconds = options.historySeconds ?? 60;
    this.ring = new DecisionRing(options.recentCapacity ?? 1024);
    this.local = new LocalBuckets(this.time, options.charging === 'envoy');
    this.global = new GlobalWindows(this.time, this.clock, options.overLimitCacheSize ?? 100_000);
    this.ruleSet = compileRuleSet(options.rules ?? {}, {
      nowMs: this.clock.nowMs(),
      historySeconds: this.historySeconds,
    });
  }

  /**
   * Replaces the rule set atomically: it is compiled and validated first (a {@link RuleSetError} leaves the
   * current one in force), then swapped in one assignment, so every decision sees either the old set or the
   * new one. Rules whose id is unchanged keep their state: tokens (clamped to a lowered cap, not refilled),
   * per-value buckets, window counts and statistics. Decisions in flight finish against the set they began with.
   */
  applyRules(input: RuleSetInput): void {
    this.ruleSet = compileRuleSet(input, {
      previous: this.ruleSet,
      nowMs: this.clock.nowMs(),
      historySeconds: this.historySeconds,
    });
    // "Over limit" was judged against the old limits; a raised limit must not stay denied from the cache.
    this.global.clearOverLimitCache();
  }

  /**
   * Decides now, synchronously, reading the clock. The returned object is reused by the next call. Reading
   * the clock yields a fresh number each time; a hot loop uses {@link beginBatch} + {@link decideInBatch}.
   */
  decide(request: DecideRequest): Decision {
    this.time[0] = this.clock.nowMs();
    return this.decideInBatch(request);
  }

  /** Decides at a time the caller read from the clock. Synchronous; the returned object is reused by the next call. */
  decideAt(request: DecideRequest, nowMs: number): Decision {
    this.time[0] = nowMs;
    return this.decideInBatch(request);
  }

  /**
   * Starts a batch: reads the clock once (or takes `nowMs`) for the {@link decideInBatch} calls that follow.
   * A server deciding the requests of one event-loop turn, or a simulator deciding one tick, reads the clock
   * once for all of them.
   */
  beginBatch(nowMs: number = this.clock.nowMs()): void {
    this.time[0] = nowMs;
  }

  /**
   * Decides at the time of the last {@link beginBatch} (or decision). The allocation-free form: no clock
   * read and no timestamp argument (a fractional number passed to a call the compiler does not inline is
   * boxed, which would cost an allocation per decision). The returned object is reused by the next call.
   */
  decideInBatch(request: DecideRequest): Decision {
    const rs = this.ruleSet;
    const hits = requestHits(request.hits);
    const descriptors = request.descriptors;
    // The common case (one descriptor, local limits only) decides on one bucket without the scratch
    // arrays and loops that several matched buckets need; the outcome is the same.
    if (descriptors.length === 1 && rs.localOnly) return this.decideOne(rs, descriptors[0]!, hits);
    const d = this.result;
    if (this.store !== null && rs.global.size !== 0)
      throw new Error('this engine has a shared store: decide global rules with decideAsync()');
    this.begin(d, hits);
    this.local.decide(rs, descriptors, hits, d);
    if (d.outcome !== 'limited' && rs.global.size !== 0)
      this.global.decideInProcess(rs, request.descriptors, hits, d, 'local');
    this.record(d);
    return d;
  }

  /**
   * {@link decideInBatch} for one descriptor and local rules only: {@link LocalBuckets.decide} for at most
   * one matched bucket (the same maths, written out here), then {@link record}, written
   * out in one function so that the time, the tokens and the outcome stay in registers (a fractional
   * number crossing a call the compiler does not inline is boxed) and the stats and the ring are written
   * with codes the path already knows.
   */
  private decideOne(rs: CompiledRuleSet, descriptor: Descriptor, hits: number): Decision {
    const d = this.result;
    const n = d.numbers;
    const now = this.time[0]!;
    n[HITS] = hits;
    n[AT_MS] = now;
    let rule = rs.local.size === 0 ? undefined : rs.local.match(descriptor);
    let o = 0;
    if (rule !== undefined) {
      o = rule.rowForNew(descriptor);
      d.descriptor = descriptor;
    } else {
      rule = rs.defaultRule ?? undefined;
      if (rule === undefined) {
        writeUnlimited(d);
        this.record(d);
        return d;
      }
      d.descriptor = null;
    }
    const s = rule.state;
    const p = rule.params;
    const maxTokens = p.maxTokens;
    const last = s[o + BUCKET_LAST_MS]!;
    if (now > last) {
      s[o + BUCKET_LAST_MS] = now;
      // Two stores rather than one conditional: see LocalBuckets.checkBuckets.
      if (last < 0) s[o + BUCKET_TOKENS] = maxTokens;
      else
        s[o + BUCKET_TOKENS] = Math.min(
          maxTokens,
          s[o + BUCKET_TOKENS]! + ((now - last) * p.tokensPerFill) / p.fillIntervalMs,
        );
    }
    let tokens = s[o + BUCKET_TOKENS]!;
    let code: number;
    if (tokens + TOKEN_EPSILON >= hits) {
      tokens = Math.max(0, tokens - hits);
      s[o + BUCKET_TOKENS] = tokens;
      code = OUTCOME_ALLOWED;
    } else if (rule.shadow) {
      code = OUTCOME_SHADOW;
    } else {
      code = OUTCOME_LIMITED;
    }
    d.code = code;
    if (d.rule !== rule) {
      // Usually the rule that decided last: its id and kind are in place already.
      d.rule = rule;
      d.ruleId = rule.id;
      d.ruleKind = rule.kind;
    }
    if (d.source !== 'local') d.source = 'local';
    // The bucket's tokens and parameters: remaining, limit, reset and retry times are derived when read.
    n[TOKENS] = tokens;
    if (d.bucket !== p) d.bucket = p;

    const bounds = this.secondBounds;
    rule.stats.recordCode(code, now >= bounds[0]! && now < bounds[1]! ? this.second : this.enterSecond(n));
    this.ring.pushBucket(d, rule, code, rule.kindCode);
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(d);
    return d;
  }

  /**
   * Decides through the shared store: local rules first (synchronously; a request they limit never reaches
   * the store, as Envoy's local filter runs before its global one), then global rules (see
   * {@link GlobalWindows.decideThroughStore}). Resolves with a fresh decision object.
   */
  async decideAsync(request: DecideRequest): Promise<Decision> {
    const rs = this.ruleSet;
    const nowMs = this.clock.nowMs();
    const hits = requestHits(request.hits);
    const d = new WorkingDecision();
    this.time[0] = nowMs;
    this.begin(d, hits);
    this.local.decide(rs, request.descriptors, hits, d);
    if (d.outcome === 'limited' || rs.global.size === 0) return this.finish(d);
    if (this.store === null) this.global.decideInProcess(rs, request.descriptors, hits, d, 'local');
    else await this.global.decideThroughStore(this.store, rs, request.descriptors, hits, nowMs, d);
    return this.finish(d);
  }

  /** Calls `listener` after every decision (synchronously, with a possibly reused object). Returns an unsubscribe. */
  subscribe(listener: DecisionListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Recent decisions with `seq > afterSeq`, oldest first, at most `limit`: the raw feed for a live view. */
  recent(afterSeq = 0, limit?: number): RecordedDecision[] {
    return this.ring.since(afterSeq, limit);
  }

  /** The sequence number of the newest decision. */
  get lastSeq(): number {
    return this.ring.lastSeq;
  }

  /** Per-rule, per-second counts (allowed, limited, shadow) for the last `seconds` seconds, ending now. */
  series(seconds = this.historySeconds): RuleSeries[] {
    const nowSecond = Math.floor(this.clock.nowMs() / 1000);
    return this.ruleSet.all().map((rule) => ({
      ruleId: rule.id,
      ruleKind: rule.kind,
      seconds: rule.stats.series(nowSecond, seconds),
      totals: {
        allowed: rule.stats.allowedTotal,
        limited: rule.stats.limitedTotal,
        shadow: rule.stats.shadowTotal,
      },
    }));
  }

  /** The rules in force, for display. */
  rules(): RuleSummary[] {
    return this.ruleSet.all().map(summarizeRule);
  }

  /** Sets what every decision has; {@link LocalBuckets.decide} then writes every other field, explicitly. */
  private begin(d: WorkingDecision, hits: number): void {
    d.bucket = null;
    d.numbers[HITS] = hits;
    d.numbers[AT_MS] = this.time[0]!;
  }

  /**
   * The Unix second of a decision, as a small integer. The last second's bounds are cached in a typed
   * array, so most decisions compare two numbers instead of dividing (and never box a timestamp).
   */
  private secondOf(numbers: Float64Array): number {
    const at = numbers[AT_MS]!;
    const bounds = this.secondBounds;
    return at >= bounds[0]! && at < bounds[1]! ? this.second : this.enterSecond(numbers);
  }

  /** {@link secondOf} for a time outside the cached second (kept apart so that the common case inlines). */
  private enterSecond(numbers: Float64Array): number {
    const at = numbers[AT_MS]!;
    const bounds = this.secondBounds;
    const second = Math.floor(at / 1000);
    bounds[0] = second * 1000;
    bounds[1] = bounds[0] + 1000;
    this.second = second | 0;
    return this.second;
  }

  private finish(d: WorkingDecision): Decision {
    this.record(d);
    return d;
  }

  /** Counts the decision under the rule that decided, keeps it in the ring, then tells the listeners. */
  private record(d: WorkingDecision): void {
    const rule = d.rule;
    if (rule !== null) rule.stats.record(d.outcome, this.secondOf(d.numbers));
    this.ring.push(d);
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(d);
  }
}
