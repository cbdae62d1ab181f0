import type { WindowUnit } from '../fixed-window';

/** One increment of a shared fixed-window counter. */
export interface WindowIncrement {
  /** The counter's identity without the window: the store appends the window start it computes. */
  readonly key: string;
  readonly hits: number;
  readonly unit: WindowUnit;
}

/** The counter after an increment, with the window it fell in, in the store's own time. */
export interface WindowCount {
  /** The window's count after adding the hits (envoyproxy/ratelimit adds them even when over limit). */
  readonly count: number;
  readonly windowStartMs: number;
  /** The store's time at the increment: the window's end minus this is the time until reset. */
  readonly nowMs: number;
}

/**
 * Storage for global (shared, fixed-window) limits. Implementations decide the window from their own time
 * (Redis uses its server `TIME`, so replicas with skewed clocks still agree) and may batch increments made
 * in the same tick into one round trip. A rejected promise means the store is unavailable; the engine then
 * falls back per rule (fail-open: count locally; fail-closed: deny).
 */
export interface WindowStore {
  /** Short name for health and reports, e.g. `memory` or `redis`. */
  readonly kind: string;
  increment(request: WindowIncrement): Promise<WindowCount>;
}
