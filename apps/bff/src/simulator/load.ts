/** Load profiles of the simulated mesh, and the seeded random numbers that make a run reproducible. */

/** A constant rate. */
export interface SteadyLoad {
  readonly kind: 'steady';
  readonly rps: number;
}

/** A day's rise and fall compressed into `periodMs`: a sine between `minRps` and `maxRps`, lowest at 0. */
export interface WaveLoad {
  readonly kind: 'wave';
  readonly minRps: number;
  readonly maxRps: number;
  readonly periodMs: number;
  /** Shifts the wave: the time (ms into the period) the run starts at. Default 0. */
  readonly phaseMs?: number;
}

/** A base rate with a burst of `spikeRps` (instead of the base) for `durationMs` every `everyMs`. */
export interface SpikesLoad {
  readonly kind: 'spikes';
  readonly baseRps: number;
  readonly spikeRps: number;
  readonly everyMs: number;
  readonly durationMs: number;
}

export type LoadProfile = SteadyLoad | WaveLoad | SpikesLoad;

/** Problems with a profile, for an API to answer 400 with; empty when it is usable. */
export function loadProblems(p: LoadProfile): string[] {
  const problems: string[] = [];
  const rate = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v >= 0)) problems.push(`${name}: expected a rate of at least 0`);
  };
  const duration = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v > 0)) problems.push(`${name}: expected milliseconds above 0`);
  };
  switch (p.kind) {
    case 'steady':
      rate('rps', p.rps);
      break;
    case 'wave':
      rate('minRps', p.minRps);
      rate('maxRps', p.maxRps);
      duration('periodMs', p.periodMs);
      if (p.maxRps < p.minRps) problems.push('maxRps: must be at least minRps');
      if (p.phaseMs !== undefined && !Number.isFinite(p.phaseMs)) problems.push('phaseMs: expected a number');
      break;
    case 'spikes':
      rate('baseRps', p.baseRps);
      rate('spikeRps', p.spikeRps);
      duration('everyMs', p.everyMs);
      duration('durationMs', p.durationMs);
      break;
  }
  return problems;
}

/** The most requests per second the profile ever asks for. */
export function peakRate(p: LoadProfile): number {
  switch (p.kind) {
    case 'steady':
      return p.rps;
    case 'wave':
      return Math.max(p.minRps, p.maxRps);
    case 'spikes':
      return Math.max(p.baseRps, p.spikeRps);
  }
}

/** Requests per second the profile asks for `elapsedMs` after the run (or the profile) started. */
export function rateAt(p: LoadProfile, elapsedMs: number): number {
  switch (p.kind) {
    case 'steady':
      return p.rps;
    case 'wave': {
      const angle = (2 * Math.PI * (elapsedMs + (p.phaseMs ?? 0))) / p.periodMs;
      return p.minRps + ((p.maxRps - p.minRps) * (1 - Math.cos(angle))) / 2;
    }
    case 'spikes': {
      const into = ((elapsedMs % p.everyMs) + p.everyMs) % p.everyMs;
      return into < p.durationMs ? p.spikeRps : p.baseRps;
    }
  }
}

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
