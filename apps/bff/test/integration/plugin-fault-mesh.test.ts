/**
 * Envoy's fault filter on the embedded mesh, in a real BFF with the demo's Bookinfo traffic: an EnvoyFilter
 * inserting the filter on ratings' inbound listener (as Slime's plugin module renders one) makes that share
 * of ratings' requests fail in the mesh's figures and in `/metrics`; without it, none fail. With the plugin
 * module, the same by turning on the demo's PluginManager through the store.
 */
import { describe, expect, it, vi } from 'vitest';
import { testScope } from '../support/test-scope';
import type { KubeObject } from '../../src/cluster/store';
import { MODULES } from '../../src/modules';
import { BOOKINFO_CALLS, BOOKINFO_LOADS } from '../../src/simulator/traffic';
import { insertBeforeRouter } from '../support/envoy-filters';
import { parseExposition } from '../support/exposition';
import { startDemoBff, type DemoBff } from '../support/demo-bff';

const governor = {
  modules: MODULES,
  simulate: true,
  metrics: { tickMs: 0, metricTickMs: 500, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' as const },
  simulator: { tickMs: 100, loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS },
};

const WAIT = { timeout: 30_000, interval: 250 };
const RATINGS_POD = 'ratings-v1-5dc79b6bcd-xcqlc';

/** The fault filter before the router on ratings' inbound listener, with its settings in a TypedStruct. */
const ratingsFault = (numerator: number, status: number): KubeObject => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'EnvoyFilter',
  metadata: { name: 'ratings-fault-test', namespace: 'default' },
  spec: {
    workloadSelector: { labels: { app: 'ratings' } },
    configPatches: [
      insertBeforeRouter('SIDECAR_INBOUND', 9080, {
        name: 'envoy.filters.http.fault',
        typed_config: {
          '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
          type_url: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
          value: { abort: { http_status: status, percentage: { numerator, denominator: 'HUNDRED' } } },
        },
      }),
    ],
  },
});

/** ratings' requests so far in `/metrics`, by response code. */
async function ratingsByCode(demo: DemoBff): Promise<Map<string, number>> {
  const res = await fetch(`${demo.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  const byCode = new Map<string, number>();
  for (const s of parseExposition(await res.text()).samples)
    if (s.name === 'istio_requests_total' && s.labels['destination_service_name'] === 'ratings') {
      const code = s.labels['response_code']!;
      byCode.set(code, (byCode.get(code) ?? 0) + s.value);
    }
  return byCode;
}

/** The share of ratings' requests answered `code` between two readings. */
function shareBetween(before: Map<string, number>, after: Map<string, number>, code: string): number {
  let total = 0;
  for (const [c, n] of after) total += n - (before.get(c) ?? 0);
  return total > 0 ? ((after.get(code) ?? 0) - (before.get(code) ?? 0)) / total : Number.NaN;
}

/** ratings' error rate in the mesh's figures: the fault's aborts over all requests, over the rate window. */
function errorRate(demo: DemoBff): number {
  const v = demo.bff.governor.mesh!.simulator.metricValues('default', [RATINGS_POD]);
  return (v.aborted_qps ?? 0) / (v.qps ?? 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts that about `share` of ratings' requests are answered `code` from now on, and in the figures. */
async function expectFailing(demo: DemoBff, code: string, share: number): Promise<void> {
  // The simulator reads the EnvoyFilters each tick: from the first aborted request on, all apply.
  await vi.waitFor(async () => expect((await ratingsByCode(demo)).get(code) ?? 0).toBeGreaterThan(0), WAIT);
  const before = await ratingsByCode(demo);
  await sleep(3_000);
  const after = await ratingsByCode(demo);
  // Exact fractional accounting: the share, within a request or two of the few hundred counted.
  expect(shareBetween(before, after, code)).toBeCloseTo(share, 1);
  await vi.waitFor(() => expect(errorRate(demo)).toBeCloseTo(share, 1), WAIT);
}

async function expectHealthy(demo: DemoBff, code: string): Promise<void> {
  // Once the change reaches the mesh, no request of a whole second fails.
  await vi.waitFor(async () => {
    const before = await ratingsByCode(demo);
    await sleep(1_000);
    const after = await ratingsByCode(demo);
    expect(shareBetween(before, after, code)).toBe(0);
    expect(shareBetween(before, after, '200')).toBe(1);
  }, WAIT);
  await vi.waitFor(() => expect(errorRate(demo)).toBe(0), WAIT);
}

describe("Envoy's fault filter on the embedded mesh", { timeout: 120_000 }, () => {
  const scope = testScope();

  it("an EnvoyFilter with the fault filter fails that share of ratings' requests; removing it heals", async () => {
    const demo = await startDemoBff({ governor });
    scope.defer(() => demo.close());
    await vi.waitFor(
      async () => expect((await ratingsByCode(demo)).get('200') ?? 0).toBeGreaterThan(20),
      WAIT,
    );
    expect(errorRate(demo)).toBe(0);

    await demo.store.create(ratingsFault(30, 503));
    await expectFailing(demo, '503', 0.3);

    await demo.store.delete('EnvoyFilter', 'default', 'ratings-fault-test');
    await expectHealthy(demo, '503');
  });

  it("turning on the demo's PluginManager fails half of ratings' requests with 503", async () => {
    const demo = await startDemoBff({ governor });
    scope.defer(() => demo.close());
    await vi.waitFor(
      async () => expect((await ratingsByCode(demo)).get('200') ?? 0).toBeGreaterThan(20),
      WAIT,
    );
    // Off as seeded: ratings answers everything.
    expect(errorRate(demo)).toBe(0);
    expect((await ratingsByCode(demo)).get('503') ?? 0).toBe(0);

    const setEnabled = async (enable: boolean) => {
      const pm = await demo.store.get('PluginManager', 'default', 'ratings-fault');
      expect(pm, 'the demo seeds its PluginManager').not.toBeNull();
      const spec = pm!.spec as { plugin: Record<string, unknown>[] };
      await demo.store.update({
        ...pm!,
        spec: { ...spec, plugin: spec.plugin.map((p) => ({ ...p, enable })) },
      });
    };
    await setEnabled(true);
    await expectFailing(demo, '503', 0.5);

    await setEnabled(false);
    await expectHealthy(demo, '503');
  });
});
