/**
 * A ServiceFence through `governor render` and istiod: over Bookinfo, the fenced proxy is pushed the
 * clusters of what it calls (and where their VirtualServices route), of Istio's and Governor's namespaces,
 * and istiod's own, where without the fence it gets every service of the mesh. The fallback EnvoyFilter
 * rendered with it lands, valid, where Governor's explanation says it does.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { renderCommand } from '../../src/cli/render-command';
import type { ModuleDefinition } from '../../src/framework/registry';
import { explainEnvoyFilters } from '../../src/istio/explain';
import type { PatchPlace } from '../../src/istio/explain-types';
import type { KubeObject } from '../../src/istio/proxy-model';
import { lazyload } from '../../src/modules/lazyload';
import { capturedIo } from '../support/cli';
import { fixturePath } from '../support/fixtures';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type IstioDump,
} from '../support/istio-harness';

const PROXY = 'default/productpage-v1-7d4f8b6c9-abcde';

/**
 * Beside Bookinfo: Services in Istio's and Governor's namespaces (every Sidecar includes both), the
 * namespaced global sidecar the fallback sends to, and a VirtualService splitting reviews with `review`.
 */
const MESH = `
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}
spec:
  selector: {app: istiod}
  ports: [{name: grpc-xds, port: 15010, targetPort: 15010}, {name: https-webhook, port: 443, targetPort: 15017}]
---
apiVersion: v1
kind: Service
metadata: {name: governor, namespace: governor-system, labels: {app: governor}}
spec:
  selector: {app: governor}
  ports: [{name: http, port: 4000, targetPort: 4000}]
---
apiVersion: v1
kind: Service
metadata: {name: global-sidecar, namespace: default, labels: {app: global-sidecar}}
spec:
  selector: {app: global-sidecar}
  ports: [{name: http-80, port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: global-sidecar-6b7c9d5f4-gs1, namespace: default, labels: {app: global-sidecar}}
spec: {containers: [{name: global-sidecar, image: istio/proxyv2:1.24}]}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: review}, weight: 20}
`;

/** productpage was seen calling reviews and details, in Slime's metric keys. */
const FENCE = `
apiVersion: microservice.slime.io/v1alpha1
kind: ServiceFence
metadata: {name: productpage, namespace: default}
spec: {enable: true}
status:
  metricStatus:
    '{destination_service="reviews.default.svc.cluster.local"}': "3"
    '{destination_service="details.default.svc.cluster.local"}': "5"
`;

/** Slime's Bookinfo setup: fallback on 9080, a global sidecar per namespace. */
const lazyloadWithFallback: Pick<ModuleDefinition, 'create' | 'settings'> = {
  settings: lazyload.settings,
  create: (context) =>
    lazyload.create({
      ...context,
      settings: {
        ...context.settings,
        general: { ...context.settings.general, wormholePort: ['9080'], globalSidecarMode: 'namespace' },
      },
    }),
};

/** What istiod pushes every sidecar of a Pod serving Bookinfo's port 9080, whatever its Sidecar says. */
const ISTIOD_FIXED_CLUSTERS = [
  'BlackHoleCluster',
  'InboundPassthroughCluster',
  'PassthroughCluster',
  // productpage's own port, inbound.
  'inbound|9080||',
];

/** Istio's and Governor's namespaces' Services: in every Sidecar (`istio-system/*`, `governor-system/*`). */
const ALWAYS_INCLUDED = [
  'outbound|15010||istiod.istio-system.svc.cluster.local',
  'outbound|443||istiod.istio-system.svc.cluster.local',
  'outbound|4000||governor.governor-system.svc.cluster.local',
];

const DEPENDENCIES = [
  // Observed.
  'outbound|9080||details.default.svc.cluster.local',
  'outbound|9080||reviews.default.svc.cluster.local',
  // reviews' DestinationRule subsets come with it.
  'outbound|9080|v1|reviews.default.svc.cluster.local',
  'outbound|9080|v2|reviews.default.svc.cluster.local',
  'outbound|9080|v3|reviews.default.svc.cluster.local',
  // Where reviews' VirtualService also routes.
  'outbound|9080||review.default.svc.cluster.local',
  // The fallback, for hosts outside the Sidecar.
  'outbound|80||global-sidecar.default.svc.cluster.local',
];

/** Bookinfo's services the fence leaves out. */
const NOT_CALLED = [
  'outbound|9080||productpage.default.svc.cluster.local',
  'outbound|9080||ratings.default.svc.cluster.local',
];

const yamlObjects = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');

const clusterNames = (dump: IstioDump): string[] => dump.clusters.map((c) => String(c.name)).sort();

describe('a ServiceFence through istiod', { timeout: 120_000 }, () => {
  let dir = '';
  let rendered: KubeObject[] = [];
  let fenced: Awaited<ReturnType<typeof runIstioHarness>>;
  let unfenced: Awaited<ReturnType<typeof runIstioHarness>>;

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-istio-lazyload-'));
    const mesh = join(dir, 'mesh.yaml');
    const fence = join(dir, 'fence.yaml');
    await writeFile(mesh, MESH);
    await writeFile(fence, FENCE);
    const { out, io } = capturedIo();
    const code = await renderCommand(
      ['-f', fence, '-f', fixturePath('context-bookinfo.yaml'), '-f', mesh],
      io,
      [lazyloadWithFallback],
    );
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    rendered = yamlObjects(out.stdout);
    const renderedFile = join(dir, 'rendered.yaml');
    await writeFile(renderedFile, out.stdout);
    const context = [fixturePath('context-bookinfo.yaml'), mesh];
    [fenced, unfenced] = await Promise.all([
      runIstioHarness([...context, renderedFile], PROXY),
      runIstioHarness(context, PROXY),
    ]);
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('renders the Sidecar and its fallback', () => {
    expect(rendered.map((o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([
      'EnvoyFilter default/productpage.default.lazyload-fallback',
      'Sidecar default/productpage',
    ]);
    const sidecar = rendered.find((o) => o.kind === 'Sidecar') as unknown as {
      spec: { egress: { hosts: string[] }[] };
    };
    expect(sidecar.spec.egress[0]!.hosts).toEqual([
      '*/details.default.svc.cluster.local',
      '*/global-sidecar.default.svc.cluster.local',
      '*/review.default.svc.cluster.local',
      '*/reviews.default.svc.cluster.local',
      'governor-system/*',
      'istio-system/*',
    ]);
  });

  it('pushes the fenced proxy only its dependencies', () => {
    expect(clusterNames(fenced.dump)).toEqual(
      [...ISTIOD_FIXED_CLUSTERS, ...ALWAYS_INCLUDED, ...DEPENDENCIES].sort(),
    );
    // Without the fence, the same proxy gets every service of the mesh.
    expect(clusterNames(unfenced.dump)).toEqual(
      [...ISTIOD_FIXED_CLUSTERS, ...ALWAYS_INCLUDED, ...DEPENDENCIES, ...NOT_CALLED].sort(),
    );
  });

  it('applies every patch, and istiod and Envoy find nothing invalid', () => {
    expect(fenced.dump.unappliedPatches).toEqual([]);
    expect(fenced.dump.validation.filter((v) => !v.valid)).toEqual([]);
    expect(fenced.dump.validation.map((v) => `${v.kind} ${v.namespace}/${v.name}`)).toEqual(
      expect.arrayContaining([
        'EnvoyFilter default/productpage.default.lazyload-fallback',
        'Sidecar default/productpage',
      ]),
    );
    expect(fenced.dump.envoyValidation).toEqual([]);
    expect(fenced.code).toBe(0);
  });

  it("explains the fallback's patches where istiod applies them", async () => {
    const context = [
      ...yamlObjects(await readFile(fixturePath('context-bookinfo.yaml'), 'utf8')),
      ...yamlObjects(MESH),
    ];
    const [namespace, name] = PROXY.split('/') as [string, string];
    const explained = explainEnvoyFilters({
      objects: [...context, ...rendered.filter((o) => o.kind !== 'EnvoyFilter')],
      envoyFilters: rendered.filter((o) => o.kind === 'EnvoyFilter'),
      proxy: { namespace, name },
    });
    expect(explained.unselected).toEqual(fenced.dump.unselectedEnvoyFilters);
    const key = (p: { envoyFilter: string; index: number }) => `${p.envoyFilter}#${p.index}`;
    const istiod = new Map<string, PatchPlace[]>(
      fenced.dump.appliedPatches.map((p): [string, PatchPlace[]] => [key(p), p.places]),
    );
    expect(explained.patches.map(key).sort()).toEqual([...istiod.keys()].sort());
    expect(istiod.size).toBeGreaterThan(0);
    for (const p of explained.patches) expect(p.places, key(p)).toEqual(istiod.get(key(p)));
    // Hosts outside the Sidecar on 9080 reach the fallback.
    expect(istiod.get('default/productpage.default.lazyload-fallback#0')).toEqual([
      { routeConfiguration: '9080', virtualHost: 'allow_any', route: 'allow_any' },
    ]);
  });
});
