import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SmartLimiter } from '@governor/crd-types';
import { EmbeddedStore } from './cluster/embedded-store';
import type { KubeObject } from './cluster/store';
import { seedDemoMesh } from './demo/seed';
import { Governor } from './governor';
import { createHttpServer } from './server/http-server';
import { MODULES } from './modules';

const conditionOf = (o: KubeObject | null, type: string) =>
  ((o?.status as SmartLimiter['status'])?.conditions ?? []).find((c) => c.type === type);
const metricOf = (o: KubeObject | null, key: string): number =>
  Number((o?.status as SmartLimiter['status'])?.metricStatus?.[key]);

const WAIT = { timeout: 20_000, interval: 100 };

describe('Governor on the embedded default', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(): Promise<{ store: EmbeddedStore; governor: Governor }> {
    const store = await EmbeddedStore.open({});
    cleanups.push(() => store.close());
    await seedDemoMesh(store);
    const governor = new Governor({
      modules: MODULES,
      store,
      simulate: true,
      metrics: { tickMs: 0, metricTickMs: 200, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      // A quick mesh: CPU follows the load within a fraction of a second, rates over 2 s.
      simulator: {
        tickMs: 50,
        rateWindowSeconds: 2,
        model: { smoothingMs: 200 },
        loads: {
          productpage: { kind: 'steady', rps: 20 },
          details: { kind: 'steady', rps: 10 },
          ratings: { kind: 'steady', rps: 10 },
        },
      },
    });
    cleanups.push(() => governor.stop());
    await governor.start();
    return { store, governor };
  }

  it('switches the adaptive CPU limit on when load pushes CPU past 80% and off when it falls, the mesh enforcing it', async () => {
    const { store, governor } = await start();
    const mesh = governor.mesh!;
    expect(mesh.changeLoad({ service: 'reviews', profile: { kind: 'steady', rps: 20 } }).status).toBe(200);
    const efName = 'reviews.default.ratelimit';
    await vi.waitFor(async () => {
      const reviews = await store.get('SmartLimiter', 'default', 'reviews');
      expect(conditionOf(reviews, 'Ready')?.status).toBe('True');
      expect(metricOf(reviews, '_base.cpu.percent')).toBeLessThan(80);
      // The other demo limiters limit from the start.
      // The limiter's EnvoyFilters (the demo's plugins render theirs too).
      const names = (await store.list('EnvoyFilter', 'default')).items
        .map((e) => e.metadata.name)
        .filter((n) => n.endsWith('.ratelimit'))
        .sort();
      expect(names).toEqual(['details.default.ratelimit', 'productpage.default.ratelimit']);
    }, WAIT);

    // 200 rps on three pods of 200m: CPU saturates, the condition holds, 90 rps in all get through.
    mesh.changeLoad({ service: 'reviews', profile: { kind: 'steady', rps: 200 } });
    await vi.waitFor(async () => {
      const ef = await store.get('EnvoyFilter', 'default', efName);
      expect(JSON.stringify(ef?.spec)).toContain('"maxTokens":30');
      const reviews = await store.get('SmartLimiter', 'default', 'reviews');
      expect(metricOf(reviews, '_base.cpu.percent')).toBeGreaterThan(80);
    }, WAIT);
    await vi.waitFor(() => {
      const last = mesh.simulator.serviceSecondsOf('reviews').slice(-3, -1);
      expect(last.length).toBe(2);
      for (const s of last) {
        expect(s.limited).toBeGreaterThan(50);
        expect(s.allowed).toBeLessThanOrEqual(92);
      }
    }, WAIT);

    mesh.changeLoad({ service: 'reviews', profile: { kind: 'steady', rps: 20 } });
    await vi.waitFor(async () => {
      expect(await store.get('EnvoyFilter', 'default', efName)).toBeNull();
      const reviews = await store.get('SmartLimiter', 'default', 'reviews');
      expect(metricOf(reviews, '_base.cpu.percent')).toBeLessThan(80);
      expect(conditionOf(reviews, 'Ready')?.status).toBe('True');
    }, WAIT);
    // Nothing is lost or made up on the way: every request sent was allowed or limited.
    for (const service of ['reviews', 'productpage', 'details', 'ratings']) {
      const seconds = mesh.simulator.serviceSecondsOf(service);
      expect(seconds.length).toBeGreaterThan(0);
      for (const s of seconds) expect(s.allowed + s.limited).toBe(s.sent);
    }
  }, 60_000);

  it('serves the mesh as Prometheus text on /metrics and changes load over HTTP, refusing bad input', async () => {
    const { governor } = await start();
    const mesh = governor.mesh!;
    const server = createHttpServer({
      info: { name: 'governor', version: '0', mode: 'embedded', startedAt: new Date(0).toISOString() },
      metricsText: () => mesh.simulator.renderMetrics(),
      simulatorLoad: (body) => mesh.changeLoad(body),
    });
    const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());

    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await metrics.text();
    expect(text).toContain('# TYPE istio_requests_total counter');
    expect(text).toMatch(/container_spec_cpu_quota\{[^}]*pod="reviews-v1-[^"]+"[^}]*\} 20000/);

    const post = (body: unknown) =>
      fetch(`${url}/api/simulator/load`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post({
      service: 'default/ratings',
      profile: { kind: 'spikes', baseRps: 5, spikeRps: 50, everyMs: 10_000, durationMs: 1000 },
    });
    expect(ok.status).toBe(200);
    expect(mesh.simulator.loadOf('ratings')).toEqual({
      kind: 'spikes',
      baseRps: 5,
      spikeRps: 50,
      everyMs: 10_000,
      durationMs: 1000,
    });
    for (const bad of [
      { service: 'ratings', profile: { kind: 'steady', rps: -1 } },
      { service: 'ratings', profile: { kind: 'wave', minRps: 50, maxRps: 10, periodMs: 1000 } },
      { service: 'Ratings!', profile: { kind: 'steady', rps: 1 } },
      { service: 'ratings', profile: { kind: 'sawtooth' } },
    ]) {
      const r = await post(bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(((await r.json()) as { message: string }).message.length).toBeGreaterThan(0);
    }
    // Nothing of the refused changes was applied.
    expect(mesh.simulator.loadOf('ratings')).toMatchObject({ kind: 'spikes', baseRps: 5 });
  });
});
