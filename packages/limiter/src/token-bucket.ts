/**
 * Envoy's local rate limit token bucket (`envoy.type.v3.TokenBucket`, as used by
 * `envoy.filters.http.local_ratelimit`).
 *
 * - The bucket starts full: a new bucket holds `maxTokens`.
 * - It refills continuously at `tokensPerFill / fillIntervalMs`, capped at `maxTokens`. Envoy moved from a
 *   timer that added `tokens_per_fill` every `fill_interval` to a timer-less atomic bucket that computes the
 *   tokens from the elapsed time; this is the latter, so there are no per-key timers.
 * - A request takes `hits` tokens only when that many are there; a denied request takes nothing.
 *
 * State is two numbers per bucket (tokens, time of last update) kept in a `Float64Array` row, so many
 * buckets live in one flat array and the hot path touches no per-bucket object. {@link TokenBucket} wraps
 * one row for standalone use.
 */
export interface TokenBucketConfig {
  /** Capacity, and the tokens a new bucket starts with (`max_tokens`, at least 1). */
  readonly maxTokens: number;
  /** Tokens added per fill interval (`tokens_per_fill`, at least 1; Envoy's default is 1). */
  readonly tokensPerFill: number;
  /** The fill interval in milliseconds (`fill_interval`). */
  readonly fillIntervalMs: number;
}

/** Offsets and size of a bucket's row. */
export const BUCKET_TOKENS = 0;
export const BUCKET_LAST_MS = 1;
export const BUCKET_STRIDE = 2;

/**
 * Refill arithmetic is done in floating point; a tolerance keeps `0.9999999999` tokens from denying a
 * request that exact arithmetic would allow.
 */
export const TOKEN_EPSILON = 1e-9;
const EPSILON = TOKEN_EPSILON;

/** A validated bucket configuration with the derived constants the hot path needs. */
export class BucketParams implements TokenBucketConfig {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  /** Milliseconds to earn one token (for reset and retry times). */
  readonly msPerToken: number;

  constructor(config: TokenBucketConfig) {
    this.maxTokens = config.maxTokens;
    this.tokensPerFill = config.tokensPerFill;
    this.fillIntervalMs = config.fillIntervalMs;
    this.msPerToken = config.fillIntervalMs / config.tokensPerFill;
  }

  /** Tokens per second: Envoy sorts matched descriptors by this, strictest first. */
  get ratePerSecond(): number {
    return (this.tokensPerFill * 1000) / this.fillIntervalMs;
  }
}

/** Initialises a row as a new, full bucket. */
export function bucketInit(s: Float64Array, o: number, p: BucketParams, nowMs: number): void {
  s[o] = p.maxTokens;
  s[o + 1] = nowMs;
}

/**
 * Adds the tokens earned since the last update. A clock that steps back earns nothing until it passes the
 * last update again, so no interval is ever credited twice.
 */
export function bucketRefill(s: Float64Array, o: number, p: BucketParams, nowMs: number): void {
  const elapsed = nowMs - s[o + 1]!;
  if (elapsed <= 0) return;
  s[o + 1] = nowMs;
  const tokens = s[o]!;
  if (tokens >= p.maxTokens) return;
  // Multiply before dividing: whole intervals then give whole tokens exactly.
  s[o] = Math.min(p.maxTokens, tokens + (elapsed * p.tokensPerFill) / p.fillIntervalMs);
}

/** Whether `hits` tokens are there (refill first). */
export function bucketHas(s: Float64Array, o: number, hits: number): boolean {
  return s[o]! + EPSILON >= hits;
}

/** Takes `hits` tokens; the caller has checked {@link bucketHas}. */
export function bucketTake(s: Float64Array, o: number, hits: number): void {
  const left = s[o]! - hits;
  s[o] = left > 0 ? left : 0;
}

/** Whole tokens left, as Envoy reports them (`x-ratelimit-remaining`). */
export function bucketRemaining(s: Float64Array, o: number): number {
  return wholeTokens(s[o]!);
}

/** Milliseconds until `hits` tokens will be there (0 if they are; Infinity if they can never fit). */
export function bucketMsUntil(s: Float64Array, o: number, p: BucketParams, hits: number): number {
  return msUntilTokens(p, s[o]!, hits);
}

/** {@link bucketRemaining} of a bucket holding `tokens`. */
export function wholeTokens(tokens: number): number {
  return Math.floor(tokens + EPSILON);
}

/** {@link bucketMsUntil} of a bucket holding `tokens`. */
export function msUntilTokens(p: BucketParams, tokens: number, hits: number): number {
  if (tokens + EPSILON >= hits) return 0;
  if (hits > p.maxTokens) return Number.POSITIVE_INFINITY;
  return Math.ceil((hits - tokens) * p.msPerToken);
}

/** Milliseconds until a bucket holding `tokens` is full again. */
export function msUntilFull(p: BucketParams, tokens: number): number {
  const missing = p.maxTokens - tokens;
  return missing > 0 ? Math.ceil(missing * p.msPerToken) : 0;
}

/**
 * Applies a new quota to a live bucket: the tokens earned so far are credited at the old rate, then clamped
 * to the new capacity. A quota change changes the cap; it neither refills nor empties the bucket.
 */
export function bucketReconfigure(
  s: Float64Array,
  o: number,
  from: BucketParams,
  to: BucketParams,
  nowMs: number,
): void {
  bucketRefill(s, o, from, nowMs);
  if (s[o]! > to.maxTokens) s[o] = to.maxTokens;
}

/** One token bucket on its own (the engine keeps its buckets in shared rows instead). */
export class TokenBucket {
  private readonly state = new Float64Array(BUCKET_STRIDE);
  private params: BucketParams;

  constructor(config: TokenBucketConfig, nowMs: number) {
    this.params = new BucketParams(config);
    bucketInit(this.state, 0, this.params, nowMs);
  }

  get config(): BucketParams {
    return this.params;
  }

  /** Tokens held at the last update (fractional between whole tokens). */
  get tokens(): number {
    return this.state[BUCKET_TOKENS]!;
  }

  /** Refills, then takes `hits` tokens if they are there. A denied request takes nothing. */
  tryTake(hits: number, nowMs: number): boolean {
    bucketRefill(this.state, 0, this.params, nowMs);
    if (!bucketHas(this.state, 0, hits)) return false;
    bucketTake(this.state, 0, hits);
    return true;
  }

  /** Whole tokens available at `nowMs`. */
  available(nowMs: number): number {
    bucketRefill(this.state, 0, this.params, nowMs);
    return bucketRemaining(this.state, 0);
  }

  /** Milliseconds from `nowMs` until `hits` tokens are there. */
  msUntil(hits: number, nowMs: number): number {
    bucketRefill(this.state, 0, this.params, nowMs);
    return bucketMsUntil(this.state, 0, this.params, hits);
  }

  /** Changes the quota, keeping the tokens (clamped to the new cap). */
  reconfigure(config: TokenBucketConfig, nowMs: number): void {
    const next = new BucketParams(config);
    bucketReconfigure(this.state, 0, this.params, next, nowMs);
    this.params = next;
  }
}
