import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BOOKINFO_CALLS, BOOKINFO_LOADS } from '../../simulator';
import { startDemoApi, type DemoApi } from '../../../test/support/demo-api';

const WAIT = { timeout: 15_000, interval: 100 };

describe('services.topology on the demo mesh with its calls', () => {
  let demo: DemoApi;
  const caller = (who: 'viewer' | 'payments') => demo.caller(who);

  beforeAll(async () => {
    demo = await startDemoApi({ objects: [], simulator: { loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS } });
  });
  afterAll(() => demo.close());

  it('gives nodes with figures, health and badges, and calls with 5xx, 4xx, p95 and health', async () => {
    await vi.waitFor(async () => {
      const { edges } = await caller('viewer').services.topology();
      const call = edges.find(
        (e) => e.from === 'local/default/productpage' && e.to === 'local/default/reviews',
      );
      expect(call?.p95Ms).toBeGreaterThan(0);
    }, WAIT);
    const { nodes, edges } = await caller('viewer').services.topology();
    expect(nodes.map((n) => n.id)).toEqual([
      'local/default/details',
      'local/default/productpage',
      'local/default/rating-rpc',
      'local/default/ratings',
      'local/default/reviews',
    ]);
    for (const e of edges) {
      expect(nodes.some((n) => n.id === e.from) && nodes.some((n) => n.id === e.to)).toBe(true);
      expect(e.errorRps).toBeGreaterThanOrEqual(0);
      // The simulated mesh's only 4xx are the 429s of its limits.
      expect(e.clientErrorRps).toBe(e.limitedRps);
      expect(['healthy', 'degraded', 'failing', 'idle']).toContain(e.health.status);
    }
    const node = (name: string) => nodes.find((n) => n.name === name)!;
    expect(node('reviews')).toMatchObject({ cluster: 'local', namespace: 'default', known: true });
    expect(edges.every((e) => !e.crossCluster)).toBe(true);
    expect(node('reviews').rps).toBeGreaterThan(0);
    expect(node('reviews').health.status).not.toBe('idle');
    expect(node('reviews').badges.limits.map((l) => l.name)).toEqual(['reviews']);
    expect(node('ratings').badges.plugins).toEqual(['PluginManager default/ratings-fault']);
    expect(node('rating-rpc').badges.metaRouter).toEqual({
      protocol: expect.any(String),
      routers: ['default/rating-rpc'],
    });
    expect(node('reviews').badges.metaRouter).toBeNull();
    expect(node('details').badges.fence).toBeNull();
    // Scoped to the namespace asked for, and to those the user may see.
    expect((await caller('viewer').services.topology({ namespace: 'payments' })).nodes).toEqual([]);
    expect(await caller('payments').services.topology()).toEqual({ nodes: [], edges: [] });
  }, 20_000);
});
