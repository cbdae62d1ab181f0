/** Several test API servers as the contexts of one kubeconfig, as a cluster registry reads them. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterStore } from '../../src/cluster/store';
import { startKubeTestServer, type KubeTestServer } from './kube-test-server';

export interface NamedServer {
  /** The context's name (and its cluster's; the user is `<name>-admin`). */
  readonly name: string;
  readonly server: Pick<KubeTestServer, 'server' | 'token'>;
}

/** One kubeconfig naming each server, each with its own cluster, user and context; the first is current. */
export function multiClusterKubeconfig(contexts: readonly NamedServer[]): string {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: contexts.map(({ name, server }) => ({ name, server: server.server, skipTLSVerify: true })),
    users: contexts.map(({ name, server }) => ({ name: `${name}-admin`, token: server.token })),
    contexts: contexts.map(({ name }) => ({ name, cluster: name, user: `${name}-admin` })),
    currentContext: contexts[0]?.name ?? '',
  });
  return kc.exportConfig();
}

/** Test API servers named as contexts of one kubeconfig file, as a cluster registry reads them. */
export interface TestClusters {
  readonly servers: ReadonlyMap<string, KubeTestServer>;
  /** The kubeconfig naming every server (the first one current). */
  readonly kubeconfigPath: string;
  /** Writes the kubeconfig again with these servers only (a context removed, or added back). */
  writeKubeconfig(names: readonly string[]): Promise<void>;
  /** Stops the servers and removes the kubeconfig. */
  close(): Promise<void>;
}

/** Starts a test API server per name (at once) and writes one kubeconfig naming them all. */
export async function startTestClusters(names: readonly string[]): Promise<TestClusters> {
  const started = await Promise.allSettled(names.map(() => startKubeTestServer()));
  const servers = new Map<string, KubeTestServer>();
  started.forEach((s, i) => {
    if (s.status === 'fulfilled') servers.set(names[i]!, s.value);
  });
  const stopAll = () => Promise.all([...servers.values()].map((s) => s.stop()));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  const dir = await mkdtemp(join(tmpdir(), 'governor-clusters-'));
  const kubeconfigPath = join(dir, 'config');
  const writeKubeconfig = (only: readonly string[]) =>
    writeFile(
      kubeconfigPath,
      multiClusterKubeconfig(only.map((name) => ({ name, server: servers.get(name)! }))),
      {
        mode: 0o600,
      },
    );
  await writeKubeconfig(names);
  return {
    servers,
    kubeconfigPath,
    writeKubeconfig,
    close: async () => {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * In `namespace` (created, with `governor-system` where the control plane's Lease lives), a Service per
 * app with `pods` Running pods, as each cluster runs its own replicas.
 */
export async function createWorkloads(
  store: ClusterStore,
  { namespace, apps, pods = 1 }: { namespace: string; apps: readonly string[]; pods?: number },
): Promise<void> {
  for (const name of [namespace, 'governor-system'])
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const app of apps) {
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: app, namespace },
      spec: { selector: { app }, ports: [{ name: 'http', port: 9080 }] },
    });
    for (let i = 0; i < pods; i++) {
      const pod = await store.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${app}-${i}`, namespace, labels: { app } },
        // Never scheduled (there is no scheduler): a pod the API server keeps as it is told.
        spec: {
          containers: [{ name: 'app', image: 'example/app:1' }],
          schedulingGates: [{ name: 'governor.io/test' }],
        },
      });
      await store.updateStatus({ ...pod, status: { phase: 'Running' } });
    }
  }
}
