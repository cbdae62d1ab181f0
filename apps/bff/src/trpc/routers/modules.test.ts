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
async function demoBff(stores: EmbeddedStore[], env: NodeJS.ProcessEnv = {}): Promise<Bff> {
  for (const name of [home, other]) {
    const store = await EmbeddedStore.open({});
    await seedDemoMesh(store, demoClusterObjects(name));
    stores.push(store);
  }
  const { config, modules } = await readModuleSources(loadConfig({ env, homeDir: '/tmp' }), env, stores[0]);
  const bff = createBff({
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
  return bff;
}

describe('the modules router over two clusters', { timeout: 30_000 }, () => {
  let bff: Bff;
  const stores: EmbeddedStore[] = [];

  beforeAll(async () => {
    bff = await demoBff(stores);
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

describe('editing SlimeBoots', { timeout: 30_000 }, () => {
  let bff: Bff;
  const stores: EmbeddedStore[] = [];

  beforeAll(async () => {
    bff = await demoBff(stores);
  });

  afterAll(async () => {
    await bff.stop();
    for (const s of stores) await s.close();
  });

  const as = (role: 'admin' | 'editor' | 'viewer', namespaces: '*' | string[] = '*') =>
    appRouter.createCaller({
      deps: bff.api.deps,
      user: { name: role.slice(0, 3), role, namespaces },
      via: 'bearer',
      sessionId: null,
      origin: undefined,
      res: undefined,
    });
  const limiter = () => stores[0]!.get('SlimeBoot', 'mesh-operator', 'limiter');
  const withBackend = (text: string, backend: string) => text.replace('backend: 1', `backend: ${backend}`);
  const stored = async () => (await as('admin').modules.slimeBoots())[0]!;

  it("lists the namespace's SlimeBoots as YAML with their resourceVersion, for admins only", async () => {
    const list = await as('admin').modules.slimeBoots();
    expect(list).toEqual([
      expect.objectContaining({
        namespace: 'mesh-operator',
        name: 'limiter',
        yaml: expect.stringContaining('backend: 1'),
      }),
    ]);
    expect(list[0]!.yaml).toContain(`resourceVersion: "${list[0]!.resourceVersion}"`);
    for (const role of ['editor', 'viewer'] as const)
      await expect(as(role).modules.slimeBoots()).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses editors, viewers and admins of some namespaces; nothing is written', async () => {
    const { yaml } = await stored();
    const before = await limiter();
    for (const caller of [as('editor'), as('viewer'), as('admin', ['mesh-operator'])])
      await expect(caller.modules.applySlimeBoot({ yaml: withBackend(yaml, '0') })).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    expect(await limiter()).toEqual(before);
  });

  it('refuses a bad field, bad YAML, another kind or namespace with BAD_REQUEST naming the field', async () => {
    const { yaml } = await stored();
    const before = await limiter();
    const audited = bff.api.deps.audit.list().length;
    const refused = async (text: string, path: string, message: RegExp) => {
      const e = await as('admin')
        .modules.applySlimeBoot({ yaml: text })
        .then(
          () => null,
          (err: unknown) => err as { code: string; message: string; cause: { issues: { path: string }[] } },
        );
      expect(e).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
      expect(e!.cause.issues.map((i) => i.path)).toContain(path);
    };
    await refused(
      withBackend(yaml, 'nine'),
      'spec.module[0].general.backend',
      /general\.backend.*must be one of/,
    );
    await refused('kind: SlimeBoot\nmetadata: [', '', /./);
    await refused(yaml.replace('kind: SlimeBoot', 'kind: ConfigMap'), 'kind', /expected kind SlimeBoot/);
    await refused(
      yaml.replace('apiVersion: config.netease.com/v1alpha1', 'apiVersion: v1'),
      'apiVersion',
      /expected config\.netease\.com/,
    );
    await refused(
      yaml.replace('namespace: mesh-operator', 'namespace: default'),
      'metadata.namespace',
      /read from namespace mesh-operator/,
    );
    expect(await limiter()).toEqual(before);
    expect(bff.api.deps.audit.list()).toHaveLength(audited);
  });

  it('refuses to write to a cluster other than home', async () => {
    const { yaml } = await stored();
    await expect(
      as('admin').modules.applySlimeBoot({ yaml: withBackend(yaml, '0'), cluster: other }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining(`home cluster ${home} only`),
    });
    expect(await stores[1]!.get('SlimeBoot', 'mesh-operator', 'limiter')).toBeNull();
  });

  it('a dry run writes nothing; an apply writes, audits, and the change waits for a restart', async () => {
    const { yaml, resourceVersion } = await stored();
    const dry = await as('admin').modules.applySlimeBoot({
      yaml: withBackend(yaml, '0') + '      bogus: 1\n',
      dryRun: true,
    });
    expect(dry).toMatchObject({
      dryRun: true,
      created: false,
      auditId: null,
      issues: expect.arrayContaining([
        expect.objectContaining({
          severity: 'warning',
          path: 'spec.module[0].bogus',
          line: expect.any(Number),
        }),
        expect.objectContaining({ severity: 'note', path: 'spec' }),
      ]),
      changes: [
        {
          module: 'limiter',
          changes: [
            {
              path: 'general.backend',
              running: 'envoyLocalRateLimit',
              configured: 'netEaseLocalFlowControl',
            },
          ],
        },
      ],
    });
    expect((await limiter())!.metadata.resourceVersion).toBe(resourceVersion);

    const applied = await as('admin').modules.applySlimeBoot({ yaml: withBackend(yaml, '0') });
    expect(applied).toMatchObject({ dryRun: false, created: false });
    expect((await limiter())!.spec).toMatchObject({
      module: [expect.objectContaining({ general: { backend: 0 } })],
    });
    // The running settings stay; the list reports what a restart would change.
    await expect
      .poll(async () => (await as('viewer').modules.list())!.restartPending)
      .toEqual([expect.objectContaining({ slimeBoot: 'mesh-operator/limiter', change: 'changed' })]);
    const record = bff.api.deps.audit.get(applied.auditId!)!;
    expect(record).toMatchObject({
      user: 'adm',
      action: 'apply',
      kind: 'SlimeBoot',
      namespace: 'mesh-operator',
      name: 'limiter',
    });
    expect(record.before).toMatchObject({
      spec: { module: [expect.objectContaining({ general: { backend: 1 } })] },
    });
    expect(record.after).toMatchObject({
      spec: { module: [expect.objectContaining({ general: { backend: 0 } })] },
    });

    // The text read before the apply names the old resourceVersion: CONFLICT, nothing written.
    await expect(
      as('admin').modules.applySlimeBoot({ yaml: withBackend(yaml, 'netEaseLocalFlowControl') }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('changed since it was read'),
    });
    expect((await limiter())!.spec).toMatchObject({
      module: [expect.objectContaining({ general: { backend: 0 } })],
    });
  });

  it('creates a SlimeBoot, namespace filled in', async () => {
    const text =
      'apiVersion: config.netease.com/v1alpha1\nkind: SlimeBoot\nmetadata:\n  name: lazyload\nspec:\n  module:\n    - name: lazyload\n      kind: lazyload\n      enable: false\n';
    const applied = await as('admin').modules.applySlimeBoot({ yaml: text });
    expect(applied).toMatchObject({ created: true, namespace: 'mesh-operator', name: 'lazyload' });
    expect(await stores[0]!.get('SlimeBoot', 'mesh-operator', 'lazyload')).not.toBeNull();
  });
});

describe('editing SlimeBoots when they are not read', { timeout: 30_000 }, () => {
  it('refuses (GOVERNOR_SLIMEBOOT_NAMESPACE=-)', async () => {
    const stores: EmbeddedStore[] = [];
    const env = { GOVERNOR_SLIMEBOOT_NAMESPACE: '-' };
    const bff = await demoBff(stores, env);
    try {
      const admin = appRouter.createCaller({
        deps: bff.api.deps,
        user: { name: 'adm', role: 'admin', namespaces: '*' },
        via: 'bearer',
        sessionId: null,
        origin: undefined,
        res: undefined,
      });
      await expect(
        admin.modules.applySlimeBoot({
          yaml: 'apiVersion: config.netease.com/v1alpha1\nkind: SlimeBoot\nmetadata: {name: x}\n',
        }),
      ).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
        message: expect.stringContaining('GOVERNOR_SLIMEBOOT_NAMESPACE=-'),
      });
      await expect(admin.modules.slimeBoots()).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    } finally {
      await bff.stop();
      for (const s of stores) await s.close();
    }
  });
});
