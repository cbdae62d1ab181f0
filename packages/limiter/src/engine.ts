import { systemClock, type Clock } from './clock';
import {
  AT_MS,
  DecisionRing,
  HITS,
  LIMIT,
  MutableDecision,
  OUTCOME_ALLOWED,
  OUTCOME_LIMITED,
  OUTCOME_SHADOW,
  REMAINING,
  RESET_MS,
  RETRY_AFTER_MS,
  TOKENS,
  type Decision,
  type DecisionListener,
  type DecisionSource,
  type RecordedDecision,
  type RuleSeries,
} from './decision';
import { isOverLimit, WINDOW_START_MS, windowHit, windowRemaining } from './fixed-window';
import {
  CompiledGlobalRule,
  compileRuleSet,
  type CompiledLocalRule,
  type CompiledRule,
  type CompiledRuleSet,
  type Descriptor,
  type RuleSetInput,
} from './rules';
import type { WindowCount, WindowStore } from './stores/window-store';
import { BUCKET_LAST_MS, BUCKET_TOKENS, TOKEN_EPSILON } from './token-bucket';

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

/** A rule as it stands now, for display. */
export interface RuleSummary {
  readonly id: string;
  readonly kind: 'local' | 'global' | 'default';
  readonly entries: Descriptor;
  readonly shadow: boolean;
  /** `maxTokens` or `requestsPerUnit`. */
  readonly limit: number;
  /** Token buckets: tokens per second. Windows: the window in milliseconds. */
  readonly ratePerSecond: number | null;
  readonly windowMs: number | null;
  /** Distinct values held for a blank-value rule (0 for exact rules). */
  readonly dynamicKeys: number;
}

/** The decision object the engine fills, with the compiled rule that decided (internal). */
class WorkingDecision extends MutableDecision {
  rule: CompiledRule | null = null;
}

/** Normalises Envoy's `hits_addend`: 0 or absent means 1. */
function requestHits(hits: number | undefined): number {
  if (hits === undefined || hits === 0) return 1;
  if (!(Number.isInteger(hits) && hits > 0))
    throw new RangeError(`hits must be a positive integer (got ${hits})`);
  return hits;
}

/**
 * One global rule's verdict for a request. The engine combines them: the first enforced rule over limit
 * limits; else the first shadow rule over limit makes it `shadow`; else the one with the fewest left reports.
 */
class GlobalTally {
  private limited = new GlobalVerdict();
  private shadow = new GlobalVerdict();
  private tightest = new GlobalVerdict();
  private any = false;

  reset(): void {
    this.limited.rule = null;
    this.shadow.rule = null;
    this.tightest.rule = null;
    this.any = false;
  }

  add(
    rule: CompiledGlobalRule,
    descriptor: Descriptor,
    over: boolean,
    remaining: number,
    resetMs: number,
    source: DecisionSource,
  ): void {
    this.any = true;
    if (over && !rule.shadow) {
      if (this.limited.rule === null) this.limited.set(rule, descriptor, 0, resetMs, source);
    } else if (over) {
      if (this.shadow.rule === null) this.shadow.set(rule, descriptor, 0, resetMs, source);
    } else if (this.tightest.rule === null || remaining < this.tightest.remaining) {
      this.tightest.set(rule, descriptor, remaining, resetMs, source);
    }
  }

  /**
   * Merges into a decision whose local part allowed (or shadowed) the request. A global rule reports
   * unless only the local part had something to say: it limited, or shadowed while global rules allowed.
   */
  applyTo(d: WorkingDecision): void {
    if (!this.any) return;
    if (this.limited.rule !== null) this.limited.write(d, 'limited');
    else if (this.shadow.rule !== null) this.shadow.write(d, 'shadow');
    else if (d.outcome !== 'shadow' && this.tightest.rule !== null) this.tightest.write(d, 'allowed');
  }
}

class GlobalVerdict {
  rule: CompiledGlobalRule | null = null;
  descriptor: Descriptor | null = null;
  remaining = 0;
  resetMs = 0;
  source: DecisionSource = 'local';

  set(
    rule: CompiledGlobalRule,
    descriptor: Descriptor,
    remaining: number,
    resetMs: number,
    source: DecisionSource,
  ): void {
    this.rule = rule;
    this.descriptor = descriptor;
    this.remaining = remaining;
    this.resetMs = resetMs;
    this.source = source;
  }

  write(d: WorkingDecision, outcome: 'allowed' | 'limited' | 'shadow'): void {
    const rule = this.rule!;
    d.outcome = outcome;
    d.rule = rule;
    d.ruleId = rule.id;
    d.ruleKind = 'global';
    d.descriptor = this.descriptor;
    d.remaining = this.remaining;
    d.limit = rule.requestsPerUnit;
    d.resetMs = this.resetMs;
    // A window denies until it ends (envoyproxy/ratelimit keeps counting the denied requests).
    d.retryAfterMs = outcome === 'limited' ? this.resetMs : 0;
    d.source = this.source;
  }
}

interface PendingGlobal {
  readonly rule: CompiledGlobalRule;
  readonly descriptor: Descriptor;
  readonly key: string;
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
  private readonly tally = new GlobalTally();
  /** Shared-store keys over limit, with the local time their window ends (envoyproxy/ratelimit's local cache). */
  private readonly overLimitCache = new Map<string, number>();
  private readonly overLimitCacheSize: number;
  private readonly envoyCharging: boolean;
  /** Start and end (ms) of the second {@link second} numbers. */
  private readonly secondBounds = new Float64Array([Number.NaN, Number.NaN]);
  private second = 0;
  /** The current decision's time, read by the hot path from here rather than passed as an argument. */
  private readonly time = new Float64Array(1);
  // Scratch space for the matched local buckets, sorted by rank: grown once, then reused.
  private matchedRules: CompiledLocalRule[] = [];
  private matchedRows = new Int32Array(8);
  private matchedDescriptors: (Descriptor | null)[] = [];

  constructor(options: EngineOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? null;
    this.historySeconds = options.historySeconds ?? 60;
    this.ring = new DecisionRing(options.recentCapacity ?? 1024);
    this.overLimitCacheSize = options.overLimitCacheSize ?? 100_000;
    this.envoyCharging = options.charging === 'envoy';
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
    this.overLimitCache.clear();
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
    this.decideLocal(rs, descriptors, hits, d);
    if (d.outcome !== 'limited' && rs.global.size !== 0)
      this.decideGlobalInProcess(rs, request.descriptors, hits, d, 'local');
    this.record(d);
    return d;
  }

  /**
   * {@link decideInBatch} for one descriptor and local rules only: {@link decideLocal} for at most one
   * matched bucket (same maths as checkBuckets, chargeBuckets and writeLocal), then {@link record}, written
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
        this.writeUnlimited(d);
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
      // Two stores rather than one conditional: see checkBuckets.
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
   * the store, as Envoy's local filter runs before its global one), then global rules. Increments made in
   * the same tick share one store round trip. Keys known to be over limit for the rest of their window are
   * answered from a local cache (`source: 'cache'`). When the store fails, fail-open rules count in this
   * process and fail-closed rules deny (`source: 'fallback'`). Resolves with a fresh decision object.
   */
  async decideAsync(request: DecideRequest): Promise<Decision> {
    const rs = this.ruleSet;
    const nowMs = this.clock.nowMs();
    const hits = requestHits(request.hits);
    const d = new WorkingDecision();
    this.time[0] = nowMs;
    this.begin(d, hits);
    this.decideLocal(rs, request.descriptors, hits, d);
    if (d.outcome === 'limited' || rs.global.size === 0) return this.finish(d);
    const store = this.store;
    if (store === null) {
      this.decideGlobalInProcess(rs, request.descriptors, hits, d, 'local');
      return this.finish(d);
    }
    const tally = new GlobalTally();
    const pending: PendingGlobal[] = [];
    for (const descriptor of request.descriptors) {
      const rule = rs.global.match(descriptor);
      if (rule === undefined) continue;
      const key = rule.storeKey(descriptor);
      const cachedUntil = this.overLimitCache.get(key);
      if (cachedUntil !== undefined) {
        // Over limit until its window ends: no round trip (envoyproxy/ratelimit skips the increment too).
        if (cachedUntil > nowMs) {
          tally.add(rule, descriptor, true, 0, cachedUntil - nowMs, 'cache');
          continue;
        }
        this.overLimitCache.delete(key);
      }
      pending.push({ rule, descriptor, key });
    }
    if (pending.length > 0) {
      const counts = await Promise.all(pending.map((p) => this.incrementOrNull(store, p, hits)));
      const afterMs = this.clock.nowMs();
      for (let i = 0; i < pending.length; i++) {
        const count = counts[i]!;
        if (count === null) this.fallback(pending[i]!, hits, nowMs, tally);
        else this.countGlobal(pending[i]!, count, afterMs, tally);
      }
    }
    tally.applyTo(d);
    return this.finish(d);
  }

  /** A shared-store increment, or null when the store failed (the decision then falls back). */
  private async incrementOrNull(
    store: WindowStore,
    p: PendingGlobal,
    hits: number,
  ): Promise<WindowCount | null> {
    try {
      return await store.increment({ key: p.key, hits, unit: p.rule.unit });
    } catch {
      return null;
    }
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
    return this.ruleSet.all().map((rule): RuleSummary => {
      if (rule instanceof CompiledGlobalRule) {
        const g = rule;
        return {
          id: g.id,
          kind: 'global',
          entries: g.entries,
          shadow: g.shadow,
          limit: g.requestsPerUnit,
          ratePerSecond: null,
          windowMs: g.unitMs,
          dynamicKeys: g.table?.size ?? 0,
        };
      }
      const l = rule;
      return {
        id: l.id,
        kind: l.kind === 'default' ? 'default' : 'local',
        entries: l.entries,
        shadow: l.shadow,
        limit: l.params.maxTokens,
        ratePerSecond: l.params.ratePerSecond,
        windowMs: null,
        dynamicKeys: l.table?.size ?? 0,
      };
    });
  }

  /** Sets what every decision has; {@link decideLocal} then writes every other field, explicitly. */
  private begin(d: WorkingDecision, hits: number): void {
    d.bucket = null;
    d.numbers[HITS] = hits;
    d.numbers[AT_MS] = this.time[0]!;
  }

  /**
   * Local rules, as Envoy's local rate limiter: each request descriptor selects at most one rule; the default
   * bucket applies when none matched (or always, with `alwaysConsumeDefault`). Matched buckets are checked in
   * rank order (strictest fill rate first). The first enforced bucket without `hits` tokens limits the
   * request and **no** bucket is charged, unless `charging: 'envoy'`: Envoy charges the buckets it tried
   * before the one that denied. A shadow bucket without tokens only marks the request `shadow`.
   */
  private decideLocal(
    rs: CompiledRuleSet,
    descriptors: readonly Descriptor[],
    hits: number,
    d: WorkingDecision,
  ): void {
    let n = 0;
    if (rs.local.size !== 0) {
      for (let i = 0; i < descriptors.length; i++) {
        const descriptor = descriptors[i]!;
        const rule = rs.local.match(descriptor);
        if (rule !== undefined) n = this.addMatch(n, rule, rule.rowForNew(descriptor), descriptor);
      }
    }
    const fallback = rs.defaultRule;
    if (fallback !== null && (n === 0 || rs.alwaysConsumeDefault)) n = this.addMatch(n, fallback, 0, null);
    if (n === 0) {
      this.writeUnlimited(d);
      return;
    }

    const verdict = this.checkBuckets(n, hits);
    if (verdict >= 0) {
      // The first enforced bucket without enough tokens: limited, nothing charged (Envoy: the buckets
      // tried before it keep their charge).
      if (this.envoyCharging) this.chargeBuckets(verdict, hits);
      this.writeLocal(d, verdict, 'limited', hits);
      return;
    }
    this.chargeBuckets(n, hits);
    // -1: all had enough; otherwise -2 - i names the first shadow bucket that had not.
    if (verdict === -1) this.writeLocal(d, 0, 'allowed', hits);
    else this.writeLocal(d, -2 - verdict, 'shadow', hits);
  }

  /**
   * Refills the matched buckets and finds the first enforced one without `hits` tokens (its index), else
   * the first shadow one (`-2 - index`), else -1. The token maths is written out and the time read from
   * {@link time} rather than passed: a fractional number crossing a call the compiler does not inline is
   * boxed, which would cost an allocation per decision.
   */
  private checkBuckets(n: number, hits: number): number {
    const rules = this.matchedRules;
    const rows = this.matchedRows;
    const now = this.time[0]!;
    let shadowAt = -1;
    for (let i = 0; i < n; i++) {
      const rule = rules[i]!;
      const s = rule.state;
      const o = rows[i]!;
      const p = rule.params;
      const last = s[o + BUCKET_LAST_MS]!;
      if (now > last) {
        s[o + BUCKET_LAST_MS] = now;
        // Two stores rather than one conditional: a conditional joining a float with a field read is
        // compiled as a tagged value, which boxes every fractional token count.
        if (last < 0)
          s[o + BUCKET_TOKENS] = p.maxTokens; // a row marked -1 is new: full
        else
          s[o + BUCKET_TOKENS] = Math.min(
            p.maxTokens,
            s[o + BUCKET_TOKENS]! + ((now - last) * p.tokensPerFill) / p.fillIntervalMs,
          );
      }
      if (s[o + BUCKET_TOKENS]! + TOKEN_EPSILON >= hits) continue;
      if (!rule.shadow) return i;
      if (shadowAt === -1) shadowAt = -2 - i;
    }
    return shadowAt;
  }

  /** Takes `hits` from every matched bucket that has them (shadow buckets without enough are skipped). */
  private chargeBuckets(n: number, hits: number): void {
    const rules = this.matchedRules;
    const rows = this.matchedRows;
    for (let i = 0; i < n; i++) {
      const s = rules[i]!.state;
      const o = rows[i]! + BUCKET_TOKENS;
      const tokens = s[o]!;
      if (tokens + TOKEN_EPSILON >= hits) s[o] = Math.max(0, tokens - hits);
    }
  }

  /** Inserts a match keeping the scratch arrays sorted by rank (insertion sort: there are few). */
  private addMatch(n: number, rule: CompiledLocalRule, row: number, descriptor: Descriptor | null): number {
    const rules = this.matchedRules;
    if (n === this.matchedRows.length) {
      const grown = new Int32Array(n * 2);
      grown.set(this.matchedRows);
      this.matchedRows = grown;
    }
    const rows = this.matchedRows;
    const descriptors = this.matchedDescriptors;
    let i = n;
    while (i > 0 && rules[i - 1]!.rank > rule.rank) {
      rules[i] = rules[i - 1]!;
      rows[i] = rows[i - 1]!;
      descriptors[i] = descriptors[i - 1]!;
      i--;
    }
    rules[i] = rule;
    rows[i] = row;
    descriptors[i] = descriptor;
    return n + 1;
  }

  private writeLocal(
    d: WorkingDecision,
    i: number,
    outcome: 'allowed' | 'limited' | 'shadow',
    hits: number,
  ): void {
    const rule = this.matchedRules[i]!;
    const p = rule.params;
    const tokens = rule.state[this.matchedRows[i]! + BUCKET_TOKENS]!;
    d.outcome = outcome;
    d.rule = rule;
    d.ruleId = rule.id;
    d.ruleKind = rule.kind === 'default' ? 'default' : 'local';
    d.descriptor = this.matchedDescriptors[i]!;
    d.source = 'local';
    // Numbers go straight into the decision's typed array, and the token maths is written out rather than
    // called: a fractional number passed to or returned from a call the compiler does not inline is boxed
    // in a fresh heap object, and this path must not allocate.
    const n = d.numbers;
    n[REMAINING] = Math.floor(tokens + TOKEN_EPSILON);
    n[LIMIT] = p.maxTokens;
    const missing = p.maxTokens - tokens;
    if (missing > 0) n[RESET_MS] = Math.ceil(missing * p.msPerToken);
    else n[RESET_MS] = 0;
    if (outcome !== 'limited') n[RETRY_AFTER_MS] = 0;
    else if (hits > p.maxTokens) n[RETRY_AFTER_MS] = Number.POSITIVE_INFINITY;
    else n[RETRY_AFTER_MS] = Math.ceil((hits - tokens) * p.msPerToken);
  }

  private writeUnlimited(d: WorkingDecision): void {
    d.bucket = null;
    d.outcome = 'allowed';
    d.rule = null;
    d.ruleId = null;
    d.ruleKind = null;
    d.descriptor = null;
    d.source = 'local';
    const n = d.numbers;
    n[REMAINING] = Number.POSITIVE_INFINITY;
    n[LIMIT] = Number.POSITIVE_INFINITY;
    n[RESET_MS] = 0;
    n[RETRY_AFTER_MS] = 0;
  }

  /** Global rules counted in this process: the store-less path, and the fail-open fallback. */
  private decideGlobalInProcess(
    rs: CompiledRuleSet,
    descriptors: readonly Descriptor[],
    hits: number,
    d: WorkingDecision,
    source: DecisionSource,
  ): void {
    const tally = this.tally;
    tally.reset();
    for (let i = 0; i < descriptors.length; i++) {
      const descriptor = descriptors[i]!;
      const rule = rs.global.match(descriptor);
      if (rule === undefined) continue;
      this.countInProcess(tally, rule, descriptor, hits, source);
    }
    tally.applyTo(d);
  }

  private countGlobal(p: PendingGlobal, count: WindowCount, localNowMs: number, tally: GlobalTally): void {
    const { rule } = p;
    const over = isOverLimit(count.count, rule.requestsPerUnit);
    // The reset comes from the store's clock: the window is the store's, not ours.
    const resetMs = Math.max(0, count.windowStartMs + rule.unitMs - count.nowMs);
    if (over) this.cacheOverLimit(p.key, localNowMs + resetMs);
    tally.add(
      rule,
      p.descriptor,
      over,
      windowRemaining(count.count, rule.requestsPerUnit),
      resetMs,
      'global',
    );
  }

  private fallback(p: PendingGlobal, hits: number, nowMs: number, tally: GlobalTally): void {
    const { rule } = p;
    if (rule.failMode === 'closed') {
      tally.add(rule, p.descriptor, true, 0, 0, 'fallback');
      return;
    }
    this.time[0] = nowMs;
    this.countInProcess(tally, rule, p.descriptor, hits, 'fallback');
  }

  /** Counts a global rule in this process at the current decision's time (see {@link decideInBatch} on why not an argument). */
  private countInProcess(
    tally: GlobalTally,
    rule: CompiledGlobalRule,
    descriptor: Descriptor,
    hits: number,
    source: DecisionSource,
  ): void {
    const o = rule.rowFor(descriptor);
    const s = rule.state;
    const nowMs = this.time[0]!;
    const count = windowHit(s, o, hits, nowMs, rule.unitMs);
    const resetMs = s[o + WINDOW_START_MS]! + rule.unitMs - nowMs;
    tally.add(
      rule,
      descriptor,
      isOverLimit(count, rule.requestsPerUnit),
      windowRemaining(count, rule.requestsPerUnit),
      resetMs,
      source,
    );
  }

  private cacheOverLimit(key: string, untilMs: number): void {
    const cache = this.overLimitCache;
    if (cache.size >= this.overLimitCacheSize) {
      const now = this.clock.nowMs();
      for (const [k, until] of cache) if (until <= now) cache.delete(k);
      if (cache.size >= this.overLimitCacheSize) return;
    }
    cache.set(key, untilMs);
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
