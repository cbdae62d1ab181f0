import { copyDecision, FakeClock, MemoryWindowStore, RateLimitEngine, type RuleSetInput } from '../src/index';
import { describeLimiterBehaviour, type HarnessInstance, type LimitSpec } from './behaviour';

/** An epoch-aligned start, so windows begin exactly at the fake clock's zero. */
export const ALIGNED_START = 1_700_000_000_000;

const entries = (spec: LimitSpec) => [{ key: 'user', value: spec.perValue ? '' : 'alice' }];

function tokenBucketRules(spec: LimitSpec, limit = spec.limit, id = 'limit'): RuleSetInput {
  return {
    local: [
      {
        id,
        entries: entries(spec),
        maxTokens: limit,
        tokensPerFill: limit,
        fillIntervalMs: 1000,
        shadow: spec.shadow ?? false,
      },
    ],
    maxDynamicDescriptors: spec.perValue?.maxKeys ?? 10_000,
  };
}

function windowRules(spec: LimitSpec, limit = spec.limit, id = 'limit'): RuleSetInput {
  return {
    global: [
      { id, entries: entries(spec), requestsPerUnit: limit, unit: 'SECOND', shadow: spec.shadow ?? false },
    ],
    maxDynamicDescriptors: spec.perValue?.maxKeys ?? 10_000,
  };
}

function syncInstance(spec: LimitSpec, rules: typeof tokenBucketRules): HarnessInstance {
  const clock = new FakeClock(ALIGNED_START);
  const engine = new RateLimitEngine({ clock, rules: rules(spec) });
  return {
    // The synchronous path reuses its decision object: copy it, as a caller keeping decisions must.
    decide: (value, hits) =>
      Promise.resolve(copyDecision(engine.decide({ descriptors: [[{ key: 'user', value }]], hits }))),
    advance: (ms) => clock.advance(ms),
    applyLimit: (limit, options) => engine.applyRules(rules(spec, limit, options?.id)),
    close: () => Promise.resolve(),
  };
}

describeLimiterBehaviour({
  name: 'token bucket, in memory',
  algorithm: 'token-bucket',
  periodMs: 1000,
  fakeTime: true,
  boundedKeys: true,
  source: 'local',
  setup: (spec) => Promise.resolve(syncInstance(spec, tokenBucketRules)),
});

describeLimiterBehaviour({
  name: 'fixed window, counted in process',
  algorithm: 'fixed-window',
  periodMs: 1000,
  fakeTime: true,
  boundedKeys: true,
  source: 'local',
  setup: (spec) => Promise.resolve(syncInstance(spec, windowRules)),
});

describeLimiterBehaviour({
  name: 'fixed window, shared memory store',
  algorithm: 'fixed-window',
  periodMs: 1000,
  fakeTime: true,
  boundedKeys: true,
  source: 'global',
  setup: (spec) => {
    const clock = new FakeClock(ALIGNED_START);
    const store = new MemoryWindowStore({ clock, maxKeys: spec.perValue?.maxKeys ?? 10_000 });
    const engine = new RateLimitEngine({ clock, store, rules: windowRules(spec) });
    return Promise.resolve({
      decide: (value, hits) => engine.decideAsync({ descriptors: [[{ key: 'user', value }]], hits }),
      advance: (ms) => clock.advance(ms),
      applyLimit: (limit, options) => engine.applyRules(windowRules(spec, limit, options?.id)),
      close: () => Promise.resolve(),
    });
  },
});
