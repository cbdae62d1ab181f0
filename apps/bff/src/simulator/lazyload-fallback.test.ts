import { describe, expect, it, vi } from 'vitest';
import { parseExposition } from '../../test/support/exposition';
import { bookinfoMesh, bookinfoSimulator, requestCount, runFor } from '../../test/support/simulated-mesh';
import { registerKind } from '../cluster/store';
import { ObservedCalls } from '../sources/observed-calls';
import { EmbeddedMesh } from './embedded-mesh';
import { BUCKETS } from './pods';
import { FALLBACK_LATENCY_MS, type Simulator, type SimulatorOptions } from './simulator';
import { BOOKINFO_CALLS } from './traffic';

const DETAILS = 'details.default.svc.cluster.local';
const REVIEWS = 'reviews.default.svc.cluster.local';
const RATINGS = 'ratings.default.svc.cluster.local';
const RATING_RPC = 'rating-rpc.default.svc.cluster.local';

/** productpage's fence: details only (and istio-system), as lazyload starts it. */
const fence = (hosts: string[] = [`*/${DETAILS}`]) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Sidecar',
  metadata: { name: 'productpage', namespace: 'default' },
  spec: {
    workloadSelector: { labels: { app: 'productpage' } },
    egress: [{ hosts: ['istio-system/*', ...hosts] }],
  },
});

const simulator = (options: Partial<SimulatorOptions> = {}) => bookinfoSimulator(7, options);

describe('the mesh records the calls it makes', () => {
  it('records every call between services once per tick and pair, with running totals', () => {
    const observed = new ObservedCalls();
    const record = vi.spyOn(observed, 'record');
    const sim = simulator({ observedCalls: observed });
    runFor(sim, 3);

    const fromProductpage = observed.callsFrom('default', 'productpage');
    expect([...fromProductpage.keys()].sort()).toEqual([DETAILS, REVIEWS]);
    expect([...observed.callsFrom('default', 'reviews').keys()]).toEqual([RATINGS]);
    expect([...observed.callsFrom('default', 'ratings').keys()]).toEqual([RATING_RPC]);
    expect(observed.callsFrom('default', 'rating-rpc').size).toBe(0);
    const details = fromProductpage.get(DETAILS)!;
    expect(details).toMatchObject({ source: { namespace: 'default', app: 'productpage' }, via: ['mesh'] });
    // Every request productpage received called details once: the counts agree with the mesh's own.
    expect(details.count).toBe(requestCount(sim, { destination_service: DETAILS }));
    expect(details.lastSeen).toBe(sim.nowMs);
    // 30 ticks and 4 pairs: at most 120 records, not one per request.
    expect(record.mock.calls.length).toBeLessThanOrEqual(120);
    expect(details.count).toBeGreaterThan(90);
  });

  it('labels istio_requests_total as Istio does for lazyload’s query: source_app, reporter, FQDN', () => {
    const sim = simulator();
    runFor(sim, 2);
    const samples = parseExposition(sim.renderMetrics()).samples.filter(
      (s) => s.name === 'istio_requests_total' && s.labels['source_app'] === 'productpage',
    );
    expect(new Set(samples.map((s) => s.labels['destination_service']))).toEqual(new Set([DETAILS, REVIEWS]));
    for (const s of samples)
      expect(s.labels).toMatchObject({
        reporter: 'destination',
        source_workload: 'productpage-v1',
        source_workload_namespace: 'default',
      });
    // Requests from outside the mesh come from `unknown`, as Istio reports them.
    expect(requestCount(sim, { source_app: 'unknown', destination_service_name: 'productpage' })).toBe(
      requestCount(sim, { destination_service_name: 'productpage' }),
    );
  });
});

describe('a fenced workload calls what its Sidecar does not list through the fallback', () => {
  it('slower, counted, exposed and recorded, until the Sidecar lists it', () => {
    const observed = new ObservedCalls();
    let sidecars: unknown[] = [fence()];
    const sim = simulator({ observedCalls: observed, sidecars: () => sidecars });
    runFor(sim, 3);

    const fallback = sim.fallbackCalls();
    expect(fallback.map((f) => [f.sourceApp, f.destination])).toEqual([['productpage', REVIEWS]]);
    const viaFallback = fallback[0]!.requests;
    expect(viaFallback).toBe(requestCount(sim, { destination_service: REVIEWS }));
    // The exposition carries the counter; reviews sees the global sidecar as its caller.
    const exposition = parseExposition(sim.renderMetrics());
    expect(exposition.types.get('governor_lazyload_fallback_requests_total')).toBe('counter');
    expect(exposition.samples.filter((s) => s.name === 'governor_lazyload_fallback_requests_total')).toEqual([
      {
        name: 'governor_lazyload_fallback_requests_total',
        labels: { source_app: 'productpage', source_namespace: 'default', destination_service: REVIEWS },
        value: viaFallback,
      },
    ]);
    expect(requestCount(sim, { source_app: 'global-sidecar', destination_service: REVIEWS })).toBe(
      viaFallback,
    );
    expect(requestCount(sim, { source_app: 'productpage', destination_service: REVIEWS })).toBe(0);
    // details is listed: direct. reviews' own calls are not fenced.
    expect(requestCount(sim, { source_app: 'productpage', destination_service: DETAILS })).toBeGreaterThan(0);
    expect(observed.callsFrom('default', 'productpage').get(REVIEWS)).toMatchObject({
      count: viaFallback,
      via: ['mesh', 'fallback'],
    });
    expect(observed.callsFrom('default', 'productpage').get(DETAILS)?.via).toEqual(['mesh']);

    // The Sidecar now lists reviews: calls go direct again, the fallback's count stops.
    sidecars = [fence([`*/${DETAILS}`, `*/${REVIEWS}`])];
    runFor(sim, 2);
    expect(sim.fallbackCalls()[0]!.requests).toBe(viaFallback);
    expect(requestCount(sim, { source_app: 'productpage', destination_service: REVIEWS })).toBeGreaterThan(0);
  });

  it(`adds ${FALLBACK_LATENCY_MS} ms to each call through the fallback, in the latency histograms`, () => {
    const durationOf = (sim: Simulator) => {
      const samples = parseExposition(sim.renderMetrics()).samples.filter(
        (s) =>
          s.labels['destination_service_name'] === 'reviews' &&
          (s.name === 'istio_request_duration_milliseconds_sum' ||
            s.name === 'istio_request_duration_milliseconds_count'),
      );
      const total = (name: string) => samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
      return {
        sum: total('istio_request_duration_milliseconds_sum'),
        count: total('istio_request_duration_milliseconds_count'),
      };
    };
    const direct = simulator();
    const fenced = simulator({ sidecars: () => [fence()] });
    runFor(direct, 3);
    runFor(fenced, 3);
    const a = durationOf(direct);
    const b = durationOf(fenced);
    // Same seed, same requests: each of reviews' requests took the detour's latency longer.
    expect(b.count).toBe(a.count);
    expect(b.sum - a.sum).toBeCloseTo(FALLBACK_LATENCY_MS * fenced.fallbackCalls()[0]!.requests, 6);
    expect(BUCKETS).toContain(5);
  });

  it('takes the Sidecars from the embedded mesh’s snapshot once the kind is known', () => {
    const list = vi.fn((kind: string) => (kind === 'Sidecar' ? [fence()] : []));
    const embedded = new EmbeddedMesh({
      context: () => bookinfoMesh,
      onClusterChange: () => () => undefined,
      snapshot: () => ({ list }),
      simulator: {
        startMs: 0,
        seed: 7,
        loads: { productpage: { kind: 'steady', rps: 50 } },
        calls: BOOKINFO_CALLS,
      },
    });
    try {
      embedded.simulator.step(1000);
      // No module registered Sidecar yet: no fences.
      expect(embedded.simulator.fallbackCalls()).toEqual([]);
      registerKind('Sidecar', {
        group: 'networking.istio.io',
        version: 'v1',
        plural: 'sidecars',
        hasStatus: false,
      });
      embedded.simulator.step(2000);
      expect(embedded.simulator.fallbackCalls().map((f) => f.destination)).toEqual([REVIEWS]);
      expect(list).toHaveBeenCalledWith('Sidecar');
    } finally {
      embedded.stop();
    }
  });
});
