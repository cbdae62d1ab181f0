import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SmartLimiter } from '@governor/crd-types';
import {
  DEFAULT_QUERIES,
  defaultQueries,
  instantQuery,
  PrometheusMetricSource,
  queriesFromHandlers,
  substitute,
} from './prometheus';

/** An HTTP endpoint answering the instant-query API as the test says: our client's wire format. */
async function serve(
  answer: (query: string) => { status: number; body: unknown },
): Promise<{ url: string; queries: string[]; server: Server }> {
  const queries: string[] = [];
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    queries.push(q);
    const { status, body } = answer(q);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queries, server };
}

const vector = (...values: number[]) => ({
  status: 200,
  body: {
    status: 'success',
    data: { resultType: 'vector', result: values.map((v) => ({ metric: {}, value: [0, String(v)] })) },
  },
});

const limiter = { metadata: { namespace: 'default', name: 'reviews' } } as SmartLimiter;

describe('substitute', () => {
  it('fills in the namespace and the set pods as an escaped regex; an empty set matches nothing', () => {
    expect(substitute('x{namespace="$namespace",pod=~"$pod_name"}', 'default', ['a-1', 'b.2'])).toBe(
      'x{namespace="default",pod=~"a-1|b\\.2"}',
    );
    expect(substitute('pod=~"$pod_name"', 'ns', [])).toBe('pod=~"$^"');
  });
});

describe('the Prometheus source', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('sums a vector, reads a scalar, and says nothing for an empty vector', async () => {
    const { url, server } = await serve((q) =>
      q === 'empty'
        ? vector()
        : q === 'scalar'
          ? { status: 200, body: { status: 'success', data: { resultType: 'scalar', result: [0, '7'] } } }
          : vector(1.5, 2),
    );
    servers.push(server);
    expect(await instantQuery({ url }, 'two')).toBe(3.5);
    expect(await instantQuery({ url }, 'scalar')).toBe(7);
    expect(await instantQuery({ url }, 'empty')).toBeUndefined();
  });

  it("reports Prometheus' own error for a bad query", async () => {
    const { url, server } = await serve(() => ({
      status: 400,
      body: { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' },
    }));
    servers.push(server);
    await expect(instantQuery({ url }, 'sum(')).rejects.toThrow('parse error at char 3');
  });

  it('keys values by set and name, keeps the last good values when Prometheus fails, and recovers', async () => {
    let up = true;
    const { url, queries, server } = await serve((q) =>
      up ? vector(q.includes('r1') ? 40 : 80) : { status: 503, body: 'down' },
    );
    servers.push(server);
    let now = 0;
    const source = new PrometheusMetricSource({
      url,
      retries: 0,
      queries: [{ name: 'cpu.percent', query: 'cpu{pod=~"$pod_name"}' }],
      staleAfterMs: 10_000,
      now: () => now,
    });
    expect(source.metricsFor(limiter).health.available).toBe(false);
    const target = {
      namespace: 'default',
      name: 'reviews',
      sets: [
        { name: '_base', pods: ['r1', 'r2'] },
        { name: 'v2', pods: ['r2'] },
      ],
    };
    await source.refresh([target]);
    expect(queries).toEqual(['cpu{pod=~"r1|r2"}', 'cpu{pod=~"r2"}']);
    expect(source.metricsFor(limiter)).toEqual({
      values: { '_base.cpu.percent': 40, 'v2.cpu.percent': 80 },
      health: { available: true },
    });
    up = false;
    now += 1000;
    await source.refresh([target]);
    const down = source.metricsFor(limiter);
    expect(down.values).toEqual({ '_base.cpu.percent': 40, 'v2.cpu.percent': 80 });
    expect(down.health.available).toBe(false);
    expect(down.health.message).toMatch(/did not answer/);
    up = true;
    await source.refresh([target]);
    expect(source.metricsFor(limiter).health.available).toBe(true);
    now += 20_000;
    expect(source.metricsFor(limiter).health).toMatchObject({
      available: false,
      message: expect.stringMatching(/older than/) as unknown as string,
    });
  });
});

describe('named queries', () => {
  it("reads Slime's handlers (flat or nested in its module config) over the defaults", () => {
    const custom = 'sum(my_queue_length{namespace="$namespace",pod=~"$pod_name"})';
    const flat = queriesFromHandlers({
      handlers: { 'queue.length': { query: custom }, 'cpu.sum': { query: 'sum(x)' } },
    });
    expect(flat.find((q) => q.name === 'queue.length')?.query).toBe(custom);
    expect(flat.find((q) => q.name === 'cpu.sum')?.query).toBe('sum(x)');
    expect(flat.find((q) => q.name === 'cpu.percent')).toEqual(DEFAULT_QUERIES[0]);
    expect(flat).toHaveLength(DEFAULT_QUERIES.length + 1);
    const nested = queriesFromHandlers({ metric: { prometheus: { handlers: { rt90: { query: 'q' } } } } });
    expect(nested.map((q) => q.name)).toContain('rt90');
  });

  it('names what is wrong in a handlers file', () => {
    expect(() => queriesFromHandlers({ handler: {} })).toThrow(/expected `handlers/);
    expect(() => queriesFromHandlers({ handlers: { 'cpu sum': { query: 'x' } } })).toThrow(/dotted words/);
    expect(() => queriesFromHandlers({ handlers: { q: { query: ' ' } } })).toThrow(
      /handlers\.q\.query: an empty query/,
    );
    expect(() => queriesFromHandlers({ handlers: { q: { query: 'x', step: 1 } } })).toThrow(/handlers\.q/);
  });

  it('builds the defaults over a chosen rate window and refuses a bad one', () => {
    expect(defaultQueries('15s')[0]!.query).toContain('[15s]');
    expect(() => defaultQueries('15 seconds')).toThrow(/Prometheus duration/);
  });
});
