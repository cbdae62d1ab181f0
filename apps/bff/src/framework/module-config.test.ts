import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slimeFixturesDir } from '@governor/crd-types/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEFAULT_QUERIES } from '../sources/prometheus';
import {
  formatModuleConfigIssue,
  loadModuleConfig,
  readModuleConfigFile,
  type ModuleConfig,
} from './module-config';
import { type GlobalSettings, type ModuleDeclaration } from './module-settings';
import { PLUGIN_MODULE } from '../modules/plugin/settings';
import { LAZYLOAD_MODULE } from '../modules/lazyload/settings';
import { LIMITER_MODULE } from '../modules/limiter/settings';

/** The modules Governor runs today. */
const AVAILABLE_MODULES = [LIMITER_MODULE];
const SLIME_MODULES = [LIMITER_MODULE, LAZYLOAD_MODULE, PLUGIN_MODULE];
const LAZYLOAD_FIXTURE = join(slimeFixturesDir, 'lazyload/slimeboot_lazyload.yaml');
const LIMITER_FIXTURE = new URL('../../test/fixtures/slimeboot-limiter.yaml', import.meta.url);

/** A SlimeBoot of one module entry, as YAML. */
const boot = (entry: string): string =>
  `apiVersion: config.netease.com/v1alpha1\nkind: SlimeBoot\nmetadata: {name: m}\nspec:\n  module:\n${entry
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;

const messages = (issues: ModuleConfig['warnings']) => issues.map((i) => i.message);

describe('loadModuleConfig', () => {
  it('without a file, every declared module is on with its defaults', () => {
    const r = loadModuleConfig(undefined, SLIME_MODULES);
    expect(r.warnings).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.notes).toEqual([]);
    expect(Object.keys(r.modules).sort()).toEqual(['lazyload', 'limiter', 'plugin']);
    for (const m of Object.values(r.modules)) expect(m.enable).toBe(true);
    const limiter = r.modules.limiter!;
    expect(limiter.general).toEqual({
      disableGlobalRateLimit: false,
      disableAdaptive: false,
      enableServiceEntry: false,
      disableInsertLocalRateLimit: false,
      disableInsertGlobalRateLimit: false,
      enableRatelimitPlaceholderInRoute: false,
    });
    expect(limiter.global).toEqual({
      service: 'app',
      istioNamespace: 'istio-system',
      log: {
        logRotate: false,
        logRotateConfig: {
          filePath: '/tmp/log/slime.log',
          maxSizeMB: 100,
          maxBackups: 10,
          maxAgeDay: 10,
          compress: false,
        },
        enableQuote: false,
      },
      misc: {},
      strictRev: false,
      configSources: [],
      enableConvertSeToIstioRes: false,
    });
    expect(limiter.metric).toEqual({ prometheusQueries: DEFAULT_QUERIES, groupQueries: [], k8sHandlers: [] });
    expect(r.modules.lazyload!.general).toMatchObject({ autoFence: false, wormholePort: [], dispatches: [] });
    expect(r.modules.lazyload!.metric.prometheusQueries).toEqual([]);
    expect(r.modules.plugin!.general).toEqual({ configDiscoveryDefaultConfig: {} });
    // Defaults are copies: changing one result does not change the next.
    (limiter.global.misc as Record<string, string>).x = 'y';
    expect(loadModuleConfig(null, SLIME_MODULES).modules.limiter!.global.misc).toEqual({});
  });

  it("loads Slime's lazyload SlimeBoot unchanged, placeholders unset with a warning naming each", () => {
    const r = readModuleConfigFile(LAZYLOAD_FIXTURE, SLIME_MODULES);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      {
        path: 'spec.module[0].global.istioRev',
        message:
          'global.istioRev of module lazyload is the unfilled template placeholder {{istioRevValue}}; treated as unset',
      },
      {
        path: 'spec.module[0].global.strictRev',
        message:
          'global.strictRev of module lazyload is the unfilled template placeholder {{strictRev}}; treated as unset',
      },
    ]);
    const lazyload = r.modules.lazyload!;
    expect(lazyload.enable).toBe(true);
    // Older Slime's `fence` block is the module's general settings.
    expect(lazyload.general).toMatchObject({ wormholePort: ['9080'], autoFence: false });
    expect(lazyload.global.istioRev).toBeUndefined();
    expect(lazyload.global.strictRev).toBe(false);
    expect(lazyload.metric).toEqual({
      prometheusUrl: 'http://prometheus.istio-system:9090',
      prometheusQueries: [
        {
          name: 'destination',
          query:
            'sum(istio_requests_total{source_app="$source_app",reporter="destination"})by(destination_service)',
        },
      ],
      groupQueries: ['destination'],
      k8sHandlers: [],
    });
    expect(r.modules.limiter!.enable).toBe(false);
    expect(r.modules.plugin!.enable).toBe(false);
    expect(messages(r.notes)).toEqual([
      "spec.image, spec.component: Slime's deployment settings; Governor is deployed by its Helm chart (deploy/chart) and does not use them",
      "fence is older Slime's block for the general settings of lazyload; read as general",
      'not in the file, so off: limiter, plugin',
    ]);
    // The same text, given as text, gives the same.
    expect(loadModuleConfig(readFileSync(LAZYLOAD_FIXTURE, 'utf8'), SLIME_MODULES)).toEqual(r);
  });

  it('a module Governor does not have is a warning, and what it has stays off', () => {
    const r = readModuleConfigFile(LAZYLOAD_FIXTURE, AVAILABLE_MODULES);
    expect(r.errors).toEqual([]);
    expect(messages(r.warnings)).toEqual(["unknown module lazyload; ignored (Governor's modules: limiter)"]);
    expect(r.modules).toEqual({ limiter: expect.objectContaining({ enable: false }) });
  });

  it("reads a limiter SlimeBoot in Slime's shape", () => {
    const r = readModuleConfigFile(LIMITER_FIXTURE.pathname, AVAILABLE_MODULES);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(messages(r.notes)).toEqual([
      "spec.image, spec.resources: Slime's deployment settings; Governor is deployed by its Helm chart (deploy/chart) and does not use them",
    ]);
    const limiter = r.modules.limiter!;
    expect(limiter.enable).toBe(true);
    expect(limiter.general).toEqual({
      // A protobuf enum by number, a port as a quoted number: as protojson reads them.
      backend: 'envoyLocalRateLimit',
      disableGlobalRateLimit: false,
      disableAdaptive: false,
      enableServiceEntry: false,
      disableInsertLocalRateLimit: false,
      disableInsertGlobalRateLimit: false,
      domain: 'edge',
      rlsConfigMap: { name: 'rate-limit-config', namespace: 'istio-system' },
      rls: { service: 'rate-limit.istio-system.svc.cluster.local', port: 18081 },
      enableRatelimitPlaceholderInRoute: false,
    });
    expect(limiter.global).toMatchObject({
      service: 'app',
      istioNamespace: 'istio-system',
      log: { logLevel: 'info', logRotate: false, logRotateConfig: { maxSizeMB: 100 } },
      misc: { enableLeaderElection: 'on' },
    });
    const { metric } = limiter;
    expect(metric.prometheusUrl).toBe('http://prometheus.istio-system:9090');
    expect(metric.k8sHandlers).toEqual(['pod']);
    expect(metric.groupQueries).toEqual([]);
    // The handlers replace the defaults of the same name; the other defaults stay.
    const byName = new Map(metric.prometheusQueries.map((q) => [q.name, q.query]));
    expect([...byName.keys()].sort()).toEqual(DEFAULT_QUERIES.map((q) => q.name).sort());
    expect(byName.get('rt99')).toMatch(/^histogram_quantile\(0\.99, sum\(rate\(.*\[2m\]\)\)by\(le\)\)$/);
    expect(byName.get('cpu.max')).toBe(
      'max(container_cpu_usage_seconds_total{namespace="$namespace",pod=~"$pod_name",image=""})',
    );
    expect(byName.get('cpu.percent')).toBe(DEFAULT_QUERIES.find((q) => q.name === 'cpu.percent')!.query);
  });

  it('names the closest known setting for a typo, at every level', () => {
    const r = loadModuleConfig(
      `apiVersion: config.netease.com/v1alpha1
kind: SlimeBoot
metadata: {name: typos}
spce: {}
spec:
  imag: {tag: v1}
  module:
    - name: lazyload
      enable: true
      genral: {}
      general:
        autofence: true
        wormholePort: ["9080"]
        dispatches:
          - name: a
            domain: [x]
      global:
        istioNamspace: istio-system
        log: {logLevle: info}
      metric:
        promethues: {}
        prometheus:
          handlers:
            destination: {qurey: x}
    - name: limter
      enable: true
    - name: somethingElse
`,
      SLIME_MODULES,
    );
    expect(r.warnings.map((w) => [w.path, w.message, w.suggestion])).toEqual([
      ['spce', 'unknown SlimeBoot field spce; did you mean spec?', 'spec'],
      ['spec.imag', 'unknown SlimeBoot field spec.imag; did you mean image?', 'image'],
      [
        'spec.module[0].genral',
        'unknown setting genral of module lazyload; did you mean general?',
        'general',
      ],
      [
        'spec.module[0].general.autofence',
        'unknown setting general.autofence of module lazyload; did you mean autoFence?',
        'autoFence',
      ],
      [
        'spec.module[0].general.dispatches[0].domain',
        'unknown setting general.dispatches[0].domain of module lazyload; did you mean domains?',
        'domains',
      ],
      [
        'spec.module[0].global.istioNamspace',
        'unknown setting global.istioNamspace of module lazyload; did you mean istioNamespace?',
        'istioNamespace',
      ],
      [
        'spec.module[0].global.log.logLevle',
        'unknown setting global.log.logLevle of module lazyload; did you mean logLevel?',
        'logLevel',
      ],
      [
        'spec.module[0].metric.promethues',
        'unknown setting metric.promethues of module lazyload; did you mean prometheus?',
        'prometheus',
      ],
      [
        'spec.module[0].metric.prometheus.handlers.destination.qurey',
        'unknown setting metric.prometheus.handlers.destination.qurey of module lazyload; did you mean query?',
        'query',
      ],
      ['spec.module[1]', 'unknown module limter; did you mean limiter?', 'limiter'],
      [
        'spec.module[2]',
        "unknown module somethingElse; ignored (Governor's modules: limiter, lazyload, plugin)",
        undefined,
      ],
    ]);
    // A typo leaves the setting at its default.
    expect(r.modules.lazyload!.general).toMatchObject({ autoFence: false, wormholePort: ['9080'] });
    expect(r.modules.lazyload!.global.istioNamespace).toBe('istio-system');
    // The handler without a query is an error: it cannot be run.
    expect(r.errors.map((e) => e.message)).toEqual([
      'metric.prometheus.handlers.destination of module lazyload has no query',
    ]);
    expect(r.modules.limiter!.enable).toBe(false);
  });

  it('a value of the wrong type is an error with its path, and the setting keeps its default', () => {
    const r = loadModuleConfig(
      boot(`
- name: lazyload
  kind: lazyload
  enable: "true"
  general:
    autoFence: "yes"
    wormholePort: [9080, "9081"]
    globalSidecarMode: clustre
    dispatches: {name: a}
  global:
    log: {klogLevel: 1.5}
    misc: {a: 1}
    clientGoTokenBucket: {qps: "20", burst: -1}
  metric:
    prometheus:
      address: prometheus:9090
      handlers:
        destination: {query: x, type: Sum}
        "cpu sum": {query: y}
- name: limiter
  enable: true
  general:
    backend: 2
    refresh: 1m
    rls: {port: 70000}
`),
      SLIME_MODULES,
    );
    expect(r.errors.map((e) => [e.path, e.message])).toEqual([
      ['spec.module[0].enable', 'enable of module lazyload must be true or false, got "true"'],
      [
        'spec.module[0].general.autoFence',
        'general.autoFence of module lazyload must be true or false, got "yes"',
      ],
      [
        'spec.module[0].general.wormholePort[0]',
        'general.wormholePort[0] of module lazyload must be a string (quote it: "9080"), got 9080',
      ],
      [
        'spec.module[0].general.globalSidecarMode',
        'general.globalSidecarMode of module lazyload must be one of cluster, namespace, got "clustre"',
      ],
      [
        'spec.module[0].general.dispatches',
        'general.dispatches of module lazyload must be a list, got a mapping',
      ],
      [
        'spec.module[0].global.log.klogLevel',
        'global.log.klogLevel of module lazyload must be a whole number from 0, got 1.5',
      ],
      [
        'spec.module[0].global.misc.a',
        'global.misc.a of module lazyload must be a string (quote it: "1"), got 1',
      ],
      [
        'spec.module[0].global.clientGoTokenBucket.burst',
        'global.clientGoTokenBucket.burst of module lazyload must be a whole number from 0, got -1',
      ],
      [
        'spec.module[0].metric.prometheus.handlers.destination.type',
        'metric.prometheus.handlers.destination.type of module lazyload must be one of Value, Group (or its number from 0), got "Sum"',
      ],
      [
        'spec.module[0].metric.prometheus.address',
        'metric.prometheus.address of module lazyload must be an http(s) URL such as http://prometheus:9090, got "prometheus:9090"',
      ],
      [
        'spec.module[0].metric.prometheus',
        'metric.prometheus.handlers.cpu sum: a metric name is dotted words like cpu.sum (module lazyload)',
      ],
      [
        'spec.module[1].general.backend',
        'general.backend of module limiter must be one of netEaseLocalFlowControl, envoyLocalRateLimit (or its number from 0), got 2',
      ],
      [
        'spec.module[1].general.refresh',
        'general.refresh of module limiter must be a duration in seconds such as 1s or 0.5s, got "1m"',
      ],
      [
        'spec.module[1].general.rls.port',
        'general.rls.port of module limiter must be a whole number from 1 to 65535, got 70000',
      ],
    ]);
    const lazyload = r.modules.lazyload!;
    expect(lazyload.enable).toBe(false);
    expect(lazyload.general).toMatchObject({ autoFence: false, wormholePort: ['9081'], dispatches: [] });
    expect(lazyload.general.globalSidecarMode).toBeUndefined();
    // A quoted whole number is a whole number, as in protojson.
    expect(lazyload.global.clientGoTokenBucket).toEqual({ qps: 20 });
    expect(lazyload.metric.prometheusUrl).toBeUndefined();
    expect(r.modules.limiter!.general.rls).toEqual({});
    expect(formatModuleConfigIssue(r.errors[0]!)).toBe(
      'enable of module lazyload must be true or false, got "true" (at spec.module[0].enable)',
    );
  });

  it('a file turns on exactly the modules it lists with enable: true', () => {
    const r = loadModuleConfig(
      boot(`
- name: limiter
- name: lazyload
  enable: false
`),
      SLIME_MODULES,
    );
    expect(r.errors).toEqual([]);
    expect(Object.fromEntries(Object.entries(r.modules).map(([k, v]) => [k, v.enable]))).toEqual({
      limiter: false,
      lazyload: false,
      plugin: false,
    });
    expect(messages(r.warnings)).toEqual(['module limiter has no enable: true, so it is off (as in Slime)']);
    expect(messages(r.notes)).toEqual(['not in the file, so off: plugin']);
    // An empty module list turns everything off, without a complaint.
    const none = loadModuleConfig({ spec: { module: [] } }, SLIME_MODULES);
    expect(none.errors).toEqual([]);
    expect(none.warnings).toEqual([]);
    expect(Object.values(none.modules).map((m) => m.enable)).toEqual([false, false, false]);
  });

  it('takes a parsed SlimeBoot, its spec, or a list of documents', () => {
    const entry = { name: 'limiter', enable: true, general: { disableAdaptive: true } };
    for (const input of [
      { apiVersion: 'config.netease.com/v1alpha1', kind: 'SlimeBoot', spec: { module: [entry] } },
      { spec: { module: [entry] } },
      { module: [entry] },
      [{ module: [entry] }],
    ]) {
      const r = loadModuleConfig(input, AVAILABLE_MODULES);
      expect(r.errors).toEqual([]);
      expect(r.warnings).toEqual([]);
      expect(r.modules.limiter).toMatchObject({ enable: true, general: { disableAdaptive: true } });
    }
  });

  it('reads every SlimeBoot of a file of several documents, and names the document of an issue', () => {
    const r = loadModuleConfig(
      `${boot('- {name: limiter, enable: true}')}---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
---
${boot('- {name: lazyload, enable: true, general: {autoPort: 1}}')}---
${boot('- {name: limiter, kind: limiter, enable: false}')}`,
      SLIME_MODULES,
    );
    expect(r.modules.limiter!.enable).toBe(true);
    expect(r.modules.lazyload!.enable).toBe(true);
    expect(r.warnings).toEqual([
      { path: 'kind', document: 2, message: 'ConfigMap is not a SlimeBoot; ignored' },
    ]);
    expect(r.errors).toEqual([
      {
        path: 'spec.module[0].general.autoPort',
        document: 3,
        message: 'general.autoPort of module lazyload must be true or false, got 1',
      },
      {
        path: 'spec.module[0]',
        document: 4,
        message: 'module limiter is configured twice, here and at spec.module[0]',
      },
    ]);
    expect(formatModuleConfigIssue(r.errors[0]!)).toMatch(
      /\(at document 3, spec\.module\[0\]\.general\.autoPort\)$/,
    );
  });

  it('finds a module by kind, by name when there is no kind, or by an alias', () => {
    const limiterToo: ModuleDeclaration = { ...LIMITER_MODULE, aliases: ['smartlimiter'] };
    const r = loadModuleConfig(
      boot(`
- {name: edge-limits, kind: smartlimiter, enable: true}
- {name: plugin, enable: true}
`),
      [limiterToo, PLUGIN_MODULE],
    );
    expect(r.warnings).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.modules.limiter!.enable).toBe(true);
    expect(r.modules.plugin!.enable).toBe(true);
    expect(() =>
      loadModuleConfig(undefined, [LIMITER_MODULE, { name: 'x', aliases: ['limiter'], settings: {} }]),
    ).toThrow(/two module declarations are called limiter/);
  });

  it("reads older Slime's per-module block as general, general winning", () => {
    const r = loadModuleConfig(
      boot(`
- name: limiter
  enable: true
  limiter: {backend: 1, disableAdaptive: true, domain: old}
  general: {domain: new}
`),
      AVAILABLE_MODULES,
    );
    expect(r.errors).toEqual([]);
    expect(messages(r.warnings)).toEqual([
      'module limiter has both general and limiter; general wins where both set a value',
    ]);
    expect(r.modules.limiter!.general).toMatchObject({
      backend: 'envoyLocalRateLimit',
      disableAdaptive: true,
      domain: 'new',
    });
  });

  it("gives a bundle's global to the modules it lists", () => {
    const r = loadModuleConfig(
      boot(`
- name: bundle
  enable: true
  bundle:
    modules:
      - {name: limiter, kind: limiter}
      - {name: plugin, kind: plugin}
  global: {istioRev: canary, log: {logLevel: debug, klogLevel: 2}}
- name: limiter
  kind: limiter
  enable: true
  mode: BundleItem
  global: {log: {logLevel: warn}}
`),
      [LIMITER_MODULE, PLUGIN_MODULE],
    );
    expect(r.errors).toEqual([]);
    expect(messages(r.warnings)).toEqual([
      'bundle bundle lists plugin, which has no entry in spec.module; it is off',
    ]);
    expect(r.modules.limiter!.global).toMatchObject({
      istioRev: 'canary',
      log: { logLevel: 'warn', klogLevel: 2 },
    });
    expect(r.modules.plugin!.enable).toBe(false);
  });

  it('template placeholders: quoted or not, Helm style, whole or in part, in any setting', () => {
    const r = loadModuleConfig(
      boot(`
- name: limiter
  kind: limiter
  enable: {{ .Values.limiter.enabled }}
  general:
    domain: "{{domain}}"
    disableAdaptive: {{ .Values.adaptive | default false }}
    rls: {service: "rls.{{ns}}.svc", port: {{port}}}
  metric:
    prometheus:
      address: {{promAddress}}
`),
      AVAILABLE_MODULES,
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.message)).toEqual([
      'enable of module limiter is the unfilled template placeholder {{ .Values.limiter.enabled }}; treated as unset',
      'general.domain of module limiter is the unfilled template placeholder {{domain}}; treated as unset',
      'general.disableAdaptive of module limiter is the unfilled template placeholder {{ .Values.adaptive | default false }}; treated as unset',
      'general.rls.service of module limiter is the unfilled template placeholder rls.{{ns}}.svc; treated as unset',
      'general.rls.port of module limiter is the unfilled template placeholder {{port}}; treated as unset',
      'metric.prometheus.address of module limiter is the unfilled template placeholder {{promAddress}}; treated as unset',
    ]);
    expect(r.modules.limiter).toMatchObject({ enable: false, general: { disableAdaptive: false, rls: {} } });
    expect(r.modules.limiter!.general.domain).toBeUndefined();
    // A placeholder that breaks the YAML says how to write it.
    const broken = loadModuleConfig(
      boot('- {name: limiter, enable: true, general: {domain: {{x}}-edge}}'),
      AVAILABLE_MODULES,
    );
    expect(broken.errors).toHaveLength(1);
    expect(broken.errors[0]!.message).toMatch(
      /^not YAML: .*a template placeholder such as \{\{name\}\} must be a whole value, or quoted\)$/s,
    );
  });

  it('refuses what is not a SlimeBoot', () => {
    const issues = (input: string | object) => messages(loadModuleConfig(input, AVAILABLE_MODULES).errors);
    expect(issues('')).toEqual(['no SlimeBoot in the input']);
    expect(issues('# nothing\n')).toEqual(['no SlimeBoot in the input']);
    expect(issues('[1, 2]')).toEqual(['expected a SlimeBoot, got a list']);
    expect(issues('kind: SlimeBoot\nspec: {module: {name: limiter}}')).toEqual([
      'spec.module must be a list of modules, got a mapping',
    ]);
    expect(issues('kind: SlimeBoot\nspec: {modules: []}')).toEqual([
      'a SlimeBoot needs spec.module, a list of modules',
    ]);
    expect(issues({ spec: { module: ['limiter', { enable: true }, { name: 7 }] } })).toEqual([
      'a module entry must be a mapping, got "limiter"',
      'a module entry needs a kind or a name',
      "a module's name must be a string, got 7",
    ]);
    expect(issues('a: [')).toEqual([expect.stringMatching(/^not YAML: /)]);
  });

  it('a map key such as __proto__ is a plain key', () => {
    const r = loadModuleConfig(
      boot(`
- name: limiter
  enable: true
  global:
    misc: {__proto__: "x", enableLeaderElection: "on"}
`),
      AVAILABLE_MODULES,
    );
    const misc = r.modules.limiter!.global.misc!;
    expect(Object.getPrototypeOf(misc)).toBe(Object.prototype);
    expect(Object.keys(misc).sort()).toEqual(['__proto__', 'enableLeaderElection']);
  });

  it('types the global settings from their declaration', () => {
    const { global } = loadModuleConfig(undefined, AVAILABLE_MODULES).modules.limiter!;
    expectTypeOf(global).toEqualTypeOf<GlobalSettings>();
    expectTypeOf(global.log!.logRotateConfig!.maxSizeMB).toEqualTypeOf<number | undefined>();
    expectTypeOf(global.configSources).toEqualTypeOf<{ readonly address?: string }[] | undefined>();
    expect(global.log?.logRotateConfig?.maxSizeMB).toBe(100);
  });
});

describe('readModuleConfigFile', () => {
  it('says which file cannot be read, and why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'governor-modules-'));
    expect(() => readModuleConfigFile(join(dir, 'missing.yaml'), AVAILABLE_MODULES)).toThrow(
      `cannot read ${join(dir, 'missing.yaml')}: no such file`,
    );
    expect(() => readModuleConfigFile(dir, AVAILABLE_MODULES)).toThrow(
      `cannot read ${dir}: a directory, not a file`,
    );
    const file = join(dir, 'modules.yaml');
    writeFileSync(file, boot('- {name: limiter, enable: true}'));
    expect(readModuleConfigFile(file, AVAILABLE_MODULES).modules.limiter!.enable).toBe(true);
  });
});
