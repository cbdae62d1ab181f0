import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auth } from '../../auth/auth';
import { EmbeddedStore } from '../../cluster/embedded-store';
import { DEMO_CLUSTERS, demoClusterObjects, seedDemoMesh } from '../../demo/seed';
import { embeddedMembers } from '../../fleet/members';
import { MODULES } from '../../modules';
import { createBff, type Bff } from '../../server/bff';
import { loadConfig } from '../../server/config';
import { readModuleSources } from '../../server/slimeboot-modules';
import { appRouter } from '../router';

const { home, other } = DEMO_CLUSTERS;

/** The embedded default as main.ts starts it: east's SlimeBoot read before the modules are made. */
describe('the modules router over two clusters', { timeout: 30_000 }, () => {
  let bff: Bff;
  const stores: EmbeddedStore[] = [];

  beforeAll(async () => {
    for (const name of [home, other]) {
      const store = await EmbeddedStore.open({});
      await seedDemoMesh(store, demoClusterObjects(name));
      stores.push(store);
    }
    const { config, modules } = await readModuleSources(
      loadConfig({ env: {}, homeDir: '/tmp' }),
      {},
      stores[0],
    );
    bff = createBff({
      clusters: {
        members: embeddedMembers([
          { name: home, store: stores[0]! },
          { name: other, store: stores[1]! },
        ]),
        home,
      },
      mode: 'embedded',
      auth: new Auth({ users: [] }),
      allowedOrigins: [],
      rls: null,
      governor: {
        modules: MODULES,
        moduleSettings: config.modules.settings,
        simulate: false,
        metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
      },
      moduleConfig: modules,
      info: { name: 'governor', version: 'test', startedAt: new Date().toISOString() },
    });
    await bff.start();
  });

  afterAll(async () => {
    await bff.stop();
    for (const s of stores) await s.close();
  });

  const caller = () =>
    appRouter.createCaller({
      deps: bff.api.deps,
      user: { name: 'vic', role: 'viewer', namespaces: ['default'] },
      via: 'bearer',
      sessionId: null,
      origin: undefined,
      res: undefined,
    });

  it("answers for the chosen cluster, with the home cluster's configuration", async () => {
    const east = (await caller().modules.list())!;
    const west = (await caller().modules.list({ cluster: other }))!;
    expect(east.cluster).toBe(home);
    expect(west.cluster).toBe(other);
    for (const list of [east, west]) {
      expect(list.readFrom).toBe(home);
      expect(list.slimeBoot.objects).toEqual(['mesh-operator/limiter']);
      expect(list.modules.find((m) => m.name === 'limiter')).toMatchObject({
        running: true,
        sourceLabel: 'SlimeBoot mesh-operator/limiter',
        entryYaml: expect.stringContaining('backend: 1'),
      });
    }
    // Without a simulated mesh or Prometheus, lazyload has nothing to learn calls from.
    expect(west.modules.find((m) => m.name === 'lazyload')!.needs).toEqual([
      expect.objectContaining({ id: 'calls', met: false }),
    ]);
    // No rate-limit service: the limiter's global limits miss it.
    expect(east.modules.find((m) => m.name === 'limiter')!.needs.find((n) => n.id === 'rls')).toMatchObject({
      met: false,
      hint: expect.stringContaining('GOVERNOR_RLS_PORT is off'),
    });
  });

  it('refuses a cluster that does not exist', async () => {
    await expect(caller().modules.list({ cluster: 'nowhere' })).rejects.toThrow(/no cluster "nowhere"/);
  });
});
