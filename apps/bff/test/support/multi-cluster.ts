/** Several test API servers as the contexts of one kubeconfig, as a cluster registry reads them. */
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeTestServer } from './kube-test-server';

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
