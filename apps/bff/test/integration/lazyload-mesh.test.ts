/**
 * Lazyload on the embedded mesh, in a real BFF: a fenced workload's first calls to services outside its
 * Sidecar take the fallback (counted), are observed, and the Sidecar comes to include them, after which
 * those calls go direct. Then the same with a real Prometheus scraping the mesh as the source of calls.
 */
import { describe, expect, it, vi } from 'vitest';
import { testScope } from '../support/test-scope';
import { freePort } from '@governor/limiter/testing';
import { startDemoBff } from '../support/demo-bff';
import { PrometheusServer } from '../support/prometheus-server';
import { MODULES } from '../../src/modules';
import { BOOKINFO_CALLS, BOOKINFO_LOADS } from '../../src/simulator/traffic';

/** The demo's own traffic: users on productpage, which calls reviews and details. */
const governor = (metrics: Record<string, unknown> = {}) => ({
  modules: MODULES,
  simulate: true,
  metrics: {
    tickMs: 0,
    metricTickMs: 500,
    prometheusIntervalMs: 500,
    metricsUnavailable: 'keep' as const,
    ...metrics,
  },
  simulator: { tickMs: 100, loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS },
});

const WAIT = { timeout: 30_000, interval: 200 };
const REVIEWS = '*/reviews.default.svc.cluster.local';
const DETAILS = '*/details.default.svc.cluster.local';

const egressHosts = (sidecar: unknown): string[] =>
  ((sidecar as { spec?: { egress?: { hosts?: string[] }[] } } | null)?.spec?.egress ?? []).flatMap(
    (e) => e.hosts ?? [],
  );

const fence = {
  apiVersion: 'microservice.slime.io/v1alpha1',
  kind: 'ServiceFence',
  metadata: { name: 'productpage', namespace: 'default' },
  spec: { enable: true },
};

describe('lazyload on the embedded mesh', { timeout: 120_000 }, () => {
  const scope = testScope();

  it("learns productpage's dependencies through the fallback, then calls them direct", async () => {
    const demo = await startDemoBff({
      listen: false,
      governor: governor(),
      prepare: (store) => store.create(fence).then(() => undefined),
    });
    scope.defer(() => demo.close());
    const simulator = demo.bff.governor.mesh!.simulator;
    await vi.waitFor(async () => {
      const hosts = egressHosts(await demo.store.get('Sidecar', 'default', 'productpage'));
      expect(hosts).toEqual(expect.arrayContaining([REVIEWS, DETAILS]));
    }, WAIT);
    // Until then, productpage's calls to them went through the fallback, and were counted.
    const fallback = () =>
      simulator
        .fallbackCalls()
        .filter((f) => f.sourceApp === 'productpage')
        .map((f) => [f.destination, f.requests] as const);
    const learned = new Map(fallback());
    expect([...learned.keys()]).toEqual(
      expect.arrayContaining(['reviews.default.svc.cluster.local', 'details.default.svc.cluster.local']),
    );
    const calls = demo.bff.governor.observedCalls.callsFrom('default', 'productpage');
    expect(calls.get('reviews.default.svc.cluster.local')?.via).toEqual(
      expect.arrayContaining(['mesh', 'fallback']),
    );
    // Once the Sidecar lists them, their calls go direct: the fallback counts stop growing.
    await new Promise((r) => setTimeout(r, 1500));
    const settled = new Map(fallback());
    await new Promise((r) => setTimeout(r, 1500));
    expect(new Map(fallback())).toEqual(settled);
  });

  it('learns them from a real Prometheus scraping the mesh', async () => {
    const port = await freePort();
    const prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${port}`], scrapeInterval: '1s' });
    scope.defer(() => prometheus.destroy());
    const demo = await startDemoBff({
      port,
      prepare: (store) => store.create(fence).then(() => undefined),
      governor: governor({ prometheusUrl: prometheus.url }),
    });
    scope.defer(() => demo.close());
    expect(demo.bff.governor.prometheusCalls).toBeDefined();
    await vi.waitFor(() => {
      const calls = demo.bff.governor.observedCalls.callsFrom('default', 'productpage');
      expect(calls.get('reviews.default.svc.cluster.local')?.via, prometheus.log().slice(-300)).toContain(
        'prometheus',
      );
    }, WAIT);
    await vi.waitFor(async () => {
      const hosts = egressHosts(await demo.store.get('Sidecar', 'default', 'productpage'));
      expect(hosts).toEqual(expect.arrayContaining([REVIEWS, DETAILS]));
    }, WAIT);
  });
});
