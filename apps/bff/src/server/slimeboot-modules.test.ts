import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from '../cluster/embedded-store';
import type { ClusterStore, KubeObject } from '../cluster/store';
import { NotFoundError } from '../cluster/store';
import { loadModuleConfig } from '../framework/module-config';
import { sourceLabel } from '../framework/module-config-sources';
import { LAZYLOAD_MODULE } from '../modules/lazyload/settings';
import { LIMITER_MODULE } from '../modules/limiter/settings';
import { loadConfig } from './config';
import { readModuleSources, SlimeBootModules } from './slimeboot-modules';

const MODULES = [LIMITER_MODULE, LAZYLOAD_MODULE];

const slimeBoot = (name: string, module: unknown[], namespace = 'mesh-operator'): KubeObject => ({
  apiVersion: 'config.netease.com/v1alpha1',
  kind: 'SlimeBoot',
  metadata: { namespace, name },
  spec: { module },
});

const LAZYLOAD = slimeBoot('lazyload', [
  { name: 'lazyload', kind: 'lazyload', enable: true, general: { autoFence: true } },
]);

let stop: (() => void) | undefined;
afterEach(() => stop?.());

describe('SlimeBootModules', () => {
  it("reads the namespace's SlimeBoots at start; others are not read", async () => {
    const store = await EmbeddedStore.open({});
    await store.create(LAZYLOAD);
    await store.create(slimeBoot('limiter', [{ kind: 'limiter', enable: false }], 'elsewhere'));
    const m = await SlimeBootModules.read({ store, namespace: 'mesh-operator', modules: MODULES });
    expect(m.status).toMatchObject({ state: 'read', objects: ['mesh-operator/lazyload'] });
    expect(m.running.modules.lazyload!.settings.general.autoFence).toBe(true);
    expect(sourceLabel(m.running.modules.lazyload!.source)).toBe('SlimeBoot mesh-operator/lazyload');
    expect(m.running.modules.limiter!.source).toEqual({ type: 'defaults' });
    expect(m.report().restartPending).toEqual([]);
  });

  it('off: nothing read; no CRD (404): no SlimeBoots and no error', async () => {
    const store = await EmbeddedStore.open({});
    await store.create(LAZYLOAD);
    const off = await SlimeBootModules.read({ store, namespace: null, modules: MODULES });
    expect(off.status.state).toBe('off');
    expect(off.running.modules.lazyload!.source).toEqual({ type: 'defaults' });
    const noCrd = {
      list: () => Promise.reject(new NotFoundError('the server could not find the requested resource')),
    } as unknown as ClusterStore;
    const m = await SlimeBootModules.read({ store: noCrd, namespace: 'mesh-operator', modules: MODULES });
    expect(m.status).toMatchObject({ state: 'no-crd', objects: [] });
    expect(m.status.message).toContain('no SlimeBoot CRD');
  });

  it('a change after start is reported with its time and difference, not applied', async () => {
    const store = await EmbeddedStore.open({});
    const created = await store.create(LAZYLOAD);
    const told: string[] = [];
    const m = await SlimeBootModules.read({
      store,
      namespace: 'mesh-operator',
      modules: MODULES,
      now: () => new Date('2026-12-06T20:00:00Z'),
      onPending: (p) => told.push(p.message),
    });
    m.start();
    stop = () => m.stop();
    expect(m.report().watching).toBe(true);
    await store.update({
      ...created,
      spec: {
        module: [{ name: 'lazyload', kind: 'lazyload', enable: true, general: { autoFence: false } }],
      },
    });
    await vi.waitFor(() => expect(m.report().restartPending).toHaveLength(1));
    const [pending] = m.report().restartPending;
    expect(pending).toMatchObject({
      slimeBoot: 'mesh-operator/lazyload',
      change: 'changed',
      at: '2026-12-06T20:00:00.000Z',
      message:
        'SlimeBoot mesh-operator/lazyload changed at 2026-12-06T20:00:00.000Z; restart the BFF to apply',
      modules: [
        {
          module: 'lazyload',
          runningSource: 'SlimeBoot mesh-operator/lazyload',
          configuredSource: 'SlimeBoot mesh-operator/lazyload',
          changes: [{ path: 'general.autoFence', running: true, configured: false }],
        },
      ],
    });
    expect(told).toEqual([
      'SlimeBoot mesh-operator/lazyload changed at 2026-12-06T20:00:00.000Z; restart the BFF to apply',
    ]);
    // What runs stays as it was.
    expect(m.running.modules.lazyload!.settings.general.autoFence).toBe(true);

    // A new SlimeBoot for the limiter, and the lazyload one deleted.
    await store.create(slimeBoot('limiter', [{ kind: 'limiter', enable: false }]));
    await store.delete('SlimeBoot', 'mesh-operator', 'lazyload');
    await vi.waitFor(() => expect(m.report().restartPending).toHaveLength(2));
    const byName = Object.fromEntries(m.report().restartPending.map((p) => [p.slimeBoot, p]));
    expect(byName['mesh-operator/limiter']).toMatchObject({
      change: 'added',
      modules: [
        {
          module: 'limiter',
          runningSource: 'defaults',
          configuredSource: 'SlimeBoot mesh-operator/limiter',
          changes: [{ path: 'enable', running: true, configured: false }],
        },
      ],
    });
    expect(byName['mesh-operator/lazyload']).toMatchObject({
      change: 'deleted',
      modules: [expect.objectContaining({ module: 'lazyload', configuredSource: 'defaults' })],
    });
  });

  it('readModuleSources: the file under the SlimeBoots; the access-log server follows the result', async () => {
    const store = await EmbeddedStore.open({});
    await store.create(
      slimeBoot('lazyload', [{ kind: 'lazyload', enable: true, general: { metricSourceType: 'accesslog' } }]),
    );
    const config = loadConfig({ env: {}, homeDir: '/tmp' });
    expect(config.modules.slimeBootNamespace).toBe('mesh-operator');
    expect(config.accessLog).toBeNull();
    const r = await readModuleSources(config, {}, store);
    expect(r.config.modules.settings.lazyload!.general.metricSourceType).toBe('accesslog');
    expect(r.config.accessLog).toEqual({ port: 8082 });
    expect(r.log.map((l) => l.text)).toContain(
      'SlimeBoots: 1 SlimeBoot in namespace mesh-operator: mesh-operator/lazyload',
    );
    expect(r.log.map((l) => l.text).at(-1)).toBe(
      'modules limiter (defaults), lazyload (SlimeBoot mesh-operator/lazyload), plugin (defaults), metarouter (defaults)',
    );
    // An unusable value is an error in the log, not a refusal to start; a URL's credentials are masked.
    await store.create(
      slimeBoot('limiter', [
        { kind: 'limiter', enable: true, metric: { prometheus: { address: 'ftp://ops:secret@prom' } } },
      ]),
    );
    const bad = await readModuleSources(config, {}, store);
    const errors = bad.log.filter((l) => l.text.includes('error:'));
    expect(errors.map((l) => l.text)).toEqual([
      expect.stringMatching(
        /^module limiter: error: metric.prometheus.address .* got "ftp:\/\/ops:\*\*\*@prom" \(at SlimeBoot mesh-operator\/limiter spec.module\[0\].metric.prometheus.address\)$/,
      ),
    ]);
    const off = loadConfig({ env: { GOVERNOR_SLIMEBOOT_NAMESPACE: '-' }, homeDir: '/tmp' });
    expect(off.modules.slimeBootNamespace).toBeNull();
    expect((await readModuleSources(off, {}, store)).modules.status.state).toBe('off');
    expect(() =>
      loadConfig({ env: { GOVERNOR_SLIMEBOOT_NAMESPACE: 'Not_A_Namespace' }, homeDir: '/tmp' }),
    ).toThrow(/GOVERNOR_SLIMEBOOT_NAMESPACE/);
  });

  it('with a file, a SlimeBoot wins for its module', async () => {
    const store = await EmbeddedStore.open({});
    await store.create(LAZYLOAD);
    const file = {
      path: '/f.yaml',
      config: loadModuleConfig('spec: {module: [{kind: limiter, enable: true}]}', MODULES),
    };
    const m = await SlimeBootModules.read({ store, namespace: 'mesh-operator', modules: MODULES, file });
    expect(sourceLabel(m.running.modules.limiter!.source)).toBe('file /f.yaml');
    expect(sourceLabel(m.running.modules.lazyload!.source)).toBe('SlimeBoot mesh-operator/lazyload');
    expect(m.report().file).toBe('/f.yaml');
  });
});
