/**
 * The Prometheus path end to end against a real Prometheus (Debian's package, started here on a free
 * loopback port) scraping the simulated mesh's `/metrics` every second: the default queries, the poller,
 * the controller and the mesh's sidecars, as `PROMETHEUS_URL` runs them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SmartLimiter } from '@governor/crd-types';
import { EmbeddedStore } from '../../src/cluster/embedded-store';
import type { KubeObject } from '../../src/cluster/store';
import { seedDemoMesh } from '../../src/demo/seed';
import { Governor } from '../../src/governor';
import { createHttpServer, type BffHttpServer } from '../../src/server/http-server';
import { AuditLog } from '../../src/audit/audit-log';
import { Auth } from '../../src/auth/auth';
import { createApi } from '../../src/trpc/create-api';
import { callerOf, DEMO_API_USERS } from '../support/demo-api';
import { PrometheusServer } from '../support/prometheus-server';
import { MODULES } from '../../src/modules';

const conditionOf = (o: KubeObject | null, type: string) =>
  ((o?.status as SmartLimiter['status'])?.conditions ?? []).find((c) => c.type === type);
const metricOf = (o: KubeObject | null, key: string): number =>
  Number((o?.status as SmartLimiter['status'])?.metricStatus?.[key]);

const WAIT = { timeout: 45_000, interval: 200 };

describe('adaptive limits from a real Prometheus', () => {
  let store: EmbeddedStore;
  let governor: Governor;
  let http: BffHttpServer;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    store = await EmbeddedStore.open({});
    await seedDemoMesh(store);
    // The mesh's /metrics is served first, so that Prometheus has a target from its first scrape.
    const served: { mesh?: Governor['mesh'] } = {};
    http = createHttpServer({
      info: { name: 'governor', version: '0', mode: 'embedded', startedAt: new Date().toISOString() },
      metricsText: () => served.mesh?.simulator.renderMetrics() ?? '',
    });
    const { port } = await http.listen({ host: '127.0.0.1', port: 0 });
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${port}`], scrapeInterval: '1s' });
    governor = new Governor({
      modules: MODULES,
      store,
      simulate: true,
      metrics: {
        prometheusUrl: prometheus.url,
        prometheusIntervalMs: 500,
        // rate() over 5 s: five scrapes, quick to follow the load.
        prometheusRateWindow: '5s',
        // The status (with the values seen) is refreshed every second; limits move on the metric tick.
        tickMs: 1000,
        metricTickMs: 500,
        metricsUnavailable: 'keep',
      },
      simulator: {
        tickMs: 50,
        model: { smoothingMs: 200 },
        loads: { reviews: { kind: 'steady', rps: 20 } },
      },
    });
    served.mesh = governor.mesh;
    await governor.start();
  }, 120_000);

  afterAll(async () => {
    await governor?.stop();
    await http?.close();
    await prometheus?.destroy();
    await store?.close();
  });

  it('switches the EnvoyFilter on when CPU rises past 80% and off when it falls; an outage keeps the last limits', async () => {
    const mesh = governor.mesh!;
    const efName = 'reviews.default.ratelimit';
    const reviews = () => store.get('SmartLimiter', 'default', 'reviews');

    // Values flow from Prometheus: the status shows what the queries answered.
    await vi.waitFor(async () => {
      const sl = await reviews();
      expect(conditionOf(sl, 'MetricsAvailable')?.status).toBe('True');
      expect(conditionOf(sl, 'Ready')?.status).toBe('True');
      expect(metricOf(sl, '_base.cpu.percent')).toBeGreaterThan(5);
      expect(metricOf(sl, '_base.cpu.percent')).toBeLessThan(80);
      expect(metricOf(sl, '_base.qps')).toBeGreaterThan(10);
      expect(metricOf(sl, 'v1.cpu.percent')).toBeGreaterThan(0);
    }, WAIT);
    expect(await store.get('EnvoyFilter', 'default', efName)).toBeNull();

    mesh.changeLoad({ service: 'reviews', profile: { kind: 'steady', rps: 200 } });
    await vi.waitFor(async () => {
      expect(JSON.stringify((await store.get('EnvoyFilter', 'default', efName))?.spec)).toContain(
        '"maxTokens":30',
      );
      expect(metricOf(await reviews(), '_base.cpu.percent')).toBeGreaterThan(80);
    }, WAIT);
    // The mesh enforces it, and Prometheus sees the 429s.
    await vi.waitFor(
      async () => expect(metricOf(await reviews(), '_base.limited_qps')).toBeGreaterThan(20),
      WAIT,
    );

    await prometheus.stop();
    await vi.waitFor(async () => {
      const sl = await reviews();
      expect(conditionOf(sl, 'MetricsAvailable')).toMatchObject({ status: 'False' });
      expect(conditionOf(sl, 'MetricsAvailable')?.message).toContain(prometheus.url);
    }, WAIT);
    await governor.controlPlane.idle();
    // The last good limits stay while the metrics are gone.
    expect(await store.get('EnvoyFilter', 'default', efName)).not.toBeNull();

    await prometheus.start();
    await vi.waitFor(async () => {
      const sl = await reviews();
      expect(conditionOf(sl, 'MetricsAvailable')?.status).toBe('True');
      expect(metricOf(sl, '_base.cpu.percent')).toBeGreaterThan(80);
      expect(await store.get('EnvoyFilter', 'default', efName)).not.toBeNull();
    }, WAIT);

    mesh.changeLoad({ service: 'reviews', profile: { kind: 'steady', rps: 20 } });
    await vi.waitFor(async () => {
      expect(await store.get('EnvoyFilter', 'default', efName)).toBeNull();
      expect(metricOf(await reviews(), '_base.cpu.percent')).toBeLessThan(80);
    }, WAIT);
  }, 240_000);

  it("serves the dashboard's figures and chart series from Prometheus", async () => {
    const api = createApi({
      governor,
      store,
      mode: 'embedded',
      auth: new Auth(),
      audit: new AuditLog(),
      prometheusUrl: prometheus.url,
      allowedOrigins: [],
    });
    const caller = callerOf(api.deps, DEMO_API_USERS.admin);
    await vi.waitFor(async () => {
      const reviews = (await caller.services.list()).find((s) => s.name === 'reviews')!;
      expect(reviews.rps).toBeGreaterThan(5);
      expect(reviews.cpuPercent).toBeGreaterThan(0);
      const series = await caller.metrics.series({ namespace: 'default', service: 'reviews', range: '1m' });
      expect(series.source).toBe('prometheus');
      expect(series.points.length).toBeGreaterThan(5);
      expect(series.points.at(-1)!.rps).toBeGreaterThan(5);
    }, WAIT);
  }, 120_000);
});
