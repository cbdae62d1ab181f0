import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ClusterRegistry,
  GOVERNOR_CRD_NAMES,
  ISTIO_VERSION_UNKNOWN,
  clusterNames,
  sanitizeClusterName,
  selectContexts,
  type ClusterRegistryEvent,
} from './registry';
import { crdDiff, istioVersionFromImage, istioVersionOf } from './cluster-probe';
import type { ClusterStore } from './store';

describe('selectContexts', () => {
  it('takes every context by default', () => {
    expect(selectContexts(['a', 'b', 'a'])).toEqual({ contexts: ['a', 'b'], missing: [] });
  });
  it('takes the named ones in their order and reports those the file lacks', () => {
    expect(selectContexts(['a', 'b', 'c'], ['c', 'x', 'a', 'c'])).toEqual({
      contexts: ['c', 'a'],
      missing: ['x'],
    });
  });
  it('an empty selection selects nothing', () => {
    expect(selectContexts(['a'], [])).toEqual({ contexts: [], missing: [] });
  });
});

describe('sanitizeClusterName', () => {
  it.each([
    ['kind-east', 'kind-east'],
    ['West@Lab', 'west-lab'],
    ['gke_my-project_europe-west1_prod', 'gke-my-project-europe-west1-prod'],
    ['arn:aws:eks:eu-west-1:123456789012:cluster/prod', 'arn-aws-eks-eu-west-1-123456789012-cluster-prod'],
    ['--a..b--', 'a-b'],
    ['***', 'cluster'],
    ['', 'cluster'],
  ])('%s → %s', (context, name) => {
    expect(sanitizeClusterName(context)).toBe(name);
  });
  it('is a DNS label of at most 63 characters, ending in a letter or digit', () => {
    const name = sanitizeClusterName(`${'a'.repeat(62)}_b`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  });
});

describe('clusterNames', () => {
  it('keeps sanitised names that are unique', () => {
    expect([...clusterNames(['kind-east', 'West@Lab'])]).toEqual([
      ['kind-east', 'kind-east'],
      ['West@Lab', 'west-lab'],
    ]);
  });
  it('tells apart contexts that sanitise alike, whatever their order', () => {
    const a = clusterNames(['a_b', 'a.b', 'c']);
    const b = clusterNames(['c', 'a.b', 'a_b']);
    expect(a.get('a_b')).not.toBe(a.get('a.b'));
    expect(a.get('a_b')).toMatch(/^a-b-[0-9a-f]{6}$/);
    expect(a.get('a_b')).toBe(b.get('a_b'));
    expect(a.get('c')).toBe('c');
  });
});

describe('istio version', () => {
  it.each([
    ['docker.io/istio/pilot:1.24.2', '1.24.2'],
    ['istio/pilot:1.24.2', '1.24.2'],
    ['localhost:5000/istio/pilot:1.23.0', '1.23.0'],
    ['gcr.io/istio-release/pilot:1.24.2-distroless@sha256:abcd', '1.24.2'],
    ['localhost:5000/istio/pilot', null],
    ['istio/pilot@sha256:abcd', null],
    ['istio/pilot:latest', null],
  ])('from image %s', (image, version) => {
    expect(istioVersionFromImage(image)).toBe(version);
  });

  const istiod = (name: string, image: string, container = 'discovery') => ({
    metadata: { name },
    spec: { template: { spec: { containers: [{ name: container, image }] } } },
  });

  it('reads istiod and its revisions', () => {
    expect(istioVersionOf([istiod('istiod', 'docker.io/istio/pilot:1.24.2')], true)).toBe('1.24.2');
    expect(
      istioVersionOf(
        [istiod('istiod-1-24', 'istio/pilot:1.24.2'), istiod('istiod-1-23', 'istio/pilot:1.23.4')],
        true,
      ),
    ).toBe('1.23.4, 1.24.2');
  });
  it('ignores other Deployments', () => {
    expect(istioVersionOf([istiod('istio-ingressgateway', 'istio/proxyv2:1.24.2')], false)).toBeNull();
  });
  it('is unknown with Istio CRDs but no tagged istiod, and null without either', () => {
    expect(istioVersionOf([], true)).toBe(ISTIO_VERSION_UNKNOWN);
    expect(istioVersionOf([istiod('istiod', 'istio/pilot')], false)).toBe(ISTIO_VERSION_UNKNOWN);
    expect(istioVersionOf([], false)).toBeNull();
  });
});

describe('crdDiff', () => {
  it('splits the expected names into installed and missing', () => {
    expect(crdDiff(['b.x', 'a.x', 'c.x'], ['a.x', 'other.y', 'c.x'])).toEqual({
      installed: ['a.x', 'c.x'],
      missing: ['b.x'],
    });
  });
  it("knows Governor's CRDs", () => {
    expect(GOVERNOR_CRD_NAMES).toContain('smartlimiters.microservice.slime.io');
    expect(GOVERNOR_CRD_NAMES).toContain('metarouters.metaprotocol.aeraki.io');
    expect(GOVERNOR_CRD_NAMES).toHaveLength(6);
  });
});

describe('ClusterRegistry without a server', () => {
  /** A port nothing listens on, so every probe fails at once. */
  const kubeconfig = (contexts: string[], server = 'https://127.0.0.1:1'): string => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: contexts.map((c) => ({ name: c, server, skipTLSVerify: true })),
      users: [{ name: 'u', token: 't' }],
      contexts: contexts.map((c) => ({ name: c, cluster: c, user: 'u' })),
      currentContext: contexts[0] ?? '',
    });
    return kc.exportConfig();
  };
  const fakeStore = (closed: string[], name: string): ClusterStore =>
    ({ description: name, close: async () => void closed.push(name) }) as unknown as ClusterStore;

  it('follows the file: added, removed, replaced; a broken file keeps the set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'governor-registry-'));
    const path = join(dir, 'config');
    const closed: string[] = [];
    await writeFile(path, kubeconfig(['one', 'Two_2']));
    const registry = await ClusterRegistry.open({
      kubeconfigPath: path,
      healthIntervalMs: 50,
      reloadDebounceMs: 10,
      storeFor: (kc) => fakeStore(closed, kc.getCurrentContext()),
    });
    const events: ClusterRegistryEvent[] = [];
    registry.onChange((e) => events.push(e));
    try {
      expect(registry.list().map((c) => [c.name, c.context])).toEqual([
        ['one', 'one'],
        ['two-2', 'Two_2'],
      ]);
      const one = registry.get('one');
      expect(one?.health.reachable).toBe(false);
      expect(one?.health.lastError).not.toBeNull();
      expect(one?.health.lastSuccessfulSync).toBeNull();
      expect(registry.get('Two_2')?.name).toBe('two-2');

      await writeFile(path, kubeconfig(['one']));
      await registry.reload();
      expect(registry.list().map((c) => c.name)).toEqual(['one']);
      expect(closed).toEqual(['Two_2']);

      await writeFile(path, 'not: [a kubeconfig');
      await registry.reload();
      expect(registry.list().map((c) => c.name)).toEqual(['one']);
      expect(registry.problems()[0]?.context).toBeNull();

      // The watcher alone picks up a change.
      await writeFile(path, kubeconfig(['one', 'three']));
      await expect.poll(() => registry.list().map((c) => c.name)).toEqual(['one', 'three']);
      expect(registry.problems()).toEqual([]);
      expect(events.filter((e) => e.type !== 'health').map((e) => `${e.type} ${e.cluster.name}`)).toEqual([
        'removed two-2',
        'added three',
      ]);

      // A context whose entry changed is replaced: its old store closed, a new one started.
      events.length = 0;
      await writeFile(path, kubeconfig(['one', 'three'], 'https://127.0.0.1:2'));
      await registry.reload();
      expect(events.filter((e) => e.type !== 'health').map((e) => `${e.type} ${e.cluster.name}`)).toEqual([
        'removed one',
        'removed three',
        'added one',
        'added three',
      ]);
      expect(registry.get('one')?.server).toBe('https://127.0.0.1:2');
    } finally {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    }
    expect(closed.sort()).toEqual(['Two_2', 'one', 'one', 'three', 'three']);
  });

  it('runs only the named contexts and reports the missing ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'governor-registry-'));
    const path = join(dir, 'config');
    await writeFile(path, kubeconfig(['a', 'b']));
    const registry = await ClusterRegistry.open({
      kubeconfigPath: path,
      contexts: ['b', 'z'],
      storeFor: () => fakeStore([], 'x'),
    });
    try {
      expect(registry.list().map((c) => c.name)).toEqual(['b']);
      expect(registry.problems()).toEqual([{ context: 'z', message: 'not in the kubeconfig' }]);
    } finally {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
