/**
 * Owned objects in other namespaces than their owner's, on a real kube-apiserver: the marks survive its
 * validation and server-side apply, no owner reference crosses a namespace, and the framework finds,
 * repairs and collects them itself.
 */
import { describeCrossNamespaceOwnership } from '../support/cross-namespace-suite';
import { freshNamespace, useKubeTestServer } from '../support/kube-test-fixtures';

const running = useKubeTestServer();

describeCrossNamespaceOwnership('a real kube-apiserver', async () => {
  const owner = await freshNamespace(running(), 'xns-owner');
  const root = await freshNamespace(running(), 'xns-root');
  const exported = await freshNamespace(running(), 'xns-exported');
  return {
    store: owner.store,
    namespaces: [owner.namespace, root.namespace, exported.namespace],
    cleanup: async () => {
      for (const n of [exported, root, owner]) await n.cleanup();
    },
  };
});
