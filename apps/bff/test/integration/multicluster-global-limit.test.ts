/**
 * A global limit across two clusters: a SmartLimiter with a `global` descriptor, made in the home cluster
 * `a` for `a,b` and fanned out to `b` over real API servers, with one real Redis. Envoy's calls from either
 * cluster draw on the same quota, whether each cluster's control plane feeds a rate-limit service of its
 * own (replicas sharing Redis) or the BFF's fleet feeds its one service from both.
 */
import { RedisServer } from '@governor/limiter/testing';
import type { Decision } from '@governor/limiter';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Auth } from '../../src/auth/auth';
import { ClusterRegistry } from '../../src/cluster/registry';
import type { ClusterStore, KubeObject } from '../../src/cluster/store';
import { CLUSTERS_ANNOTATION } from '../../src/fleet/fanout-copy';
import { FanoutController, registryClusters } from '../../src/fleet/fanout';
import { registryMembers } from '../../src/fleet/members';
import { Governor } from '../../src/governor';
import { MODULES } from '../../src/modules';
import { RlsServer } from '../../src/rls/rls-server';
import { createBff, type Bff } from '../../src/server/bff';
import {
  KUBE_TEST_SERVER_START_TIMEOUT_MS,
  KUBE_TEST_SERVER_STOP_TIMEOUT_MS,
} from '../support/kube-test-server';
import { createWorkloads, startTestClusters, type TestClusters } from '../support/multi-cluster';
import {
  envoyRlsRequest,
  rlsClient,
  type RlsClient,
  type RlsClientRequest,
  type RlsClientResponse,
} from '../support/rls-client';

const NS = 'shop';
const QUOTA = 10;
const CALLS = 3 * QUOTA;
const CLUSTERS = ['a', 'b'] as const;
type Cluster = (typeof CLUSTERS)[number];
const WAIT = { timeout: 60_000, interval: 100 };
const LIMITER_ONLY = MODULES.filter((d) => d.name === 'limiter');
const METRICS = {
  tickMs: 0,
  metricTickMs: 0,
  prometheusIntervalMs: 1000,
  metricsUnavailable: 'keep',
} as const;
/** A service per wiring, so that each starts from a counter of its own. */
const SERVICES = ['reviews', 'ratings'] as const;

let redis: RedisServer | undefined;
let redisUrl = '';
let clusters: TestClusters | undefined;
let registry: ClusterRegistry | undefined;
const storeOf = (name: Cluster): ClusterStore => registry!.get(name)!.store;

const globalLimiter = (name: string): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha2',
  kind: 'SmartLimiter',
  metadata: { name, namespace: NS, annotations: { [CLUSTERS_ANNOTATION]: CLUSTERS.join(',') } },
  spec: {
    sets: {
      _base: {
        descriptor: [
          {
            action: { fill_interval: { seconds: 60 }, quota: String(QUOTA), strategy: 'global' },
            condition: 'true',
            target: { port: 9080 },
          },
        ],
      },
    },
  },
});

const isReady = (o: KubeObject | null): boolean =>
  ((o?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

/**
 * Makes the limiter in the home cluster, waits until the fan-out has it everywhere and each cluster's
 * control plane made its copy Ready, and returns what each cluster's sidecars would send the rate-limit
 * service: the request the EnvoyFilter its control plane wrote makes Envoy send.
 */
async function fanOutAndRender(
  name: string,
  fanout: () => FanoutController | null,
): Promise<Map<Cluster, RlsClientRequest>> {
  await storeOf('a').create(globalLimiter(name));
  const states = () =>
    Object.fromEntries(
      (fanout()?.status('SmartLimiter', NS, name)?.clusters ?? []).map((c) => [c.cluster, c.state]),
    );
  await expect.poll(states, WAIT).toEqual({ a: 'synced', b: 'synced' });
  const requests = new Map<Cluster, RlsClientRequest>();
  for (const cluster of CLUSTERS) {
    await expect
      .poll(async () => isReady(await storeOf(cluster).get('SmartLimiter', NS, name)), {
        ...WAIT,
        message: `${cluster}'s copy Ready`,
      })
      .toBe(true);
    const filter = await vi.waitFor(async () => {
      const f = await storeOf(cluster).get('EnvoyFilter', NS, `${name}.${NS}.ratelimit`);
      if (f === null) throw new Error(`no EnvoyFilter in ${cluster} yet`);
      return f;
    }, WAIT);
    const request = envoyRlsRequest(filter);
    expect(request, `${cluster}'s EnvoyFilter asks a rate-limit service`).not.toBeNull();
    expect(request!.descriptors).toHaveLength(1);
    requests.set(cluster, request!);
  }
  return requests;
}

interface Answer {
  readonly cluster: Cluster;
  readonly code: string;
  readonly remaining: number | undefined;
}

/**
 * Calls inside one calendar minute (the window of a 60 s fill interval), interleaved a, b, a, b: the
 * first QUOTA one at a time, the rest at once.
 */
async function burst(ask: (cluster: Cluster) => Promise<RlsClientResponse>): Promise<Answer[]> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
  const answers: Answer[] = [];
  const one = async (cluster: Cluster) => {
    const r = await ask(cluster);
    const status = r.statuses[0];
    expect(status?.current_limit).toMatchObject({ requests_per_unit: QUOTA, unit: 'MINUTE' });
    answers.push({ cluster, code: r.overall_code, remaining: status?.limit_remaining });
  };
  for (let i = 0; i < QUOTA; i++) await one(CLUSTERS[i % 2]!);
  await Promise.all(Array.from({ length: CALLS - QUOTA }, (_, i) => one(CLUSTERS[i % 2]!)));
  return answers;
}

/** Never more than the quota in total, and the alternating calls drew on one count. */
function expectOneCount(answers: readonly Answer[]): void {
  expect(answers).toHaveLength(CALLS);
  expect(answers.filter((x) => x.code === 'OK')).toHaveLength(QUOTA);
  expect(answers.filter((x) => x.code === 'OVER_LIMIT')).toHaveLength(CALLS - QUOTA);
  expect(answers.slice(0, QUOTA).map((x) => x.remaining)).toEqual(
    Array.from({ length: QUOTA }, (_, i) => QUOTA - 1 - i),
  );
  for (const cluster of CLUSTERS) {
    const mine = answers.filter((x) => x.cluster === cluster);
    expect(
      mine.some((x) => x.code === 'OK'),
      `${cluster}'s calls allowed some`,
    ).toBe(true);
    expect(
      mine.some((x) => x.code === 'OVER_LIMIT'),
      `${cluster}'s calls limited some`,
    ).toBe(true);
  }
}

/** Decided from the shared count (Redis, or its cache of keys over the limit), never a fallback. */
function expectFromRedis(decisions: readonly Decision[], calls: number): void {
  const sources = new Set(decisions.map((d) => d.source));
  expect(
    [...sources].every((s) => s === 'global' || s === 'cache'),
    [...sources].join(),
  ).toBe(true);
  expect(decisions).toHaveLength(calls);
}

beforeAll(async () => {
  let r: RedisServer;
  [clusters, r] = await Promise.all([startTestClusters(['a', 'b']), RedisServer.start()]);
  redis = r;
  redisUrl = `redis://127.0.0.1:${r.port}`;
  registry = await ClusterRegistry.open({
    kubeconfigPath: clusters.kubeconfigPath,
    healthIntervalMs: 500,
    reloadDebounceMs: 50,
  });
  // The clusters run different numbers of replicas: a global quota is the same whatever each has.
  await createWorkloads(storeOf('a'), { namespace: NS, apps: SERVICES, pods: 1 });
  await createWorkloads(storeOf('b'), { namespace: NS, apps: SERVICES, pods: 2 });
}, KUBE_TEST_SERVER_START_TIMEOUT_MS);

afterAll(async () => {
  await registry?.close();
  await clusters?.close();
  await redis?.close();
}, KUBE_TEST_SERVER_STOP_TIMEOUT_MS);

describe('a rate-limit service per cluster, sharing Redis', () => {
  interface PerCluster {
    governor: Governor;
    rls: RlsServer;
    client: RlsClient;
    decisions: Decision[];
  }
  const clusters = new Map<Cluster, PerCluster>();
  let fanout: FanoutController | undefined;

  beforeAll(async () => {
    for (const name of CLUSTERS) {
      const decisions: Decision[] = [];
      const rls = new RlsServer({ redisUrl, onDecision: (d) => decisions.push(d) });
      const client = rlsClient(await rls.listen('127.0.0.1', 0));
      await rls.storeReady(5_000);
      // Each cluster's control plane feeds its own service, as two `governor rls` replicas share counters.
      const governor = new Governor({
        modules: LIMITER_ONLY,
        store: storeOf(name),
        simulate: false,
        identity: `governor-${name}`,
        metrics: METRICS,
        onLimiterRules: (key, rules) => rls.updateLimiter(key, rules),
      });
      clusters.set(name, { governor, rls, client, decisions });
      await governor.start();
    }
    fanout = new FanoutController({
      home: 'a',
      clusters: registryClusters(registry!),
      initialBackoffMs: 100,
      maxBackoffMs: 1_000,
      informer: { initialBackoffMs: 100, maxBackoffMs: 1_000 },
    });
    await fanout.start();
  }, 60_000);

  afterAll(async () => {
    await fanout?.stop();
    for (const c of clusters.values()) {
      await c.governor.stop();
      c.client.close();
      await c.rls.close();
    }
  }, 60_000);

  it('a global limit shared by pods in both clusters never allows more than the quota in total (real Redis)', async () => {
    const requests = await fanOutAndRender('reviews', () => fanout ?? null);
    for (const name of CLUSTERS) {
      // The service has the rule its cluster's filter names before any call goes to it.
      const value = requests.get(name)!.descriptors[0]!.entries[0]!.value;
      await expect.poll(() => clusters.get(name)!.rls.ruleById(value)?.quota, WAIT).toBe(QUOTA);
    }
    const answers = await burst((name) => clusters.get(name)!.client.shouldRateLimit(requests.get(name)!));
    expectOneCount(answers);
    for (const name of CLUSTERS)
      expectFromRedis(clusters.get(name)!.decisions, answers.filter((x) => x.cluster === name).length);
  }, 120_000);
});

describe("the BFF's rate-limit service, fed by every cluster of its fleet", () => {
  let bff: Bff | undefined;
  let client: RlsClient | undefined;

  beforeAll(async () => {
    bff = createBff({
      clusters: {
        members: registryMembers(registry!),
        home: 'a',
        fanoutBackoffMs: { initial: 100, max: 1_000 },
      },
      mode: 'kubernetes',
      auth: new Auth({ users: [] }),
      allowedOrigins: [],
      rls: { redisUrl },
      governor: { modules: LIMITER_ONLY, simulate: false, metrics: METRICS },
      info: { name: 'governor', version: 'test', startedAt: new Date().toISOString() },
    });
    await bff.start();
    client = rlsClient(await bff.listenRls('127.0.0.1', 0));
    await bff.rls!.storeReady(5_000);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await bff?.stop();
  }, 60_000);

  it('one service answering for both clusters counts their calls against one quota', async () => {
    const requests = await fanOutAndRender('ratings', () => bff?.fleet.fanout ?? null);
    for (const name of CLUSTERS) {
      const value = requests.get(name)!.descriptors[0]!.entries[0]!.value;
      await expect.poll(() => bff!.rls!.ruleById(value)?.quota, WAIT).toBe(QUOTA);
    }
    const answers = await burst((name) => client!.shouldRateLimit(requests.get(name)!));
    expectOneCount(answers);
    expect(bff!.rls!.health()).toMatchObject({ store: 'redis', connected: true });
  }, 120_000);
});
