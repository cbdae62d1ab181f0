/**
 * The admin token in a cluster, against a real kube-apiserver: its hash in a ConfigMap created on the first
 * start, read by later starts and other replicas, so the token printed once keeps working.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubernetesJsonApi } from '../../src/cluster/kubernetes-json-api';
import { ADMIN_CONFIGMAP_KEY, adminTokenFromConfigMap } from '../../src/server/admin-token-configmap';
import { Auth, AuthError, sha256 } from '../../src/auth/auth';
import { freshNamespace, useKubeTestServer } from '../support/kube-test-fixtures';

const running = useKubeTestServer();

describe('the admin token in a ConfigMap', { timeout: 60_000 }, () => {
  it('is created on the first start, printed once, and stands after a restart', async () => {
    const { namespace, cleanup } = await freshNamespace(running(), 'admin');
    try {
      const api = KubernetesJsonApi.fromKubeConfig(running().kubeConfig);
      const first = await adminTokenFromConfigMap({ api, namespace });
      expect(first.createdToken).toMatch(/^gov_[A-Za-z0-9_-]{32}$/);
      expect(first.where).toBe(`ConfigMap ${namespace}/governor-admin`);
      const token = first.createdToken!;

      // The ConfigMap holds the hash only.
      const configMap = await running()
        .kubeConfig.makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ name: 'governor-admin', namespace });
      expect(configMap.data![ADMIN_CONFIGMAP_KEY]).toBe(sha256(token).toString('hex'));
      expect(JSON.stringify(configMap)).not.toContain(token);

      // A restart (a new process, nothing on its disk) reads it and mints nothing.
      const again = await adminTokenFromConfigMap({
        api: KubernetesJsonApi.fromKubeConfig(running().kubeConfig),
        namespace,
      });
      expect(again.createdToken).toBeUndefined();
      expect(again.tokenSha256.equals(first.tokenSha256)).toBe(true);
      const auth = new Auth({ adminTokenSha256: again.tokenSha256 });
      expect(auth.authenticate(token)).toEqual({ name: 'admin', role: 'admin', namespaces: '*' });
      expect(auth.authenticate(`${token}x`)).toBeNull();
      expect(auth.adminToken).toBeUndefined();
    } finally {
      await cleanup();
    }
  });

  it('is made by one of several replicas starting at once; the others read it', async () => {
    const { namespace, cleanup } = await freshNamespace(running(), 'admin');
    try {
      const replicas = await Promise.all(
        Array.from({ length: 4 }, () =>
          adminTokenFromConfigMap({ api: KubernetesJsonApi.fromKubeConfig(running().kubeConfig), namespace }),
        ),
      );
      const created = replicas.filter((r) => r.createdToken !== undefined);
      expect(created).toHaveLength(1);
      for (const r of replicas) expect(r.tokenSha256.equals(sha256(created[0]!.createdToken!))).toBe(true);
    } finally {
      await cleanup();
    }
  });

  it('refuses a ConfigMap without a hash, saying how to start afresh', async () => {
    const { namespace, cleanup } = await freshNamespace(running(), 'admin');
    try {
      await running()
        .kubeConfig.makeApiClient(CoreV1Api)
        .createNamespacedConfigMap({
          namespace,
          body: { metadata: { name: 'governor-admin' }, data: { [ADMIN_CONFIGMAP_KEY]: 'not a hash' } },
        });
      const api = KubernetesJsonApi.fromKubeConfig(running().kubeConfig);
      await expect(adminTokenFromConfigMap({ api, namespace })).rejects.toThrow(AuthError);
      await expect(adminTokenFromConfigMap({ api, namespace })).rejects.toThrow(
        /delete it to make a new token/,
      );
      // A namespace that does not exist: the error names the ConfigMap and what to do.
      await expect(adminTokenFromConfigMap({ api, namespace: `${namespace}-missing` })).rejects.toThrow(
        new RegExp(
          `cannot read or create the admin token's ConfigMap ${namespace}-missing/governor-admin .*GOVERNOR_NAMESPACE`,
        ),
      );
    } finally {
      await cleanup();
    }
  });
});
