/**
 * A global limit across two clusters: a SmartLimiter with a `global` descriptor, made in the home cluster
 * `a` for `a,b` and fanned out to `b` over real API servers. Each cluster has its own control plane
 * feeding its own rate-limit service, and both services count in one real Redis, as `governor rls`
 * replicas do: Envoy's calls to either service draw on the same quota.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '@governor/limiter/testing';
import type { Decision } from '@governor/limiter';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClusterRegistry } from '../../src/cluster/registry';
import type { ClusterStore, KubeObject } from '../../src/cluster/store';
import { CLUSTERS_ANNOTATION } from '../../src/fleet/fanout-copy';
import { FanoutController, registryClusters } from '../../src/fleet/fanout';
import { Governor } from '../../src/governor';
import { MODULES } from '../../src/modules';
import { RlsServer } from '../../src/rls/rls-server';
import {
  KUBE_TEST_SERVER_START_TIMEOUT_MS,
  KUBE_TEST_SERVER_STOP_TIMEOUT_MS,
  startKubeTestServer,
  type KubeTestServer,
} from '../support/kube-test-server';
import { multiClusterKubeconfig } from '../support/multi-cluster';
import { envoyRlsRequest, rlsClient, type RlsClient, type RlsClientRequest } from '../support/rls-client';

const NS = 'shop';
const NAME = 'reviews';
const QUOTA = 10;
const CALLS = 3 * QUOTA;
const CLUSTERS = ['a', 'b'] as const;
type Cluster = (typeof CLUSTERS)[number];
const WAIT = { timeout: 60_000, interval: 100 };

interface PerCluster {
  server: KubeTestServer;
  store: ClusterStore;
  governor: Governor;
  rls: RlsServer;
  client: RlsClient;
  decisions: Decision[];
}

let redis: RedisServer | undefined;
let dir: string | undefined;
let registry: ClusterRegistry | undefined;
let fanout: FanoutController | undefined;
const clusters = new Map<Cluster, Partial<PerCluster>>();
const of = (name: Cluster): PerCluster => clusters.get(name) as PerCluster;

const globalLimiter = (): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha2',
  kind: 'SmartLimiter',
  metadata: { name: NAME, namespace: NS, annotations: { [CLUSTERS_ANNOTATION]: CLUSTERS.join(',') } },
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

/** The service and Running pods of it, as each cluster runs its own replicas. */
async function createWorkload(store: ClusterStore, pods: number): Promise<void> {
  for (const name of [NS, 'governor-system'])
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await store.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: NAME, namespace: NS },
    spec: { selector: { app: NAME }, ports: [{ name: 'http', port: 9080 }] },
  });
  for (let i = 0; i < pods; i++) {
    const pod = await store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${NAME}-${i}`, namespace: NS, labels: { app: NAME } },
      // Never scheduled (there is no scheduler): a pod the API server keeps as it is told.
      spec: {
        containers: [{ name: 'app', image: 'example/app:1' }],
        schedulingGates: [{ name: 'governor.io/test' }],
      },
    });
    await store.updateStatus({ ...pod, status: { phase: 'Running' } });
  }
}

const isReady = (o: KubeObject | null): boolean =>
  ((o?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

beforeAll(async () => {
  const [a, b, r] = await Promise.all([startKubeTestServer(), startKubeTestServer(), RedisServer.start()]);
  redis = r;
  clusters.set('a', { server: a });
  clusters.set('b', { server: b });
  dir = await mkdtemp(join(tmpdir(), 'governor-global-limit-'));
  const kubeconfigPath = join(dir, 'config');
  await writeFile(
    kubeconfigPath,
    multiClusterKubeconfig(CLUSTERS.map((name) => ({ name, server: of(name).server }))),
    { mode: 0o600 },
  );
  registry = await ClusterRegistry.open({ kubeconfigPath, healthIntervalMs: 500, reloadDebounceMs: 50 });
  const redisUrl = `redis://127.0.0.1:${redis.port}`;
  for (const name of CLUSTERS) {
    const c = clusters.get(name)!;
    c.store = registry.get(name)!.store;
    // The clusters run different numbers of replicas: a global quota is the same whatever each has.
    await createWorkload(c.store, name === 'a' ? 1 : 2);
    // One rate-limit service per cluster, each fed by its own cluster's control plane, sharing Redis.
    const decisions: Decision[] = [];
    c.decisions = decisions;
    const rls = new RlsServer({ redisUrl, onDecision: (d) => decisions.push(d) });
    c.rls = rls;
    c.client = rlsClient(await rls.listen('127.0.0.1', 0));
    await rls.storeReady(5_000);
    c.governor = new Governor({
      modules: MODULES.filter((d) => d.name === 'limiter'),
      store: c.store,
      simulate: false,
      identity: `governor-${name}`,
      metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      onLimiterRules: (key, rules) => rls.updateLimiter(key, rules),
    });
    await c.governor.start();
  }
  fanout = new FanoutController({
    home: 'a',
    clusters: registryClusters(registry),
    initialBackoffMs: 100,
    maxBackoffMs: 1_000,
    informer: { initialBackoffMs: 100, maxBackoffMs: 1_000 },
  });
  await fanout.start();
}, KUBE_TEST_SERVER_START_TIMEOUT_MS);

afterAll(async () => {
  await fanout?.stop();
  for (const c of clusters.values()) {
    await c.governor?.stop();
    c.client?.close();
    await c.rls?.close();
  }
  await registry?.close();
  await Promise.all([...clusters.values()].map((c) => c.server?.stop()));
  await redis?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, KUBE_TEST_SERVER_STOP_TIMEOUT_MS);

describe('a global limit over two clusters', () => {
  it('a global limit shared by pods in both clusters never allows more than the quota in total (real Redis)', async () => {
    await of('a').store.create(globalLimiter());

    // The copy reaches b, and each cluster's control plane makes its own copy Ready.
    const states = () =>
      Object.fromEntries(
        (fanout!.status('SmartLimiter', NS, NAME)?.clusters ?? []).map((c) => [c.cluster, c.state]),
      );
    await expect.poll(states, WAIT).toEqual({ a: 'synced', b: 'synced' });
    for (const name of CLUSTERS)
      await expect
        .poll(async () => isReady(await of(name).store.get('SmartLimiter', NS, NAME)), WAIT)
        .toBe(true);

    // What each cluster's sidecars would send: taken from the EnvoyFilter its control plane wrote.
    const requests = new Map<Cluster, RlsClientRequest>();
    for (const name of CLUSTERS) {
      const filter = await vi.waitFor(async () => {
        const f = await of(name).store.get('EnvoyFilter', NS, `${NAME}.${NS}.ratelimit`);
        if (f === null) throw new Error(`no EnvoyFilter in ${name} yet`);
        return f;
      }, WAIT);
      const request = envoyRlsRequest(filter);
      expect(request, `${name}'s EnvoyFilter asks a rate-limit service`).not.toBeNull();
      expect(request!.descriptors).toHaveLength(1);
      requests.set(name, request!);
      // The service has the rule the filter names before any call goes to it.
      const value = request!.descriptors[0]!.entries[0]!.value;
      await expect.poll(() => of(name).rls.ruleById(value)?.quota, WAIT).toBe(QUOTA);
    }

    // A burst inside one calendar minute (the window of a 60 s fill interval).
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));

    // Interleaved: a, b, a, b, ... one call at a time, then a concurrent burst on both.
    const answers: { cluster: Cluster; code: string; remaining: number | undefined }[] = [];
    const ask = async (name: Cluster) => {
      const r = await of(name).client.shouldRateLimit(requests.get(name)!);
      const status = r.statuses[0];
      expect(status?.current_limit).toMatchObject({ requests_per_unit: QUOTA, unit: 'MINUTE' });
      answers.push({ cluster: name, code: r.overall_code, remaining: status?.limit_remaining });
    };
    for (let i = 0; i < QUOTA; i++) await ask(CLUSTERS[i % 2]!);
    await Promise.all(Array.from({ length: CALLS - QUOTA }, (_, i) => ask(CLUSTERS[i % 2]!)));

    const ok = answers.filter((x) => x.code === 'OK');
    expect(answers).toHaveLength(CALLS);
    expect(ok).toHaveLength(QUOTA);
    expect(answers.filter((x) => x.code === 'OVER_LIMIT')).toHaveLength(CALLS - QUOTA);
    // The alternating calls drew on one count: the remainder fell by one from either cluster.
    expect(answers.slice(0, QUOTA).map((x) => x.remaining)).toEqual(
      Array.from({ length: QUOTA }, (_, i) => QUOTA - 1 - i),
    );
    for (const name of CLUSTERS) {
      const mine = answers.filter((x) => x.cluster === name);
      expect(
        mine.some((x) => x.code === 'OK'),
        `${name} allowed some`,
      ).toBe(true);
      expect(
        mine.some((x) => x.code === 'OVER_LIMIT'),
        `${name} limited some`,
      ).toBe(true);
      // Decided from the shared count (Redis, or its cache of keys over the limit), never a fallback.
      const sources = new Set(of(name).decisions.map((d) => d.source));
      expect(
        [...sources].every((s) => s === 'global' || s === 'cache'),
        [...sources].join(),
      ).toBe(true);
      expect(of(name).decisions).toHaveLength(mine.length);
    }
  }, 120_000);
});
