/**
 * Time for the engine. Every algorithm reads time through this one method, so tests drive time by hand
 * and the maths never calls `Date.now()` itself.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. May carry a fraction; must never go backwards by much. */
  nowMs(): number;
}

/**
 * Wall-clock time with sub-millisecond resolution. Fixed windows are epoch-aligned (envoyproxy/ratelimit
 * keys a counter by `now / unit * unit` in Unix seconds), so the clock must be epoch-based, not monotonic-only.
 */
export const systemClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
};

/** A clock that moves only when told to: for tests and deterministic simulations. */
export class FakeClock implements Clock {
  private current: number;

  constructor(startMs = 0) {
    this.current = startMs;
  }

  nowMs(): number {
    return this.current;
  }

  /** Moves time forward by `ms` (which may be fractional). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a fake clock only moves forward (got ${ms} ms)`);
    this.current += ms;
  }

  /** Jumps to an absolute time (forward or backward: the algorithms tolerate a clock stepping back). */
  set(ms: number): void {
    this.current = ms;
  }
}
