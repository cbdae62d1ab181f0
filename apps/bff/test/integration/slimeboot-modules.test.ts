/**
 * SlimeBoots in a real API server as Governor's module configuration: without the SlimeBoot CRD Governor
 * starts with its defaults; with Slime's CRD (a permissive stand-in) and two SlimeBoots in mesh-operator,
 * one per module as a Slime installation has them, the `modules` router shows their settings, sources and
 * needs; a SlimeBoot changed afterwards is reported as waiting for a restart, not applied.
 */
import { readFile } from 'node:fs/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Auth } from '../../src/auth/auth';
import { KubernetesStore } from '../../src/cluster/kubernetes-store';
import type { KubeObject } from '../../src/cluster/store';
import { MODULES } from '../../src/modules';
import { createBff, type Bff } from '../../src/server/bff';
import { loadConfig } from '../../src/server/config';
import { readModuleSources } from '../../src/server/slimeboot-modules';
import { callerOf, DEMO_API_USERS } from '../support/demo-api';
import { useKubeTestServer } from '../support/kube-test-fixtures';
import { installCrds } from '../support/kube-test-server';

const running = useKubeTestServer();
const WAIT = { timeout: 30_000, interval: 100 };
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

const LAZYLOAD: KubeObject = {
  apiVersion: 'config.netease.com/v1alpha1',
  kind: 'SlimeBoot',
  metadata: { name: 'lazyload', namespace: 'mesh-operator' },
  spec: {
    image: { repository: 'docker.io/slimeio/slime-lazyload', tag: 'v0.9.0' },
    module: [
      {
        name: 'lazyload',
        kind: 'lazyload',
        enable: true,
        general: { autoFence: true, wormholePort: ['9080'], metricSourceType: 'prometheus' },
        global: { slimeNamespace: 'mesh-operator' },
      },
    ],
  },
};

let store: KubernetesStore | undefined;
const started: Bff[] = [];

/** The BFF as main.ts starts it against the cluster: the SlimeBoots read before the modules are made. */
async function startBff(): Promise<{ bff: Bff; caller: ReturnType<typeof callerOf> }> {
  const env = { KUBECONFIG: running().kubeconfigPath };
  const base = loadConfig({ env, homeDir: '/nonexistent' });
  store ??= KubernetesStore.fromKubeConfig(running().kubeConfig);
  const { config, modules } = await readModuleSources(base, env, store);
  const bff = createBff({
    store,
    mode: config.mode,
    auth: new Auth({ users: [] }),
    allowedOrigins: [],
    rls: null,
    accessLog: config.accessLog !== null,
    xds: config.xds !== null,
    governor: {
      modules: MODULES,
      moduleSettings: config.modules.settings,
      simulate: false,
      metrics: { tickMs: 0, metricTickMs: 0, prometheusIntervalMs: 1000, metricsUnavailable: 'keep' },
    },
    moduleConfig: modules,
    info: { name: 'governor', version: 'test', startedAt: new Date().toISOString() },
  });
  started.push(bff);
  await bff.start();
  return { bff, caller: callerOf(bff.api.deps, DEMO_API_USERS.viewer) };
}

afterAll(async () => {
  for (const bff of started) await bff.stop();
  await store?.close();
});

describe('SlimeBoots in the cluster as module configuration', { timeout: 90_000 }, () => {
  it('without the SlimeBoot CRD: starts, every module from the defaults', async () => {
    const { bff, caller } = await startBff();
    const list = (await caller.modules.list())!;
    expect(list.slimeBoot).toMatchObject({ namespace: 'mesh-operator', state: 'no-crd', objects: [] });
    // The watch keeps looking for the CRD; its 404s are not shown as a failure.
    expect(list.watchError).toBeNull();
    expect(list.modules.map((m) => [m.name, m.sourceLabel, m.running])).toEqual([
      ['limiter', 'defaults', true],
      ['lazyload', 'defaults', true],
      ['plugin', 'defaults', true],
      ['metarouter', 'defaults', true],
    ]);
    await bff.stop();
  });

  it('two SlimeBoots in mesh-operator: their settings, sources and needs; a change waits for a restart', async () => {
    const crd = parse(await readFile(fixture('slimeboot-crd.yaml'), 'utf8')) as Record<string, unknown>;
    await installCrds(running().kubeConfig, [crd]);
    await running()
      .kubeConfig.makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'mesh-operator' } } });
    store ??= KubernetesStore.fromKubeConfig(running().kubeConfig);
    const limiter = parse(await readFile(fixture('slimeboot-limiter.yaml'), 'utf8')) as KubeObject;
    await store.create(limiter);
    const lazyload = await store.create(LAZYLOAD);

    const { bff, caller } = await startBff();
    const list = (await caller.modules.list())!;
    expect(list.slimeBoot).toMatchObject({
      state: 'read',
      objects: ['mesh-operator/lazyload', 'mesh-operator/limiter'],
    });
    expect(list.readFrom).toBe('local');
    const byName = Object.fromEntries(list.modules.map((m) => [m.name, m]));
    expect(byName.limiter).toMatchObject({
      enabled: true,
      running: true,
      sourceLabel: 'SlimeBoot mesh-operator/limiter',
      source: { type: 'slimeboot', namespace: 'mesh-operator', name: 'limiter', at: 'spec.module[0]' },
    });
    expect(byName.limiter!.settings.general).toMatchObject({ domain: 'edge' });
    expect(byName.limiter!.entryYaml).toContain('domain: edge');
    // The limiter's own Prometheus address is Governor's metric source when PROMETHEUS_URL is unset; here
    // the BFF was started without it, so adaptive quotas lack one.
    expect(byName.limiter!.needs.find((n) => n.id === 'metrics')).toMatchObject({ met: false });
    expect(byName.lazyload).toMatchObject({
      enabled: true,
      sourceLabel: 'SlimeBoot mesh-operator/lazyload',
    });
    expect(byName.lazyload!.settings.general).toMatchObject({ autoFence: true, wormholePort: ['9080'] });
    // Lazyload learns calls from Prometheus (its default) and has no address: a missing need.
    expect(byName.lazyload!.needs).toEqual([
      expect.objectContaining({ id: 'calls', met: false, hint: expect.stringContaining('PROMETHEUS_URL') }),
    ]);
    // No SlimeBoot lists plugin or metarouter, and there is no file: the defaults.
    expect(byName.plugin!.sourceLabel).toBe('defaults');
    // Slime's deployment fields are noted on their SlimeBoot.
    expect(list.sources.find((s) => s.label === 'SlimeBoot mesh-operator/lazyload')!.issues).toContainEqual(
      expect.objectContaining({ path: 'spec', severity: 'note' }),
    );
    expect(list.restartPending).toEqual([]);
    expect(list.watching).toBe(true);
    expect(list.watchError).toBeNull();

    // A change in the cluster: reported with the difference, the running settings unchanged.
    await store.update({
      ...lazyload,
      spec: {
        ...(lazyload.spec as object),
        module: [
          {
            name: 'lazyload',
            kind: 'lazyload',
            enable: true,
            general: { autoFence: false, wormholePort: ['9080'], metricSourceType: 'prometheus' },
            metric: { prometheus: { address: 'http://prometheus.istio-system:9090' } },
          },
        ],
      },
    });
    await vi.waitFor(async () => {
      const pending = (await caller.modules.list())!.restartPending;
      expect(pending).toHaveLength(1);
    }, WAIT);
    const after = (await caller.modules.list())!;
    const [pending] = after.restartPending;
    expect(pending!.message).toMatch(
      /^SlimeBoot mesh-operator\/lazyload changed at \d{4}-\d\d-\d\dT.*; restart the BFF to apply$/,
    );
    const row = after.modules.find((m) => m.name === 'lazyload')!;
    expect(row.pending!.changes).toEqual([
      { path: 'general.autoFence', running: true, configured: false },
      { path: 'global.slimeNamespace', running: 'mesh-operator' },
      { path: 'metric.prometheusUrl', configured: 'http://prometheus.istio-system:9090' },
    ]);
    expect(row.settings.general).toMatchObject({ autoFence: true });
    expect(bff.governor.modules.has('lazyload')).toBe(true);
  });
});
