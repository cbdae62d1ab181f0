/** Test-file helpers over {@link startKubeTestServer}: its lifecycle in vitest hooks, and fresh namespaces. */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { KubernetesStore } from '../../src/cluster/kubernetes-store';
import {
  KUBE_TEST_SERVER_START_TIMEOUT_MS,
  KUBE_TEST_SERVER_STOP_TIMEOUT_MS,
  startKubeTestServer,
  type KubeTestServer,
  type KubeTestServerOptions,
} from './kube-test-server';

/**
 * One test server for a test file: started in `beforeAll`, stopped in `afterAll`. Returns the accessor the
 * tests use; it throws when the server did not start.
 */
export function useKubeTestServer(options: KubeTestServerOptions = {}): () => KubeTestServer {
  let server: KubeTestServer | undefined;
  beforeAll(async () => {
    server = await startKubeTestServer(options);
  }, KUBE_TEST_SERVER_START_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
  }, KUBE_TEST_SERVER_STOP_TIMEOUT_MS);
  return () => {
    if (server === undefined) throw new Error('the test API server did not start');
    return server;
  };
}

let namespaceCount = 0;

/**
 * A KubernetesStore on the test server and a namespace of its own (never finalized: no controller manager
 * runs), deleted again by `cleanup`.
 */
export async function freshNamespace(
  server: KubeTestServer,
  prefix = 'test',
): Promise<{ store: KubernetesStore; namespace: string; cleanup(): Promise<void> }> {
  const namespace = `${prefix}-${++namespaceCount}-${Math.random().toString(36).slice(2, 8)}`;
  const core = server.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const store = KubernetesStore.fromKubeConfig(server.kubeConfig);
  return {
    store,
    namespace,
    cleanup: async () => {
      await store.close();
      await core.deleteNamespace({ name: namespace });
    },
  };
}
