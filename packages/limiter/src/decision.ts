import type { Descriptor } from './rules';
import { msUntilFull, msUntilTokens, wholeTokens, type BucketParams } from './token-bucket';

/**
 * What happened to a request: `allowed`; `limited` (deny it, e.g. 429); or `shadow`: a rule in shadow mode
 * would have limited it, so it is allowed and recorded (Envoy's `filter_enforced` at 0%).
 */
export type Outcome = 'allowed' | 'limited' | 'shadow';

/**
 * Where a decision's numbers came from: `local` (this process: token buckets, or windows counted in
 * memory), `global` (the shared store), `cache` (the local cache of keys already over limit in the
 * shared store, no round trip), `fallback` (the shared store was unavailable: counted locally for a
 * fail-open rule, denied for a fail-closed one).
 */
export type DecisionSource = 'local' | 'global' | 'cache' | 'fallback';

/** Which kind of rule decided. */
export type RuleKind = 'local' | 'global' | 'default';

/** A decision about one request. */
export interface Decision {
  readonly outcome: Outcome;
  /** False only when the outcome is `limited`. */
  readonly allowed: boolean;
  /**
   * The rule that decided: the one that limited (or would have, for `shadow`), else the strictest rule that
   * matched. `null` when no rule applied (no descriptor matched and there is no default bucket).
   */
  readonly ruleId: string | null;
  readonly ruleKind: RuleKind | null;
  /** The request descriptor that matched `ruleId` (the caller's own array, not a copy); null for the default bucket. */
  readonly descriptor: Descriptor | null;
  readonly hits: number;
  /** Whole tokens (or requests) left for `ruleId` after this request. Infinity when no rule applied. */
  readonly remaining: number;
  /** `maxTokens` of a token bucket, `requestsPerUnit` of a window. Infinity when no rule applied. */
  readonly limit: number;
  /** Milliseconds until the limit is whole again: the bucket full, or the window's end. */
  readonly resetMs: number;
  /** For `limited`: milliseconds until the same request could pass. 0 otherwise. */
  readonly retryAfterMs: number;
  readonly source: DecisionSource;
  /** The engine clock's time of the decision. */
  readonly atMs: number;
}

/** Receives every decision after it is made. The object may be reused: copy what you keep ({@link copyDecision}). */
export type DecisionListener = (decision: Decision) => void;

/** Offsets in {@link MutableDecision.numbers}. */
export const REMAINING = 0;
export const LIMIT = 1;
export const RESET_MS = 2;
export const RETRY_AFTER_MS = 3;
export const AT_MS = 4;
export const HITS = 5;

/** Where a bucket-derived decision keeps the bucket's tokens after the request (in place of `remaining`). */
export const TOKENS = REMAINING;

/** `retryAfterMs` of a decision drawn from a bucket holding `tokens` after it: only a limited one waits. */
function bucketRetryAfterMs(p: BucketParams, tokens: number, hits: number, outcome: Outcome): number {
  return outcome === 'limited' ? msUntilTokens(p, tokens, hits) : 0;
}

/**
 * A decision the engine fills in place, so the synchronous path allocates nothing. Its numbers live in a
 * `Float64Array`: writing a fractional or large number (a timestamp) into a plain object field can box it
 * in a fresh heap object, writing into a typed array never does.
 *
 * A decision drawn from a token bucket is kept in its raw form: {@link bucket} names the bucket's
 * parameters and the numbers hold its tokens after the request ({@link TOKENS}); `remaining`, `limit`,
 * `resetMs` and `retryAfterMs` are derived from them when read. Most decisions are counted and never read
 * field by field, so the hot path does not compute what nobody asks for.
 */
export class MutableDecision implements Decision {
  /** The outcome as its code ({@link OUTCOME_ALLOWED}, {@link OUTCOME_LIMITED}, {@link OUTCOME_SHADOW}). */
  code = 0;
  ruleId: string | null = null;
  ruleKind: RuleKind | null = null;
  descriptor: Descriptor | null = null;
  source: DecisionSource = 'local';
  /** The parameters of the bucket the numbers are derived from, or null when they are explicit. */
  bucket: BucketParams | null = null;
  readonly numbers = new Float64Array([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0, 0, 0, 1]);

  get outcome(): Outcome {
    return OUTCOMES[this.code]!;
  }
  set outcome(value: Outcome) {
    this.code = outcomeCode(value);
  }
  /** False only when limited. */
  get allowed(): boolean {
    return this.code !== OUTCOME_LIMITED;
  }

  get remaining(): number {
    return this.bucket === null ? this.numbers[REMAINING]! : wholeTokens(this.numbers[TOKENS]!);
  }
  set remaining(value: number) {
    this.explicit().numbers[REMAINING] = value;
  }
  get limit(): number {
    return this.bucket === null ? this.numbers[LIMIT]! : this.bucket.maxTokens;
  }
  set limit(value: number) {
    this.explicit().numbers[LIMIT] = value;
  }
  get resetMs(): number {
    return this.bucket === null ? this.numbers[RESET_MS]! : msUntilFull(this.bucket, this.numbers[TOKENS]!);
  }
  set resetMs(value: number) {
    this.explicit().numbers[RESET_MS] = value;
  }
  get retryAfterMs(): number {
    const b = this.bucket;
    if (b === null) return this.numbers[RETRY_AFTER_MS]!;
    return bucketRetryAfterMs(b, this.numbers[TOKENS]!, this.numbers[HITS]!, this.outcome);
  }
  set retryAfterMs(value: number) {
    this.explicit().numbers[RETRY_AFTER_MS] = value;
  }
  get atMs(): number {
    return this.numbers[AT_MS]!;
  }
  set atMs(value: number) {
    this.numbers[AT_MS] = value;
  }
  get hits(): number {
    return this.numbers[HITS]!;
  }
  set hits(value: number) {
    this.explicit().numbers[HITS] = value;
  }

  /** Turns a bucket-derived decision into one with explicit numbers (before one of them is set). */
  explicit(): this {
    const b = this.bucket;
    if (b !== null) {
      const n = this.numbers;
      const tokens = n[TOKENS]!;
      n[REMAINING] = wholeTokens(tokens);
      n[LIMIT] = b.maxTokens;
      n[RESET_MS] = msUntilFull(b, tokens);
      n[RETRY_AFTER_MS] = bucketRetryAfterMs(b, tokens, n[HITS]!, this.outcome);
      this.bucket = null;
    }
    return this;
  }

  /** Sets every field from another mutable decision (without allocating). */
  assign(from: MutableDecision): this {
    this.code = from.code;
    this.ruleId = from.ruleId;
    this.ruleKind = from.ruleKind;
    this.descriptor = from.descriptor;
    this.source = from.source;
    this.bucket = from.bucket;
    const a = this.numbers;
    const b = from.numbers;
    a[0] = b[0]!;
    a[1] = b[1]!;
    a[2] = b[2]!;
    a[3] = b[3]!;
    a[4] = b[4]!;
    a[5] = b[5]!;
    return this;
  }
}

/** A plain, frozen copy of a decision (safe to keep, send or serialise). */
export function copyDecision(d: Decision): Decision {
  return Object.freeze({
    outcome: d.outcome,
    allowed: d.allowed,
    ruleId: d.ruleId,
    ruleKind: d.ruleKind,
    descriptor: d.descriptor,
    hits: d.hits,
    remaining: d.remaining,
    limit: d.limit,
    resetMs: d.resetMs,
    retryAfterMs: d.retryAfterMs,
    source: d.source,
    atMs: d.atMs,
  });
}

/** Codes of the outcomes, for the hot path (which records codes rather than comparing strings). */
export const OUTCOME_ALLOWED = 0;
export const OUTCOME_LIMITED = 1;
export const OUTCOME_SHADOW = 2;
const OUTCOMES: readonly Outcome[] = ['allowed', 'limited', 'shadow'];
export const outcomeCode = (o: Outcome): number =>
  o === 'allowed' ? OUTCOME_ALLOWED : o === 'limited' ? OUTCOME_LIMITED : OUTCOME_SHADOW;
/** The outcome of a code. */
export const outcomeOf = (code: number): Outcome => OUTCOMES[code]!;
/** The code of the `local` decision source. */
export const SOURCE_LOCAL = 0;

/** One second of one rule's traffic: requests (not hits) per outcome. */
export interface SecondCounts {
  /** Unix second (`floor(ms / 1000)`) of the engine clock. */
  readonly second: number;
  readonly allowed: number;
  readonly limited: number;
  readonly shadow: number;
}

/** A rule's recent history for a dashboard. */
export interface RuleSeries {
  readonly ruleId: string;
  readonly ruleKind: RuleKind;
  /** Oldest first, one entry per second (zeros included), ending at the requested second. */
  readonly seconds: readonly SecondCounts[];
  readonly totals: { readonly allowed: number; readonly limited: number; readonly shadow: number };
}

/**
 * Per-second counts of one rule for the last `historySeconds` seconds, in a ring indexed by the second, so
 * recording is a few array writes and never allocates. It survives a rule-set swap with the rule's id.
 */
export class RuleStats {
  private readonly secondAt: Float64Array;
  /** Per slot, the counts of each outcome, at `slot * 3 +` {@link OUTCOME_ALLOWED} (and the others). */
  private readonly counts: Uint32Array;
  /**
   * Counts of seconds whose slot has been reused: the totals are these plus what the slots hold, so a
   * decision increments one counter, not two.
   */
  private readonly retired = new Float64Array(3);
  // The slot of the last second recorded: seconds since the epoch are too large for integer modulo, and a
  // floating-point modulo per decision is measurable. -1 (not NaN) keeps the field a small integer.
  private lastSecond = -1;
  private lastSlot = 0;

  constructor(readonly historySeconds: number) {
    if (!(Number.isInteger(historySeconds) && historySeconds >= 1))
      throw new RangeError('historySeconds must be a positive integer');
    this.secondAt = new Float64Array(historySeconds).fill(Number.NaN);
    this.counts = new Uint32Array(historySeconds * 3);
  }

  get allowedTotal(): number {
    return this.total(OUTCOME_ALLOWED);
  }
  get limitedTotal(): number {
    return this.total(OUTCOME_LIMITED);
  }
  get shadowTotal(): number {
    return this.total(OUTCOME_SHADOW);
  }

  private total(code: number): number {
    let sum = this.retired[code]!;
    for (let slot = 0; slot < this.historySeconds; slot++) sum += this.counts[slot * 3 + code]!;
    return sum;
  }

  record(outcome: Outcome, second: number): void {
    this.recordCode(outcomeCode(outcome), second);
  }

  /** {@link record} with the outcome as its code ({@link OUTCOME_ALLOWED}, ...). */
  recordCode(code: number, second: number): void {
    if (second !== this.lastSecond) this.enterSecond(second);
    this.counts[this.lastSlot * 3 + code]!++;
  }

  /**
   * Moves to another second: its slot is retired into the totals and cleared if it held an older one.
   * While the second stays the same, its slot holds it, so {@link recordCode} only compares it.
   */
  private enterSecond(second: number): void {
    const slot = second % this.historySeconds;
    this.lastSecond = second;
    this.lastSlot = slot;
    if (this.secondAt[slot] !== second) {
      this.secondAt[slot] = second;
      const c = this.counts;
      const r = this.retired;
      for (let k = 0; k < 3; k++) {
        r[k] = r[k]! + c[slot * 3 + k]!;
        c[slot * 3 + k] = 0;
      }
    }
  }

  /** The last `count` seconds ending at `nowSecond`, oldest first (at most `historySeconds`). */
  series(nowSecond: number, count = this.historySeconds): SecondCounts[] {
    const n = Math.min(count, this.historySeconds);
    const out: SecondCounts[] = [];
    for (let second = nowSecond - n + 1; second <= nowSecond; second++) {
      const slot = ((second % this.historySeconds) + this.historySeconds) % this.historySeconds;
      const held = this.secondAt[slot] === second;
      const c = this.counts;
      out.push({
        second,
        allowed: held ? c[slot * 3 + OUTCOME_ALLOWED]! : 0,
        limited: held ? c[slot * 3 + OUTCOME_LIMITED]! : 0,
        shadow: held ? c[slot * 3 + OUTCOME_SHADOW]! : 0,
      });
    }
    return out;
  }
}

/** A decision in the ring, with its sequence number (for resuming a live feed after a reconnect). */
export interface RecordedDecision extends Decision {
  readonly seq: number;
}

const SOURCES: readonly DecisionSource[] = ['local', 'global', 'cache', 'fallback'];
const KINDS: readonly (RuleKind | null)[] = [null, 'local', 'global', 'default'];
const sourceCode = (s: DecisionSource): number =>
  s === 'local' ? 0 : s === 'global' ? 1 : s === 'cache' ? 2 : 3;
/** The code of a rule kind in the ring (0: no rule). */
export const ruleKindCode = (k: RuleKind | null): number =>
  k === null ? 0 : k === 'local' ? 1 : k === 'global' ? 2 : 3;
/** Per ring slot: tokens (bucket-derived decisions), time, and hits with the code (`hits * 128 + code`). */
const SLOT_NUMBERS = 3;
/** Per ring slot, for decisions with explicit numbers: remaining, limit, reset, retry. */
const SLOT_EXTRA = 4;
/** Per ring slot: the rule (bucket-derived decisions) or the rule id, and the descriptor. */
const SLOT_REFS = 2;
/** The code bit marking a bucket-derived slot. */
const FROM_BUCKET = 64;
const CODE_SPAN = 128;

/** What the ring needs of a rule whose bucket a decision was drawn from. */
export interface RingBucketRule {
  readonly id: string;
  readonly params: BucketParams;
}

/**
 * The last `capacity` decisions, held in flat arrays (a typed array for the numbers, one for the references)
 * rather than an object per slot: recording is a few stores and allocates nothing; reading builds plain
 * objects. A decision drawn from a token bucket takes three numbers and two references (its rule, which
 * names its parameters, and its descriptor): the ring is swept by every decision, so what it does not
 * occupy stays free in the cache for the buckets.
 */
export class DecisionRing {
  private readonly numbers: Float64Array;
  /** Numbers only decisions with explicit figures have (global windows, several buckets, no rule). */
  private readonly extra: Float64Array;
  private readonly refs: (RingBucketRule | string | Descriptor | null)[];
  /**
   * Slots held: `capacity` rounded up to a power of two, so that a decision's slot is its sequence number
   * masked (the newest `capacity` of them are what the ring answers with).
   */
  private readonly slots: number;
  private readonly mask: number;
  /** The sequence number of the newest decision (0 before the first). */
  lastSeq = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 0 && capacity <= 2 ** 30))
      throw new RangeError('ring capacity must be an integer from 0 to 2^30');
    // A ring of no capacity still has one slot to write to (and answers with nothing): no branch per push.
    this.slots = capacity <= 1 ? 1 : 2 ** Math.ceil(Math.log2(capacity));
    this.mask = this.slots - 1;
    this.numbers = new Float64Array(this.slots * SLOT_NUMBERS);
    this.extra = new Float64Array(this.slots * SLOT_EXTRA);
    this.refs = new Array<RingBucketRule | string | Descriptor | null>(this.slots * SLOT_REFS).fill(null);
  }

  /** The slot the next decision goes to (counting it). */
  private take(): number {
    return (++this.lastSeq - 1) & this.mask;
  }

  /** Keeps a decision with explicit numbers (its bucket-derived figures are computed now, if any). */
  push(d: MutableDecision): void {
    const i = this.take();
    const a = this.numbers;
    const o = i * SLOT_NUMBERS;
    a[o + 1] = d.atMs;
    a[o + 2] = d.hits * CODE_SPAN + (d.code | (sourceCode(d.source) << 2) | (ruleKindCode(d.ruleKind) << 4));
    const e = this.extra;
    const x = i * SLOT_EXTRA;
    e[x] = d.remaining;
    e[x + 1] = d.limit;
    e[x + 2] = d.resetMs;
    e[x + 3] = d.retryAfterMs;
    const r = this.refs;
    r[i * SLOT_REFS] = d.ruleId;
    r[i * SLOT_REFS + 1] = d.descriptor;
  }

  /**
   * Keeps a decision drawn from `rule`'s token bucket ({@link MutableDecision.bucket} set): its tokens, time
   * and hits; the rest is derived from the rule's parameters when read.
   */
  pushBucket(d: MutableDecision, rule: RingBucketRule, outcome: number, kind: number): void {
    const i = this.take();
    const a = this.numbers;
    const b = d.numbers;
    const o = i * SLOT_NUMBERS;
    a[o] = b[TOKENS]!;
    a[o + 1] = b[AT_MS]!;
    a[o + 2] = b[HITS]! * CODE_SPAN + (outcome | FROM_BUCKET | (SOURCE_LOCAL << 2) | (kind << 4));
    const r = this.refs;
    const k = i * SLOT_REFS;
    // Usually the rule of the slot's decision a turn ago: a compare instead of a pointer store.
    if (r[k] !== rule) r[k] = rule;
    r[k + 1] = d.descriptor;
  }

  /** Decisions with `seq > afterSeq` still held, oldest first, at most `limit` (the newest ones). */
  since(afterSeq = 0, limit = this.capacity): RecordedDecision[] {
    const held = Math.min(this.lastSeq, this.capacity);
    const first = Math.max(afterSeq + 1, this.lastSeq - held + 1, this.lastSeq - limit + 1);
    const out: RecordedDecision[] = [];
    for (let seq = first; seq <= this.lastSeq; seq++) {
      const i = (seq - 1) & this.mask;
      const n = this.numbers;
      const o = i * SLOT_NUMBERS;
      const packed = n[o + 2]!;
      const code = packed % CODE_SPAN;
      const hits = (packed - code) / CODE_SPAN;
      const outcome = OUTCOMES[code & 3]!;
      const ref = this.refs[i * SLOT_REFS]!;
      const descriptor = this.refs[i * SLOT_REFS + 1] as Descriptor | null;
      let figures: {
        ruleId: string | null;
        remaining: number;
        limit: number;
        resetMs: number;
        retryAfterMs: number;
      };
      if ((code & FROM_BUCKET) !== 0) {
        const rule = ref as RingBucketRule;
        const tokens = n[o]!;
        figures = {
          ruleId: rule.id,
          remaining: wholeTokens(tokens),
          limit: rule.params.maxTokens,
          resetMs: msUntilFull(rule.params, tokens),
          retryAfterMs: bucketRetryAfterMs(rule.params, tokens, hits, outcome),
        };
      } else {
        const e = this.extra;
        const x = i * SLOT_EXTRA;
        figures = {
          ruleId: ref as string | null,
          remaining: e[x]!,
          limit: e[x + 1]!,
          resetMs: e[x + 2]!,
          retryAfterMs: e[x + 3]!,
        };
      }
      out.push(
        Object.freeze({
          outcome,
          allowed: outcome !== 'limited',
          ruleId: figures.ruleId,
          ruleKind: KINDS[(code >> 4) & 3]!,
          descriptor,
          remaining: figures.remaining,
          limit: figures.limit,
          resetMs: figures.resetMs,
          retryAfterMs: figures.retryAfterMs,
          atMs: n[o + 1]!,
          hits,
          source: SOURCES[(code >> 2) & 3]!,
          seq,
        }),
      );
    }
    return out;
  }
}
