import type { Clock } from './clock';
import type { DecisionSource } from './decision';
import { isOverLimit, WINDOW_START_MS, windowHit, windowRemaining } from './fixed-window';
import type { CompiledGlobalRule, CompiledRuleSet, Descriptor } from './rules';
import type { WindowCount, WindowStore } from './stores/window-store';
import type { WorkingDecision } from './working-decision';

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
 * Global rules, as envoyproxy/ratelimit counts them: fixed windows, counted in this process or in a shared
 * {@link WindowStore}, merged into a decision whose local part did not limit.
 */
export class GlobalWindows {
  private readonly tally = new GlobalTally();
  /** Shared-store keys over limit, with the local time their window ends (envoyproxy/ratelimit's local cache). */
  private readonly overLimitCache = new Map<string, number>();

  /**
   * `time[0]` is the current decision's time, which the engine sets (see LocalBuckets on why it is not
   * an argument).
   */
  constructor(
    private readonly time: Float64Array,
    private readonly clock: Clock,
    private readonly overLimitCacheSize: number,
  ) {}

  /** Forgets the keys known to be over limit: they were judged against limits that no longer hold. */
  clearOverLimitCache(): void {
    this.overLimitCache.clear();
  }

  /** Global rules counted in this process: the store-less path, and the fail-open fallback. */
  decideInProcess(
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

  /**
   * Global rules counted in `store`, at `nowMs`. Increments made in the same tick share one store round
   * trip. Keys known to be over limit for the rest of their window are answered from a local cache
   * (`source: 'cache'`). When the store fails, fail-open rules count in this process and fail-closed rules
   * deny (`source: 'fallback'`).
   */
  async decideThroughStore(
    store: WindowStore,
    rs: CompiledRuleSet,
    descriptors: readonly Descriptor[],
    hits: number,
    nowMs: number,
    d: WorkingDecision,
  ): Promise<void> {
    const tally = new GlobalTally();
    const pending: PendingGlobal[] = [];
    for (const descriptor of descriptors) {
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

  /** Counts a global rule in this process at the current decision's time (`time[0]`). */
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
}
