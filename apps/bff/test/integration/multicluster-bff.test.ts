/**
 * The embedded default's two clusters in one BFF: each cluster's own control plane and simulated mesh,
 * lists across clusters with each row's cluster, one cluster chosen by `cluster`, the topology's
 * cross-cluster calls, the demo's fanned-out policy, and a simulated outage: shown with its age, the
 * other cluster unaffected, a change made meanwhile applied when the cluster is back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from '../../src/cluster/embedded-store';
import { DEMO_CLUSTERS, demoClusterObjects, seedDemoMesh } from '../../src/demo/seed';
import { embeddedMembers } from '../../src/fleet/members';
import { createBff, type Bff } from '../../src/server/bff';
import { Auth } from '../../src/auth/auth';
import { MODULES } from '../../src/modules';
import { BOOKINFO_CALLS, BOOKINFO_LOADS, remoteBookinfo } from '../../src/simulator';
import { callerOf } from '../support/demo-api';

const WAIT = { timeout: 15_000, interval: 100 };
const { home, other } = DEMO_CLUSTERS;

describe('two embedded clusters in one BFF', () => {
  let bff: Bff;
  let caller: ReturnType<typeof callerOf>;
  const stores: EmbeddedStore[] = [];

  beforeAll(async () => {
    const members = embeddedMembers(
      await Promise.all(
        [home, other].map(async (name) => {
          const store = await EmbeddedStore.open({});
          stores.push(store);
          await seedDemoMesh(store, demoClusterObjects(name));
          return { name, store };
        }),
      ),
    );
    bff = createBff({
      clusters: {
        members,
        home,
        governor: (m) => ({
          simulator:
            m.name === home
              ? { loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS, tickMs: 100 }
              : { ...remoteBookinfo(home), tickMs: 100 },
        }),
        fanoutBackoffMs: { initial: 50, max: 200 },
      },
      mode: 'embedded',
      auth: new Auth({ users: [] }),
      allowedOrigins: [],
      governor: {
        modules: MODULES,
        simulate: true,
        metrics: { tickMs: 0, metricTickMs: 300, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      },
      info: { name: 'governor', version: 'test', startedAt: new Date().toISOString() },
    });
    await bff.start();
    caller = callerOf(bff.api.deps, { name: 'admin', role: 'admin', namespaces: '*' });
  }, 30_000);

  afterAll(async () => {
    await bff?.stop();
    await Promise.all(stores.map((s) => s.close()));
  });

  it('lists every cluster with its health and modules', async () => {
    const { home: h, clusters } = await caller.clusters.list();
    expect(h).toBe(home);
    expect(clusters.map((c) => [c.name, c.home, c.kind, c.reachable])).toEqual([
      [home, true, 'embedded', true],
      [other, false, 'embedded', true],
    ]);
    for (const c of clusters) {
      expect(c.modules).toEqual(['limiter', 'lazyload', 'plugin', 'metarouter']);
      expect(c.governorCrds.missing).toEqual([]);
      expect(c.canSimulateOutage).toBe(true);
    }
  });

  it('lists services across clusters, each row with its cluster; `cluster` chooses one', async () => {
    const all = await caller.services.list();
    const ids = all.map((s) => `${s.cluster}/${s.namespace}/${s.name}`);
    expect(ids).toContain(`${home}/default/productpage`);
    expect(ids).toContain(`${other}/default/reviews`);
    expect(ids).not.toContain(`${other}/default/productpage`);
    const west = await caller.services.list({ cluster: other });
    expect(west.map((s) => s.name).sort()).toEqual(['ratings', 'reviews']);
    expect(west.every((s) => s.cluster === other)).toBe(true);
    // A single object is the chosen cluster's: west's reviews has its own two pods.
    const reviews = await caller.services.get({ cluster: other, namespace: 'default', name: 'reviews' });
    expect(reviews.pods.map((p) => p.name).sort()).toEqual([
      'reviews-v2-7d5c8f9b6-k2xwq',
      'reviews-v3-6f9d7c5b8-p8zrt',
    ]);
    await expect(caller.services.list({ cluster: 'north' })).rejects.toThrow(
      `no cluster "north" (clusters: ${home}, ${other})`,
    );
  });

  it('draws the calls across clusters in the topology', async () => {
    await vi.waitFor(async () => {
      const { edges } = await caller.services.topology();
      const cross = edges.find(
        (e) => e.from === `${home}/default/productpage` && e.to === `${other}/default/reviews`,
      );
      expect(cross?.crossCluster).toBe(true);
      expect(cross?.rps).toBeGreaterThan(0);
      const local = edges.find(
        (e) => e.from === `${other}/default/reviews` && e.to === `${other}/default/ratings`,
      );
      expect(local?.crossCluster).toBe(false);
    }, WAIT);
    const { nodes } = await caller.services.topology({ cluster: other });
    expect(nodes.filter((n) => n.known).map((n) => n.id)).toEqual([
      `${other}/default/ratings`,
      `${other}/default/reviews`,
    ]);
  });

  it("fans the demo's reviews limit out to both clusters, each copy reconciled by its cluster", async () => {
    await vi.waitFor(async () => {
      const s = await caller.fleet.status({ kind: 'SmartLimiter', namespace: 'default', name: 'reviews' });
      expect(s?.state).toBe('synced');
      expect(s?.clusters.map((c) => [c.cluster, c.state])).toEqual([
        [home, 'synced'],
        [other, 'synced'],
      ]);
      const copy = s?.clusters.find((c) => c.cluster === other);
      expect(copy?.conditions?.find((c) => c['type'] === 'Ready')?.['status']).toBe('True');
    }, WAIT);
    const policies = await caller.policies.list();
    expect(policies.filter((p) => p.name === 'reviews').map((p) => p.cluster)).toEqual([home, other]);
  });

  it('shows an outage with its age; the other cluster goes on; a change made meanwhile lands after', async () => {
    const editor = caller;
    await editor.clusters.simulateOutage({ cluster: other, down: true });
    const down = (await caller.clusters.list()).clusters.find((c) => c.name === other)!;
    expect(down.reachable).toBe(false);
    expect(down.lastError).toMatch(/unreachable/);
    await new Promise((r) => setTimeout(r, 300));
    const later = (await caller.clusters.list()).clusters.find((c) => c.name === other)!;
    expect(later.lastSuccessfulSync).toBe(down.lastSuccessfulSync);
    expect(later.lastSuccessfulSyncAgeMs).toBeGreaterThanOrEqual(300);
    // The last known state is still listed.
    expect((await caller.services.list({ cluster: other })).length).toBe(2);

    // A change of the fanned-out source: the home cluster takes it, west is pending.
    const source = await stores[0]!.get('SmartLimiter', 'default', 'reviews');
    const spec = source!['spec'] as { sets: { _base: { descriptor: { action: { quota: string } }[] } } };
    spec.sets._base.descriptor[0]!.action.quota = '77';
    await stores[0]!.update(source!);
    await vi.waitFor(async () => {
      const s = await caller.fleet.status({ kind: 'SmartLimiter', namespace: 'default', name: 'reviews' });
      expect(s?.clusters.find((c) => c.cluster === other)?.state).toBe('unreachable');
      expect(s?.clusters.find((c) => c.cluster === home)?.state).toBe('synced');
    }, WAIT);
    // East keeps reconciling: a policy created there now gets Ready.
    await stores[0]!.create({
      apiVersion: 'microservice.slime.io/v1alpha2',
      kind: 'SmartLimiter',
      metadata: { name: 'ratings', namespace: 'default' },
      spec: {
        sets: {
          _base: {
            descriptor: [
              {
                action: { fill_interval: { seconds: 1 }, quota: '50', strategy: 'single' },
                condition: 'true',
                target: { port: 9080 },
              },
            ],
          },
        },
      },
    });
    await vi.waitFor(async () => {
      const rows = await caller.policies.list({ cluster: home });
      const ratings = rows.find((p) => p.name === 'ratings');
      expect(ratings?.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    }, WAIT);

    await editor.clusters.simulateOutage({ cluster: other, down: false });
    await vi.waitFor(async () => {
      const s = await caller.fleet.status({ kind: 'SmartLimiter', namespace: 'default', name: 'reviews' });
      expect(s?.state).toBe('synced');
      const copy = await stores[1]!.get('SmartLimiter', 'default', 'reviews');
      expect(JSON.stringify(copy?.['spec'])).toContain('"77"');
    }, WAIT);
    expect((await caller.clusters.list()).clusters.every((c) => c.reachable)).toBe(true);
  }, 40_000);
});
