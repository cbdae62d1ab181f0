/**
 * From Governor 0.1 (deploy/ as it was, applied with `kubectl apply --server-side`, kept in
 * test/fixtures/governor-0.1) to the chart with `helm upgrade --install`, on the test API server: the
 * users' objects of every Governor kind keep their spec and status, the CRDs stay established with the
 * same versions; switching a module off and uninstalling leave CRDs and objects in place.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { KubernetesJsonApi } from '../../src/cluster/kubernetes-json-api';
import { installCrds } from '../support/kube-test-server';
import { useKubeTestServer } from '../support/kube-test-fixtures';
import {
  CHART_DIR,
  helm,
  HELM_BUILD_TIMEOUT_MS,
  MODULE_CRDS,
  modulesWithout,
  type Helm,
} from '../support/helm';
import { installIstioTestCrds, NAMESPACE } from '../support/chart-cluster';
import { limiterSpec } from '../support/store-contract';

const OLD = fileURLToPath(new URL('../fixtures/governor-0.1/', import.meta.url));
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

const running = useKubeTestServer({ installCrds: false });
let h: Helm;
let dir: string;
let api: KubernetesJsonApi;

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec?: unknown;
  status?: unknown;
};

const docs = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);

const pathOf = (o: Obj): Promise<string> =>
  api.pathOf({
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
  });

/** GET, waiting out the moments a CRD's storage is re-created after the CRD changed (503). */
async function get<T>(path: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.send<T>({ method: 'GET', path });
    } catch (e) {
      if ((e as { status?: number }).status !== 503 || attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** `kubectl apply --server-side` of one object: its field manager is kubectl. */
async function kubectlApply(o: Obj): Promise<void> {
  await api.send({
    method: 'PATCH',
    path: await pathOf(o),
    query: { fieldManager: 'kubectl', fieldValidation: 'Strict' },
    body: o,
    contentType: PatchStrategy.ServerSideApply,
  });
}

/** One object of every Governor kind, with a status where the kind has a status subresource. */
const USER_OBJECTS: { object: Obj; status?: Record<string, unknown> }[] = [
  {
    object: {
      apiVersion: 'microservice.slime.io/v1alpha2',
      kind: 'SmartLimiter',
      metadata: { name: 'reviews', namespace: 'bookinfo' },
      spec: limiterSpec(10),
    },
    status: { ratelimitStatus: {}, metricStatus: { pods: '2' } },
  },
  {
    object: {
      apiVersion: 'microservice.slime.io/v1alpha1',
      kind: 'ServiceFence',
      metadata: { name: 'ratings', namespace: 'bookinfo' },
      spec: { enable: true, workloadSelector: { fromService: true } },
    },
    status: { domains: {}, metricStatus: {} },
  },
  {
    object: {
      apiVersion: 'microservice.slime.io/v1alpha1',
      kind: 'PluginManager',
      metadata: { name: 'plugins', namespace: 'bookinfo' },
      spec: {},
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  },
  {
    object: {
      apiVersion: 'microservice.slime.io/v1alpha1',
      kind: 'EnvoyPlugin',
      metadata: { name: 'plugins', namespace: 'bookinfo' },
      spec: {},
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  },
  {
    object: {
      apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
      kind: 'MetaRouter',
      metadata: { name: 'rating-rpc', namespace: 'bookinfo' },
      spec: {
        hosts: ['rating-rpc.bookinfo.svc.cluster.local'],
        routes: [
          {
            name: 'v2',
            match: { attributes: { method: { exact: 'getRating' } } },
            route: [{ destination: { host: 'rating-rpc.bookinfo.svc.cluster.local', subset: 'v2' } }],
          },
        ],
      },
    },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Served', message: 'test' }] },
  },
  {
    object: {
      apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
      kind: 'ApplicationProtocol',
      metadata: { name: 'thrift' },
      spec: { protocol: 'thrift', codec: 'aeraki.meta_protocol.codec.thrift' },
    },
  },
];

interface Snapshot {
  objects: Record<string, { uid?: string; spec: unknown; status: unknown }>;
  crds: Record<string, { versions: unknown; storedVersions: unknown; established: boolean }>;
}

async function snapshot(): Promise<Snapshot> {
  const objects: Snapshot['objects'] = {};
  for (const { object } of USER_OBJECTS) {
    const o = await get<Obj>(await pathOf(object));
    objects[`${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`] = {
      uid: o.metadata.uid,
      spec: o.spec,
      status: o.status ?? null,
    };
  }
  const crds: Snapshot['crds'] = {};
  for (const name of Object.values(MODULE_CRDS).flat()) {
    const crd = await get<{
      spec: { versions: { name: string; served: boolean; storage: boolean }[] };
      status: { storedVersions: string[]; conditions: { type: string; status: string }[] };
    }>(`${CRD_PATH}/${name}`);
    crds[name] = {
      versions: crd.spec.versions.map(({ name, served, storage }) => ({ name, served, storage })),
      storedVersions: crd.status.storedVersions,
      established: crd.status.conditions.some((c) => c.type === 'Established' && c.status === 'True'),
    };
  }
  return { objects, crds };
}

async function crd(name: string): Promise<Obj> {
  return get<Obj>(`${CRD_PATH}/${name}`);
}

beforeAll(async () => {
  h = await helm({ kubeconfig: running().kubeconfigPath });
  dir = await mkdtemp(join(tmpdir(), 'governor-helm-upgrade-'));
  api = KubernetesJsonApi.fromKubeConfig(running().kubeConfig);
  await installIstioTestCrds(running());
  const core = running().kubeConfig.makeApiClient(CoreV1Api);
  for (const name of ['istio-system', 'bookinfo'])
    await core.createNamespace({ body: { metadata: { name } } });
}, HELM_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await h?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('from Governor 0.1 to the chart', { timeout: 180_000 }, () => {
  let before: Snapshot;

  it('Governor 0.1 is installed with kubectl apply --server-side, and holds objects of every kind', async () => {
    const crds = readdirSync(join(OLD, 'crds')).flatMap((f) => docs(join(OLD, 'crds', f)));
    for (const c of crds) await kubectlApply(c);
    // Finds them there, and waits until they are established.
    await installCrds(running().kubeConfig, crds as unknown as Record<string, unknown>[]);
    for (const o of docs(join(OLD, 'governor.yaml'))) await kubectlApply(o);
    for (const { object, status } of USER_OBJECTS) {
      const created = await api.send<Obj>({
        method: 'POST',
        path: (await pathOf(object)).replace(/\/[^/]+$/, ''),
        body: object,
      });
      if (status)
        await api.send({
          method: 'PUT',
          path: `${await pathOf(object)}/status`,
          body: { ...created, status },
        });
    }
    before = await snapshot();
    for (const { object, status } of USER_OBJECTS)
      if (status)
        expect(
          before.objects[`${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`]?.status,
        ).toEqual(status);
  });

  it('helm upgrade --install takes the kubectl-applied objects over and changes no user object', async () => {
    const args = ['upgrade', '--install', 'governor', CHART_DIR, '-n', NAMESPACE];
    // Objects without Helm's ownership labels are refused, unless taken over.
    await expect(h.run(args)).rejects.toThrow(/invalid ownership metadata/);
    // Taken over, kubectl's server-side apply still owns their fields: helm's apply must force.
    await expect(h.run([...args, '--take-ownership'])).rejects.toThrow(/conflict with "kubectl"/);
    const { stdout } = await h.run([...args, '--take-ownership', '--force-conflicts']);
    expect(stdout).toMatch(/STATUS: deployed/);
    // 0.1's rights on Secrets are gone with the objects that granted them, now the chart's.
    const roles = await get<{ items: { rules?: { resources: string[] }[] }[] }>(
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/roles`,
    );
    const clusterRole = await get<{ rules: { resources: string[] }[] }>(
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/governor-controller',
    );
    const resources = [...roles.items, clusterRole].flatMap((r) =>
      (r.rules ?? []).flatMap((x) => x.resources),
    );
    expect(resources).toContain('configmaps');
    expect(resources).not.toContain('secrets');
    const after = await snapshot();
    expect(after).toEqual(before);
    for (const name of Object.values(MODULE_CRDS).flat()) {
      const c = await crd(name);
      expect(c.metadata.annotations).toMatchObject({
        'helm.sh/resource-policy': 'keep',
        'meta.helm.sh/release-name': 'governor',
        'meta.helm.sh/release-namespace': NAMESPACE,
      });
    }
  });

  it('a second upgrade that switches limiter off keeps its CRD and its objects', async () => {
    const values = join(dir, 'no-limiter.yaml');
    await writeFile(values, stringify({ modules: modulesWithout('limiter') }));
    await h.run(['upgrade', 'governor', CHART_DIR, '-n', NAMESPACE, '-f', values]);
    expect(await snapshot()).toEqual(before);
    // Still annotated as the release's, though the release no longer holds it.
    expect((await crd('smartlimiters.microservice.slime.io')).metadata.annotations).toMatchObject({
      'helm.sh/resource-policy': 'keep',
    });
  });

  it('helm uninstall keeps every CRD and object', async () => {
    const { stdout } = await h.run(['uninstall', 'governor', '-n', NAMESPACE]);
    expect(stdout).toContain('uninstalled');
    expect(await snapshot()).toEqual(before);
    await expect(
      api.send({
        method: 'GET',
        path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/governor-controller',
      }),
    ).rejects.toMatchObject({ status: 404 });
  });
});
