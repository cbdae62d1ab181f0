/**
 * Observed calls through a real Prometheus (Debian's package, on a free loopback port): it scrapes an
 * endpoint exposing `istio_requests_total` as an Istio sidecar's reporter="destination" side does, with the
 * source and destination labels the lazyload query groups by, and `PrometheusCalls` asks it per workload.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ObservedCalls } from '../../src/sources/observed-calls';
import { PrometheusCalls, SLIME_CALLS_QUERY } from '../../src/sources/prometheus-calls';
import { PrometheusServer } from '../support/prometheus-server';

const WAIT = { timeout: 30_000, interval: 250 };

/** Requests counted per (source namespace, source app, destination service), as sidecars report them. */
const counters = new Map<string, number>();
const key = (ns: string, app: string, dest: string) => JSON.stringify([ns, app, dest]);
const call = (ns: string, app: string, dest: string, n = 1) =>
  counters.set(key(ns, app, dest), (counters.get(key(ns, app, dest)) ?? 0) + n);

function exposition(): string {
  const lines = [
    '# HELP istio_requests_total Total number of requests.',
    '# TYPE istio_requests_total counter',
  ];
  for (const [k, v] of counters) {
    const [ns, app, dest] = JSON.parse(k) as [string, string, string];
    const [name, destNs] = dest.split('.') as [string, string];
    lines.push(
      `istio_requests_total{reporter="destination",source_app="${app}",source_workload="${app}-v1",` +
        `source_workload_namespace="${ns}",destination_service="${dest}",destination_service_name="${name}",` +
        `destination_service_namespace="${destNs}",response_code="200"} ${v}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

describe('observed calls from a real Prometheus', () => {
  let sidecars: Server;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    sidecars = createServer((req, res) => {
      res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(req.url === '/metrics' ? exposition() : '');
    });
    await new Promise<void>((r) => sidecars.listen(0, '127.0.0.1', r));
    const port = (sidecars.address() as AddressInfo).port;
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${port}`], scrapeInterval: '1s' });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.destroy();
    await new Promise((r) => sidecars?.close(r));
  });

  it('a workload’s calls to services appear in ObservedCalls, with counts, per namespace', async () => {
    call('default', 'productpage', 'reviews.default.svc.cluster.local', 5);
    call('default', 'productpage', 'details.default.svc.cluster.local', 2);
    call('shop', 'productpage', 'ratings.shop.svc.cluster.local', 1);
    call('default', 'reviews', 'ratings.default.svc.cluster.local', 7);
    const calls = new ObservedCalls();
    const fresh: string[] = [];
    calls.onNewCall((c) => fresh.push(`${c.source.namespace}/${c.source.app} → ${c.destination}`));
    const source = new PrometheusCalls({
      calls,
      prometheusUrl: prometheus.url,
      workloads: () => [{ namespace: 'default', app: 'productpage' }],
      intervalMs: 200,
    });
    source.start();
    try {
      await vi.waitFor(() => {
        expect(
          calls.callsFrom('default', 'productpage').get('reviews.default.svc.cluster.local'),
        ).toMatchObject({ count: 5, via: ['prometheus'] });
        expect(
          calls.callsFrom('default', 'productpage').get('details.default.svc.cluster.local')?.count,
        ).toBe(2);
      }, WAIT);
      // Only the fenced workload is asked for, and only its own namespace's series count.
      expect([...calls.callsFrom('default', 'productpage').keys()].sort()).toEqual([
        'details.default.svc.cluster.local',
        'reviews.default.svc.cluster.local',
      ]);
      expect(calls.callsFrom('default', 'reviews').size).toBe(0);

      // A call to a new service shows up on a later poll, and is announced.
      call('default', 'productpage', 'ratings.default.svc.cluster.local', 1);
      call('default', 'productpage', 'reviews.default.svc.cluster.local', 3);
      await vi.waitFor(() => {
        expect(calls.callsFrom('default', 'productpage').has('ratings.default.svc.cluster.local')).toBe(true);
        expect(
          calls.callsFrom('default', 'productpage').get('reviews.default.svc.cluster.local')?.count,
        ).toBe(8);
      }, WAIT);
      expect(fresh).toContain('default/productpage → ratings.default.svc.cluster.local');
      expect(calls.health()).toEqual({ available: true });
    } finally {
      await source.stop();
    }
  }, 60_000);

  it("Slime's own query, across namespaces, through the same Prometheus", async () => {
    call('default', 'reviews', 'ratings.default.svc.cluster.local', 1);
    const calls = new ObservedCalls();
    const source = new PrometheusCalls({
      calls,
      prometheusUrl: prometheus.url,
      query: SLIME_CALLS_QUERY,
      workloads: () => [{ namespace: 'default', app: 'productpage' }],
    });
    await vi.waitFor(async () => {
      await source.refreshNow();
      // Slime's query does not hold to the namespace: shop's productpage counts too.
      expect([...calls.callsFrom('default', 'productpage').keys()].sort()).toEqual([
        'details.default.svc.cluster.local',
        'ratings.default.svc.cluster.local',
        'ratings.shop.svc.cluster.local',
        'reviews.default.svc.cluster.local',
      ]);
    }, WAIT);
  }, 60_000);

  it('a Prometheus that is down is reported, and its recovery clears the report', async () => {
    const calls = new ObservedCalls();
    const source = new PrometheusCalls({
      calls,
      prometheusUrl: prometheus.url,
      workloads: () => [{ namespace: 'default', app: 'productpage' }],
      timeoutMs: 1000,
    });
    await prometheus.stop();
    try {
      await source.refreshNow();
      expect(calls.health().available).toBe(false);
      expect(calls.health().message).toContain(`prometheus: Prometheus at ${prometheus.url}`);
    } finally {
      await prometheus.start();
    }
    await vi.waitFor(async () => {
      await source.refreshNow();
      expect(calls.health()).toEqual({ available: true });
      expect(calls.callsFrom('default', 'productpage').size).toBeGreaterThan(0);
    }, WAIT);
  }, 90_000);
});
