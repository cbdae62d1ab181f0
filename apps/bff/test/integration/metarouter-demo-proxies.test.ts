/**
 * The embedded demo's MetaProtocol path end to end: the BFF serves routes over gRPC, the simulated mesh's
 * proxies subscribe to them as real clients and route their Thrift calls with what they received, and the
 * demo's MetaRouter says every proxy accepted its routes. A MetaRouter edit reaches the calls through the
 * route server.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../../src/cluster/store';
import { BOOKINFO_CALLS, BOOKINFO_LOADS } from '../../src/simulator/traffic';
import { MODULES } from '../../src/modules';
import { startDemoBff, type DemoBff } from '../support/demo-bff';

const WAIT = { timeout: 20_000, interval: 100 };
const ROUTES = 'rating-rpc.default.svc.cluster.local_9090';

const condition = (o: KubeObject | null, type: string) =>
  (
    (o?.status as { conditions?: { type: string; status: string; message: string }[] })?.conditions ?? []
  ).find((c) => c.type === type);

describe("the demo's Thrift calls, routed by what the proxies received over RDS", () => {
  let demo: DemoBff | undefined;
  afterEach(async () => {
    await demo?.close();
    demo = undefined;
  });

  it('every pod subscribes and ACKs; getRating goes to v2; an edit reaches the calls', async () => {
    demo = await startDemoBff({
      xds: true,
      listen: false,
      governor: {
        modules: MODULES,
        simulate: true,
        metrics: { tickMs: 0, metricTickMs: 500, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
        simulator: { tickMs: 100, loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS },
      },
    });
    const { bff, store } = demo;
    await bff.listenXds('127.0.0.1', 0);
    const server = bff.routeServer!;
    // Every workload's proxy subscribes: the pods' and the VM's (a WorkloadEntry's sidecar).
    const pods = (await store.list('Pod')).items.length + (await store.list('WorkloadEntry')).items.length;

    await vi.waitFor(() => {
      const subs = server.subscriptions().filter((s) => s.resourceName === ROUTES);
      expect(subs.length).toBe(pods);
      for (const s of subs) expect(s.versionAcked).toBe(s.versionSent);
    }, WAIT);
    await vi.waitFor(async () => {
      const router = await store.get('MetaRouter', 'default', 'rating-rpc');
      expect(condition(router, 'ProxiesAccepted')).toMatchObject({ status: 'True' });
      expect(condition(router, 'Ready')).toMatchObject({ status: 'True' });
    }, WAIT);
    await vi.waitFor(() => {
      const rows = bff.governor.methodTraffic.rows('rating-rpc.default.svc.cluster.local');
      const getRating = rows.filter((r) => r.method === 'getRating' && r.rps > 0);
      expect(getRating.length).toBeGreaterThan(0);
      expect(getRating.every((r) => r.subset === 'v2')).toBe(true);
    }, WAIT);

    // Send getRating to v1 instead: through the route server to the proxies, and on to the calls.
    await vi.waitFor(async () => {
      const router = (await store.get('MetaRouter', 'default', 'rating-rpc'))!;
      const spec = router.spec as { routes: { route: { destination: { subset?: string } }[] }[] };
      await store.update({
        ...router,
        spec: {
          ...spec,
          routes: spec.routes.map((r, i) =>
            i === 0
              ? {
                  ...r,
                  route: r.route.map((d) => ({ ...d, destination: { ...d.destination, subset: 'v1' } })),
                }
              : r,
          ),
        },
      });
    }, WAIT);
    await vi.waitFor(() => {
      const rows = bff.governor.methodTraffic.rows('rating-rpc.default.svc.cluster.local');
      expect(rows.some((r) => r.method === 'getRating' && r.subset === 'v1' && r.rps > 0)).toBe(true);
    }, WAIT);
  }, 60_000);
});
