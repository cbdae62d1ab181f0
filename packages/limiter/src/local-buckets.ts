import { LIMIT, REMAINING, RESET_MS, RETRY_AFTER_MS } from './decision';
import type { CompiledLocalRule, CompiledRuleSet, Descriptor } from './rules';
import { BUCKET_LAST_MS, BUCKET_TOKENS, TOKEN_EPSILON } from './token-bucket';
import { writeUnlimited, type WorkingDecision } from './working-decision';

/**
 * Local rules, as Envoy's local rate limiter: each request descriptor selects at most one rule; the default
 * bucket applies when none matched (or always, with `alwaysConsumeDefault`). Matched buckets are checked in
 * rank order (strictest fill rate first). The first enforced bucket without `hits` tokens limits the
 * request and **no** bucket is charged, unless `charging: 'envoy'`: Envoy charges the buckets it tried
 * before the one that denied. A shadow bucket without tokens only marks the request `shadow`.
 */
export class LocalBuckets {
  // Scratch space for the matched local buckets, sorted by rank: grown once, then reused.
  private matchedRules: CompiledLocalRule[] = [];
  private matchedRows = new Int32Array(8);
  private matchedDescriptors: (Descriptor | null)[] = [];

  /**
   * `time[0]` is the current decision's time, which the engine sets: read from there rather than passed,
   * since a fractional number crossing a call the compiler does not inline is boxed (an allocation per
   * decision).
   */
  constructor(
    private readonly time: Float64Array,
    private readonly envoyCharging: boolean,
  ) {}

  /** Decides `d` on the local rules and the default bucket; writes every field but `hits` and `atMs`. */
  decide(rs: CompiledRuleSet, descriptors: readonly Descriptor[], hits: number, d: WorkingDecision): void {
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
      writeUnlimited(d);
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
}
