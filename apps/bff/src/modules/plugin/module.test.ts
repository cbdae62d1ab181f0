import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { slimeFixturesDir } from '@governor/crd-types/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { insertBeforeRouter } from '../../../test/support/envoy-filters';
import type { KubeObject } from '../../cluster/store';
import { loadModuleConfig } from '../../framework/module-config';
import type { Module, Plan } from '../../framework/module';
import { defaultSettings } from '../../framework/registry';
import { staticSnapshot } from '../../framework/snapshot';
import { createPluginModule, pluginEvents } from './module';
import { RBAC_TYPE_URL, WASM_TYPE_URL, mergePatch } from './render';
import { PLUGIN_MODULE } from './settings';

const fixture = (name: string): KubeObject =>
  parse(readFileSync(join(slimeFixturesDir, 'plugin', name), 'utf8')) as KubeObject;

const NOW = new Date('2026-01-01T00:00:00Z');
const pluginModule = (settings = defaultSettings(PLUGIN_MODULE)) =>
  createPluginModule({
    settings,
    metrics: undefined as never,
    options: {},
  });
const envoyPluginModule = (m = pluginModule()) => m.companions![0] as Module;

function planOf(module: Module, raw: KubeObject, cluster: KubeObject[] = []): Plan<unknown> {
  const parsed = module.parse(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return module.plan({
    object: parsed.value,
    raw,
    snapshot: staticSnapshot([raw, ...cluster]),
    metrics: { values: {}, health: { available: true } },
    now: NOW,
  });
}

const pm = (spec: Record<string, unknown>, name = 'pm', extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha1',
  kind: 'PluginManager',
  metadata: { name, namespace: 'default', ...extra },
  spec,
});
const ep = (spec: Record<string, unknown>, name = 'ep'): KubeObject => ({
  apiVersion: 'microservice.slime.io/v1alpha1',
  kind: 'EnvoyPlugin',
  metadata: { name, namespace: 'default' },
  spec,
});
const patches = (plan: Plan<unknown>) =>
  (plan.desired[0]!.spec as { configPatches: Record<string, unknown>[] }).configPatches;
const condition = (plan: Plan<unknown>, type: string) =>
  (plan.status.conditions as { type: string; status: string; message: string }[]).find(
    (c) => c.type === type,
  );

describe("Slime's plugin fixtures", () => {
  it('gateway_sample.plm.yaml renders exactly gateway_sample.plm.expect.yaml', () => {
    const plan = planOf(pluginModule(), fixture('gateway_sample.plm.yaml'));
    expect(plan.problems).toEqual([]);
    expect(plan.warnings).toEqual([]);
    expect(plan.desired).toEqual([fixture('gateway_sample.plm.expect.yaml')]);
  });

  it('gateway_rc_patch.ep.yaml renders exactly gateway_rc_patch.ep.expect.yaml', () => {
    const plan = planOf(envoyPluginModule(), fixture('gateway_rc_patch.ep.yaml'));
    expect(plan.problems).toEqual([]);
    expect(plan.warnings).toEqual([]);
    expect(plan.desired).toEqual([fixture('gateway_rc_patch.ep.expect.yaml')]);
  });
});

describe('PluginManager', () => {
  it('inserts each enabled plugin before the router, context from listenerType, port from port', () => {
    const plan = planOf(
      pluginModule(),
      pm({
        workload_labels: { app: 'reviews' },
        priority: 3,
        plugin: [
          {
            name: 'a',
            enable: true,
            listenerType: 'Inbound',
            port: 9080,
            type_url: 'T',
            inline: { settings: { x: 1 } },
          },
          { name: 'b', enable: false, inline: {} },
          { name: 'c', enable: true },
        ],
      }),
    );
    expect(plan.desired[0]!.spec).toMatchObject({
      workloadSelector: { labels: { app: 'reviews' } },
      priority: 3,
    });
    expect(patches(plan)).toEqual([
      insertBeforeRouter('SIDECAR_INBOUND', 9080, {
        name: 'a',
        typed_config: {
          '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
          type_url: 'T',
          value: { x: 1 },
        },
      }),
      expect.objectContaining({
        match: expect.objectContaining({ context: 'SIDECAR_OUTBOUND' }) as unknown,
        patch: { operation: 'INSERT_BEFORE', value: { name: 'c' } },
      }),
    ]);
    expect(condition(plan, 'Ready')).toMatchObject({
      status: 'True',
      message: 'EnvoyFilter default/pm: 2 patches from 2 enabled plugins',
    });
  });

  it('reads snake_case and lowerCamel to the same EnvoyFilter', () => {
    const snake = planOf(
      pluginModule(),
      pm({
        workload_labels: { app: 'a' },
        plugin: [
          { name: 'f', enable: true, type_url: 't', disable_on_filter_level: true, listener_type: 'Gateway' },
        ],
      }),
    );
    const camel = planOf(
      pluginModule(),
      pm({
        workloadLabels: { app: 'a' },
        plugin: [
          { name: 'f', enable: true, typeUrl: 't', disableOnFilterLevel: true, listenerType: 'Gateway' },
        ],
      }),
    );
    expect(snake.desired).toEqual(camel.desired);
    expect(snake.warnings).toEqual([]);
    expect(patches(snake)[0]).toMatchObject({
      match: { context: 'GATEWAY' },
      patch: { value: { disabled: true, name: 'f' } },
    });
  });

  it('loads wasm through an extension config with a default that fails closed, or open when asked', () => {
    const wasm = (failStrategy?: string) =>
      planOf(
        pluginModule(),
        pm({
          plugin: [
            {
              name: 'auth',
              enable: true,
              port: 80,
              wasm: {
                url: 'oci://registry/auth:1',
                plugin_name: 'root',
                settings: { k: 'v' },
                ...(failStrategy ? { failStrategy } : {}),
              },
            },
          ],
        }),
      );
    const closed = patches(wasm());
    expect(closed.map((p) => p.applyTo)).toEqual(['EXTENSION_CONFIG', 'HTTP_FILTER']);
    expect(closed[0]).toEqual({
      applyTo: 'EXTENSION_CONFIG',
      patch: {
        operation: 'ADD',
        value: {
          name: 'default.auth',
          typed_config: {
            '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
            type_url: WASM_TYPE_URL,
            value: {
              config: {
                name: 'default.auth',
                root_id: 'root',
                vm_config: {
                  runtime: 'envoy.wasm.runtime.v8',
                  code: {
                    remote: {
                      http_uri: { uri: 'oci://registry/auth:1', timeout: '30s', cluster: '_' },
                      sha256: 'nil',
                    },
                  },
                },
                configuration: {
                  '@type': 'type.googleapis.com/google.protobuf.StringValue',
                  value: '{"k":"v"}',
                },
              },
            },
          },
        },
      },
    });
    expect((closed[1]!.patch as { value: unknown }).value).toEqual({
      name: 'default.auth',
      config_discovery: {
        config_source: { ads: {} },
        type_urls: [WASM_TYPE_URL, RBAC_TYPE_URL],
        default_config: { '@type': RBAC_TYPE_URL, rules: {} },
        apply_default_config_without_warming: true,
      },
    });
    const open = patches(wasm('FAIL_OPEN'));
    expect(open[1]).toMatchObject({
      patch: { value: { config_discovery: { default_config: { '@type': RBAC_TYPE_URL } } } },
    });
    expect(JSON.stringify(open[1])).not.toContain('"rules"');
  });

  it('takes general.configDiscoveryDefaultConfig for the type URL, and general.proxyVersion', () => {
    const settings = loadModuleConfig(
      `apiVersion: config.netease.com/v1alpha1
kind: SlimeBoot
metadata: {name: plugin}
spec:
  module:
    - name: plugin
      enable: true
      general:
        proxyVersion: "^1\\\\.2.*"
        configDiscoveryDefaultConfig:
          "${WASM_TYPE_URL}": {"@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "${WASM_TYPE_URL}", value: {}}
`,
      [PLUGIN_MODULE],
    ).modules.plugin!;
    const plan = planOf(
      pluginModule(settings),
      pm({ plugin: [{ name: 'w', enable: true, wasm: { url: 'file:///w.wasm' } }] }),
    );
    const [ext, filter] = patches(plan);
    expect(ext).toMatchObject({
      patch: {
        value: {
          typed_config: { value: { config: { vm_config: { code: { local: { filename: '/w.wasm' } } } } } },
        },
      },
    });
    expect(filter).toMatchObject({
      match: { proxy: { proxyVersion: '^1\\.2.*' } },
      patch: {
        value: {
          config_discovery: { type_urls: [WASM_TYPE_URL], default_config: { type_url: WASM_TYPE_URL } },
        },
      },
    });
  });

  it('applies rawPatch last, as a JSON merge patch', () => {
    const plan = planOf(
      pluginModule(),
      pm({ plugin: [{ name: 'f', enable: true, rawPatch: { patch: { operation: 'INSERT_FIRST' } } }] }),
    );
    expect(patches(plan)[0]).toMatchObject({ patch: { operation: 'INSERT_FIRST', value: { name: 'f' } } });
    expect(mergePatch({ a: 1, b: { c: 2 } }, { a: null, b: { d: 3 } })).toEqual({ b: { c: 2, d: 3 } });
  });

  it('refuses a plugin with both inline and wasm, keeping the last EnvoyFilter', () => {
    const plan = planOf(
      pluginModule(),
      pm({ plugin: [{ name: 'f', enable: true, inline: {}, wasm: { url: 'oci://x' } }] }),
    );
    expect(plan.problems).toEqual([
      {
        path: 'spec.plugin[0]',
        message: 'sets inline and wasm: a plugin has exactly one of inline, wasm or rider',
      },
    ]);
    expect(condition(plan, 'Valid')).toMatchObject({ status: 'False' });
    expect(pluginEvents(undefined, plan as Plan<null>)).toEqual([
      expect.objectContaining({ type: 'Warning', reason: 'Invalid' }),
    ]);
  });

  it('warns of unknown fields with a suggestion', () => {
    const plan = planOf(pluginModule(), pm({ workloadLabel: { app: 'a' }, plugin: [] }));
    expect(plan.warnings).toEqual([
      'spec.workloadLabel: unknown field, ignored (did you mean workloadLabels?)',
    ]);
  });

  it('copies istio.io/rev and no other label', () => {
    const plan = planOf(
      pluginModule(),
      pm({ plugin: [] }, 'pm', { labels: { 'istio.io/rev': 'canary', team: 'x' } }),
    );
    expect(plan.desired[0]!.metadata.labels).toEqual({ 'istio.io/rev': 'canary' });
  });
});

describe("settings checked against Envoy's filters", () => {
  const badFault = { abort: { http_statu: 429, percentage: { denominator: 'HUNDREDS' } } };

  it('makes bad settings problems at their paths, keeping the last EnvoyFilter', () => {
    const plan = planOf(
      pluginModule(),
      pm({ plugin: [{ name: 'envoy.filters.http.fault', enable: true, inline: { settings: badFault } }] }),
    );
    expect(plan.problems).toEqual([
      {
        path: 'spec.plugin[0].inline.settings.abort.http_statu',
        message:
          'unknown field "http_statu" of envoy.extensions.filters.http.fault.v3.FaultAbort (did you mean http_status?)',
      },
      expect.objectContaining({ path: 'spec.plugin[0].inline.settings.abort.percentage.denominator' }),
    ]);
  });

  it("checks an EnvoyPlugin's settings against the filter's per-route message", () => {
    const plan = planOf(
      envoyPluginModule(),
      ep({
        host: ['a'],
        plugins: [{ name: 'envoy.filters.http.rbac', enable: true, inline: { settings: { rbac: {} } } }],
      }),
    );
    expect(plan.problems).toEqual([]);
    const bad = planOf(
      envoyPluginModule(),
      ep({
        host: ['a'],
        plugins: [{ name: 'envoy.filters.http.rbac', enable: true, inline: { settings: { rules: {} } } }],
      }),
    );
    expect(bad.problems).toEqual([
      expect.objectContaining({ path: 'spec.plugins[0].inline.settings.rules' }),
    ]);
  });

  it("leaves a custom filter's settings unchecked, saying so, and direct patches alone", () => {
    const plan = planOf(
      pluginModule(),
      pm({ plugin: [{ name: 'com.netease.rewrite', enable: true, inline: { settings: { anything: 1 } } }] }),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.warnings).toEqual([
      expect.stringMatching(
        /^spec\.plugin\[0\]\.name: com\.netease\.rewrite is not an HTTP filter Envoy ships/,
      ),
    ]);
    const direct = planOf(
      envoyPluginModule(),
      ep({
        host: ['a'],
        plugins: [
          { name: 'envoy.filters.http.ratelimit', enable: true, inline: { settings: { rate_limits: [] } } },
        ],
      }),
    );
    expect(direct.problems).toEqual([]);
  });
});

describe('PluginManagers selecting the same workload', () => {
  const a = pm(
    { workloadLabels: { app: 'reviews' }, priority: 5, plugin: [{ name: 'a', enable: true }] },
    'a',
    { creationTimestamp: '2026-01-01T00:00:00Z' },
  );
  const b = pm(
    { workloadLabels: { app: 'reviews', version: 'v1' }, priority: 1, plugin: [{ name: 'b', enable: true }] },
    'b',
    { creationTimestamp: '2026-01-02T00:00:00Z' },
  );
  const c = pm({ workloadLabels: { app: 'ratings' }, plugin: [{ name: 'c', enable: true }] }, 'c');

  it('are ordered by priority, and each says which other overlaps', () => {
    const planA = planOf(pluginModule(), a, [b, c]);
    const planB = planOf(pluginModule(), b, [a, c]);
    expect(condition(planA, 'Overlap')).toMatchObject({
      status: 'True',
      message:
        'may select the same workload as PluginManager default/b (priority 1); filters are inserted in the order b, a',
    });
    expect(condition(planB, 'Overlap')).toMatchObject({
      status: 'True',
      message: expect.stringContaining('PluginManager default/a (priority 5)') as unknown,
    });
    expect(planA.desired[0]!.spec).toMatchObject({ priority: 5 });
    expect(pluginEvents(undefined, planA as Plan<null>)).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'Overlap' }),
    );
    expect(condition(planOf(pluginModule(), c, [a, b]), 'Overlap')).toMatchObject({ status: 'False' });
  });

  it('with equal priorities say the age decides', () => {
    const same = pm({ workloadLabels: { app: 'reviews' }, plugin: [{ name: 'd', enable: true }] }, 'd');
    const plan = planOf(pluginModule(), same, [pm({ plugin: [{ name: 'e', enable: true }] }, 'e')]);
    expect(condition(plan, 'Overlap')!.message).toContain('equal priorities fall back to age');
  });

  it('change one and the others are re-planned', () => {
    const module = pluginModule();
    expect(module.affectedBy!(a, staticSnapshot([a, b, c]))).toEqual(['default/b', 'default/c']);
  });
});

describe('EnvoyPlugin', () => {
  const fault = {
    name: 'envoy.filters.http.fault',
    enable: true,
    inline: { settings: { delay: { fixed_delay: '1s' } } },
  };

  it('patches route configurations: <port> and <host>:<port> on sidecars, http.<port>[.<bind>] on gateways', () => {
    const plan = planOf(
      envoyPluginModule(),
      ep({
        listener: [
          { port: 9080, sidecar: true },
          { port: 9080, sidecar: true, hosts: ['reviews.default.svc.cluster.local'] },
          { port: 443, portName: 'http-s', bind: '10.0.0.1' },
          { port: 0, bind: 'unix:///sock' },
        ],
        plugins: [fault],
      }),
    );
    expect(
      patches(plan).map((p) => [
        p.applyTo,
        (p.match as { routeConfiguration: { name: string } }).routeConfiguration.name,
      ]),
    ).toEqual([
      ['ROUTE_CONFIGURATION', '9080'],
      ['ROUTE_CONFIGURATION', 'reviews.default.svc.cluster.local:9080'],
      ['ROUTE_CONFIGURATION', 'http.443.10.0.0.1'],
      ['ROUTE_CONFIGURATION', 'unix:///sock'],
    ]);
    expect(patches(plan)[0]).toEqual({
      applyTo: 'ROUTE_CONFIGURATION',
      match: { context: 'SIDECAR_OUTBOUND', routeConfiguration: { name: '9080' } },
      patch: {
        operation: 'MERGE',
        value: {
          typedPerFilterConfig: {
            'envoy.filters.http.fault': {
              '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
              type_url: '',
              value: { delay: { fixed_delay: '1s' } },
            },
          },
        },
      },
    });
  });

  it('patches virtual hosts (":*" appended outbound and on gateways) and routes', () => {
    const plan = planOf(
      envoyPluginModule(),
      ep({
        workload_selector: { labels: { app: 'gw' } },
        host: ['reviews.default.svc.cluster.local', 'ratings:9080', 'inbound|http|9080'],
        route: ['reviews.default.svc.cluster.local/default', 'r1'],
        plugins: [fault],
      }),
    );
    expect(plan.desired[0]!.spec).toMatchObject({ workloadSelector: { labels: { app: 'gw' } } });
    expect(patches(plan).map((p) => [p.applyTo, p.match])).toEqual([
      [
        'VIRTUAL_HOST',
        {
          context: 'SIDECAR_OUTBOUND',
          routeConfiguration: { vhost: { name: 'reviews.default.svc.cluster.local:*' } },
        },
      ],
      [
        'VIRTUAL_HOST',
        { context: 'SIDECAR_OUTBOUND', routeConfiguration: { vhost: { name: 'ratings:9080' } } },
      ],
      ['VIRTUAL_HOST', { context: 'ANY', routeConfiguration: { vhost: { name: 'inbound|http|9080' } } }],
      [
        'HTTP_ROUTE',
        {
          context: 'SIDECAR_OUTBOUND',
          routeConfiguration: {
            vhost: { name: 'reviews.default.svc.cluster.local:*', route: { name: 'default' } },
          },
        },
      ],
      [
        'HTTP_ROUTE',
        { context: 'SIDECAR_OUTBOUND', routeConfiguration: { vhost: { route: { name: 'r1' } } } },
      ],
    ]);
  });

  it('patches rate limits and CORS directly, and inline.directPatch under fieldPatchTo', () => {
    const rl = {
      name: 'envoy.filters.http.ratelimit',
      enable: true,
      inline: { settings: { rate_limits: [{ stage: 0 }] } },
    };
    const cors = {
      name: 'envoy.filters.http.cors',
      enable: true,
      inline: { settings: { cors: { allow_origin_string_match: [{ exact: '*' }] } } },
    };
    const direct = {
      name: 'x',
      enable: true,
      inline: { directPatch: true, fieldPatchTo: 'route', settings: { timeout: '3s' } },
    };
    const root = {
      name: 'y',
      enable: true,
      inline: { directPatch: true, fieldPatchTo: 'ROOT', settings: { include_request_attempt_count: true } },
    };
    const plan = planOf(
      envoyPluginModule(),
      ep({ host: ['a:80'], route: ['a:80/r'], plugins: [rl, cors, direct, root] }),
    );
    expect(patches(plan).map((p) => (p.patch as { value: unknown }).value)).toEqual([
      { rate_limits: [{ stage: 0 }] },
      { cors: { allow_origin_string_match: [{ exact: '*' }] } },
      { route: { timeout: '3s' } },
      { include_request_attempt_count: true },
      { route: { rate_limits: [{ stage: 0 }] } },
      { route: { cors: { allow_origin_string_match: [{ exact: '*' }] } } },
      { route: { timeout: '3s' } },
      { include_request_attempt_count: true },
    ]);
  });

  it('configures a wasm plugin per route by its discovered name', () => {
    const plan = planOf(
      envoyPluginModule(),
      ep({
        route: ['a:80/r'],
        plugins: [{ name: 'auth', enable: true, wasm: { url: 'oci://x', settings: { k: 1 } } }],
      }),
    );
    expect((patches(plan)[0]!.patch as { value: unknown }).value).toEqual({
      typedPerFilterConfig: {
        'default.auth': {
          '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
          type_url: '',
          value: {
            configuration: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: '{"k":1}' },
          },
        },
      },
    });
  });

  it('gives the EnvoyFilter name to a PluginManager of the same name', () => {
    const plan = planOf(envoyPluginModule(), ep({ host: ['a'], plugins: [fault] }, 'same'), [
      pm({ plugin: [] }, 'same'),
    ]);
    expect(plan.problems).toEqual([expect.objectContaining({ path: 'metadata.name' })]);
  });

  it('leaves out a plugin without settings, saying so', () => {
    const plan = planOf(envoyPluginModule(), ep({ host: ['a'], plugins: [{ name: 'n', enable: true }] }));
    expect(patches(plan)).toEqual([]);
    expect(plan.warnings).toEqual(['spec.plugins[0]: none of inline, wasm or rider; left out']);
  });
});
