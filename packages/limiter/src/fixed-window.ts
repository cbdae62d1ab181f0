/**
 * envoyproxy/ratelimit's fixed window.
 *
 * - Windows are aligned to the Unix epoch: the counter key carries `floor(now / unit) * unit`, so every
 *   replica agrees on the window without coordination, and a window resets for everyone at once.
 * - A request adds its `hits` to the window's counter **even when it is over the limit**
 *   (envoyproxy/ratelimit pipelines `INCRBY key hits` + `EXPIRE` per request and compares afterwards;
 *   see `src/redis/fixed_cache_impl.go` and `src/limiter/base_limiter.go`). A denied request therefore
 *   still counts: after `count + hits > limit` every later request in the same window is denied too, even
 *   one small enough to have fitted. Only its local over-limit cache skips the increment, which changes
 *   nothing observable because the key stays over limit until the window ends.
 * - Over limit means `countAfterIncrement > requestsPerUnit`; `remaining = limit - countAfter` when within.
 */
export type WindowUnit = 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY';

export const WINDOW_UNITS: readonly WindowUnit[] = ['SECOND', 'MINUTE', 'HOUR', 'DAY'];

/** A global limit: `requestsPerUnit` per epoch-aligned `unit` (envoyproxy/ratelimit's `rate_limit`). */
export interface FixedWindowLimit {
  readonly requestsPerUnit: number;
  readonly unit: WindowUnit;
}

/** The window length of a unit, in milliseconds. */
export function unitToMs(unit: WindowUnit): number {
  switch (unit) {
    case 'SECOND':
      return 1_000;
    case 'MINUTE':
      return 60_000;
    case 'HOUR':
      return 3_600_000;
    case 'DAY':
      return 86_400_000;
    default: {
      const unknown: never = unit;
      throw new RangeError(`unknown window unit ${String(unknown)}`);
    }
  }
}

/** The start of the epoch-aligned window that contains `nowMs`. */
export function windowStartMs(nowMs: number, unitMs: number): number {
  return Math.floor(nowMs / unitMs) * unitMs;
}

/** Whether a counter value (after the increment) is over the limit, as envoyproxy/ratelimit decides. */
export function isOverLimit(countAfter: number, requestsPerUnit: number): boolean {
  return countAfter > requestsPerUnit;
}

/** Requests left in the window after this one (0 when over). */
export function windowRemaining(countAfter: number, requestsPerUnit: number): number {
  return countAfter > requestsPerUnit ? 0 : requestsPerUnit - countAfter;
}

/** Offsets and size of a window counter's row: the window it counts, and the count. */
export const WINDOW_START_MS = 0;
export const WINDOW_COUNT = 1;
export const WINDOW_STRIDE = 2;

/** Initialises a row as a counter that has seen nothing. */
export function windowInit(s: Float64Array, o: number): void {
  s[o] = Number.NEGATIVE_INFINITY;
  s[o + 1] = 0;
}

/**
 * Adds `hits` to the counter in the window containing `nowMs`, starting the window afresh when it changed;
 * returns the count after. A clock stepping back into an older window keeps counting in the newer one
 * rather than resurrecting a spent window.
 */
export function windowHit(s: Float64Array, o: number, hits: number, nowMs: number, unitMs: number): number {
  const start = Math.floor(nowMs / unitMs) * unitMs;
  if (start > s[o]!) {
    s[o] = start;
    s[o + 1] = hits;
    return hits;
  }
  return (s[o + 1] = s[o + 1]! + hits);
}
