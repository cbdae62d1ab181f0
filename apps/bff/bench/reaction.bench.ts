/**
 * `pnpm -s bench reaction`: how long after a metric crosses a condition's threshold the new limit is in
 * force (the EnvoyFilter written and the mesh's sidecars enforcing the new quota), with the product's
 * default timings. The demo mesh's adaptive limiter on reviews (`{{._base.cpu.percent}}>80`); the load on
 * reviews steps from 20 to 400 rps and the moment of crossing is when the mesh's own CPU figure (over the
 * same 10 s window the query uses) passes 80 %.
 *
 * - `reaction_embedded_s`: metrics from the simulated mesh itself.
 * - `reaction_prometheus_s`: metrics from a real Prometheus scraping the mesh every second.
 *
 * Each is the median of five crossings (one with BENCH_QUICK=1), `_max_s` the slowest of them.
 */
import { EmbeddedStore } from '../src/cluster/embedded-store';
import { seedDemoMesh } from '../src/demo/seed';
import { Governor } from '../src/governor';
import type { MetricsConfig } from '../src/runtime';
import { createHttpServer } from '../src/server/http-server';
import { PrometheusServer } from '../test/support/prometheus-server';
import { MODULES } from '../src/modules';

const quick = process.env.BENCH_QUICK === '1';
const TRIALS = quick ? 1 : 5;
const KEY = 'default/reviews';
const THRESHOLD = 80;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function measure(
  metrics: Omit<MetricsConfig, 'tickMs' | 'metricTickMs' | 'metricsUnavailable'>,
  prometheus?: { targets: (port: number) => Promise<PrometheusServer> },
): Promise<number[]> {
  const store = await EmbeddedStore.open({});
  await seedDemoMesh(store);
  const served: { governor?: Governor } = {};
  const http = createHttpServer({
    info: { name: 'governor', version: '0', mode: 'embedded', startedAt: new Date().toISOString() },
    metricsText: () => served.governor?.mesh?.simulator.renderMetrics() ?? '',
  });
  const { port } = await http.listen({ host: '127.0.0.1', port: 0 });
  const server = prometheus ? await prometheus.targets(port) : undefined;
  // When the reviews limit was last rendered into the mesh, and whether it was active.
  let enforcedAt = 0;
  let active = false;
  const governor = new Governor({
    modules: MODULES,
    store,
    simulate: true,
    // The product's defaults: full tick 5 s, metric tick 1 s, Prometheus polled every second.
    metrics: {
      tickMs: 5000,
      metricTickMs: 1000,
      metricsUnavailable: 'keep',
      ...metrics,
      ...(server ? { prometheusUrl: server.url } : {}),
    },
    simulator: { loads: { reviews: { kind: 'steady', rps: 20 } } },
    onLimiterRules: (key, rules) => {
      if (key !== KEY) return;
      const now = (rules?.length ?? 0) > 0;
      if (now && !active) enforcedAt = performance.now();
      active = now;
    },
  });
  served.governor = governor;
  await governor.start();
  const mesh = governor.mesh!;
  const pods = mesh.simulator
    .podStatus()
    .filter((p) => p.service === 'reviews')
    .map((p) => p.pod);
  const cpu = () => mesh.simulator.metricValues('default', pods)['cpu.percent'] ?? 0;
  const reactions: number[] = [];
  try {
    for (let trial = 0; trial < TRIALS; trial++) {
      await until('the limit to be off and CPU low', () => !active && cpu() < THRESHOLD - 20, 120_000);
      // Prometheus' view must have caught up too before the next crossing.
      await sleep(server ? 3000 : 500);
      mesh.simulator.setLoad('reviews', { kind: 'steady', rps: 400 });
      const crossed = await until('CPU to cross the threshold', () => cpu() > THRESHOLD);
      await until('the new limit to be enforced', () => active && enforcedAt >= crossed - 1000);
      const stored = await store.get('EnvoyFilter', 'default', 'reviews.default.ratelimit');
      if (!stored) throw new Error('the mesh enforces a limit whose EnvoyFilter is not written');
      reactions.push(Math.max(0, enforcedAt - crossed) / 1000);
      if (process.env.BENCH_VERBOSE) console.error(`trial ${trial}: ${(enforcedAt - crossed).toFixed(0)} ms`);
      mesh.simulator.setLoad('reviews', { kind: 'steady', rps: 20 });
    }
  } finally {
    await governor.stop();
    await http.close();
    await server?.destroy();
    await store.close();
  }
  return reactions;
}

const embedded = await measure({ prometheusIntervalMs: 1000 });
console.log(`reaction_embedded_s: ${median(embedded).toFixed(2)}`);
console.log(`reaction_embedded_max_s: ${Math.max(...embedded).toFixed(2)}`);
const viaPrometheus = await measure(
  { prometheusIntervalMs: 1000, prometheusRateWindow: '10s' },
  { targets: (port) => PrometheusServer.start({ targets: [`127.0.0.1:${port}`], scrapeInterval: '1s' }) },
);
console.log(`reaction_prometheus_s: ${median(viaPrometheus).toFixed(2)}`);
console.log(`reaction_prometheus_max_s: ${Math.max(...viaPrometheus).toFixed(2)}`);
