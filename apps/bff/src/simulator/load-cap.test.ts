/**
 * The simulator's load caps in a real BFF (embedded mode, Bookinfo with its calls, as `./scripts/start` runs
 * it): at the caps the BFF goes on answering promptly; over them a load is refused, naming the cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoBff, type DemoBff } from '../../test/support/demo-bff';
import type { Bff } from '../server/bff';
import { BOOKINFO_CALLS, BOOKINFO_LOADS, MAX_MESH_RPS, MAX_SERVICE_RPS } from './index';
import { MODULES } from '../modules';

const TOKEN = 'editor-token-0123456789';
const SERVICES = ['productpage', 'details', 'reviews', 'ratings'];

describe('the simulator at its load caps', () => {
  let demo: DemoBff;
  let bff: Bff;
  let url: string;

  beforeAll(async () => {
    demo = await startDemoBff({
      users: [{ name: 'ed', role: 'editor', namespaces: ['default'], token: TOKEN }],
      // No limits: every request is let through and makes its calls, the most work a load can cause.
      prepare: async (store) => {
        for (const l of (await store.list('SmartLimiter')).items)
          await store.delete('SmartLimiter', l.metadata.namespace ?? 'default', l.metadata.name);
      },
      governor: {
        modules: MODULES,
        simulate: true,
        metrics: { tickMs: 5000, metricTickMs: 1000, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
        simulator: { loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS },
      },
    });
    ({ bff, url } = demo);
  });
  afterAll(() => demo.close());

  const setLoad = (service: string, rps: number) =>
    fetch(`${url}/api/simulator/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ service, profile: { kind: 'steady', rps } }),
    });

  it("refuses a load over the cap per Service, or over the whole mesh's, naming the cap", async () => {
    for (const rps of [1_000_000, MAX_SERVICE_RPS + 1]) {
      const res = await setLoad('reviews', rps);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe(
        `profile.rps: at most ${MAX_SERVICE_RPS} requests per second (the simulator's cap per Service)`,
      );
    }
    const spikes = await fetch(`${url}/api/simulator/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        service: 'reviews',
        profile: { kind: 'spikes', baseRps: 1, spikeRps: MAX_SERVICE_RPS * 2, everyMs: 1000, durationMs: 10 },
      }),
    });
    expect(spikes.status).toBe(400);
    expect(bff.governor.mesh?.simulator.loadOf('reviews')).toBeUndefined();

    // productpage alone, with the calls its requests make (to details and reviews, reviews' to ratings and
    // ratings' to rating-rpc).
    expect((await setLoad('productpage', MAX_SERVICE_RPS)).status).toBe(200);
    const sim = bff.governor.mesh!.simulator;
    expect(sim.loadCapProblems('reviews', { kind: 'steady', rps: MAX_SERVICE_RPS })).toEqual([]);
    // Five Services at the cap per Service would be over the mesh's cap.
    for (const s of SERVICES) expect((await setLoad(s, MAX_SERVICE_RPS)).status).toBe(200);
    const over = await setLoad('extra', MAX_SERVICE_RPS);
    expect(over.status).toBe(400);
    expect(((await over.json()) as { message: string }).message).toBe(
      `with this load the mesh would simulate up to ${MAX_MESH_RPS + MAX_SERVICE_RPS} requests per second (calls between Services included), over the simulator's cap of ${MAX_MESH_RPS}`,
    );
    for (const s of SERVICES) expect((await setLoad(s, 0)).status).toBe(200);
  });

  it('answers /healthz promptly with every Service at the cap', async () => {
    for (const s of SERVICES) expect((await setLoad(s, MAX_SERVICE_RPS)).status).toBe(200);
    const sim = bff.governor.mesh!.simulator;
    // Let the load run for a couple of seconds before probing, then probe over a few seconds.
    await new Promise((r) => setTimeout(r, 2_000));
    const timings: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      timings.push(performance.now() - started);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    }
    timings.sort((a, b) => a - b);
    const median = timings[timings.length >> 1]!;
    expect(median, `healthz timings ${timings.map((t) => t.toFixed(0)).join(' ')} ms`).toBeLessThan(100);
    expect(timings.at(-1)!, 'the slowest /healthz').toBeLessThan(1_000);
    // The load was really simulated: ratings gets its own 2,500 and the 5,000 reviews' calls make.
    const seconds = sim.serviceSecondsOf('ratings');
    const full = seconds.at(-2)!;
    expect(full.sent).toBeGreaterThan(3 * MAX_SERVICE_RPS * 0.9);
    for (const s of SERVICES) expect((await setLoad(s, 0)).status).toBe(200);
  }, 30_000);
});
