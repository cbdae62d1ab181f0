// bench-node-options: --expose-gc --max-semi-space-size=64
/**
 * The engine against rate-limiter-flexible and against a bare Map lookup, on one workload: 10,000 keys
 * with Zipf-like popularity, a limit per key that the hot keys exceed (a mix of allowed and limited).
 * Prints `name: value` lines. BENCH_QUICK=1 for a short run.
 */
import { cpus } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { RateLimitEngine, RedisWindowStore, type RuleSetInput } from '../src/index';
import { RedisServer } from '../test/support/redis-server';
import { measure, zipfSequence } from './workload';

const QUICK = process.env.BENCH_QUICK === '1';
const KEYS = 10_000;
const LIMIT = 20; // per key per second
const SEQUENCE = 1 << 20;
const BATCH = 1024; // the clock is read once per batch
const MEMORY_BUDGET_MS = QUICK ? 300 : 2_500;
const REDIS_BUDGET_MS = QUICK ? 500 : 4_000;
const REDIS_CONCURRENCY = 500;

const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`);
const sequence = zipfSequence(KEYS, SEQUENCE);
const print = (name: string, value: number, digits = 0): void =>
  console.log(`${name}: ${value.toFixed(digits)}`);

const localRules: RuleSetInput = {
  local: [
    {
      id: 'per-user',
      entries: [{ key: 'user', value: '' }],
      maxTokens: LIMIT,
      tokensPerFill: LIMIT,
      fillIntervalMs: 1000,
    },
  ],
  defaultBucket: { maxTokens: 100_000, tokensPerFill: 100_000, fillIntervalMs: 1000 },
  maxDynamicDescriptors: KEYS,
};
const globalRules: RuleSetInput = {
  global: [{ id: 'per-user', entries: [{ key: 'user', value: '' }], requestsPerUnit: LIMIT, unit: 'SECOND' }],
  maxDynamicDescriptors: KEYS,
};

// One request object, refilled per decision as a server fills one from the wire: the engine reads it,
// the benchmark allocates nothing per decision either.
const entry = { key: 'user', value: '' };
const request = { descriptors: [[entry]] };

async function memory(): Promise<void> {
  const engine = new RateLimitEngine({ rules: localRules });
  let cursor = 0;
  let limited = 0;
  const engineRound = (n: number): void => {
    for (let done = 0; done < n; done += BATCH) {
      engine.beginBatch();
      for (let i = 0; i < BATCH; i++) {
        entry.value = keys[sequence[cursor]!]!;
        cursor = (cursor + 1) & (SEQUENCE - 1);
        if (!engine.decideInBatch(request).allowed) limited++;
      }
    }
  };
  const map = new Map(keys.map((k, i) => [k, { i }]));
  let sink = 0;
  const mapRound = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const v = map.get(keys[sequence[cursor]!]!);
      cursor = (cursor + 1) & (SEQUENCE - 1);
      if (v !== undefined) sink += v.i;
    }
  };
  const rlf = new RateLimiterMemory({ points: LIMIT, duration: 1 });
  const rlfRound = async (n: number): Promise<void> => {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      pending.push(rlf.consume(keys[sequence[cursor]!]!).catch(() => undefined));
      cursor = (cursor + 1) & (SEQUENCE - 1);
    }
    await Promise.all(pending);
  };

  const perRound = 1 << 18;
  // Interleave the contenders so none enjoys a quieter machine.
  const rates = { engine: [] as number[], map: [] as number[], rlf: [] as number[] };
  for (let i = 0; i < 3; i++) {
    rates.map.push(await measure(perRound, MEMORY_BUDGET_MS / 3, () => mapRound(perRound)));
    rates.engine.push(await measure(perRound, MEMORY_BUDGET_MS / 3, () => engineRound(perRound)));
    rates.rlf.push(await measure(perRound >> 3, MEMORY_BUDGET_MS / 3, () => rlfRound(perRound >> 3)));
  }
  const best = (xs: number[]): number => Math.max(...xs);
  const limitedBefore = limited;
  engineRound(perRound);
  print('engine_memory_decisions_per_s', best(rates.engine));
  print('engine_memory_limited_fraction', (limited - limitedBefore) / perRound, 2);
  print('rlf_memory_decisions_per_s', best(rates.rlf));
  print('ratio_engine_vs_rlf_memory', best(rates.engine) / best(rates.rlf), 2);
  print('map_get_per_s', best(rates.map));
  print('ratio_engine_vs_map_get', best(rates.engine) / best(rates.map), 2);
  if (sink === -1) console.log('');

  // Heap: decisions after warm-up must allocate nothing. A large young generation keeps the count exact
  // (no scavenge during the run); a GC observed during the run is reported rather than hidden.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc (scripts/bench.mjs passes it)');
  const decisions = 200_000;
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  gc();
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  engineRound(decisions);
  const after = process.memoryUsage().heapUsed;
  observer.disconnect();
  print('heap_bytes_per_decision', Math.max(0, after - before) / decisions, 2);
  if (collections > 0) print('heap_gc_during_measure', collections);
}

async function redis(): Promise<void> {
  const server = await RedisServer.start();
  const rlfClient = new Redis({ host: '127.0.0.1', port: server.port, enableOfflineQueue: false });
  try {
    const store = new RedisWindowStore({
      redis: { host: '127.0.0.1', port: server.port },
      keyPrefix: 'bench:engine:',
      timeoutMs: 1000,
    });
    await store.ready();
    await new Promise<void>((resolve) =>
      rlfClient.status === 'ready' ? resolve() : rlfClient.once('ready', () => resolve()),
    );
    const engine = new RateLimitEngine({ store, rules: globalRules });
    const rlf = new RateLimiterRedis({
      storeClient: rlfClient,
      points: LIMIT,
      duration: 1,
      keyPrefix: 'bench:rlf',
    });
    let cursor = 0;
    const engineRound = async (): Promise<void> => {
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < REDIS_CONCURRENCY; i++) {
        pending.push(
          engine.decideAsync({ descriptors: [[{ key: 'user', value: keys[sequence[cursor]!]! }]] }),
        );
        cursor = (cursor + 1) & (SEQUENCE - 1);
      }
      await Promise.all(pending);
    };
    const rlfRound = async (): Promise<void> => {
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < REDIS_CONCURRENCY; i++) {
        pending.push(rlf.consume(keys[sequence[cursor]!]!).catch(() => undefined));
        cursor = (cursor + 1) & (SEQUENCE - 1);
      }
      await Promise.all(pending);
    };
    const rates = { engine: [] as number[], rlf: [] as number[] };
    // Three interleaved rounds each, the best kept: both sides wait on the same Redis, and a round that
    // meets a busy moment of this shared machine says more about the machine than about either.
    for (let i = 0; i < 3; i++) {
      rates.engine.push(await measure(REDIS_CONCURRENCY, REDIS_BUDGET_MS / 6, engineRound));
      rates.rlf.push(await measure(REDIS_CONCURRENCY, REDIS_BUDGET_MS / 6, rlfRound));
    }
    const engineRate = Math.max(...rates.engine);
    const rlfRate = Math.max(...rates.rlf);
    print('engine_redis_decisions_per_s', engineRate);
    print('rlf_redis_decisions_per_s', rlfRate);
    print('ratio_engine_vs_rlf_redis', engineRate / rlfRate, 2);
    const health = store.health();
    print('engine_redis_decisions_per_round_trip', health.increments / Math.max(1, health.roundTrips), 1);
    await store.close();
  } finally {
    rlfClient.disconnect();
    await server.close();
  }
}

console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}`);
await memory();
await redis();
