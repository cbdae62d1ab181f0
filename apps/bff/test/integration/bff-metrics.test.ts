/**
 * The BFF's `GET /metrics` as Prometheus reads it: a demo BFF (embedded store, simulated mesh, rate-limit
 * service) scraped every second by a real Prometheus (Debian's package, on a free loopback port), and the
 * controller's and engines' series asked back through Prometheus' query API.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../../src/cluster/store';
import { RECONCILE_DURATION_BUCKETS } from '../../src/framework/controller-metrics';
import { rlsClientConstructor } from '../../src/rls/rls-server';
import { startDemoBff, type DemoBff } from '../support/demo-bff';
import { PrometheusServer } from '../support/prometheus-server';

const WAIT = { timeout: 30_000, interval: 250 };
const TEST_TIMEOUT = 120_000;

interface Series {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe("the BFF's /metrics, scraped by a real Prometheus", () => {
  let demo: DemoBff;
  let prometheus: PrometheusServer;
  let rlsPort: number;

  beforeAll(async () => {
    demo = await startDemoBff({ rls: {} });
    rlsPort = await demo.bff.listenRls('127.0.0.1', 0);
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${demo.port}`], scrapeInterval: '1s' });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.destroy();
    await demo?.close();
  });

  /** An instant query's series; throws (so that waitFor retries) when Prometheus answers an error. */
  async function query(promql: string): Promise<Series[]> {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as { status: string; error?: string; data?: { result: Series[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error ?? res.status}`);
    return body.data!.result;
  }

  /** The value of a query that answers one series; NaN while it answers none. */
  async function scalar(promql: string): Promise<number> {
    const result = await query(promql);
    expect(result.length, `${promql}: ${JSON.stringify(result)}`).toBeLessThanOrEqual(1);
    return result[0] ? Number(result[0].value[1]) : Number.NaN;
  }

  /** Waits until `promql` has a value above `above`, and returns it. */
  async function waitAbove(promql: string, above: number): Promise<number> {
    return vi.waitFor(async () => {
      const v = await scalar(promql);
      expect(v, `${promql} (log: ${prometheus.log().slice(-500)})`).toBeGreaterThan(above);
      return v;
    }, WAIT);
  }

  /** Asks the rate-limit service `n` times, over gRPC, as Envoy would. */
  async function callRls(n: number): Promise<void> {
    const Client = rlsClientConstructor();
    const c = new Client(
      `127.0.0.1:${rlsPort}`,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      ShouldRateLimit: (
        req: unknown,
        cb: (e: grpc.ServiceError | null, r: { overall_code: string }) => void,
      ) => void;
    };
    try {
      for (let i = 0; i < n; i++) {
        const r = await new Promise<{ overall_code: string }>((resolve, reject) =>
          c.ShouldRateLimit(
            {
              domain: 'governor',
              descriptors: [{ entries: [{ key: 'generic_key', value: 'no-rule-here' }] }],
              hits_addend: 1,
            },
            (e, res) => (e ? reject(e) : resolve(res)),
          ),
        );
        expect(r.overall_code).toBe('OK');
      }
    } finally {
      c.close();
    }
  }

  it('serves one exposition: the controller families, then the mesh families, each declared once', async () => {
    const res = await fetch(`${demo.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const typed = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    expect(new Set(typed).size).toBe(typed.length);
    expect(typed).toEqual(
      expect.arrayContaining([
        'governor_controller_reconciles_total',
        'governor_controller_reconcile_duration_seconds',
        'governor_controller_queue_depth',
        'governor_engine_decisions_total',
        'istio_requests_total',
      ]),
    );
    expect(typed.indexOf('governor_engine_decisions_total')).toBeLessThan(
      typed.indexOf('istio_requests_total'),
    );
  });

  it(
    'Prometheus scrapes it, and reads the engines’ decisions growing, from the mesh and the RLS',
    async () => {
      await vi.waitFor(async () => expect(await scalar('up{job="governor"}')).toBe(1), WAIT);
      const mesh = 'sum(governor_engine_decisions_total{source="mesh"})';
      const first = await waitAbove(mesh, 0);
      await waitAbove(mesh, first);

      const rls = 'sum(governor_engine_decisions_total{source="rls",outcome="allowed"})';
      await callRls(3);
      const afterThree = await waitAbove(rls, 2);
      await callRls(2);
      expect(await waitAbove(rls, afterThree)).toBe(afterThree + 2);
    },
    TEST_TIMEOUT,
  );

  it(
    "reads the limiter controller's reconciles growing, its queue depth and its duration buckets",
    async () => {
      const reconciles = 'sum(governor_controller_reconciles_total{module="limiter"})';
      // The seeded SmartLimiters were reconciled at start.
      const before = await waitAbove(reconciles, 0);
      // A change to a SmartLimiter is reconciled again.
      const current = (await demo.store.get('SmartLimiter', 'default', 'reviews')) as KubeObject;
      await demo.store.update({
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...current.metadata.annotations, 'test.governor.io/touched': String(Date.now()) },
        },
      });
      await waitAbove(reconciles, before);

      const depth = await vi.waitFor(async () => {
        const series = await query('governor_controller_queue_depth{module="limiter"}');
        expect(series).toHaveLength(1);
        return Number(series[0]!.value[1]);
      }, WAIT);
      expect(depth).toBeGreaterThanOrEqual(0);

      await vi.waitFor(async () => {
        const buckets = await query(
          'governor_controller_reconcile_duration_seconds_bucket{module="limiter"}',
        );
        expect(buckets.map((s) => s.metric.le).sort()).toEqual(
          [...RECONCILE_DURATION_BUCKETS.map(String), '+Inf'].sort(),
        );
        const inf = Number(buckets.find((s) => s.metric.le === '+Inf')!.value[1]);
        expect(inf).toBeGreaterThan(0);
        expect(
          await scalar('sum(governor_controller_reconcile_duration_seconds_count{module="limiter"})'),
        ).toBe(inf);
      }, WAIT);
    },
    TEST_TIMEOUT,
  );
});
