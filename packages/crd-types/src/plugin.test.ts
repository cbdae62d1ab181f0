import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { slimeFixturesDir } from '../test/fixtures';
import { envoyPluginCrd, pluginManagerCrd } from './crd';
import { parseEnvoyPlugin, parsePluginManager } from './plugin';

const fixture = (name: string): unknown =>
  parse(readFileSync(join(slimeFixturesDir, 'plugin', name), 'utf8')) as unknown;

describe('parsePluginManager', () => {
  it("accepts Slime's gateway sample unchanged", () => {
    const r = parsePluginManager(fixture('gateway_sample.plm.yaml'));
    expect(r.warnings).toEqual([]);
    expect(r.ok && r.value.spec.plugin?.map((p) => [p.name, p.listenerType, p.disableOnFilterLevel])).toEqual(
      [
        ['envoy.filters.http.fault', 'Gateway', true],
        ['envoy.filters.http.rbac', 'Gateway', true],
      ],
    );
  });

  it('reads snake_case and lowerCamel alike, to the same object', () => {
    const manager = (spec: Record<string, unknown>) => ({
      apiVersion: 'microservice.slime.io/v1alpha1',
      kind: 'PluginManager',
      metadata: { name: 'p', namespace: 'default' },
      spec,
    });
    const snake = parsePluginManager(
      manager({
        workload_labels: { app: 'reviews' },
        plugin: [
          {
            name: 'f',
            type_url: 't',
            disable_on_filter_level: true,
            wasm: { plugin_name: 'x', image_pull_secret_name: 's', url: 'oci://x' },
          },
        ],
      }),
    );
    const camel = parsePluginManager(
      manager({
        workloadLabels: { app: 'reviews' },
        plugin: [
          {
            name: 'f',
            typeUrl: 't',
            disableOnFilterLevel: true,
            wasm: { pluginName: 'x', imagePullSecretName: 's', url: 'oci://x' },
          },
        ],
      }),
    );
    expect(snake.warnings).toEqual([]);
    expect(snake.ok && snake.value.spec).toEqual(camel.ok && camel.value.spec);
    expect(camel.ok && camel.value.spec.workloadLabels).toEqual({ app: 'reviews' });
  });

  it('warns of an unknown field with a suggestion, and rejects a bad listenerType with its path', () => {
    const r = parsePluginManager({
      apiVersion: 'microservice.slime.io/v1alpha1',
      kind: 'PluginManager',
      metadata: { name: 'p' },
      spec: { workloadLabel: { app: 'a' }, plugin: [{ name: 'f', listenerType: 'Sideways' }] },
    });
    expect(r.warnings.map((w) => [w.path, w.suggestion])).toEqual([['spec.workloadLabel', 'workloadLabels']]);
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(['spec.plugin[0].listenerType']);
  });
});

describe('parseEnvoyPlugin', () => {
  it("accepts Slime's gateway route-configuration patch unchanged", () => {
    const r = parseEnvoyPlugin(fixture('gateway_rc_patch.ep.yaml'));
    expect(r.warnings).toEqual([]);
    expect(r.ok && r.value.spec.listener).toEqual([{ port: 80, portName: 'http' }]);
  });

  it('reads workload_selector as workloadSelector', () => {
    const r = parseEnvoyPlugin({
      apiVersion: 'microservice.slime.io/v1alpha1',
      kind: 'EnvoyPlugin',
      metadata: { name: 'p', namespace: 'default' },
      spec: { workload_selector: { labels: { app: 'a' } }, host: ['a.default.svc.cluster.local'] },
    });
    expect(r.warnings).toEqual([]);
    expect(r.ok && r.value.spec.workloadSelector).toEqual({ labels: { app: 'a' } });
  });
});

describe('plugin CRDs', () => {
  it('list every spelling, so the API server prunes none', () => {
    const pm = JSON.stringify(pluginManagerCrd());
    for (const f of ['workload_labels', 'workloadLabels', 'type_url', 'typeUrl', 'disable_on_filter_level'])
      expect(pm).toContain(`"${f}"`);
    const ep = JSON.stringify(envoyPluginCrd());
    for (const f of ['workload_selector', 'workloadSelector', 'portName']) expect(ep).toContain(`"${f}"`);
  });
});
