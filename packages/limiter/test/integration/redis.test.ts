/**
 * The Redis store against a real redis-server (installed with apt-get if missing, started on a free
 * loopback port without persistence, stopped afterwards).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RateLimitEngine,
  RedisWindowStore,
  type Decision,
  type GlobalDescriptorRule,
  type RuleSetInput,
} from '../../src/index';
import { describeLimiterBehaviour, type LimitSpec } from '../behaviour';
import { RedisServer } from '../support/redis-server';

let server: RedisServer;
const stores: RedisWindowStore[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
}, 120_000);

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await server?.close();
});

/** A store on the test server with its own key prefix, so tests never share counters. */
async function newStore(prefix = `test:${randomUUID()}:`): Promise<RedisWindowStore> {
  const store = new RedisWindowStore({
    redis: { host: '127.0.0.1', port: server.port },
    keyPrefix: prefix,
    timeoutMs: 500,
    maxReconnectDelayMs: 100,
  });
  stores.push(store);
  await store.ready();
  return store;
}

// Redis windows follow the server's clock, so the shared suite uses DAY windows (a test never straddles
// one) and leaves the window-edge cases to the fake-clock stores.
function dayRules(spec: LimitSpec, limit = spec.limit, id = 'limit'): RuleSetInput {
  return {
    global: [
      {
        id,
        entries: [{ key: 'user', value: spec.perValue ? '' : 'alice' }],
        requestsPerUnit: limit,
        unit: 'DAY',
        shadow: spec.shadow ?? false,
      },
    ],
  };
}

describeLimiterBehaviour({
  name: 'fixed window, Redis store',
  algorithm: 'fixed-window',
  periodMs: 86_400_000,
  fakeTime: false,
  boundedKeys: false,
  source: 'global',
  setup: async (spec) => {
    const store = await newStore();
    const engine = new RateLimitEngine({ store, rules: dayRules(spec) });
    return {
      decide: (value, hits) => engine.decideAsync({ descriptors: [[{ key: 'user', value }]], hits }),
      advance: () => {
        throw new Error('Redis time cannot be moved');
      },
      applyLimit: (limit, options) => engine.applyRules(dayRules(spec, limit, options?.id)),
      close: () => store.close(),
    };
  },
});

const perUser = (overrides: Partial<GlobalDescriptorRule> = {}): GlobalDescriptorRule => ({
  id: 'per-user',
  entries: [{ key: 'user', value: '' }],
  requestsPerUnit: 100,
  unit: 'DAY',
  ...overrides,
});
const request = (value: string) => ({ descriptors: [[{ key: 'user', value }]] });
const count = (decisions: readonly Decision[], pred: (d: Decision) => boolean) =>
  decisions.filter(pred).length;

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis store', () => {
  it('two engines share one limit exactly', async () => {
    const prefix = `test:${randomUUID()}:`;
    const a = new RateLimitEngine({ store: await newStore(prefix), rules: { global: [perUser()] } });
    const b = new RateLimitEngine({ store: await newStore(prefix), rules: { global: [perUser()] } });
    const decisions = await Promise.all(
      Array.from({ length: 150 }, (_, i) => (i % 2 === 0 ? a : b).decideAsync(request('alice'))),
    );
    expect(count(decisions, (d) => d.allowed)).toBe(100);
    expect(count(decisions, (d) => !d.allowed)).toBe(50);
    // Either engine sees the shared count.
    const next = await b.decideAsync(request('alice'));
    expect(next.allowed).toBe(false);
    expect(['global', 'cache']).toContain(next.source);
  });

  it('sends the decisions of one tick in one round trip', async () => {
    const store = await newStore();
    const engine = new RateLimitEngine({ store, rules: { global: [perUser()] } });
    const before = store.health().roundTrips;
    const decisions = await Promise.all(
      Array.from({ length: 50 }, (_, i) => engine.decideAsync(request(`user-${i % 10}`))),
    );
    expect(store.health().roundTrips - before).toBe(1);
    expect(decisions.every((d) => d.allowed && d.source === 'global')).toBe(true);
    expect(
      decisions
        .filter((d) => d.descriptor?.[0]?.value === 'user-3')
        .map((d) => d.remaining)
        .sort(),
    ).toEqual([95, 96, 97, 98, 99]);
  });

  it('answers keys already over limit from the local cache until their window ends', async () => {
    const store = await newStore();
    const engine = new RateLimitEngine({ store, rules: { global: [perUser({ requestsPerUnit: 2 })] } });
    for (let i = 0; i < 3; i++) await engine.decideAsync(request('alice'));
    const trips = store.health().roundTrips;
    const cached = await engine.decideAsync(request('alice'));
    expect(cached).toMatchObject({ outcome: 'limited', source: 'cache', remaining: 0 });
    expect(cached.resetMs).toBeGreaterThan(0);
    expect(store.health().roundTrips).toBe(trips);
    expect((await engine.decideAsync(request('bob'))).source).toBe('global');
  });

  it('falls back when Redis dies (fail-open counts locally, fail-closed denies) and recovers when it returns', async () => {
    const store = await newStore();
    const engine = new RateLimitEngine({
      store,
      rules: {
        global: [
          perUser({ requestsPerUnit: 3 }),
          {
            id: 'payments',
            entries: [{ key: 'path', value: '/pay' }],
            requestsPerUnit: 1000,
            unit: 'DAY',
            failMode: 'closed',
          },
        ],
      },
    });
    expect((await engine.decideAsync(request('alice'))).source).toBe('global');

    await server.stop(true);
    try {
      const open = [];
      for (let i = 0; i < 4; i++) open.push(await engine.decideAsync(request('alice')));
      expect(open.map((d) => d.source)).toEqual(['fallback', 'fallback', 'fallback', 'fallback']);
      // Counted in this process alone: 3 allowed, then limited.
      expect(open.map((d) => d.outcome)).toEqual(['allowed', 'allowed', 'allowed', 'limited']);
      const closed = await engine.decideAsync({ descriptors: [[{ key: 'path', value: '/pay' }]] });
      expect(closed).toMatchObject({ outcome: 'limited', source: 'fallback', ruleId: 'payments' });
      expect(store.health().connected).toBe(false);
    } finally {
      await server.start();
    }

    await waitFor(
      'the store to reconnect',
      async () => (await engine.decideAsync(request('bob'))).source === 'global',
    );
    expect(store.health().connected).toBe(true);
    // A restarted server without persistence starts its counts afresh; the script is loaded again.
    const after = await engine.decideAsync(request('carol'));
    expect(after).toMatchObject({ outcome: 'allowed', source: 'global', remaining: 2 });
  }, 30_000);
});
