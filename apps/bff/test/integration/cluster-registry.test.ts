/**
 * The cluster registry over two real API servers in one kubeconfig: health per cluster, Istio's version,
 * a server going away, and contexts leaving and joining the file while the registry runs.
 */
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterRegistry,
  GOVERNOR_CRD_NAMES,
  type ClusterEntry,
  type ClusterRegistryEvent,
} from '../../src/cluster/registry';
import {
  KUBE_TEST_SERVER_START_TIMEOUT_MS,
  KUBE_TEST_SERVER_STOP_TIMEOUT_MS,
  type KubeTestServer,
} from '../support/kube-test-server';
import { startTestClusters, type TestClusters } from '../support/multi-cluster';

const INTERVAL_MS = 300;
const EAST = 'kind-east';
/** A context name that is not a DNS label. */
const WEST = 'West@Lab';

let east: KubeTestServer | undefined;
let west: KubeTestServer | undefined;
let clusters: TestClusters | undefined;
let registry: ClusterRegistry | undefined;
const events: ClusterRegistryEvent[] = [];

const cluster = (name: string): ClusterEntry => {
  const entry = registry!.get(name);
  if (entry === undefined) throw new Error(`no cluster ${name}`);
  return entry;
};

beforeAll(async () => {
  clusters = await startTestClusters([EAST, WEST]);
  east = clusters.servers.get(EAST);
  west = clusters.servers.get(WEST);
  registry = await ClusterRegistry.open({
    kubeconfigPath: clusters.kubeconfigPath,
    healthIntervalMs: INTERVAL_MS,
    reloadDebounceMs: 50,
  });
  registry.onChange((e) => events.push(e));
}, KUBE_TEST_SERVER_START_TIMEOUT_MS);

afterAll(async () => {
  await registry?.close();
  await clusters?.close();
}, KUBE_TEST_SERVER_STOP_TIMEOUT_MS);

describe('ClusterRegistry over two API servers', () => {
  it('has both clusters reachable, with their versions and Governor CRDs', () => {
    expect(registry!.list().map((c) => [c.name, c.context, c.server])).toEqual([
      ['kind-east', EAST, east!.server],
      ['west-lab', WEST, west!.server],
    ]);
    for (const entry of registry!.list()) {
      expect(entry.health.reachable, entry.health.lastError ?? '').toBe(true);
      expect(entry.health.lastError).toBeNull();
      expect(entry.health.lastSuccessfulSync).not.toBeNull();
      expect(entry.health.apiServerVersion).toMatch(/^v1\.\d+\.\d+/);
      expect(entry.health.governorCrds).toEqual({ installed: GOVERNOR_CRD_NAMES, missing: [] });
      // The test servers install Istio's CRDs, but no istiod runs.
      expect(entry.health.istioVersion).toBe('installed (version unknown)');
    }
  });

  it("each cluster's store reaches its own server", async () => {
    const namespace = `registry-${Math.random().toString(36).slice(2, 8)}`;
    await east!.kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
    expect(await cluster('kind-east').store.get('Namespace', '', namespace)).not.toBeNull();
    expect(await cluster('west-lab').store.get('Namespace', '', namespace)).toBeNull();
  });

  it("shows istiod's version once it is deployed", async () => {
    const kc = west!.kubeConfig;
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'istio-system' } } });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'istio-system',
      body: {
        metadata: { name: 'istiod', labels: { app: 'istiod' } },
        spec: {
          selector: { matchLabels: { app: 'istiod' } },
          template: {
            metadata: { labels: { app: 'istiod' } },
            spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.24.2' }] },
          },
        },
      },
    });
    await expect
      .poll(() => cluster('west-lab').health.istioVersion, { timeout: INTERVAL_MS * 10, interval: 50 })
      .toBe('1.24.2');
    expect(cluster('kind-east').health.istioVersion).toBe('installed (version unknown)');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'health', cluster: expect.objectContaining({ name: 'west-lab' }) }),
    );
  });

  it('removes a context taken out of the file and adds it back, without a restart', async () => {
    await clusters!.writeKubeconfig([EAST]);
    await expect.poll(() => registry!.list().map((c) => c.name), { timeout: 10_000 }).toEqual(['kind-east']);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'removed', cluster: expect.objectContaining({ name: 'west-lab' }) }),
    );

    await clusters!.writeKubeconfig([EAST, WEST]);
    await expect
      .poll(() => registry!.list().map((c) => c.name), { timeout: 10_000 })
      .toEqual(['kind-east', 'west-lab']);
    const added = events.filter((e) => e.type === 'added').map((e) => e.cluster);
    expect(added.map((c) => c.name)).toEqual(['west-lab']);
    // Announced with its first probe done.
    expect(added[0]?.health.reachable).toBe(true);
    expect(added[0]?.health.istioVersion).toBe('1.24.2');
  });

  it('shows a stopped server unreachable with its last sync while the other stays reachable', async () => {
    const lastSeen = cluster('kind-east').health.lastSuccessfulSync;
    expect(lastSeen).not.toBeNull();
    await east!.stop();
    await expect
      .poll(() => cluster('kind-east').health.reachable, { timeout: INTERVAL_MS * 20, interval: 50 })
      .toBe(false);
    const down = cluster('kind-east').health;
    expect(down.lastError).not.toBeNull();
    expect(down.lastSuccessfulSync).not.toBeNull();
    expect(Date.parse(down.lastSuccessfulSync!)).toBeGreaterThanOrEqual(Date.parse(lastSeen!));
    // What was learnt before stays.
    expect(down.apiServerVersion).toMatch(/^v1\./);

    // Some intervals later the last sync has not moved, and the other cluster keeps syncing.
    const westBefore = cluster('west-lab').health.lastSuccessfulSync!;
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 3));
    expect(cluster('kind-east').health.lastSuccessfulSync).toBe(down.lastSuccessfulSync);
    expect(cluster('kind-east').health.reachable).toBe(false);
    const westNow = cluster('west-lab').health;
    expect(westNow.reachable).toBe(true);
    expect(Date.parse(westNow.lastSuccessfulSync!)).toBeGreaterThan(Date.parse(westBefore));
  });
});
