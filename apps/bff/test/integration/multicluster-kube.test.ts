/**
 * The BFF over two real API servers in one kubeconfig, through the cluster registry: `a` is home, `b` a
 * member, each with its own control plane. Through the API: both clusters with their versions, a policy
 * fanned out from a and made Ready by b's own plane; b's API server stopped long enough for b's plane to
 * lose its lease (b shown unreachable with a growing age, a going on, a change of the source waiting),
 * then started again on the same port (b's plane reconnects, leads again, and makes the change Ready).
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Auth } from '../../src/auth/auth';
import { KubernetesStore } from '../../src/cluster/kubernetes-store';
import { ClusterRegistry } from '../../src/cluster/registry';
import type { KubeObject } from '../../src/cluster/store';
import {
  CLUSTERS_ANNOTATION,
  FANOUT_GENERATION_ANNOTATION,
  FANOUT_SOURCE_LABEL,
} from '../../src/fleet/fanout-copy';
import { registryMembers } from '../../src/fleet/members';
import { MODULES } from '../../src/modules';
import { createBff, type Bff } from '../../src/server/bff';
import {
  KUBE_TEST_SERVER_START_TIMEOUT_MS,
  KUBE_TEST_SERVER_STOP_TIMEOUT_MS,
  type KubeTestServer,
} from '../support/kube-test-server';
import { callerOf, DEMO_API_USERS } from '../support/demo-api';
import { createWorkloads, startTestClusters, type TestClusters } from '../support/multi-cluster';
import { limiterSpec, smartLimiter } from '../support/store-contract';

const NS = 'shop';
const HEALTH_INTERVAL_MS = 300;
const WAIT = { timeout: 30_000, interval: 100 };
const TEST_TIMEOUT = 90_000;
/**
 * b's plane after its API server is back: its informers retry with a backoff that grew while the server
 * was down (to 30 s at most), so they may take that long to reconnect.
 */
const RECOVERY = { timeout: 60_000, interval: 200 };
const LIMITER_ONLY = MODULES.filter((d) => d.name === 'limiter');
const APPS = ['reviews', 'ratings'] as const;

let clusters: TestClusters | undefined;
let a: KubeTestServer | undefined;
let b: KubeTestServer | undefined;
let registry: ClusterRegistry | undefined;
let bff: Bff | undefined;
let caller: ReturnType<typeof callerOf>;
/** Stores of our own on each server, as another user of the clusters. */
let storeA: KubernetesStore | undefined;
let storeB: KubernetesStore | undefined;
/** Each API server's own `gitVersion`, as GET /version answers it. */
const versions = new Map<string, string>();

/** GET /version of a test server, with its admin token. */
function gitVersion(server: KubeTestServer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.server}/version`,
      { headers: { authorization: `Bearer ${server.token}` }, rejectUnauthorized: false },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          try {
            resolve((JSON.parse(body) as { gitVersion: string }).gitVersion);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface StatusCondition {
  readonly type: string;
  readonly status: string;
}
const readyOf = (conditions: readonly Record<string, unknown>[] | readonly StatusCondition[] | undefined) =>
  (conditions as readonly StatusCondition[] | undefined)?.find((c) => c.type === 'Ready')?.status;
const quotaOf = (o: KubeObject | null): string | undefined =>
  (o?.spec as { sets: { _base: { descriptor: { action: { quota: string } }[] } } } | undefined)?.sets._base
    .descriptor[0]?.action.quota;
const statusOf = (o: KubeObject | null) =>
  o?.status as { observedGeneration?: number; conditions?: StatusCondition[] } | undefined;

/** The token buckets' sizes of a local rate limit's descriptors in an EnvoyFilter's spec. */
function descriptorTokens(spec: unknown): number[] {
  const found: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    const descriptors = (v as { descriptors?: unknown }).descriptors;
    if (Array.isArray(descriptors))
      for (const d of descriptors as { tokenBucket?: { maxTokens?: number } }[])
        if (d.tokenBucket?.maxTokens !== undefined) found.push(d.tokenBucket.maxTokens);
    Object.values(v).forEach(walk);
  };
  walk(spec);
  return found;
}

const clusterRow = async (name: string) => {
  const row = (await caller.clusters.list()).clusters.find((c) => c.name === name);
  if (row === undefined) throw new Error(`no cluster ${name} listed`);
  return row;
};
const reviewsStatus = () => caller.fleet.status({ kind: 'SmartLimiter', namespace: NS, name: 'reviews' });
const copyState = (s: Awaited<ReturnType<typeof reviewsStatus>>, cluster: string) =>
  s?.clusters.find((c) => c.cluster === cluster);

beforeAll(async () => {
  clusters = await startTestClusters(['a', 'b']);
  const { kubeconfigPath } = clusters;
  a = clusters.servers.get('a')!;
  b = clusters.servers.get('b')!;
  versions.set('a', await gitVersion(a));
  versions.set('b', await gitVersion(b));
  storeA = KubernetesStore.fromKubeConfig(a.kubeConfig);
  storeB = KubernetesStore.fromKubeConfig(b.kubeConfig);
  await createWorkloads(storeA, { namespace: NS, apps: APPS });
  await createWorkloads(storeB, { namespace: NS, apps: APPS });
  registry = await ClusterRegistry.open({
    kubeconfigPath,
    healthIntervalMs: HEALTH_INTERVAL_MS,
    // The probe's default timeout is the interval: too short for a loaded machine.
    probeTimeoutMs: 5_000,
    reloadDebounceMs: 50,
  });
  bff = createBff({
    clusters: {
      members: registryMembers(registry),
      home: 'a',
      fanoutBackoffMs: { initial: 100, max: 1_000 },
    },
    mode: 'kubernetes',
    auth: new Auth({ users: [] }),
    allowedOrigins: [],
    governor: {
      modules: LIMITER_ONLY,
      simulate: false,
      metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
    },
    info: { name: 'governor', version: 'test', startedAt: new Date().toISOString() },
  });
  await bff.start();
  caller = callerOf(bff.api.deps, DEMO_API_USERS.admin);
}, KUBE_TEST_SERVER_START_TIMEOUT_MS);

afterAll(async () => {
  await bff?.stop();
  await registry?.close();
  await storeA?.close();
  await storeB?.close();
  await clusters?.close();
}, KUBE_TEST_SERVER_STOP_TIMEOUT_MS + 30_000);

describe('the BFF over two API servers, one control plane each', () => {
  /** b's last successful sync when its API server stopped. */
  let lastSeen: string | null = null;

  it(
    'lists both clusters with their versions; a policy made in a for a,b is Ready in b by b’s plane',
    async () => {
      const { home, clusters } = await caller.clusters.list();
      expect(home).toBe('a');
      expect(versions.get('a')).toMatch(/^v1\.\d+\.\d+/);
      expect(
        clusters.map((c) => [c.name, c.home, c.kind, c.server, c.reachable, c.apiServerVersion]),
      ).toEqual([
        ['a', true, 'kubernetes', a!.server, true, versions.get('a')],
        ['b', false, 'kubernetes', b!.server, true, versions.get('b')],
      ]);
      for (const c of clusters) {
        expect(c.lastError).toBeNull();
        expect(c.lastSuccessfulSync).not.toBeNull();
        expect(c.modules).toEqual(['limiter']);
        expect(c.governorCrds.missing).toEqual([]);
      }

      const source = smartLimiter(NS, 'reviews', 10);
      source.metadata.annotations = { [CLUSTERS_ANNOTATION]: 'a,b' };
      await storeA!.create(source);
      await vi.waitFor(async () => {
        const s = await reviewsStatus();
        expect(s?.state).toBe('synced');
        expect(s?.clusters.map((c) => [c.cluster, c.state, c.generation])).toEqual([
          ['a', 'synced', 1],
          ['b', 'synced', 1],
        ]);
        // The fan-out reports the copy's conditions as b's control plane wrote them on b's copy.
        expect(readyOf(copyState(s, 'b')?.conditions)).toBe('True');
        expect(readyOf(copyState(s, 'a')?.conditions)).toBe('True');
      }, WAIT);

      const copy = await storeB!.get('SmartLimiter', NS, 'reviews');
      expect(copy?.metadata.labels?.[FANOUT_SOURCE_LABEL]).toBe('a');
      expect(quotaOf(copy)).toBe('10');
      expect(statusOf(copy)?.observedGeneration).toBe(copy?.metadata.generation);
      expect(readyOf(statusOf(copy)?.conditions)).toBe('True');
      expect(await caller.cluster.health({ cluster: 'b' })).toMatchObject({
        store: { connected: true, error: null },
        leader: true,
      });
      // b's plane has it in its own cache, and made its EnvoyFilter in b.
      const inB = await caller.policies.list({ cluster: 'b' });
      expect(inB.map((p) => [p.cluster, p.name, readyOf(p.conditions)])).toEqual([['b', 'reviews', 'True']]);
      expect(inB[0]!.envoyFilters).toEqual([`reviews.${NS}.ratelimit`]);
      expect(
        descriptorTokens((await storeB!.get('EnvoyFilter', NS, `reviews.${NS}.ratelimit`))?.spec),
      ).toEqual([10]);
    },
    TEST_TIMEOUT,
  );

  it(
    'shows b unreachable with a growing age while its API server is down; a goes on; the change waits',
    async () => {
      const before = await clusterRow('b');
      await b!.stopApiServer();
      const down = await vi.waitFor(async () => {
        const row = await clusterRow('b');
        expect(row.reachable).toBe(false);
        expect(row.lastError).toEqual(expect.any(String));
        expect(row.lastError).not.toBe('');
        return row;
      }, WAIT);
      expect(down.apiServerVersion).toBe(versions.get('b'));
      expect(down.lastSuccessfulSync).not.toBeNull();
      expect(Date.parse(down.lastSuccessfulSync!)).toBeGreaterThanOrEqual(
        Date.parse(before.lastSuccessfulSync!),
      );
      lastSeen = down.lastSuccessfulSync;
      // The age grows while the last sync stays where it was.
      await vi.waitFor(async () => {
        const row = await clusterRow('b');
        expect(row.reachable).toBe(false);
        expect(row.lastSuccessfulSync).toBe(lastSeen);
        expect(row.lastSuccessfulSyncAgeMs).toBeGreaterThanOrEqual(
          down.lastSuccessfulSyncAgeMs! + 3 * HEALTH_INTERVAL_MS,
        );
      }, WAIT);
      expect(await clusterRow('a')).toMatchObject({ reachable: true, lastError: null });
      // b's own plane sees its watches broken and, unable to renew its lease for most of the lease's
      // duration (15 s), stops acting as leader; a's plane goes on.
      await vi.waitFor(async () => {
        const health = await caller.cluster.health({ cluster: 'b' });
        expect(health.store.connected).toBe(false);
        expect(health.leader).toBe(false);
        expect(health.leaderElectionError).toEqual(expect.any(String));
      }, WAIT);
      expect(await caller.cluster.health({ cluster: 'a' })).toMatchObject({
        store: { connected: true, error: null },
        leader: true,
      });

      // a keeps reconciling: a new policy there gets Ready from a's plane.
      await storeA!.create(smartLimiter(NS, 'ratings', 50));
      await vi.waitFor(async () => {
        const rows = await caller.policies.list({ cluster: 'a' });
        const ratings = rows.find((p) => p.name === 'ratings');
        expect(ratings?.cluster).toBe('a');
        expect(readyOf(ratings?.conditions)).toBe('True');
      }, WAIT);
      const ratings = await storeA!.get('SmartLimiter', NS, 'ratings');
      expect(statusOf(ratings)?.observedGeneration).toBe(1);
      expect(
        descriptorTokens((await storeA!.get('EnvoyFilter', NS, `ratings.${NS}.ratelimit`))?.spec),
      ).toEqual([50]);

      // The source changes meanwhile: a takes it, b is unreachable with its last sync.
      const source = (await storeA!.get('SmartLimiter', NS, 'reviews'))!;
      await storeA!.update({ ...source, spec: limiterSpec(20) });
      await vi.waitFor(async () => {
        const s = await reviewsStatus();
        expect(s).toMatchObject({ generation: 2, state: 'unreachable' });
        expect(s?.clusters.map((c) => [c.cluster, c.state, c.generation])).toEqual([
          ['a', 'synced', 2],
          ['b', 'unreachable', 2],
        ]);
        const bCopy = copyState(s, 'b')!;
        // Why b is unreachable, as the registry's probe found it.
        expect(bCopy.reason).toBe(down.lastError);
        expect(bCopy.lastSuccessfulSync).toBe(lastSeen);
        expect(bCopy.lastSuccessfulSyncAgeMs).toBeGreaterThan(0);
      }, WAIT);
      // a's plane makes the new generation Ready and renders the new quota.
      await vi.waitFor(async () => {
        const reviews = await storeA!.get('SmartLimiter', NS, 'reviews');
        expect(statusOf(reviews)?.observedGeneration).toBe(2);
        expect(readyOf(statusOf(reviews)?.conditions)).toBe('True');
        const filter = await storeA!.get('EnvoyFilter', NS, `reviews.${NS}.ratelimit`);
        expect(descriptorTokens(filter?.spec)).toEqual([20]);
      }, WAIT);
      // b's copy is as b last had it: its cached row still lists it.
      expect((await caller.policies.list({ cluster: 'b' })).map((p) => p.name)).toEqual(['reviews']);
    },
    TEST_TIMEOUT,
  );

  it(
    'lands the change in b when its API server is back on the same port, Ready by b’s plane',
    async () => {
      await b!.startApiServer();
      await vi.waitFor(async () => {
        const row = await clusterRow('b');
        expect(row.reachable).toBe(true);
        expect(row.lastError).toBeNull();
        expect(row.apiServerVersion).toBe(versions.get('b'));
        expect(Date.parse(row.lastSuccessfulSync!)).toBeGreaterThan(Date.parse(lastSeen!));
        expect(row.lastSuccessfulSyncAgeMs).toBeLessThan(10 * HEALTH_INTERVAL_MS);
      }, WAIT);

      // The fan-out writes the source's change into b as soon as b answers.
      await vi.waitFor(async () => {
        const o = await storeB!.get('SmartLimiter', NS, 'reviews');
        expect(quotaOf(o)).toBe('20');
        expect(o?.metadata.annotations?.[FANOUT_GENERATION_ANNOTATION]).toBe('2');
      }, WAIT);

      // b's plane reconnects (its watches, its lease) and makes the copy's new generation Ready.
      await vi.waitFor(async () => {
        expect(await caller.cluster.health({ cluster: 'b' })).toMatchObject({
          store: { connected: true, error: null },
          leader: true,
        });
      }, RECOVERY);
      const copy = await vi.waitFor(async () => {
        const o = await storeB!.get('SmartLimiter', NS, 'reviews');
        expect(statusOf(o)?.observedGeneration).toBe(o?.metadata.generation);
        expect(readyOf(statusOf(o)?.conditions)).toBe('True');
        return o!;
      }, WAIT);
      expect(copy.metadata.generation).toBe(2);
      expect(quotaOf(copy)).toBe('20');
      // b's plane rendered the new quota into its EnvoyFilter.
      await vi.waitFor(async () => {
        const filter = await storeB!.get('EnvoyFilter', NS, `reviews.${NS}.ratelimit`);
        expect(descriptorTokens(filter?.spec)).toEqual([20]);
      }, WAIT);

      await vi.waitFor(async () => {
        const s = await reviewsStatus();
        expect(s?.state).toBe('synced');
        expect(s?.clusters.map((c) => [c.cluster, c.state, c.generation])).toEqual([
          ['a', 'synced', 2],
          ['b', 'synced', 2],
        ]);
        // b's copy's conditions as b's plane wrote them for the new generation.
        const now = await storeB!.get('SmartLimiter', NS, 'reviews');
        expect(copyState(s, 'b')?.conditions).toEqual(statusOf(now)?.conditions);
        expect(readyOf(copyState(s, 'b')?.conditions)).toBe('True');
      }, WAIT);
      await vi.waitFor(async () => {
        const inB = await caller.policies.list({ cluster: 'b' });
        expect(inB.map((p) => [p.cluster, p.name, readyOf(p.conditions)])).toEqual([
          ['b', 'reviews', 'True'],
        ]);
      }, WAIT);
      expect((await caller.clusters.list()).clusters.map((c) => [c.name, c.reachable])).toEqual([
        ['a', true],
        ['b', true],
      ]);
    },
    TEST_TIMEOUT + RECOVERY.timeout,
  );
});
