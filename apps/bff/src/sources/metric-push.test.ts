import { describe, expect, it, vi } from 'vitest';
import { testScope } from '../../test/support/test-scope';
import { limiterModule } from '../modules/limiter/module';
import type { SmartLimiter } from '@governor/crd-types';
import { ControlPlane } from '../framework/control-plane';
import { createHttpServer } from '../server/http-server';
import { limiterFrom, seedBookinfo } from '../../test/support/controller-suite';
import { combineMetricSources, PushedMetrics } from './metric-push';

const reviews = { metadata: { namespace: 'default', name: 'reviews' } } as SmartLimiter;

describe('PushedMetrics', () => {
  it('keys values by set, holds them for their TTL, then reads 0', () => {
    let now = 1_000_000;
    const pushed = new PushedMetrics(() => now);
    expect(
      pushed.push({ namespace: 'default', service: 'reviews', values: { queue: 120 }, ttlSeconds: 10 })
        .status,
    ).toBe(200);
    expect(
      pushed.push({ namespace: 'default', service: 'reviews', set: 'v2', values: { 'cpu.sum': 3.5 } }).status,
    ).toBe(200);
    expect(pushed.metricsFor(reviews).values).toEqual({ '_base.queue': 120, 'v2.cpu.sum': 3.5 });
    now += 10_001;
    expect(pushed.metricsFor(reviews).values).toEqual({ '_base.queue': 0, 'v2.cpu.sum': 3.5 });
    now += 60_000;
    expect(pushed.metricsFor(reviews).values).toEqual({ '_base.queue': 0, 'v2.cpu.sum': 0 });
  });

  it('refuses bad payloads with a message and stores nothing', () => {
    const pushed = new PushedMetrics();
    for (const bad of [
      null,
      [],
      { namespace: 'default', service: 'reviews', values: {} },
      { namespace: 'Default', service: 'reviews', values: { a: 1 } },
      { namespace: 'default', service: 'reviews', values: { a: 'high' } },
      { namespace: 'default', service: 'reviews', values: { a: 1 }, ttlSeconds: 0 },
      { namespace: 'default', service: 'reviews', values: { 'a b': 1 } },
      { namespace: 'default', service: 'reviews', values: { a: 1 }, extra: true },
    ]) {
      const r = pushed.push(bad);
      expect(r.status).toBe(400);
      expect('message' in r.body && r.body.message.length).toBeGreaterThan(0);
    }
    expect(pushed.metricsFor(reviews).values).toEqual({});
  });

  it('combines sources: values merged, unavailable when one is', () => {
    const a = new PushedMetrics();
    a.push({ namespace: 'default', service: 'reviews', values: { x: 1 } });
    const down = {
      metricsFor: () => ({
        values: { '_base.y': 2 },
        health: { available: false, message: 'Prometheus did not answer' },
      }),
    };
    expect(combineMetricSources(a, down).metricsFor(reviews)).toEqual({
      values: { '_base.x': 1, '_base.y': 2 },
      health: { available: false, message: 'Prometheus did not answer' },
    });
  });
});

describe('POST /api/metrics/push', () => {
  const scope = testScope();

  it('drives a condition through the control plane; expiry switches it back; bad payloads get 400', async () => {
    let now = Date.now();
    const pushed = new PushedMetrics(() => now);
    const server = createHttpServer({
      info: { name: 'governor', version: 'test', mode: 'embedded', startedAt: new Date().toISOString() },
      metricPush: (body) => pushed.push(body),
    });
    const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
    scope.defer(() => server.close());
    const store = await scope.store();
    await seedBookinfo(store, 'default');
    const limiter = limiterFrom('doc-a-single-inbound.yaml', 'default');
    const spec = JSON.parse(
      JSON.stringify(limiter.spec).replace('"condition":"true"', '"condition":"{{._base.queue}} > 100"'),
    ) as unknown;
    await store.create({ ...limiter, spec });
    const plane = new ControlPlane({ store, modules: [limiterModule({ metrics: pushed })], tickMs: 50 });
    scope.defer(() => plane.stop());

    const post = (body: unknown, contentType = 'application/json') =>
      fetch(`${url}/api/metrics/push`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify(body),
      });
    let res = await post({
      namespace: 'default',
      service: 'reviews',
      values: { queue: 150 },
      ttlSeconds: 30,
    });
    expect(res.status).toBe(200);
    await plane.start();
    await vi.waitFor(
      async () =>
        expect(await store.get('EnvoyFilter', 'default', 'reviews.default.ratelimit')).not.toBeNull(),
      {
        timeout: 5000,
      },
    );
    // The TTL runs out: the value reads 0, the condition is false, the EnvoyFilter goes.
    now += 31_000;
    await vi.waitFor(
      async () => expect(await store.get('EnvoyFilter', 'default', 'reviews.default.ratelimit')).toBeNull(),
      {
        timeout: 5000,
      },
    );
    const status = (await store.get('SmartLimiter', 'default', 'reviews'))?.status as SmartLimiter['status'];
    expect(status?.metricStatus?.['_base.queue']).toBe('0');

    res = await post({ namespace: 'default', service: 'reviews', values: { queue: 'lots' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain('values.queue');
    res = await post({ namespace: 'default', service: 'reviews', values: { queue: 1 } }, 'text/plain');
    expect(res.status).toBe(415);
    res = await fetch(`${url}/api/metrics/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(res.status).toBe(400);
    res = await fetch(`${url}/api/metrics/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        namespace: 'default',
        service: 'reviews',
        values: { pad: 1 },
        padding: 'x'.repeat(70_000),
      }),
    });
    expect(res.status).toBe(413);
    expect(
      pushed.metricsFor({ metadata: { namespace: 'default', name: 'reviews' } } as SmartLimiter).values,
    ).toEqual({ '_base.queue': 0 });
  });
});
