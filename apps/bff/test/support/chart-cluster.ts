/**
 * The chart on the test API server: what the BFF's service account must be allowed, per module, asked of
 * the server with SubjectAccessReviews; a kubeconfig for that service account; Istio's test CRDs.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KubernetesJsonApi } from '../../src/cluster/kubernetes-json-api';
import { installCrds, type KubeTestServer } from './kube-test-server';

export const NAMESPACE = 'governor-system';
export const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:governor`;

/** One right: a verb on a resource (`plural` or `plural/subresource`) in a namespace ('' = all). */
export interface Right {
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
  readonly namespace: string;
  readonly name?: string;
}

const READ = ['get', 'list', 'watch'];
const OWN = [...READ, 'create', 'update', 'patch', 'delete'];
const STATUS = ['update', 'patch'];

const rights = (group: string, resource: string, verbs: readonly string[], namespace = ''): Right[] =>
  verbs.map((verb) => ({ group, resource, verb, namespace }));
const istio = 'networking.istio.io';
const slime = 'microservice.slime.io';
const aeraki = 'metaprotocol.aeraki.io';

/**
 * What each module does, from its definition (kind, watches, owns, reads) and its dashboard router: it
 * lists and watches every kind it reads in all namespaces, writes its kind's status, applies (patch) and
 * deletes what it owns, and the dashboard's editor creates, updates and deletes its kind's objects.
 */
export const MODULE_RIGHTS: Record<string, Right[]> = {
  limiter: [
    ...rights(slime, 'smartlimiters', [...READ, 'create', 'update', 'delete']),
    ...rights(slime, 'smartlimiters/status', STATUS),
    ...rights(istio, 'envoyfilters', OWN),
    ...rights('', 'services', READ),
    ...rights('', 'pods', READ),
    ...['workloadentries', 'destinationrules', 'serviceentries', 'virtualservices', 'gateways'].flatMap((r) =>
      rights(istio, r, READ),
    ),
  ],
  lazyload: [
    ...rights(slime, 'servicefences', OWN),
    ...rights(slime, 'servicefences/status', STATUS),
    ...rights(istio, 'sidecars', OWN),
    ...rights(istio, 'envoyfilters', OWN),
    ...rights('', 'services', READ),
    ...rights('', 'namespaces', READ),
    ...rights('', 'pods', READ),
    ...['virtualservices', 'workloadentries', 'serviceentries', 'gateways'].flatMap((r) =>
      rights(istio, r, READ),
    ),
  ],
  plugin: [
    ...rights(slime, 'pluginmanagers', [...READ, 'create', 'update', 'delete']),
    ...rights(slime, 'envoyplugins', [...READ, 'create', 'update', 'delete']),
    ...rights(slime, 'pluginmanagers/status', STATUS),
    ...rights(slime, 'envoyplugins/status', STATUS),
    ...rights(istio, 'envoyfilters', OWN),
  ],
  metarouter: [
    ...rights(aeraki, 'metarouters', [...READ, 'create', 'update']),
    ...rights(aeraki, 'metarouters/status', STATUS),
    ...rights(aeraki, 'applicationprotocols', READ),
    ...rights('', 'services', READ),
    ...rights(istio, 'serviceentries', READ),
    ...rights(istio, 'gateways', READ),
    // Beside the service, and outbound ones in the mesh's root namespace.
    ...rights(istio, 'envoyfilters', OWN),
    ...rights(istio, 'envoyfilters', ['patch', 'delete'], 'istio-system'),
    // An ingress gateway's TCP listener for a MetaProtocol port.
    ...rights(istio, 'virtualservices', [...READ, 'create', 'update', 'patch', 'delete']),
  ],
};

/** What the BFF needs whatever the modules. */
export const COMMON_RIGHTS: Right[] = [
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: NAMESPACE },
  ...['get', 'update'].map((verb) => ({
    group: 'coordination.k8s.io',
    resource: 'leases',
    verb,
    namespace: NAMESPACE,
    name: 'governor-controller',
  })),
  { group: '', resource: 'configmaps', verb: 'create', namespace: NAMESPACE },
  { group: '', resource: 'configmaps', verb: 'get', namespace: NAMESPACE, name: 'governor-admin' },
  ...rights('', 'events', ['create', 'patch'], 'bookinfo'),
  // Read as module configuration; admins edit them on the Modules page (rbac.dashboardEdits).
  ...rights('config.netease.com', 'slimeboots', [...READ, 'create', 'update']),
  ...rights('config.netease.com', 'slimeboots', [...READ, 'create', 'update'], 'mesh-operator'),
  ...rights('apiextensions.k8s.io', 'customresourcedefinitions', ['get', 'list']),
  ...rights('apps', 'deployments', ['list'], 'istio-system'),
];

/** Rights the BFF must never have, whatever the modules. */
export const NEVER: Right[] = [
  // No Secret, anywhere.
  ...['', NAMESPACE, 'default', 'kube-system', 'istio-system'].flatMap((namespace) =>
    ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'].map((verb) => ({
      group: '',
      resource: 'secrets',
      verb,
      namespace,
    })),
  ),
  { group: '', resource: 'secrets', verb: 'get', namespace: NAMESPACE, name: 'governor-admin' },
  // Workloads, Services, other ConfigMaps, Leases elsewhere, RBAC, CRDs, Namespaces.
  ...['create', 'update', 'patch', 'delete'].flatMap((verb) => [
    { group: 'apps', resource: 'deployments', verb, namespace: 'bookinfo' },
    { group: 'apps', resource: 'deployments', verb, namespace: NAMESPACE },
    { group: '', resource: 'services', verb, namespace: 'bookinfo' },
    { group: '', resource: 'pods', verb, namespace: 'bookinfo' },
    { group: '', resource: 'namespaces', verb, namespace: '' },
    { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb, namespace: '' },
    { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb, namespace: '' },
    { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb, namespace: NAMESPACE },
    { group: istio, resource: 'destinationrules', verb, namespace: 'bookinfo' },
    { group: aeraki, resource: 'applicationprotocols', verb, namespace: '' },
  ]),
  // SlimeBoots are edited, never deleted or patched.
  ...['patch', 'delete'].map((verb) => ({
    group: 'config.netease.com',
    resource: 'slimeboots',
    verb,
    namespace: 'mesh-operator',
  })),
  ...['update', 'patch', 'delete'].map((verb) => ({
    group: '',
    resource: 'configmaps',
    verb,
    namespace: NAMESPACE,
    name: 'governor-kubeconfig',
  })),
  { group: '', resource: 'configmaps', verb: 'get', namespace: 'bookinfo', name: 'governor-admin' },
  { group: '', resource: 'configmaps', verb: 'list', namespace: NAMESPACE },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: 'bookinfo' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: NAMESPACE, name: 'other' },
  { group: 'apps', resource: 'deployments', verb: 'list', namespace: '' },
  { group: aeraki, resource: 'metarouters', verb: 'delete', namespace: 'bookinfo' },
];

export const describeRight = (r: Right): string =>
  `${r.verb} ${r.group === '' ? '' : `${r.group}/`}${r.resource}${r.name ? `/${r.name}` : ''} in ${r.namespace || 'all namespaces'}`;

/** Whether the BFF's service account may do `right`, by a SubjectAccessReview. */
export async function allowed(server: KubeTestServer, right: Right): Promise<boolean> {
  const [resource, subresource] = right.resource.split('/');
  const review = await KubernetesJsonApi.fromKubeConfig(server.kubeConfig).send<{
    status: { allowed: boolean };
  }>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SERVICE_ACCOUNT,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: {
          group: right.group,
          resource,
          ...(subresource ? { subresource } : {}),
          verb: right.verb,
          ...(right.namespace ? { namespace: right.namespace } : {}),
          ...(right.name ? { name: right.name } : {}),
        },
      },
    },
  });
  return review.status.allowed;
}

/** The rights among `wanted` the service account lacks (expect []), and among `never` it has. */
export async function rightsCheck(
  server: KubeTestServer,
  wanted: readonly Right[],
  never: readonly Right[],
): Promise<{ missing: string[]; excess: string[] }> {
  const missing: string[] = [];
  const excess: string[] = [];
  await Promise.all([
    ...wanted.map(async (r) => {
      if (!(await allowed(server, r))) missing.push(describeRight(r));
    }),
    ...never.map(async (r) => {
      if (await allowed(server, r)) excess.push(describeRight(r));
    }),
  ]);
  return { missing: missing.sort(), excess: excess.sort() };
}

const ISTIO_TEST_CRDS = fileURLToPath(new URL('../fixtures/istio-test-crds.yaml', import.meta.url));

/** The permissive Istio CRDs the tests keep (Governor's come from the chart). */
export async function installIstioTestCrds(server: KubeTestServer): Promise<void> {
  const crds = parseAllDocuments(readFileSync(ISTIO_TEST_CRDS, 'utf8'))
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((o): o is Record<string, unknown> => o !== null);
  await installCrds(server.kubeConfig, crds);
}

/**
 * A kubeconfig as the BFF's Pod has it: the shipped governor-kubeconfig pointed at the test server, with a
 * token the API server issued for the service account (what the kubelet mounts).
 */
export async function serviceAccountKubeconfig(server: KubeTestServer): Promise<string> {
  const admin = KubernetesJsonApi.fromKubeConfig(server.kubeConfig);
  const { status } = await admin.send<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/governor/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const tokenFile = join(server.dir, 'governor-sa-token');
  await writeFile(tokenFile, status.token, { mode: 0o600 });
  const shipped = await admin.send<{ data: { config: string } }>({
    method: 'GET',
    path: `/api/v1/namespaces/${NAMESPACE}/configmaps/governor-kubeconfig`,
  });
  const path = join(server.dir, 'governor-sa-kubeconfig');
  await writeFile(
    path,
    shipped.data.config
      .replace('https://kubernetes.default.svc', server.server)
      .replace(/certificate-authority: .*/, 'insecure-skip-tls-verify: true')
      .replace('/var/run/secrets/kubernetes.io/serviceaccount/token', tokenFile),
    { mode: 0o600 },
  );
  return path;
}
