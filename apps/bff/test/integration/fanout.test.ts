/**
 * The policy fan-out over two real API servers in one kubeconfig, through the cluster registry: cluster
 * `a` is home and member, `b` a member. Copies follow their source, drift is put back, and a member whose
 * API server stops gets the source as it is when the server is back.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesStore } from '../../src/cluster/kubernetes-store';
import { ClusterRegistry } from '../../src/cluster/registry';
import type { KubeObject } from '../../src/cluster/store';
import {
  CLUSTERS_ANNOTATION,
  FANOUT_GENERATION_ANNOTATION,
  FANOUT_SOURCE_LABEL,
} from '../../src/fleet/fanout-copy';
import { FanoutController, registryClusters, type FanoutEvent } from '../../src/fleet/fanout';
import {
  KUBE_TEST_SERVER_START_TIMEOUT_MS,
  KUBE_TEST_SERVER_STOP_TIMEOUT_MS,
  type KubeTestServer,
} from '../support/kube-test-server';
import { startTestClusters, type TestClusters } from '../support/multi-cluster';
import { limiterSpec, smartLimiter } from '../support/store-contract';

const INTERVAL_MS = 300;
const WAIT = { timeout: 30_000, interval: 100 };
const TEST_TIMEOUT = 90_000;
const NS = 'shop';

let a: KubeTestServer | undefined;
let b: KubeTestServer | undefined;
let clusters: TestClusters | undefined;
let registry: ClusterRegistry | undefined;
let fanout: FanoutController | undefined;
/** Stores of our own on each server, as another user editing the clusters. */
let storeA: KubernetesStore;
let storeB: KubernetesStore;
const events: FanoutEvent[] = [];

beforeAll(async () => {
  clusters = await startTestClusters(['a', 'b']);
  a = clusters.servers.get('a')!;
  b = clusters.servers.get('b')!;
  registry = await ClusterRegistry.open({
    kubeconfigPath: clusters.kubeconfigPath,
    healthIntervalMs: INTERVAL_MS,
    reloadDebounceMs: 50,
  });
  storeA = KubernetesStore.fromKubeConfig(a.kubeConfig);
  storeB = KubernetesStore.fromKubeConfig(b.kubeConfig);
  // Only the home cluster needs the namespace beforehand: the fan-out creates it in the members.
  await a.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  fanout = new FanoutController({
    home: 'a',
    clusters: registryClusters(registry),
    initialBackoffMs: 100,
    maxBackoffMs: 1_000,
    informer: { initialBackoffMs: 100, maxBackoffMs: 1_000 },
  });
  fanout.onChange((e) => events.push(e));
  await fanout.start();
}, KUBE_TEST_SERVER_START_TIMEOUT_MS);

afterAll(async () => {
  await fanout?.stop();
  await registry?.close();
  await storeA?.close();
  await storeB?.close();
  await clusters?.close();
}, KUBE_TEST_SERVER_STOP_TIMEOUT_MS);

const quotaOf = (o: KubeObject | null): string | undefined =>
  (o?.spec as { sets: { _base: { descriptor: { action: { quota: string } }[] } } } | undefined)?.sets._base
    .descriptor[0]?.action.quota;
const states = () =>
  Object.fromEntries(
    (fanout!.status('SmartLimiter', NS, 'reviews')?.clusters ?? []).map((c) => [c.cluster, c.state]),
  );
const setQuota = async (quota: number) => {
  const source = (await storeA.get('SmartLimiter', NS, 'reviews'))!;
  await storeA.update({ ...source, spec: limiterSpec(quota) });
};

describe('policy fan-out over two API servers', () => {
  it('fans out the policy kinds the stores know, SmartLimiter among them', () => {
    expect(registry!.list().map((c) => c.name)).toEqual(['a', 'b']);
    expect(fanout!.kinds).toContain('SmartLimiter');
  });

  it(
    'copies a SmartLimiter annotated for a and b into b, creating the namespace, both synced',
    async () => {
      const source = smartLimiter(NS, 'reviews', 10);
      source.metadata.annotations = { [CLUSTERS_ANNOTATION]: 'a,b' };
      source.metadata.labels = { app: 'reviews' };
      await storeA.create(source);
      await expect.poll(states, WAIT).toEqual({ a: 'synced', b: 'synced' });
      const copy = await storeB.get('SmartLimiter', NS, 'reviews');
      expect(copy?.metadata.labels).toEqual({ app: 'reviews', [FANOUT_SOURCE_LABEL]: 'a' });
      expect(copy?.metadata.annotations).toEqual({ [FANOUT_GENERATION_ANNOTATION]: '1' });
      expect(quotaOf(copy)).toBe('10');
      expect(await storeB.get('Namespace', '', NS)).not.toBeNull();
      expect(events.some((e) => e.status.name === 'reviews' && e.status.state === 'synced')).toBe(true);
    },
    TEST_TIMEOUT,
  );

  it(
    'follows an edit of the source',
    async () => {
      await setQuota(20);
      await expect
        .poll(async () => quotaOf(await storeB.get('SmartLimiter', NS, 'reviews')), WAIT)
        .toBe('20');
      const copy = await storeB.get('SmartLimiter', NS, 'reviews');
      expect(copy?.metadata.annotations?.[FANOUT_GENERATION_ANNOTATION]).toBe('2');
      await expect.poll(states, WAIT).toEqual({ a: 'synced', b: 'synced' });
      expect(fanout!.status('SmartLimiter', NS, 'reviews')).toMatchObject({ generation: 2, state: 'synced' });
    },
    TEST_TIMEOUT,
  );

  it(
    'puts back a copy edited or deleted in b',
    async () => {
      const copy = (await storeB.get('SmartLimiter', NS, 'reviews'))!;
      await storeB.update({ ...copy, spec: limiterSpec(999) });
      await expect
        .poll(async () => quotaOf(await storeB.get('SmartLimiter', NS, 'reviews')), WAIT)
        .toBe('20');

      await storeB.delete('SmartLimiter', NS, 'reviews');
      await expect
        .poll(async () => quotaOf(await storeB.get('SmartLimiter', NS, 'reviews')), WAIT)
        .toBe('20');
    },
    TEST_TIMEOUT,
  );

  it(
    "shows b unreachable while its API server is down, and lands the source's change when it is back",
    async () => {
      await b!.stopApiServer();
      await expect.poll(() => registry!.get('b')?.health.reachable, WAIT).toBe(false);
      await setQuota(30);
      await expect
        .poll(() => fanout!.status('SmartLimiter', NS, 'reviews'), WAIT)
        .toMatchObject({ generation: 3, state: 'unreachable' });
      await expect.poll(states, WAIT).toEqual({ a: 'synced', b: 'unreachable' });
      const status = fanout!.status('SmartLimiter', NS, 'reviews')!;
      const bStatus = status.clusters.find((c) => c.cluster === 'b')!;
      expect(bStatus.lastSuccessfulSync).not.toBeNull();
      expect(bStatus.lastSuccessfulSyncAgeMs).toBeGreaterThanOrEqual(0);
      expect(bStatus.since).toBeDefined();
      expect(status.clusters.find((c) => c.cluster === 'a')).toMatchObject({
        state: 'synced',
        generation: 3,
      });

      await b!.startApiServer();
      await expect
        .poll(async () => quotaOf(await storeB.get('SmartLimiter', NS, 'reviews')), WAIT)
        .toBe('30');
      await expect.poll(states, WAIT).toEqual({ a: 'synced', b: 'synced' });
      expect(
        (await storeB.get('SmartLimiter', NS, 'reviews'))?.metadata.annotations?.[
          FANOUT_GENERATION_ANNOTATION
        ],
      ).toBe('3');
    },
    TEST_TIMEOUT,
  );

  it(
    'removes the copy from b when b is dropped from the list',
    async () => {
      const source = (await storeA.get('SmartLimiter', NS, 'reviews'))!;
      await storeA.update({
        ...source,
        metadata: { ...source.metadata, annotations: { [CLUSTERS_ANNOTATION]: 'a' } },
      });
      await expect.poll(() => storeB.get('SmartLimiter', NS, 'reviews'), WAIT).toBeNull();
      await expect.poll(states, WAIT).toEqual({ a: 'synced' });
    },
    TEST_TIMEOUT,
  );
});
