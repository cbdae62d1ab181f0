import type { Pod } from '@governor/crd-types';
import { describe, expect, it } from 'vitest';
import { insertBeforeRouter } from '../../test/support/envoy-filters';
import { parseExposition } from '../../test/support/exposition';
import { bookinfoMesh, bookinfoSimulator, requestCount, runFor } from '../../test/support/simulated-mesh';
import { durationMs, Faults, fractionOf, nextFires, typedFaultSettings } from './faults';
import type { SimulatorOptions } from './simulator';

const mesh = bookinfoMesh;
const podOf = (app: string): Pod => mesh.pods.find((p) => p.metadata.labels?.['app'] === app)!;

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const HTTP_FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

const abort = (status: number, numerator: number, denominator = 'HUNDRED') => ({
  abort: { http_status: status, percentage: { numerator, denominator } },
});

let version = 0;

/** The fault filter on an app's inbound listener, as Slime's plugin module renders one. */
function faultFilter(
  app: string,
  settings: unknown,
  options: { name?: string; disabled?: boolean; context?: string; rv?: string; port?: number } = {},
) {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: {
      name: options.name ?? `${app}-fault`,
      namespace: 'default',
      resourceVersion: options.rv ?? `v${++version}`,
    },
    spec: {
      workloadSelector: { labels: { app } },
      configPatches: [
        insertBeforeRouter(options.context ?? 'SIDECAR_INBOUND', options.port, {
          name: 'envoy.filters.http.fault',
          ...(options.disabled !== undefined ? { disabled: options.disabled } : {}),
          typed_config: { '@type': TYPED_STRUCT, type_url: HTTP_FAULT, value: settings },
        }),
      ],
    },
  };
}

/** A per-route setting for the app's inbound route configuration. */
function perRoute(app: string, applyTo: string, settings: unknown, typedPerFilterConfig = true) {
  const key = typedPerFilterConfig ? 'typedPerFilterConfig' : 'typed_per_filter_config';
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: {
      name: `${app}-route-${applyTo.toLowerCase()}`,
      namespace: 'default',
      resourceVersion: `v${++version}`,
    },
    spec: {
      workloadSelector: { labels: { app } },
      configPatches: [
        {
          applyTo,
          match: {
            context: 'SIDECAR_INBOUND',
            routeConfiguration: {
              portNumber: 9080,
              ...(applyTo !== 'ROUTE_CONFIGURATION'
                ? {
                    vhost: {
                      name: 'inbound|http|9080',
                      ...(applyTo === 'HTTP_ROUTE' ? { route: { name: 'default' } } : {}),
                    },
                  }
                : {}),
            },
          },
          patch: {
            operation: 'MERGE',
            value: {
              [key]: {
                'envoy.filters.http.fault': { '@type': TYPED_STRUCT, type_url: HTTP_FAULT, value: settings },
              },
            },
          },
        },
      ],
    },
  };
}

const simulator = (options: Partial<SimulatorOptions> = {}) => bookinfoSimulator(11, options);

describe('the fault settings Envoy reads', () => {
  it('reads fractional percentages with their denominators', () => {
    expect(fractionOf({ numerator: 30, denominator: 'HUNDRED' })).toBe(0.3);
    expect(fractionOf({ numerator: 30 })).toBe(0.3);
    expect(fractionOf({ numerator: 25, denominator: 'TEN_THOUSAND' })).toBe(0.0025);
    expect(fractionOf({ numerator: 5, denominator: 'MILLION' })).toBe(0.000005);
    expect(fractionOf({ numerator: 250 })).toBe(1);
    expect(fractionOf(undefined)).toBe(0);
  });

  it('reads durations as JSON strings and as objects', () => {
    expect(durationMs('0.5s')).toBe(500);
    expect(durationMs('2s')).toBe(2000);
    expect(durationMs({ seconds: 1, nanos: 250_000_000 })).toBe(1250);
    expect(durationMs('5ms')).toBeUndefined();
  });

  it('reads a TypedStruct, the HTTPFault message itself, and JSON field names', () => {
    expect(
      typedFaultSettings({ '@type': TYPED_STRUCT, type_url: HTTP_FAULT, value: abort(429, 30) }),
    ).toEqual({
      abort: { httpStatus: 429, fraction: 0.3 },
    });
    expect(
      typedFaultSettings({
        '@type': HTTP_FAULT,
        delay: { fixedDelay: '0.5s', percentage: { numerator: 10 } },
        abort: { grpcStatus: 14, percentage: { numerator: 1 } },
      }),
    ).toEqual({
      delay: { delayMs: 500, fraction: 0.1 },
      abort: { httpStatus: 200, grpcStatus: 14, fraction: 0.01 },
    });
  });

  it('fires exactly the fraction asked, spread evenly', () => {
    let carry = 0;
    const fired: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const r = nextFires(carry, 0.3);
      carry = r.carry;
      fired.push(r.fires);
    }
    expect(fired.filter(Boolean)).toHaveLength(3);
    expect(fired.slice(0, 4)).toEqual([false, false, false, true]);
    let n = 0;
    carry = 0;
    for (let i = 0; i < 1000; i++) {
      const r = nextFires(carry, 0.1);
      carry = r.carry;
      if (r.fires) n++;
    }
    expect(n).toBe(100);
  });
});

describe('which workloads get the fault filter', () => {
  it('applies an inbound HTTP_FILTER to the pods its workload selector matches', () => {
    const faults = new Faults([faultFilter('ratings', abort(503, 50))]);
    expect(faults.faultOf(podOf('ratings'), 9080)).toEqual({ abort: { httpStatus: 503, fraction: 0.5 } });
    expect(faults.faultOf(podOf('reviews'), 9080)).toBeUndefined();
  });

  it('takes ANY as inbound, and ignores outbound, other ports and disabled filters', () => {
    const ratings = podOf('ratings');
    expect(
      new Faults([faultFilter('ratings', abort(503, 50), { context: 'ANY' })]).faultOf(ratings, 9080),
    ).toBeDefined();
    expect(
      new Faults([faultFilter('ratings', abort(503, 50), { context: 'SIDECAR_OUTBOUND' })]).faultOf(
        ratings,
        9080,
      ),
    ).toBeUndefined();
    expect(
      new Faults([faultFilter('ratings', abort(503, 50), { port: 9090 })]).faultOf(ratings, 9080),
    ).toBeUndefined();
    expect(
      new Faults([faultFilter('ratings', abort(503, 50), { port: 9080 })]).faultOf(ratings, 9080),
    ).toBeDefined();
    expect(
      new Faults([faultFilter('ratings', abort(503, 50), { disabled: true })]).faultOf(ratings, 9080),
    ).toBeUndefined();
  });

  it('reads an EnvoyFilter in the root namespace for every workload, and none in another namespace', () => {
    const root = faultFilter('ratings', abort(503, 50));
    const elsewhere = faultFilter('ratings', abort(503, 50));
    root.metadata.namespace = 'istio-system';
    elsewhere.metadata.namespace = 'other';
    expect(new Faults([root]).faultOf(podOf('ratings'), 9080)).toBeDefined();
    expect(new Faults([elsewhere]).faultOf(podOf('ratings'), 9080)).toBeUndefined();
  });

  it('prefers the most specific per-route setting to the inline one', () => {
    const ratings = podOf('ratings');
    const filter = faultFilter('ratings', abort(503, 50));
    expect(
      new Faults([filter, perRoute('ratings', 'ROUTE_CONFIGURATION', abort(500, 20))]).faultOf(ratings, 9080),
    ).toEqual({ abort: { httpStatus: 500, fraction: 0.2 } });
    expect(
      new Faults([
        filter,
        perRoute('ratings', 'ROUTE_CONFIGURATION', abort(500, 20)),
        perRoute('ratings', 'HTTP_ROUTE', abort(502, 10), false),
        perRoute('ratings', 'VIRTUAL_HOST', abort(504, 10)),
      ]).faultOf(ratings, 9080),
    ).toEqual({ abort: { httpStatus: 502, fraction: 0.1 } });
    // Without the filter in the connection manager, a per-route setting does nothing.
    expect(
      new Faults([perRoute('ratings', 'HTTP_ROUTE', abort(502, 10))]).faultOf(ratings, 9080),
    ).toBeUndefined();
    // The filter without settings of its own, and its route's setting.
    expect(
      new Faults([faultFilter('ratings', {}), perRoute('ratings', 'VIRTUAL_HOST', abort(504, 10))]).faultOf(
        ratings,
        9080,
      ),
    ).toEqual({ abort: { httpStatus: 504, fraction: 0.1 } });
  });

  it("compiles Slime's rendered PluginManager: filters disabled at the filter level are inert", () => {
    const gateway = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: { name: 'gateway-sample', namespace: 'default' },
      spec: {
        workloadSelector: {},
        configPatches: [
          {
            applyTo: 'HTTP_FILTER',
            match: { context: 'GATEWAY', listener: { portNumber: 80 } },
            patch: {
              operation: 'INSERT_BEFORE',
              value: {
                disabled: true,
                name: 'envoy.filters.http.fault',
                typed_config: { '@type': TYPED_STRUCT, type_url: '', value: {} },
              },
            },
          },
        ],
      },
    };
    expect(new Faults([gateway]).size).toBe(0);
  });
});

describe('the mesh honours the fault filter', () => {
  it("aborts the fraction asked of a workload's inbound requests, counted with the status", () => {
    const filters = [faultFilter('ratings', abort(503, 50))];
    const sim = simulator({ envoyFilters: () => filters });
    runFor(sim, 12);
    const ratings = { destination_service_name: 'ratings' };
    const ok = requestCount(sim, { ...ratings, response_code: '200' });
    const aborted = requestCount(sim, { ...ratings, response_code: '503' });
    expect(ok).toBeGreaterThan(100);
    // Fractional accounting: exactly half, within one request per pod.
    expect(Math.abs(aborted - ok)).toBeLessThanOrEqual(1);
    // Only ratings.
    expect(requestCount(sim, { destination_service_name: 'reviews', response_code: '503' })).toBe(0);
    const values = sim.metricValues(
      'default',
      mesh.pods.filter((p) => p.metadata.labels?.['app'] === 'ratings').map((p) => p.metadata.name),
    );
    expect(values.aborted_qps! / values.qps!).toBeCloseTo(0.5, 1);
    const seconds = sim.serviceSecondsOf('ratings');
    const sent = seconds.reduce((n, s) => n + s.sent, 0);
    const abortedSeconds = seconds.reduce((n, s) => n + s.aborted, 0);
    expect(abortedSeconds).toBe(aborted);
    expect(seconds.reduce((n, s) => n + s.allowed + s.limited, 0)).toBe(sent);
    // The histogram has the aborted requests too, with their status.
    const hist = parseExposition(sim.renderMetrics()).samples.find(
      (s) =>
        s.name === 'istio_request_duration_milliseconds_count' &&
        s.labels['destination_service_name'] === 'ratings' &&
        s.labels['response_code'] === '503',
    );
    expect(hist?.value).toBe(aborted);
  });

  it('stops aborting when the EnvoyFilter goes, and compiles it once per version', () => {
    let filters: unknown[] = [faultFilter('ratings', abort(503, 100))];
    const sim = simulator({ envoyFilters: () => filters });
    runFor(sim, 3);
    const aborted = requestCount(sim, { destination_service_name: 'ratings', response_code: '503' });
    expect(aborted).toBeGreaterThan(0);
    expect(requestCount(sim, { destination_service_name: 'ratings', response_code: '200' })).toBe(0);
    filters = [];
    runFor(sim, 3);
    expect(requestCount(sim, { destination_service_name: 'ratings', response_code: '503' })).toBe(aborted);
    expect(requestCount(sim, { destination_service_name: 'ratings', response_code: '200' })).toBeGreaterThan(
      0,
    );
    // A copy of the same version reads the same; a new version is read again.
    filters = [faultFilter('ratings', abort(503, 100), { rv: 'same' })];
    runFor(sim, 1);
    filters = [faultFilter('ratings', abort(500, 100), { rv: 'same' })];
    const before = requestCount(sim, { destination_service_name: 'ratings', response_code: '500' });
    runFor(sim, 1);
    expect(requestCount(sim, { destination_service_name: 'ratings', response_code: '500' })).toBe(before);
    filters = [faultFilter('ratings', abort(500, 100), { rv: 'newer' })];
    runFor(sim, 1);
    expect(requestCount(sim, { destination_service_name: 'ratings', response_code: '500' })).toBeGreaterThan(
      0,
    );
  });

  it('an aborted request reaches no app: reviews aborted makes no calls to ratings', () => {
    const sim = simulator({ envoyFilters: () => [faultFilter('reviews', abort(503, 100))] });
    runFor(sim, 3);
    expect(requestCount(sim, { destination_service_name: 'ratings' })).toBe(0);
    expect(requestCount(sim, { destination_service_name: 'reviews', response_code: '503' })).toBeGreaterThan(
      0,
    );
  });

  it('delays the fraction asked, which shows in the latency histogram', () => {
    const delay = { delay: { fixed_delay: '0.5s', percentage: { numerator: 100 } } };
    const plain = simulator();
    const delayed = simulator({ envoyFilters: () => [faultFilter('ratings', delay)] });
    runFor(plain, 5);
    runFor(delayed, 5);
    const ratingsPods = mesh.pods
      .filter((p) => p.metadata.labels?.['app'] === 'ratings')
      .map((p) => p.metadata.name);
    expect(plain.metricValues('default', ratingsPods).rt99!).toBeLessThan(100);
    expect(delayed.metricValues('default', ratingsPods).rt99!).toBeGreaterThanOrEqual(500);
    expect(requestCount(delayed, { destination_service_name: 'ratings', response_code: '200' })).toBe(
      requestCount(plain, { destination_service_name: 'ratings', response_code: '200' }),
    );
  });

  it('answers a gRPC abort with 200 and its grpc status', () => {
    const sim = simulator({
      envoyFilters: () => [
        faultFilter('ratings', { abort: { grpc_status: 14, percentage: { numerator: 100 } } }),
      ],
    });
    runFor(sim, 2);
    expect(
      requestCount(sim, { destination_service_name: 'ratings', grpc_response_status: '14' }),
    ).toBeGreaterThan(0);
  });
});
