/**
 * A SmartLimiter edited into an invalid one keeps its last good state everywhere: its EnvoyFilter, the
 * rate-limit service's rules and the embedded mesh's, while its status says why.
 */
import { describe, expect, it, vi } from 'vitest';
import { testScope } from '../../../test/support/test-scope';
import type { KubeObject } from '../../cluster/store';
import { Governor } from '../../governor';
import { RlsServer } from '../../rls/rls-server';
import { limiterFrom, seedBookinfo } from '../../../test/support/controller-suite';
import type { RenderedRule } from './render';
import { MODULES } from '..';

const conditionOf = (o: KubeObject | null, type: string) =>
  (
    (o?.status as { conditions?: { type: string; status: string; message?: string }[] })?.conditions ?? []
  ).find((c) => c.type === type);

describe('an invalid edit keeps the last good state', () => {
  const scope = testScope();

  it('a global rule edited to fill_interval 30s: EnvoyFilter, rate-limit service and mesh keep counting per minute', async () => {
    const store = await scope.store();
    await seedBookinfo(store, 'default');
    const rls = new RlsServer({});
    const delivered: (readonly RenderedRule[] | null)[] = [];
    const governor = new Governor({
      modules: MODULES,
      store,
      simulate: true,
      simulator: { loads: {} },
      metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      onLimiterRules: (key, rules) => {
        delivered.push(rules);
        rls.updateLimiter(key, rules);
      },
    });
    scope.defer(() => governor.stop());
    await governor.start();

    const created = await store.create(limiterFrom('doc-e-global.yaml', 'default'));
    await vi.waitFor(async () => {
      expect(conditionOf(await store.get('SmartLimiter', 'default', 'productpage'), 'Ready')?.status).toBe(
        'True',
      );
    });
    const [rule] = delivered.at(-1) ?? [];
    expect(rule?.unit).toBe('MINUTE');
    const id = rule!.id;
    const envoyFilter = await store.get('EnvoyFilter', 'default', 'productpage.default.ratelimit');
    expect(envoyFilter).not.toBeNull();

    // 30 s is no unit the rate-limit service has: the edit is invalid.
    const current = (await store.get('SmartLimiter', 'default', 'productpage'))!;
    const spec = JSON.parse(JSON.stringify(created.spec).replace('"seconds":60', '"seconds":30')) as unknown;
    await store.update({ ...current, spec });
    await vi.waitFor(async () => {
      const valid = conditionOf(await store.get('SmartLimiter', 'default', 'productpage'), 'Valid');
      expect(valid?.status).toBe('False');
      expect(valid?.message).toMatch(/fill_interval/);
    });
    await governor.controlPlane.idle();

    expect(rls.ruleById(id)?.unit).toBe('MINUTE');
    expect(governor.mesh!.simulator.ruleById(id)?.unit).toBe('MINUTE');
    expect(delivered.every((rules) => rules === null || rules.every((r) => r.unit === 'MINUTE'))).toBe(true);
    expect((await store.get('EnvoyFilter', 'default', 'productpage.default.ratelimit'))?.spec).toEqual(
      envoyFilter!.spec,
    );
  });
});
