import { describe, expect, it, vi } from 'vitest';
import { testScope } from '../../test/support/test-scope';
import { limiterModule } from '../modules/limiter/module';
import { seedDemoMesh } from '../demo/seed';
import { ControlPlane } from './control-plane';
import type { Module } from './module';

describe('ControlPlane on the embedded demo mesh', () => {
  const scope = testScope();

  it('seeds Bookinfo once, elects itself leader and renders every SmartLimiter Ready', async () => {
    const store = await scope.store();
    expect(await seedDemoMesh(store)).toBeGreaterThan(10);
    expect(await seedDemoMesh(store)).toBe(0);
    // The adaptive demo limiter reads the reviews pods' CPU: over its threshold, every limiter limits.
    const plane = new ControlPlane({
      store,
      tickMs: 0,
      modules: [
        limiterModule({
          metrics: {
            metricsFor: () => ({ values: { '_base.cpu.percent': 90 }, health: { available: true } }),
          },
        }),
      ],
    });
    scope.defer(() => plane.stop());
    await plane.start();
    await vi.waitFor(
      async () => {
        const limiters = (await store.list('SmartLimiter')).items;
        expect(limiters.length).toBeGreaterThan(0);
        for (const l of limiters) {
          const ready = (
            l.status as { conditions?: { type: string; status: string }[] } | undefined
          )?.conditions?.find((c) => c.type === 'Ready');
          expect(ready?.status, l.metadata.name).toBe('True');
        }
        expect((await store.list('EnvoyFilter')).items.length).toBe(limiters.length);
      },
      { timeout: 10_000 },
    );
    const health = plane.health();
    expect(health.leader).toBe(true);
    expect(health.store).toBe('embedded (in memory)');
    expect(health.informers.every((i) => i.synced && i.connected)).toBe(true);
  });

  it('starts without the kinds a module only reads when the cluster does not serve them', async () => {
    const store = await scope.store();
    await seedDemoMesh(store);
    // A cluster without Istio's VirtualService and Gateway CRDs answers 404 for them, every time.
    const list = store.list.bind(store);
    const missing = new Set(['VirtualService', 'Gateway']);
    store.list = (kind, namespace) =>
      missing.has(kind)
        ? Promise.reject(Object.assign(new Error(`the server could not find ${kind}`), { code: 404 }))
        : list(kind, namespace);
    const plane = new ControlPlane({ store, tickMs: 0, modules: [limiterModule()] });
    scope.defer(() => plane.stop());
    await plane.start();
    await vi.waitFor(async () => expect((await store.list('EnvoyFilter')).items.length).toBeGreaterThan(0), {
      timeout: 10_000,
    });
    const informers = new Map(plane.health().informers.map((i) => [i.kind, i]));
    expect(informers.get('SmartLimiter')?.synced).toBe(true);
    expect(informers.get('VirtualService')?.synced).toBe(false);
    expect(informers.get('VirtualService')?.lastError).toContain('could not find VirtualService');
    expect(plane.snapshot.list('Gateway')).toEqual([]);
  });

  it("runs a module's companions as controllers of their own, with their kinds' informers", async () => {
    const store = await scope.store();
    const companion = {
      ...limiterModule({ metrics: { metricsFor: () => ({ values: {}, health: { available: true } }) } }),
      name: 'companion',
      kind: 'Service',
      watches: ['Namespace'],
      owns: [],
    } satisfies Module;
    const module: Module = {
      ...limiterModule({ metrics: { metricsFor: () => ({ values: {}, health: { available: true } }) } }),
      companions: [companion],
    };
    const plane = new ControlPlane({ store, tickMs: 0, modules: [module] });
    scope.defer(() => plane.stop());
    expect([...plane.controllers.keys()]).toEqual(['limiter', 'companion']);
    expect(plane.controller('companion').module.kind).toBe('Service');
    expect(plane.informers.has('Namespace')).toBe(true);
    expect(plane.health().modules.map((m) => m.name)).toEqual(['limiter', 'companion']);
  });
});
