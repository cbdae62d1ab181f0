import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { contextOf, loadObjects, onlyLimiter } from '../../test/support/fixtures';
import { renderSmartLimiter, type ClusterContext, type RenderedRule } from '../modules/limiter/render';
import { histogramQuantile, ISTIO_DURATION_BUCKETS_MS } from './exposition';
import { rateAt, type LoadProfile } from './load';
import { parseCpuQuantity } from './pods';
import { Simulator, type SimulatorOptions } from './simulator';
import { BOOKINFO_CALLS, MAX_MESH_RPS, MAX_SERVICE_RPS } from './traffic';
import { parseExposition, type Sample } from '../../test/support/exposition';

const bookinfoText = readFileSync(new URL('../demo/bookinfo.yaml', import.meta.url), 'utf8');
const bookinfo = loadObjects({ text: bookinfoText });
const mesh: ClusterContext = contextOf(bookinfo);

/** The demo's pods and VMs (details-vm): each is a proxy with its own series. */
const workloads = mesh.pods.length + (mesh.workloadEntries?.length ?? 0);

const reviewsPods = mesh.pods
  .filter((p) => p.metadata.labels?.['app'] === 'reviews')
  .map((p) => p.metadata.name);
const productpagePods = mesh.pods
  .filter((p) => p.metadata.labels?.['app'] === 'productpage')
  .map((p) => p.metadata.name);

/** The rules of a SmartLimiter with one descriptor, rendered against the demo mesh. */
function rules(service: string, action: string, extra = ''): RenderedRule[] {
  const yaml = `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: ${service}, namespace: default}
spec:
  sets:
    _base:
      descriptor:
        - {action: ${action}, condition: "true", target: {port: 9080}${extra}}`;
  const r = renderSmartLimiter({ limiter: onlyLimiter(loadObjects({ text: yaml })), context: mesh });
  expect(r.problems).toEqual([]);
  expect(r.rules.length).toBeGreaterThan(0);
  return [...r.rules];
}

const steady = (rps: number): LoadProfile => ({ kind: 'steady', rps });

function simulator(options: Partial<SimulatorOptions> = {}): Simulator {
  return new Simulator({ context: mesh, startMs: 0, seed: 42, loads: {}, ...options });
}

function run(sim: Simulator, seconds: number): void {
  const end = sim.nowMs + seconds * 1000;
  while (sim.nowMs < end) sim.step();
}

const seriesKey = (s: Sample): string =>
  `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;

describe('load profiles', () => {
  it('wave goes from min to max and back over its period; spikes burst for their duration', () => {
    const wave: LoadProfile = { kind: 'wave', minRps: 10, maxRps: 110, periodMs: 60_000 };
    expect(rateAt(wave, 0)).toBeCloseTo(10);
    expect(rateAt(wave, 30_000)).toBeCloseTo(110);
    expect(rateAt(wave, 60_000)).toBeCloseTo(10);
    const spikes: LoadProfile = {
      kind: 'spikes',
      baseRps: 5,
      spikeRps: 50,
      everyMs: 10_000,
      durationMs: 2000,
    };
    expect([0, 1999, 2000, 9999, 10_000].map((t) => rateAt(spikes, t))).toEqual([50, 50, 5, 5, 50]);
  });

  it('rejects a profile that makes no sense', () => {
    const sim = simulator();
    expect(() => sim.setLoad('reviews', { kind: 'steady', rps: -1 })).toThrow(/rps/);
    expect(() => sim.setLoad('reviews', { kind: 'wave', minRps: 5, maxRps: 1, periodMs: 0 })).toThrow(
      /periodMs/,
    );
  });

  it('reads Kubernetes CPU quantities', () => {
    expect([
      parseCpuQuantity('500m'),
      parseCpuQuantity('2'),
      parseCpuQuantity('0.25'),
      parseCpuQuantity('x'),
    ]).toEqual([0.5, 2, 0.25, undefined]);
  });
});

describe('Simulator', () => {
  it('accounts exactly: per service and second, sent = allowed + limited', () => {
    const sim = simulator({
      rules: [
        ...rules('reviews', '{fill_interval: {seconds: 1}, quota: "7"}'),
        ...rules('productpage', '{fill_interval: {seconds: 1}, quota: "30", strategy: global}'),
        ...rules(
          'details',
          '{fill_interval: {seconds: 1}, quota: "2"}',
          ', match: [{name: x-user, exact_match: bot}]',
        ),
      ],
      loads: {
        reviews: { kind: 'spikes', baseRps: 10, spikeRps: 90, everyMs: 5000, durationMs: 1000 },
        productpage: { kind: 'wave', minRps: 5, maxRps: 80, periodMs: 20_000 },
        details: steady(33),
        ratings: steady(12.5),
      },
    });
    run(sim, 30);
    let limited = 0;
    for (const service of ['reviews', 'productpage', 'details', 'ratings']) {
      const seconds = sim.serviceSecondsOf(service);
      expect(seconds.length).toBeGreaterThanOrEqual(30);
      for (const s of seconds) expect(s.allowed + s.limited).toBe(s.sent);
      limited += seconds.reduce((n, s) => n + s.limited, 0);
    }
    expect(limited).toBeGreaterThan(0);
    // A steady load sends exactly its rate once the first second is behind.
    const ratings = sim.serviceSecondsOf('ratings');
    expect(ratings.slice(1, -1).every((s) => Math.abs(s.sent - 12.5) <= 1)).toBe(true);
    // The bot-only rule on details limits bots only: most of details' traffic passes.
    const details = sim.serviceSecondsOf('default/details').slice(1, -1);
    expect(details.every((s) => s.allowed > s.limited)).toBe(true);
    // Reviews' rule decides every request to reviews: its per-second counts are the service's.
    const [reviewsRule] = rules('reviews', '{fill_interval: {seconds: 1}, quota: "7"}');
    const byRule = sim.ruleSecondsOf(reviewsRule!.id);
    expect(byRule).toEqual(sim.serviceSecondsOf('reviews').map(({ sent: _, aborted: __, ...rest }) => rest));
  });

  it('lets about N per second through each pod under a single limit of N, and limits the rest', () => {
    const sim = simulator({
      rules: rules('reviews', '{fill_interval: {seconds: 1}, quota: "10"}'),
      loads: { reviews: steady(60) },
    });
    run(sim, 30);
    // 3 pods, 20 rps each, 10 allowed each.
    for (const pod of reviewsPods) {
      const v = sim.metricValues('default', [pod]);
      expect(v.qps).toBeCloseTo(20, 0);
      expect(v.qps! - v.limited_qps!).toBeCloseTo(10, 0);
    }
    const [rule] = rules('reviews', '{fill_interval: {seconds: 1}, quota: "10"}');
    const seconds = sim.ruleSecondsOf(rule!.id).slice(2, -1);
    expect(seconds.length).toBeGreaterThan(20);
    for (const s of seconds) {
      expect(Math.abs(s.allowed - 30)).toBeLessThanOrEqual(1);
      expect(Math.abs(s.limited - 30)).toBeLessThanOrEqual(1);
    }
  });

  it("sends a VM its share of its Service's traffic and enforces its average share there, as on a pod", () => {
    const detailsPods = mesh.pods.filter((p) => p.metadata.labels?.['app'] === 'details');
    expect(detailsPods).toHaveLength(1);
    expect(mesh.workloadEntries?.map((w) => w.metadata.name)).toEqual(['details-vm']);
    const sim = simulator({
      rules: rules('details', '{fill_interval: {seconds: 1}, quota: "20", strategy: average}'),
      loads: { details: steady(40) },
    });
    run(sim, 30);
    // One pod and one VM: 20 rps each, a bucket of 10 each.
    for (const name of [detailsPods[0]!.metadata.name, 'details-vm']) {
      const v = sim.metricValues('default', [name]);
      expect(v.qps, name).toBeCloseTo(20, 0);
      expect(v.qps! - v.limited_qps!, name).toBeCloseTo(10, 0);
    }
    const vm = parseExposition(sim.renderMetrics()).samples.find(
      (s) => s.name === 'istio_requests_total' && s.labels['pod'] === 'details-vm',
    );
    expect(vm?.labels).toMatchObject({
      destination_workload: 'details-vm',
      destination_service_name: 'details',
    });
  });

  it('counts a global limit across pods', () => {
    const sim = simulator({
      rules: rules('reviews', '{fill_interval: {seconds: 1}, quota: "12", strategy: global}'),
      loads: { reviews: steady(60) },
    });
    run(sim, 10);
    const v = sim.metricValues('default', reviewsPods);
    expect(v.qps! - v.limited_qps!).toBeCloseTo(12, 0);
  });

  it('CPU rises with the load let through and falls when a limit bites', () => {
    const sim = simulator({ loads: { productpage: steady(150) } });
    const idle = sim.metricValues('default', productpagePods)['cpu.percent']!;
    run(sim, 20);
    const busy = sim.metricValues('default', productpagePods)['cpu.percent']!;
    // 0.02 cores at rest + 150 rps × 5 ms on a 1-CPU limit → about 77 %.
    expect(idle).toBeLessThan(5);
    expect(busy).toBeGreaterThan(65);
    expect(busy).toBeLessThanOrEqual(100);
    const rt99Busy = sim.metricValues('default', productpagePods).rt99!;

    sim.updateRules(rules('productpage', '{fill_interval: {seconds: 1}, quota: "20"}'));
    run(sim, 20);
    const limited = sim.metricValues('default', productpagePods);
    expect(limited['cpu.percent']).toBeLessThan(20);
    expect(limited.limited_qps).toBeCloseTo(130, -1);
    expect(limited.rt99!).toBeLessThan(rt99Busy);
    expect(limited['cpu.sum']).toBeGreaterThan(0);
    expect(limited['cpu.max']).toBe(limited['cpu.sum']);
  });

  it('latency grows near saturation and CPU stays within the limit', () => {
    const sim = simulator({ loads: { productpage: steady(400) } });
    run(sim, 30);
    const [status] = sim.podStatus().filter((p) => p.service === 'productpage');
    expect(status!.cpuCores).toBeLessThanOrEqual(status!.cpuLimitCores);
    expect(status!.cpuCores).toBeGreaterThan(0.95);
    expect(sim.metricValues('default', productpagePods).rt99!).toBeGreaterThan(500);
  });

  it('keeps bucket state when the rules are rendered again unchanged', () => {
    const r = rules('reviews', '{fill_interval: {seconds: 60}, quota: "5"}');
    const sim = simulator({ rules: r, loads: { reviews: steady(30) } });
    const allowed = () => sim.serviceSecondsOf('reviews').reduce((n, x) => n + x.allowed, 0);
    run(sim, 2);
    // 5 per pod per minute: 15 at once from full buckets, then a trickle.
    expect(allowed()).toBe(15);
    sim.updateRules(rules('reviews', '{fill_interval: {seconds: 60}, quota: "5"}'), mesh);
    run(sim, 2);
    expect(allowed()).toBeLessThanOrEqual(16);
    // A raised quota keeps the rule's identity: its buckets keep their tokens and refill at the new rate.
    const raised = rules('reviews', '{fill_interval: {seconds: 60}, quota: "6"}');
    expect(raised[0]?.id).toBe(r[0]?.id);
    sim.updateRules(raised, mesh);
    run(sim, 2);
    expect(allowed()).toBeLessThanOrEqual(17);
    // A rule with another identity starts with full buckets (and here limits only one user).
    sim.updateRules(
      rules(
        'reviews',
        '{fill_interval: {seconds: 60}, quota: "5"}',
        ', match: [{name: x-user, exact_match: alice}]',
      ),
      mesh,
    );
    run(sim, 2);
    expect(allowed()).toBeGreaterThan(17 + 30);
  });

  it('exposes valid Prometheus text with Istio and cAdvisor names, counters only growing', () => {
    const sim = simulator({
      rules: rules('reviews', '{fill_interval: {seconds: 1}, quota: "5"}'),
      loads: {
        reviews: steady(40),
        productpage: { kind: 'spikes', baseRps: 5, spikeRps: 100, everyMs: 3000, durationMs: 500 },
      },
    });
    run(sim, 5);
    const first = parseExposition(sim.renderMetrics());
    run(sim, 5);
    const second = parseExposition(sim.renderMetrics());

    expect(Object.fromEntries(second.types)).toEqual({
      istio_requests_total: 'counter',
      istio_request_duration_milliseconds: 'histogram',
      container_cpu_usage_seconds_total: 'counter',
      container_spec_cpu_quota: 'gauge',
      container_spec_cpu_period: 'gauge',
      governor_lazyload_fallback_requests_total: 'counter',
      governor_metaprotocol_requests_total: 'counter',
      governor_metaprotocol_mirrored_requests_total: 'counter',
    });
    const requests = second.samples.filter((s) => s.name === 'istio_requests_total');
    expect(requests.length).toBe(workloads * 2);
    const limited = requests.find(
      (s) => s.labels['pod'] === reviewsPods[0] && s.labels['response_code'] === '429',
    );
    expect(limited?.labels).toMatchObject({
      destination_workload_namespace: 'default',
      destination_workload: 'reviews-v1',
      destination_service_name: 'reviews',
    });
    expect(limited!.value).toBeGreaterThan(0);
    const quota = second.samples.find(
      (s) => s.name === 'container_spec_cpu_quota' && s.labels['pod'] === reviewsPods[0],
    );
    const period = second.samples.find(
      (s) => s.name === 'container_spec_cpu_period' && s.labels['pod'] === reviewsPods[0],
    );
    expect([quota?.value, period?.value, quota?.labels['container']]).toEqual([20000, 100000, 'reviews']);

    // Histograms: cumulative buckets in order, +Inf equal to _count, Istio's bounds.
    const byHistogram = new Map<string, Sample[]>();
    for (const s of second.samples.filter((x) => x.name === 'istio_request_duration_milliseconds_bucket')) {
      const { le, ...rest } = s.labels;
      expect(le).toBeDefined();
      const k = JSON.stringify(rest);
      byHistogram.set(k, [...(byHistogram.get(k) ?? []), s]);
    }
    expect(byHistogram.size).toBe(workloads * 2);
    for (const [k, buckets] of byHistogram) {
      expect(buckets.map((b) => b.labels['le'])).toEqual([...ISTIO_DURATION_BUCKETS_MS.map(String), '+Inf']);
      for (let i = 1; i < buckets.length; i++)
        expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      const count = second.samples.find(
        (s) => s.name === 'istio_request_duration_milliseconds_count' && JSON.stringify(s.labels) === k,
      );
      expect(count?.value).toBe(buckets.at(-1)!.value);
    }

    // Counters (and histogram series) never go down between scrapes; some went up.
    const before = new Map(first.samples.map((s) => [seriesKey(s), s.value]));
    let grew = 0;
    for (const s of second.samples) {
      if (s.name.startsWith('container_spec_')) continue;
      const old = before.get(seriesKey(s));
      expect(old, `${seriesKey(s)} appeared`).toBeDefined();
      expect(s.value).toBeGreaterThanOrEqual(old!);
      if (s.value > old!) grew++;
    }
    expect(grew).toBeGreaterThan(10);
  });

  it('is deterministic for a seed', () => {
    const options = (seed: number): Partial<SimulatorOptions> => ({
      seed,
      rules: rules(
        'details',
        '{fill_interval: {seconds: 1}, quota: "3"}',
        ', match: [{name: x-user, exact_match: bot}]',
      ),
      loads: { details: steady(40), reviews: { kind: 'wave', minRps: 1, maxRps: 50, periodMs: 4000 } },
    });
    const a = simulator(options(7));
    const b = simulator(options(7));
    const c = simulator(options(8));
    for (const s of [a, b, c]) run(s, 5);
    expect(a.renderMetrics()).toBe(b.renderMetrics());
    expect(a.serviceSecondsOf('details')).toEqual(b.serviceSecondsOf('details'));
    expect(a.renderMetrics()).not.toBe(c.renderMetrics());
  });

  it('applies a new load from the next tick', () => {
    const sim = simulator({ loads: { ratings: steady(10) } });
    run(sim, 1);
    const sent = () => sim.serviceSecondsOf('ratings').reduce((n, s) => n + s.sent, 0);
    const before = sent();
    sim.setLoad('ratings', steady(200));
    sim.step();
    expect(sent() - before).toBe(20);
    sim.setLoad('ratings', steady(0));
    const after = sent();
    run(sim, 1);
    expect(sent()).toBe(after);
  });

  it('sends nothing to a Service without Running pods, and forgets deleted pods', () => {
    const sim = simulator({ loads: { reviews: steady(30) } });
    run(sim, 1);
    const fewer: ClusterContext = {
      ...mesh,
      pods: mesh.pods.filter((p) => p.metadata.name !== reviewsPods[0]),
    };
    sim.updateRules([], fewer);
    expect(sim.metricValues('default', [reviewsPods[0]!])).toEqual({});
    run(sim, 1);
    expect(sim.metricValues('default', reviewsPods.slice(1)).qps).toBeGreaterThan(0);
    sim.setContext({ ...mesh, pods: mesh.pods.filter((p) => p.metadata.labels?.['app'] !== 'reviews') });
    const total = sim.serviceSecondsOf('reviews').reduce((n, s) => n + s.sent, 0);
    run(sim, 1);
    expect(sim.serviceSecondsOf('reviews').reduce((n, s) => n + s.sent, 0)).toBe(total);
  });

  it('runs on a timer between start() and stop()', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const sim = new Simulator({ context: mesh, seed: 1, loads: { ratings: steady(50) } });
      sim.start();
      vi.advanceTimersByTime(2000);
      sim.stop();
      const sent = sim.serviceSecondsOf('ratings').reduce((n, s) => n + s.sent, 0);
      expect(sent).toBe(100);
      vi.advanceTimersByTime(2000);
      expect(sim.serviceSecondsOf('ratings').reduce((n, s) => n + s.sent, 0)).toBe(sent);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket as PromQL does', () => {
    // 100 observations: 50 in (0, 10], 50 in (10, 20].
    expect(histogramQuantile(0.5, [10, 20], [50, 50, 0])).toBe(10);
    expect(histogramQuantile(0.99, [10, 20], [50, 50, 0])).toBeCloseTo(19.8);
    expect(histogramQuantile(0.99, [10, 20], [0, 0, 5])).toBe(20);
    expect(histogramQuantile(0.99, [10, 20], [0, 0, 0])).toBeNaN();
  });

  it('makes the calls of a call graph: callees get what their callers let through, edges are counted', () => {
    const sim = simulator({
      loads: { productpage: steady(20) },
      calls: { productpage: ['details', 'reviews'], reviews: ['ratings'] },
      rules: rules('reviews', '{fill_interval: {seconds: 1}, quota: "2"}'),
    });
    run(sim, 12);
    const mid = (service: string) => sim.serviceSecondsOf(service).slice(2, -1);
    for (const s of mid('details'))
      expect(s.sent).toBe(mid('productpage').find((p) => p.second === s.second)!.allowed);
    // reviews is limited to 2 per pod and second (3 pods): only what it lets through calls ratings.
    for (const s of mid('reviews')) {
      expect(s.allowed).toBeLessThanOrEqual(6);
      expect(mid('ratings').find((r) => r.second === s.second)?.sent ?? 0).toBe(s.allowed);
    }
    const edges = sim.edgeRates(5);
    expect(edges.map((e) => `${e.from}>${e.to}`)).toEqual([
      'default/productpage>default/details',
      'default/productpage>default/reviews',
      'default/reviews>default/ratings',
    ]);
    const toReviews = edges.find((e) => e.to === 'default/reviews')!;
    expect(toReviews.rps).toBeCloseTo(20, 0);
    expect(toReviews.limitedRps).toBeGreaterThan(10);
    expect(toReviews.errorRps).toBe(0);
    expect(toReviews.p95Ms).toBeGreaterThan(0);
    for (const service of ['productpage', 'details', 'reviews', 'ratings'])
      for (const s of sim.serviceSecondsOf(service)) expect(s.allowed + s.limited).toBe(s.sent);
  });
});

describe('calls from another cluster', () => {
  it("counts a remote caller's load as its calls, and the callee's own calls go on from there", () => {
    const sim = simulator({
      loads: { reviews: steady(10) },
      calls: { reviews: ['ratings'] },
      remoteCallers: { reviews: 'east/default/productpage' },
    });
    run(sim, 12);
    const edges = sim.edgeRates(5);
    expect(edges.map((e) => `${e.from}>${e.to}`)).toEqual([
      'default/reviews>default/ratings',
      'east/default/productpage>default/reviews',
    ]);
    expect(edges.find((e) => e.from === 'east/default/productpage')!.rps).toBeCloseTo(10, 0);
  });
});

describe('the load caps', () => {
  it('refuses a load over the cap per Service or over the mesh total, calls included', () => {
    const sim = simulator({ calls: BOOKINFO_CALLS });
    expect(() => sim.setLoad('reviews', steady(MAX_SERVICE_RPS + 1))).toThrow(
      `load of reviews: ${MAX_SERVICE_RPS + 1} requests per second is over the simulator's cap of ${MAX_SERVICE_RPS} per Service`,
    );
    expect(() => sim.setLoad('reviews', { kind: 'wave', minRps: 0, maxRps: 1e6, periodMs: 1000 })).toThrow(
      /over the simulator's cap/,
    );
    // productpage's requests are decided at productpage, details, reviews, ratings and rating-rpc: five
    // times over; reviews' three times, ratings' twice (at rating-rpc too). Bookinfo with every Service at
    // the cap is the mesh's cap.
    sim.setLoad('productpage', steady(MAX_SERVICE_RPS));
    sim.setLoad('reviews', steady(MAX_SERVICE_RPS));
    sim.setLoad('details', steady(MAX_SERVICE_RPS));
    expect((5 + 3 + 1 + 2) * MAX_SERVICE_RPS).toBe(MAX_MESH_RPS);
    expect(sim.loadCapProblems('ratings', steady(MAX_SERVICE_RPS))).toEqual([]);
    sim.setLoad('ratings', steady(MAX_SERVICE_RPS));
    expect(sim.loadCapProblems('extra', steady(1))).toEqual([
      `with this load the mesh would simulate up to ${MAX_MESH_RPS + 1} requests per second (calls between Services included), over the simulator's cap of ${MAX_MESH_RPS}`,
    ]);
    // Lowering a load is always possible.
    expect(sim.loadCapProblems('productpage', steady(0))).toEqual([]);
  });

  it('simulates at most the last maxCatchUpMs of a long pause', () => {
    const sim = simulator({ loads: { reviews: steady(100) } });
    sim.step(10_000, 1_000);
    const sent = sim.serviceSecondsOf('reviews');
    expect(sent.map((s) => s.second)).toEqual([9]);
    expect(sent[0]?.sent).toBe(100);
  });
});
