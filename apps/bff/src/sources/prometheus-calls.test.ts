import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { slimeFixturesDir } from '@governor/crd-types/testing';
import { ObservedCalls } from './observed-calls';
import {
  callsQueryFor,
  callsQueryFromModuleConfig,
  DEFAULT_CALLS_QUERY,
  PrometheusCalls,
  SLIME_CALLS_QUERY,
  type PrometheusCallsOptions,
  type Workload,
} from './prometheus-calls';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An HTTP endpoint answering Prometheus' instant-query API as the test says. */
async function serve(answer: (query: string) => unknown): Promise<{ url: string; queries: string[] }> {
  const queries: string[] = [];
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    queries.push(q);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer(q)));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queries };
}

const vector = (series: Record<string, number>) => ({
  status: 'success',
  data: {
    resultType: 'vector',
    result: Object.entries(series).map(([destination_service, v]) => ({
      metric: { destination_service },
      value: [0, String(v)],
    })),
  },
});

describe('callsQueryFor', () => {
  it('substitutes $namespace and $source_app as Slime does, quoting what would end the string', () => {
    expect(callsQueryFor(SLIME_CALLS_QUERY, { namespace: 'default', app: 'productpage' })).toBe(
      'sum(istio_requests_total{source_app="productpage",reporter="destination"})by(destination_service)',
    );
    expect(callsQueryFor(DEFAULT_CALLS_QUERY, { namespace: 'shop', app: 'a"b\\' })).toContain(
      'source_app="a\\"b\\\\",source_workload_namespace="shop"',
    );
  });

  it("reads the query of Slime's lazyload SlimeBoot", () => {
    const boot = parse(
      readFileSync(join(slimeFixturesDir, 'lazyload/slimeboot_lazyload.yaml'), 'utf8').replace(
        /\{\{\w+\}\}/g,
        'x',
      ),
    ) as { spec: { module: unknown[] } };
    expect(callsQueryFromModuleConfig(boot.spec.module[0])).toBe(SLIME_CALLS_QUERY);
    expect(callsQueryFromModuleConfig({ name: 'lazyload' })).toBeUndefined();
    expect(() =>
      callsQueryFromModuleConfig({ metric: { prometheus: { handlers: { destination: { query: 3 } } } } }),
    ).toThrow(/destination\.query/);
  });
});

/** A PrometheusCalls for these workloads at `prometheusUrl`, recording into calls of its own. */
function pollerOf(
  prometheusUrl: string,
  workloads: Workload[],
  options: Partial<PrometheusCallsOptions> = {},
) {
  const calls = new ObservedCalls();
  return {
    calls,
    source: new PrometheusCalls({ calls, prometheusUrl, workloads: () => workloads, ...options }),
  };
}

describe('PrometheusCalls', () => {
  it("records each workload's destinations with their counts, once per workload", async () => {
    const prom = await serve((q) =>
      q.includes('source_app="productpage"')
        ? vector({
            'reviews.default.svc.cluster.local': 12.4,
            'details.default.svc.cluster.local': 3,
            unknown: 9,
          })
        : vector({ 'ratings.default.svc.cluster.local': 0 }),
    );
    const { calls, source } = pollerOf(
      prom.url,
      [
        { namespace: 'default', app: 'productpage' },
        { namespace: 'default', app: 'productpage' },
        { namespace: 'default', app: 'reviews' },
      ],
      { now: () => 42 },
    );
    expect(await source.refreshNow()).toBe(2);
    expect(prom.queries).toHaveLength(2);
    expect(prom.queries[0]).toBe(
      callsQueryFor(DEFAULT_CALLS_QUERY, { namespace: 'default', app: 'productpage' }),
    );
    const from = calls.callsFrom('default', 'productpage');
    expect([...from.keys()].sort()).toEqual([
      'details.default.svc.cluster.local',
      'reviews.default.svc.cluster.local',
    ]);
    expect(from.get('reviews.default.svc.cluster.local')).toMatchObject({
      count: 12,
      lastSeen: 42,
      via: ['prometheus'],
    });
    // A zero count is no call.
    expect(calls.callsFrom('default', 'reviews').size).toBe(0);
    expect(calls.health()).toEqual({ available: true });
  });

  it('reports what Prometheus rejects, keeps what other queries gave, and clears the report on recovery', async () => {
    let broken = true;
    const prom = await serve((q) =>
      broken && q.includes('"bad"')
        ? { status: 'error', errorType: 'bad_data', error: 'parse error' }
        : vector({ 'reviews.default.svc.cluster.local': 1 }),
    );
    const { calls, source } = pollerOf(prom.url, [
      { namespace: 'default', app: 'bad' },
      { namespace: 'default', app: 'good' },
    ]);
    await source.refreshNow();
    expect(calls.health().available).toBe(false);
    expect(calls.health().message).toMatch(
      /^prometheus: Prometheus at http:\/\/127.0.0.1:\d+: Prometheus rejected .*parse error$/,
    );
    expect(calls.callsFrom('default', 'good').size).toBe(1);
    broken = false;
    await source.refreshNow();
    expect(calls.health()).toEqual({ available: true });
  });

  it('reports an unreachable Prometheus without its credentials', async () => {
    const { calls, source } = pollerOf(
      'http://admin:s3cret@127.0.0.1:1',
      [{ namespace: 'default', app: 'productpage' }],
      { timeoutMs: 1000 },
    );
    await source.refreshNow();
    const { available, message } = calls.health();
    expect(available).toBe(false);
    expect(message).toContain('Prometheus at http://admin:***@127.0.0.1:1');
    expect(message).not.toContain('s3cret');
  });

  it('polls every interval once started, and not after stop', async () => {
    const prom = await serve(() => vector({ 'reviews.default.svc.cluster.local': 1 }));
    const { source } = pollerOf(prom.url, [{ namespace: 'default', app: 'productpage' }], { intervalMs: 20 });
    source.start();
    await vi.waitFor(() => expect(prom.queries.length).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    await source.stop();
    const after = prom.queries.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(prom.queries.length).toBe(after);
  });

  it('refuses a query without $source_app and a bad interval', () => {
    const base = { calls: new ObservedCalls(), prometheusUrl: 'http://127.0.0.1:1', workloads: () => [] };
    expect(() => new PrometheusCalls({ ...base, query: 'up' })).toThrow(/\$source_app/);
    expect(() => new PrometheusCalls({ ...base, intervalMs: 0 })).toThrow(/intervalMs/);
  });
});
