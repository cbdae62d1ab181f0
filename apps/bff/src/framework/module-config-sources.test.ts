import { describe, expect, it } from 'vitest';
import { loadModuleConfig } from './module-config';
import {
  givenModules,
  moduleNeeds,
  resolveModules,
  settingsDiff,
  sourceLabel,
  type ProductFacts,
  type SlimeBootObject,
} from './module-config-sources';
import { LAZYLOAD_MODULE } from '../modules/lazyload/settings';
import { LIMITER_MODULE } from '../modules/limiter/settings';
import { METAROUTER_MODULE } from '../modules/metarouter/settings';
import { PLUGIN_MODULE } from '../modules/plugin/settings';

const MODULES = [LIMITER_MODULE, LAZYLOAD_MODULE, PLUGIN_MODULE, METAROUTER_MODULE];

const slimeBoot = (name: string, module: unknown[], spec: Record<string, unknown> = {}): SlimeBootObject => ({
  apiVersion: 'config.netease.com/v1alpha1',
  kind: 'SlimeBoot',
  metadata: { namespace: 'mesh-operator', name, resourceVersion: '1' },
  spec: { ...spec, module },
});

const FILE = `apiVersion: config.netease.com/v1alpha1
kind: SlimeBoot
metadata: {name: governor}
spec:
  module:
    - name: limiter
      kind: limiter
      enable: true
      general: {domain: from-file}
    - name: plugin
      kind: plugin
      enable: true
`;

const NOTHING: ProductFacts = { simulatedMesh: false, rls: null, accessLog: false, xds: false };

describe('resolveModules', () => {
  it('without SlimeBoots or a file: every module on, from the defaults', () => {
    const r = resolveModules({ modules: MODULES });
    expect(Object.values(r.modules).map((m) => [m.name, m.settings.enable, sourceLabel(m.source)])).toEqual([
      ['limiter', true, 'defaults'],
      ['lazyload', true, 'defaults'],
      ['plugin', true, 'defaults'],
      ['metarouter', true, 'defaults'],
    ]);
    expect(r.sources).toEqual([]);
  });

  it("a SlimeBoot's module takes its settings; the others the file's", () => {
    const file = { path: '/etc/governor/modules.yaml', config: loadModuleConfig(FILE, MODULES) };
    const r = resolveModules({
      modules: MODULES,
      file,
      slimeBoots: [
        slimeBoot('limiter', [
          { name: 'limiter', kind: 'limiter', enable: true, general: { domain: 'from-cluster' } },
        ]),
      ],
    });
    const limiter = r.modules.limiter!;
    expect(limiter.settings.general.domain).toBe('from-cluster');
    expect(limiter.source).toEqual({
      type: 'slimeboot',
      namespace: 'mesh-operator',
      name: 'limiter',
      at: 'spec.module[0]',
    });
    expect(limiter.entry).toMatchObject({ general: { domain: 'from-cluster' } });
    expect(sourceLabel(r.modules.plugin!.source)).toBe('file /etc/governor/modules.yaml');
    expect(r.modules.plugin!.settings.enable).toBe(true);
    // The file does not list lazyload: off, and its source is the file.
    expect(r.modules.lazyload!.settings.enable).toBe(false);
    expect(r.modules.lazyload!.source).toEqual({ type: 'file', path: '/etc/governor/modules.yaml' });
    const fileSource = r.sources.find((s) => s.label.startsWith('file'))!;
    expect(fileSource.modules).toEqual(['lazyload', 'plugin', 'metarouter']);
    expect(fileSource.issues).toContainEqual(
      expect.objectContaining({
        path: 'spec.module[0]',
        severity: 'note',
        message: expect.stringContaining('SlimeBoot mesh-operator/limiter in the cluster, which wins'),
      }),
    );
  });

  it('without a file, modules no SlimeBoot lists keep the defaults (on)', () => {
    const r = resolveModules({
      modules: MODULES,
      slimeBoots: [slimeBoot('lazyload', [{ name: 'lazyload', kind: 'lazyload', enable: false }])],
    });
    expect(r.modules.lazyload!.settings.enable).toBe(false);
    expect(sourceLabel(r.modules.lazyload!.source)).toBe('SlimeBoot mesh-operator/lazyload');
    expect(r.modules.limiter!.settings.enable).toBe(true);
    expect(r.modules.limiter!.source).toEqual({ type: 'defaults' });
  });

  it("names each issue's SlimeBoot and field; module issues go with the module", () => {
    const r = resolveModules({
      modules: MODULES,
      slimeBoots: [
        slimeBoot(
          'lazyload',
          [
            {
              name: 'lazyload',
              kind: 'lazyload',
              enable: true,
              general: { autoFense: true, wormholePort: 9080 },
            },
          ],
          { image: { tag: 'v1' } },
        ),
      ],
    });
    const issues = r.modules.lazyload!.issues;
    expect(issues).toContainEqual(
      expect.objectContaining({
        source: 'SlimeBoot mesh-operator/lazyload',
        path: 'spec.module[0].general.autoFense',
        severity: 'warning',
        suggestion: 'autoFence',
      }),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({ path: 'spec.module[0].general.wormholePort', severity: 'error' }),
    );
    // Slime's deployment field is the SlimeBoot's, not the module's.
    expect(r.sources[0]!.issues).toContainEqual(
      expect.objectContaining({ path: 'spec', severity: 'note', source: 'SlimeBoot mesh-operator/lazyload' }),
    );
    // No "not in the file, so off" for the modules another SlimeBoot may list.
    expect(r.sources[0]!.issues.map((i) => i.message).join()).not.toContain('so off');
  });

  it('two SlimeBoots for one module: the first by name wins, the other is warned about', () => {
    const r = resolveModules({
      modules: MODULES,
      slimeBoots: [
        slimeBoot('z-limiter', [{ kind: 'limiter', enable: true, general: { domain: 'z' } }]),
        slimeBoot('a-limiter', [{ kind: 'limiter', enable: true, general: { domain: 'a' } }]),
      ],
    });
    expect(r.modules.limiter!.settings.general.domain).toBe('a');
    expect(r.sources.map((s) => s.label)).toEqual([
      'SlimeBoot mesh-operator/a-limiter',
      'SlimeBoot mesh-operator/z-limiter',
    ]);
    expect(r.sources[1]!.issues[0]!.message).toContain('configured by SlimeBoot mesh-operator/a-limiter too');
  });

  it('givenModules: settings passed in code, else the defaults', () => {
    const defaults = loadModuleConfig(undefined, MODULES).modules;
    const r = givenModules(MODULES, { limiter: { ...defaults.limiter!, enable: false } });
    expect(sourceLabel(r.modules.limiter!.source)).toBe("the BFF's options");
    expect(r.modules.lazyload!.source).toEqual({ type: 'defaults' });
  });
});

describe('moduleNeeds', () => {
  const settings = (yaml: string) =>
    resolveModules({
      modules: MODULES,
      file: { path: 'f', config: loadModuleConfig(yaml, MODULES) },
    }).modules;

  it('lazyload learning from Prometheus needs an address; its own, or the product’s', () => {
    const m = settings(`spec: {module: [{kind: lazyload, enable: true}]}`).lazyload!.settings;
    const [calls] = moduleNeeds('lazyload', m, NOTHING);
    expect(calls).toMatchObject({ id: 'calls', met: false });
    expect(calls!.hint).toContain('metric.prometheus.address');
    expect(
      moduleNeeds('lazyload', m, { ...NOTHING, prometheusUrl: 'http://u:secret@prom:9090' })[0],
    ).toMatchObject({ met: true, by: 'Prometheus at http://u:***@prom:9090' });
    expect(moduleNeeds('lazyload', m, { ...NOTHING, simulatedMesh: true })[0]).toMatchObject({
      met: true,
      by: 'the simulated mesh',
    });
    const own = settings(
      `spec: {module: [{kind: lazyload, enable: true, metric: {prometheus: {address: 'http://p:9090'}}}]}`,
    ).lazyload!.settings;
    expect(moduleNeeds('lazyload', own, NOTHING)[0]).toMatchObject({
      met: true,
      by: 'Prometheus at http://p:9090',
    });
  });

  it('lazyload learning from the access log needs the access-log service', () => {
    const m = settings(
      `spec: {module: [{kind: lazyload, enable: true, general: {metricSourceType: accesslog}}]}`,
    ).lazyload!.settings;
    expect(moduleNeeds('lazyload', m, NOTHING)[0]).toMatchObject({ met: false });
    expect(moduleNeeds('lazyload', m, NOTHING)[0]!.hint).toContain('GOVERNOR_ACCESSLOG_PORT is off');
    expect(moduleNeeds('lazyload', m, { ...NOTHING, accessLog: true })[0]).toMatchObject({ met: true });
  });

  it('the limiter: metrics for adaptive quotas, the rate-limit service and Redis for global ones', () => {
    const m = settings(`spec: {module: [{kind: limiter, enable: true}]}`).limiter!.settings;
    const byId = (facts: ProductFacts) =>
      Object.fromEntries(moduleNeeds('limiter', m, facts).map((n) => [n.id, n.met]));
    expect(byId(NOTHING)).toEqual({ metrics: false, rls: false, redis: false });
    expect(byId({ ...NOTHING, prometheusUrl: 'http://p', rls: { redis: false } })).toEqual({
      metrics: true,
      rls: true,
      redis: false,
    });
    expect(byId({ ...NOTHING, simulatedMesh: true, rls: { redis: true } })).toEqual({
      metrics: true,
      rls: true,
      redis: true,
    });
  });

  it('metarouter needs the route server; plugin nothing; a module that is off nothing', () => {
    const all = settings(`spec: {module: [{kind: metarouter, enable: true}, {kind: plugin, enable: true}]}`);
    expect(moduleNeeds('metarouter', all.metarouter!.settings, NOTHING)).toEqual([
      expect.objectContaining({ id: 'xds', met: false }),
    ]);
    expect(moduleNeeds('metarouter', all.metarouter!.settings, { ...NOTHING, xds: true })[0]!.met).toBe(true);
    expect(moduleNeeds('plugin', all.plugin!.settings, NOTHING)).toEqual([]);
    expect(moduleNeeds('limiter', all.limiter!.settings, NOTHING)).toEqual([]);
  });
});

describe('settingsDiff', () => {
  it('lists the paths that differ, with both values, credentials masked', () => {
    const cfg = (yaml: string) => loadModuleConfig(yaml, MODULES).modules.lazyload!;
    const a = cfg(`spec: {module: [{kind: lazyload, enable: true, general: {autoFence: false}}]}`);
    const b = cfg(
      `spec: {module: [{kind: lazyload, enable: true, general: {autoFence: true, wormholePort: ["9080"]}, metric: {prometheus: {address: 'http://u:p@prom:9090'}}}]}`,
    );
    expect(settingsDiff(a, b)).toEqual([
      { path: 'general.autoFence', running: false, configured: true },
      { path: 'general.wormholePort', running: [], configured: ['9080'] },
      { path: 'metric.prometheusUrl', configured: 'http://u:***@prom:9090' },
    ]);
    expect(settingsDiff(a, a)).toEqual([]);
  });
});
