import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../cluster/embedded-store';
import { isKnownKind } from '../cluster/store';
import { loadModuleConfig } from '../framework/module-config';
import { MODULES } from '../modules';
import { demoClusterObjects, demoObjects, seedDemoMesh } from './seed';

describe('the demo mesh', () => {
  it("seeds every object whose kind the store knows, and the plugins' when a module registered them", async () => {
    const store = await EmbeddedStore.open({});
    try {
      const known = demoObjects().filter((o) => isKnownKind(o.kind));
      expect(await seedDemoMesh(store)).toBe(known.length);
      for (const kind of ['PluginManager', 'EnvoyPlugin']) {
        if (!isKnownKind(kind)) continue;
        expect((await store.list(kind)).items.length, kind).toBeGreaterThan(0);
      }
    } finally {
      await store.close();
    }
  });

  it("has the fault filter's plugins off or inert, in Slime's field names", () => {
    const objects = demoObjects();
    const manager = objects.find((o) => o.kind === 'PluginManager' && o.metadata.name === 'ratings-fault');
    const spec = manager?.spec as { workloadLabels: unknown; plugin: Record<string, unknown>[] };
    expect(spec.workloadLabels).toEqual({ app: 'ratings' });
    expect(spec.plugin[0]).toMatchObject({
      enable: false,
      name: 'envoy.filters.http.fault',
      listenerType: 'Inbound',
      inline: {
        settings: { abort: { http_status: 503, percentage: { numerator: 50, denominator: 'HUNDRED' } } },
      },
    });
    const plugin = objects.find((o) => o.kind === 'EnvoyPlugin' && o.metadata.name === 'productpage-fault');
    expect(plugin?.spec).toMatchObject({
      plugins: [{ inline: { settings: { delay: { percentage: { numerator: 0 } } } } }],
    });
  });
});

describe("the home cluster's SlimeBoot", () => {
  it('configures the limiter with its defaults: the demo runs as it would without it', () => {
    const boot = demoClusterObjects('east').find((o) => o.kind === 'SlimeBoot');
    expect(boot?.metadata).toMatchObject({ namespace: 'mesh-operator', name: 'limiter' });
    const declarations = MODULES.map((d) => d.settings);
    const fromBoot = loadModuleConfig(boot, declarations, { partial: true });
    expect(fromBoot.errors).toEqual([]);
    expect(fromBoot.warnings).toEqual([]);
    const defaults = loadModuleConfig(undefined, declarations);
    // backend is a setting Governor does not act on.
    const { backend, ...general } = fromBoot.modules.limiter!.general;
    expect(backend).toBe('envoyLocalRateLimit');
    expect({ ...fromBoot.modules.limiter!, general }).toEqual(defaults.modules.limiter!);
    expect(demoClusterObjects('west').some((o) => o.kind === 'SlimeBoot')).toBe(false);
  });
});
