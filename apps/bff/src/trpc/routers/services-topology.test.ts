import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from '../../cluster/embedded-store';
import { seedDemoMesh } from '../../demo/seed';
import { Governor } from '../../governor';
import { AuditLog } from '../../audit/audit-log';
import { Auth, type User } from '../../auth/auth';
import { createApi, eventHooks, type Api } from '../create-api';
import { Feed } from '../../lib/feed';
import type { ApiEvent } from '../../api/deps';
import { appRouter } from '../router';
import { MODULES } from '../../modules';
import { BOOKINFO_CALLS, BOOKINFO_LOADS } from '../../simulator';

const WAIT = { timeout: 15_000, interval: 100 };

describe('services.topology on the demo mesh with its calls', () => {
  let store: EmbeddedStore;
  let governor: Governor;
  let api: Api;
  const users: Record<string, User> = {
    viewer: { name: 'vic', role: 'viewer', namespaces: '*' },
    elsewhere: { name: 'olga', role: 'editor', namespaces: ['payments'] },
  };
  const caller = (who: keyof typeof users) =>
    appRouter.createCaller({
      deps: api.deps,
      user: users[who]!,
      via: 'bearer',
      sessionId: null,
      origin: undefined,
      res: undefined,
    });

  beforeAll(async () => {
    store = await EmbeddedStore.open({});
    await seedDemoMesh(store);
    const events = new Feed<ApiEvent>(1000);
    governor = new Governor({
      modules: MODULES,
      store,
      simulate: true,
      metrics: { tickMs: 0, metricTickMs: 200, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      simulator: { tickMs: 50, loads: BOOKINFO_LOADS, calls: BOOKINFO_CALLS },
      ...eventHooks(events),
    });
    api = createApi(
      { governor, store, mode: 'embedded', auth: new Auth(), audit: new AuditLog(), allowedOrigins: [] },
      events,
    );
    await governor.start();
    api.start();
  });
  afterAll(async () => {
    api.stop();
    await governor.stop();
    await store.close();
  });

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
    expect(await caller('elsewhere').services.topology()).toEqual({ nodes: [], edges: [] });
  }, 20_000);
});
