/** Shared pieces of the limiter benchmarks: a skewed key workload and a timing loop. */

/** A deterministic pseudo-random generator (32-bit LCG): the same workload on every run. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * `length` draws over `keys` keys with Zipf-like popularity (rank r has weight 1/r^s): a few hot keys take
 * most requests, a long tail is seen rarely, as with real tenants or users.
 */
export function zipfSequence(keys: number, length: number, s = 1.0, seed = 42): Int32Array {
  const cdf = new Float64Array(keys);
  let total = 0;
  for (let r = 0; r < keys; r++) total += 1 / (r + 1) ** s;
  let acc = 0;
  for (let r = 0; r < keys; r++) {
    acc += 1 / (r + 1) ** s / total;
    cdf[r] = acc;
  }
  const random = lcg(seed);
  const seq = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const u = random();
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    seq[i] = lo;
  }
  return seq;
}

/**
 * Runs `round` (which performs `perRound` operations) repeatedly for about `budgetMs`, after a warm-up,
 * and returns the median rate in operations per second.
 */
export async function measure(perRound: number, budgetMs: number, round: () => unknown): Promise<number> {
  const deadline = performance.now() + budgetMs;
  const rates: number[] = [];
  for (let i = 0; i < 2; i++) await round();
  do {
    const start = performance.now();
    await round();
    rates.push(perRound / ((performance.now() - start) / 1000));
  } while (performance.now() < deadline || rates.length < 3);
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1]!;
}
