/**
 * The plain install manifests, deploy/governor.yaml (the chart rendered with its default values), against a
 * real API server: every object is accepted (server-side apply, dry run, strict field validation), and the
 * service account they set up can do what the controller and the dashboard's editors do, and no more.
 * The chart itself, and helm install, are helm-chart.test.ts's and helm-install.test.ts's.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubernetesJsonApi } from '../../src/cluster/kubernetes-json-api';
import { KubernetesStore } from '../../src/cluster/kubernetes-store';
import { envoyFilter, limiterStatus, smartLimiter } from '../support/store-contract';
import { apiVersionOf, type KubeObject, kindInfo } from '../../src/cluster/store';
import { DEFAULT_RATE_LIMIT_SERVICE } from '../../src/modules/limiter/render';
import { loadModuleConfig } from '../../src/framework/module-config';
import { MODULES } from '../../src/modules';
import { adminTokenFromConfigMap } from '../../src/server/admin-token-configmap';
import { useKubeTestServer } from '../support/kube-test-fixtures';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEPLOY = join(REPO_ROOT, 'deploy');
const FIELD_MANAGER = 'governor-deploy-test';

interface Manifest extends KubeObject {
  readonly source: string;
}

/** deploy/governor.yaml in document order (helm's: CRDs before the objects that could need them). */
function manifests(): Manifest[] {
  return ['governor.yaml'].flatMap((file) =>
    parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'))
      .map((doc) => doc.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null)
      .map((o) => ({ ...o, source: file })),
  );
}

const find = (kind: string, name: string): Manifest => {
  const found = manifests().find((m) => m.kind === kind && m.metadata.name === name);
  if (found === undefined) throw new Error(`deploy/ has no ${kind} ${name}`);
  return found;
};

const running = useKubeTestServer();

/** Server-side apply of one manifest, as `kubectl apply --server-side [--dry-run=server]` does. */
async function apply(api: KubernetesJsonApi, manifest: Manifest, dryRun: boolean): Promise<void> {
  const { source: _source, ...object } = manifest;
  await api.send({
    method: 'PATCH',
    path: await api.pathOf({
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: object.metadata.namespace,
      name: object.metadata.name,
    }),
    query: {
      fieldManager: FIELD_MANAGER,
      force: true,
      fieldValidation: 'Strict',
      ...(dryRun ? { dryRun: 'All' } : {}),
    },
    body: object,
    contentType: PatchStrategy.ServerSideApply,
  });
}

describe('deploy/', { timeout: 60_000 }, () => {
  it('holds the objects an install needs', () => {
    const kinds = manifests().map((m) => `${m.kind} ${m.metadata.namespace ?? ''}/${m.metadata.name}`);
    expect(kinds.sort()).toEqual(
      [
        'ClusterRole /governor-controller',
        'ClusterRoleBinding /governor-controller',
        'ConfigMap governor-system/governor-kubeconfig',
        'ConfigMap governor-system/governor-modules',
        'CustomResourceDefinition /applicationprotocols.metaprotocol.aeraki.io',
        'CustomResourceDefinition /envoyplugins.microservice.slime.io',
        'CustomResourceDefinition /metarouters.metaprotocol.aeraki.io',
        'CustomResourceDefinition /pluginmanagers.microservice.slime.io',
        'CustomResourceDefinition /servicefences.microservice.slime.io',
        'CustomResourceDefinition /smartlimiters.microservice.slime.io',
        'Deployment governor-system/governor-bff',
        'Deployment governor-system/governor-web',
        'Namespace /governor-system',
        'NetworkPolicy governor-system/governor-bff',
        'Role governor-system/governor-admin-token',
        'Role governor-system/governor-leader-election',
        'Role istio-system/governor-istio-version',
        'RoleBinding governor-system/governor-admin-token',
        'RoleBinding governor-system/governor-leader-election',
        'RoleBinding istio-system/governor-istio-version',
        'Service governor-system/governor-bff',
        'Service governor-system/governor-rls',
        'Service governor-system/governor-web',
        'Service governor-system/governor-xds',
        'ServiceAccount governor-system/governor',
      ].sort(),
    );
  });

  it('the governor-rls Service is the rate-limit cluster rendered EnvoyFilters name', () => {
    const rls = find('Service', 'governor-rls') as Manifest & {
      spec: { ports: { name: string; port: number }[] };
    };
    const cluster = `outbound|${rls.spec.ports[0]?.port}||${rls.metadata.name}.${rls.metadata.namespace}.svc.cluster.local`;
    expect(cluster).toBe(DEFAULT_RATE_LIMIT_SERVICE.clusterName);
    expect(rls.spec.ports).toEqual([expect.objectContaining({ name: 'grpc', port: 8081 })]);
  });

  it("the governor-xds Service reaches the BFF's route server on GOVERNOR_XDS_PORT, as gRPC", () => {
    const xds = find('Service', 'governor-xds') as Manifest & {
      spec: {
        selector: Record<string, string>;
        ports: { name: string; port: number; targetPort: string; appProtocol?: string }[];
      };
    };
    expect(xds.spec.selector).toEqual({ 'app.kubernetes.io/name': 'governor-bff' });
    expect(xds.spec.ports).toHaveLength(1);
    const port = xds.spec.ports[0]!;
    // Istio takes the protocol from the port's name (grpc, grpc-*) or appProtocol.
    expect(port).toMatchObject({ port: 18010, appProtocol: 'grpc' });
    expect(port.name).toMatch(/^grpc(-|$)/);
    const bff = find('Deployment', 'governor-bff') as Manifest & {
      spec: {
        template: {
          spec: {
            containers: {
              name: string;
              ports: { name: string; containerPort: number }[];
              env: { name: string; value?: string }[];
            }[];
          };
        };
      };
    };
    const container = bff.spec.template.spec.containers.find((c) => c.name === 'bff')!;
    const target = container.ports.find((p) => p.name === port.targetPort);
    expect(target?.containerPort).toBe(18010);
    expect(container.env.find((e) => e.name === 'GOVERNOR_XDS_PORT')?.value).toBe('18010');
  });

  it('the BFF reads its modules from the governor-modules ConfigMap: a SlimeBoot that turns limiter, lazyload, plugin and metarouter on', () => {
    interface Container {
      name: string;
      env: { name: string; value?: string }[];
      volumeMounts: { name: string; mountPath: string }[];
    }
    const bff = find('Deployment', 'governor-bff') as Manifest & {
      spec: {
        template: {
          spec: { containers: Container[]; volumes: { name: string; configMap?: { name: string } }[] };
        };
      };
    };
    const pod = bff.spec.template.spec;
    const container = pod.containers.find((c) => c.name === 'bff')!;
    const file = container.env.find((e) => e.name === 'GOVERNOR_MODULES')?.value;
    expect(file).toBeDefined();
    // The path is a key of the ConfigMap mounted at its directory.
    const mount = container.volumeMounts.find((m) => file!.startsWith(`${m.mountPath}/`));
    expect(mount).toBeDefined();
    const volume = pod.volumes.find((v) => v.name === mount!.name);
    expect(volume?.configMap?.name).toBe('governor-modules');
    const configMap = find('ConfigMap', 'governor-modules') as Manifest & { data: Record<string, string> };
    const text = configMap.data[file!.slice(mount!.mountPath.length + 1)];
    expect(text).toBeDefined();

    const loaded = loadModuleConfig(
      text!,
      MODULES.map((m) => m.settings),
    );
    expect(loaded.errors).toEqual([]);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.notes).toEqual([]);
    expect(Object.entries(loaded.modules).map(([name, m]) => [name, m.enable])).toEqual([
      ['limiter', true],
      ['lazyload', true],
      ['plugin', true],
      ['metarouter', true],
    ]);
  });

  it('the NetworkPolicy admits the dashboard and Prometheus to the HTTP port and only Istio proxies to the rate-limit and xDS ports', () => {
    interface Peer {
      namespaceSelector?: Record<string, unknown>;
      podSelector?: {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string }[];
      };
    }
    const policy = find('NetworkPolicy', 'governor-bff') as Manifest & {
      spec: { ingress: { from?: Peer[]; ports: { port: string }[] }[] };
    };
    const rules = policy.spec.ingress;
    // Every rule names its sources: none admits the whole network.
    for (const rule of rules) expect(rule.from?.length ?? 0).toBeGreaterThan(0);
    const to = (port: string) => rules.filter((r) => r.ports.some((p) => p.port === port));
    expect(to('http')).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'governor-web' } } }],
        ports: [{ port: 'http' }],
      },
      // /metrics, for Prometheus (the API on that port still needs a token).
      {
        from: [
          {
            namespaceSelector: {},
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          },
        ],
        ports: [{ port: 'http' }],
      },
    ]);
    const grpc = to('grpc');
    expect(grpc).toHaveLength(1);
    expect(grpc[0]!.ports).toEqual([{ port: 'grpc' }, { port: 'xds' }]);
    expect(to('xds')).toEqual(grpc);
    const peers = grpc[0]!.from!;
    // From any namespace, but only Pods Istio's injector labelled: sidecars, and gateways.
    for (const peer of peers) {
      expect(peer.namespaceSelector).toEqual({});
      const labels = Object.keys(peer.podSelector?.matchLabels ?? {});
      const required = (peer.podSelector?.matchExpressions ?? []).map((e) => e.key);
      expect([...labels, ...required].length).toBeGreaterThan(0);
      expect([...labels, ...required].every((k) => /(^|\.)istio\.io\//.test(k))).toBe(true);
    }
    expect(peers).toContainEqual({
      namespaceSelector: {},
      podSelector: { matchLabels: { 'security.istio.io/tlsMode': 'istio' } },
    });
  });

  it('every manifest is accepted by the API server (server-side apply, dry run, strict fields)', async () => {
    const { kubeConfig } = running();
    const api = KubernetesJsonApi.fromKubeConfig(kubeConfig);
    // A dry run creates nothing, and namespaced objects need their namespace to exist (Istio's too).
    for (const name of ['governor-system', 'istio-system'])
      await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    const failures: string[] = [];
    for (const manifest of manifests()) {
      await apply(api, manifest, true).catch((error: unknown) => {
        failures.push(`${manifest.source}: ${manifest.kind} ${manifest.metadata.name}: ${String(error)}`);
      });
    }
    expect(failures).toEqual([]);
    // Nothing was written.
    await expect(
      api.send({ method: 'GET', path: '/api/v1/namespaces/governor-system/serviceaccounts/governor' }),
    ).rejects.toMatchObject({ status: 404 });
  });

  describe('as the governor service account', () => {
    let store: KubernetesStore | undefined;
    let api: KubernetesJsonApi | undefined;
    const as = () => {
      if (store === undefined || api === undefined) throw new Error('not set up');
      return { store, api };
    };

    beforeAll(async () => {
      const { kubeConfig, server: url, dir } = running();
      const admin = KubernetesJsonApi.fromKubeConfig(kubeConfig);
      for (const manifest of manifests()) await apply(admin, manifest, false);

      // What the kubelet mounts into the Pod: a token for the service account, in a file.
      const { status } = await admin.send<{ status: { token: string } }>({
        method: 'POST',
        path: '/api/v1/namespaces/governor-system/serviceaccounts/governor/token',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
      });
      const tokenFile = join(dir, 'governor-token');
      await writeFile(tokenFile, status.token);

      // The shipped kubeconfig, pointed at the test server and the token file above.
      const shipped = (find('ConfigMap', 'governor-kubeconfig') as Manifest & { data: { config: string } })
        .data.config;
      const kc = new KubeConfig();
      kc.loadFromString(
        shipped
          .replace('https://kubernetes.default.svc', url)
          .replace(/certificate-authority: .*/, 'insecure-skip-tls-verify: true')
          .replace('/var/run/secrets/kubernetes.io/serviceaccount/token', tokenFile),
      );
      store = KubernetesStore.fromKubeConfig(kc);
      api = KubernetesJsonApi.fromKubeConfig(kc);

      await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'bookinfo' } } });
      const adminStore = KubernetesStore.fromKubeConfig(kubeConfig);
      await adminStore.create(smartLimiter('bookinfo', 'reviews', 10));
      await adminStore.close();
    }, 60_000);

    afterAll(async () => {
      await store?.close();
    });

    it('lists and watches what the controller reads, in every namespace', async () => {
      const { store } = as();
      const { kubeConfig } = running();
      const admin = KubernetesJsonApi.fromKubeConfig(kubeConfig);
      for (const kind of [
        'SmartLimiter',
        'Service',
        'Pod',
        'DestinationRule',
        'ServiceEntry',
        'EnvoyFilter',
        'ServiceFence',
        'Sidecar',
        'Namespace',
        'PluginManager',
        'EnvoyPlugin',
        'MetaRouter',
        'ApplicationProtocol',
      ] as const) {
        await store.list(kind);
        const { group, plural } = kindInfo(kind);
        const review = await admin.send<{ status: { allowed: boolean } }>({
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: 'system:serviceaccount:governor-system:governor',
              resourceAttributes: { group, resource: plural, verb: 'watch' },
            },
          },
        });
        expect({ kind, watch: review.status.allowed }).toEqual({ kind, watch: true });
      }

      // And a watch as the service account sees changes.
      const { resourceVersion } = await store.list('SmartLimiter');
      const events: string[] = [];
      const watch = store.watch('SmartLimiter', {
        resourceVersion,
        onEvent: (e) => events.push(`${e.type} ${e.object.metadata.name}`),
        onEnd: () => undefined,
      });
      try {
        const adminStore = KubernetesStore.fromKubeConfig(kubeConfig);
        await adminStore.create(smartLimiter('bookinfo', 'details', 5));
        await adminStore.close();
        await vi.waitFor(() => expect(events).toEqual(['ADDED details']), { timeout: 10_000 });
      } finally {
        watch.stop();
      }
    });

    it("writes ServiceFences (the lazyload module's own and their status) and Sidecars", async () => {
      const { store } = as();
      const fence = await store.apply(
        {
          apiVersion: 'microservice.slime.io/v1alpha1',
          kind: 'ServiceFence',
          metadata: {
            name: 'ratings',
            namespace: 'bookinfo',
            labels: { 'app.kubernetes.io/created-by': 'fence-controller' },
          },
          spec: { enable: true, workloadSelector: { fromService: true } },
        },
        { fieldManager: 'governor', force: true },
      );
      await expect(
        store.updateStatus({ ...fence, status: { domains: {}, metricStatus: {} } }),
      ).resolves.toMatchObject({ status: { metricStatus: {} } });
      await store.apply(
        {
          apiVersion: 'networking.istio.io/v1alpha3',
          kind: 'Sidecar',
          metadata: { name: 'ratings', namespace: 'bookinfo' },
          spec: { egress: [{ hosts: ['istio-system/*'] }], workloadSelector: { labels: { app: 'ratings' } } },
        },
        { fieldManager: 'governor', force: true },
      );
      expect(await store.delete('Sidecar', 'bookinfo', 'ratings')).toBe(true);
      expect(await store.delete('ServiceFence', 'bookinfo', 'ratings')).toBe(true);
    });

    it("writes PluginManagers' and EnvoyPlugins' status, and deletes them for the dashboard", async () => {
      const { store } = as();
      const { kubeConfig } = running();
      const adminStore = KubernetesStore.fromKubeConfig(kubeConfig);
      try {
        for (const kind of ['PluginManager', 'EnvoyPlugin'] as const) {
          const created = await adminStore.create({
            apiVersion: 'microservice.slime.io/v1alpha1',
            kind,
            metadata: { name: 'plugins', namespace: 'bookinfo' },
            spec: {},
          });
          const status = { conditions: [{ type: 'Ready', status: 'True' }] };
          await expect(store.updateStatus({ ...created, status })).resolves.toMatchObject({ status });
          // The dashboard's editors delete them through the BFF.
          expect(await store.delete(kind, 'bookinfo', 'plugins')).toBe(true);
        }
      } finally {
        await adminStore.close();
      }
    });

    it("reads MetaRouters and ApplicationProtocols, writes MetaRouters' status, their specs for the dashboard, and EnvoyFilters in other namespaces", async () => {
      const { store } = as();
      const { kubeConfig } = running();
      const forbidden = { status: 403, reason: 'Forbidden' };
      const core = kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'metarouter-export' } } });
      const adminStore = KubernetesStore.fromKubeConfig(kubeConfig);
      try {
        const protocol = {
          apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
          kind: 'ApplicationProtocol',
          metadata: { name: 'thrift' },
          spec: { protocol: 'thrift', codec: 'aeraki.meta_protocol.codec.thrift' },
        };
        await adminStore.create(protocol);
        expect(await store.get('ApplicationProtocol', '', 'thrift')).toMatchObject({ spec: protocol.spec });
        await expect(store.create({ ...protocol, metadata: { name: 'dubbo' } })).rejects.toMatchObject(
          forbidden,
        );

        const host = 'rating-rpc.bookinfo.svc.cluster.local';
        await adminStore.create({
          apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
          kind: 'MetaRouter',
          metadata: { name: 'rating-rpc', namespace: 'bookinfo' },
          spec: {
            hosts: [host],
            routes: [
              {
                name: 'v2',
                match: { attributes: { method: { exact: 'getRating' } } },
                route: [{ destination: { host, subset: 'v2' } }],
              },
            ],
          },
        });
        expect((await store.list('MetaRouter')).items.map((o) => o.metadata.name)).toContain('rating-rpc');
        const router = await store.get('MetaRouter', 'bookinfo', 'rating-rpc');
        if (router === null) throw new Error('no MetaRouter');
        const status = {
          conditions: [{ type: 'Ready', status: 'True', reason: 'Served', message: 'test' }],
          routeConfigurations: [`${host}_9090`],
          proxies: { 'sidecar~10.0.0.1~rating-rpc~bookinfo': { version: 'v1', acked: true } },
        };
        const written = await store.updateStatus({ ...router, status });
        expect(written).toMatchObject({ status });
        // The dashboard's editor creates and changes specs (it never deletes a MetaRouter).
        await store.update({ ...written, spec: { hosts: [host], routes: [] } });
        await store.create({
          ...router,
          metadata: { name: 'other', namespace: 'bookinfo' },
          status: undefined,
        });
        await expect(store.delete('MetaRouter', 'bookinfo', 'rating-rpc')).rejects.toMatchObject(forbidden);

        // Outbound EnvoyFilters go to the root namespace or where a MetaRouter exports them, marked
        // with their owner instead of an owner reference.
        for (const namespace of ['istio-system', 'metarouter-export']) {
          const filter = envoyFilter(namespace, 'aeraki-outbound-rating-rpc', 'one');
          const applied = await store.apply(
            {
              ...filter,
              metadata: {
                ...filter.metadata,
                labels: {
                  'governor.io/owner-kind': 'Service',
                  'governor.io/owner-namespace': 'bookinfo',
                },
              },
            },
            { fieldManager: 'governor', force: true },
          );
          expect(applied.metadata.namespace).toBe(namespace);
          expect(await store.delete('EnvoyFilter', namespace, 'aeraki-outbound-rating-rpc')).toBe(true);
        }
      } finally {
        await adminStore.delete('MetaRouter', 'bookinfo', 'rating-rpc').catch(() => false);
        await adminStore.delete('MetaRouter', 'bookinfo', 'other').catch(() => false);
        await adminStore.delete('ApplicationProtocol', '', 'thrift').catch(() => false);
        await adminStore.close();
      }
    });

    it('writes SmartLimiter status, EnvoyFilters, Events and its Lease', async () => {
      const { store } = as();
      const limiter = await store.get('SmartLimiter', 'bookinfo', 'reviews');
      if (limiter === null) throw new Error('no SmartLimiter');
      await expect(store.updateStatus({ ...limiter, status: limiterStatus(2) })).resolves.toMatchObject({
        status: limiterStatus(2),
      });

      await store.apply(envoyFilter('bookinfo', 'reviews-governor', 'one'), {
        fieldManager: 'governor',
        force: true,
      });
      expect(await store.delete('EnvoyFilter', 'bookinfo', 'reviews-governor')).toBe(true);

      await store.create({
        apiVersion: apiVersionOf('Event'),
        kind: 'Event',
        metadata: { name: 'reviews.governor-test', namespace: 'bookinfo' },
        involvedObject: {
          apiVersion: limiter.apiVersion,
          kind: limiter.kind,
          name: 'reviews',
          namespace: 'bookinfo',
        },
        reason: 'Rendered',
        message: 'test',
        type: 'Normal',
      });

      const lease = await store.create({
        apiVersion: apiVersionOf('Lease'),
        kind: 'Lease',
        metadata: { name: 'governor-controller', namespace: 'governor-system' },
        spec: { holderIdentity: 'test', leaseDurationSeconds: 15 },
      });
      const renewed = await store.update({
        ...lease,
        spec: { holderIdentity: 'test', leaseDurationSeconds: 30 },
      });
      expect(await store.get('Lease', 'governor-system', 'governor-controller')).toEqual(renewed);
    });

    it('creates the admin token ConfigMap once and reads it again, and no other ConfigMap or any Secret', async () => {
      const { api } = as();
      const first = await adminTokenFromConfigMap({ api, namespace: 'governor-system' });
      expect(first.createdToken).toBeDefined();
      const again = await adminTokenFromConfigMap({ api, namespace: 'governor-system' });
      expect(again.createdToken).toBeUndefined();
      expect(again.tokenSha256.equals(first.tokenSha256)).toBe(true);

      const { kubeConfig } = running();
      const core = kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({
        namespace: 'governor-system',
        body: { metadata: { name: 'someone-else' }, data: { setting: 'x' } },
      });
      await core.createNamespacedSecret({
        namespace: 'governor-system',
        body: { metadata: { name: 'someone-else' }, stringData: { password: 'x' } },
      });
      const forbidden = { status: 403, reason: 'Forbidden' };
      for (const path of [
        '/api/v1/namespaces/governor-system/configmaps/someone-else',
        '/api/v1/namespaces/bookinfo/configmaps/governor-admin',
        '/api/v1/namespaces/governor-system/secrets/someone-else',
        '/api/v1/namespaces/governor-system/secrets',
      ])
        await expect(api.send({ method: 'GET', path })).rejects.toMatchObject(forbidden);
      await expect(
        api.send({
          method: 'PUT',
          path: '/api/v1/namespaces/governor-system/configmaps/governor-admin',
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'governor-admin' }, data: {} },
        }),
      ).rejects.toMatchObject(forbidden);
    });

    it('writes SmartLimiter specs for the dashboard, but may not change workloads, other Leases or read Secrets', async () => {
      const { store, api } = as();
      const forbidden = { status: 403, reason: 'Forbidden' };
      await store.create(smartLimiter('bookinfo', 'ratings', 1));
      expect(await store.delete('SmartLimiter', 'bookinfo', 'ratings')).toBe(true);
      await expect(store.delete('Service', 'bookinfo', 'reviews')).rejects.toMatchObject(forbidden);
      await expect(
        store.create({
          apiVersion: apiVersionOf('Lease'),
          kind: 'Lease',
          metadata: { name: 'governor-controller', namespace: 'bookinfo' },
          spec: {},
        }),
      ).rejects.toMatchObject(forbidden);
      await expect(
        api.send({ method: 'GET', path: '/api/v1/namespaces/governor-system/secrets' }),
      ).rejects.toMatchObject(forbidden);
    });
  });
});
