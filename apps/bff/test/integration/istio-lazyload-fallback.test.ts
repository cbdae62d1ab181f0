/**
 * Lazyload's fallback EnvoyFilter through istiod: for a fenced Bookinfo workload whose Sidecar lists only
 * some services, every patch lands, nothing is invalid, and the outbound route configuration of the
 * wormhole port sends unknown hosts to the fallback Service. Governor's explanation of where each patch
 * lands must agree with istiod's.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { explainEnvoyFilters } from '../../src/istio/explain';
import type { PatchPlace } from '../../src/istio/explain-types';
import type { KubeObject } from '../../src/istio/proxy-model';
import { renderFallbackEnvoyFilter, type FallbackInput } from '../../src/modules/lazyload/render/fallback';
import { fixturePath } from '../support/fixtures';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
  type IstioDump,
} from '../support/istio-harness';

const PRODUCTPAGE = 'default/productpage-v1-7d4f8b6c9-abcde';
const FALLBACK_CLUSTER = 'outbound|80||global-sidecar.default.svc.cluster.local';

/** The fallback's Service and Pod, and productpage's fence: details only, and the fallback itself. */
const MESH = `
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
kind: Sidecar
metadata: {name: productpage, namespace: default}
spec:
  workloadSelector: {labels: {app: productpage}}
  egress:
  - hosts:
    - istio-system/*
    - '*/details.default.svc.cluster.local'
    - '*/global-sidecar.default.svc.cluster.local'
`;

const FENCE: FallbackInput = {
  fence: { name: 'productpage', namespace: 'default' },
  workloadSelector: { app: 'productpage' },
  wormholePorts: ['9080'],
};

const yamlObjects = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');

const routeConfiguration = (dump: IstioDump, name: string): EnvoyJson => {
  const rc = dump.routes.find((r) => r.name === name);
  if (!rc) throw new Error(`no route configuration ${name}: ${dump.routes.map((r) => r.name).join(', ')}`);
  return rc;
};

const virtualHost = (rc: EnvoyJson, name: string): EnvoyJson | undefined =>
  ((rc.virtualHosts ?? []) as EnvoyJson[]).find((v) => v.name === name);

const clustersOf = (vh: EnvoyJson | undefined): string[] =>
  ((vh?.routes ?? []) as EnvoyJson[]).map(
    (r) => (r.route as { cluster?: string } | undefined)?.cluster ?? '',
  );

describe('lazyload fallback through istiod', { timeout: 120_000 }, () => {
  let dir = '';
  let context = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-lazyload-fallback-'));
    context = await readFile(fixturePath('context-bookinfo.yaml'), 'utf8');
    await writeFile(join(dir, 'mesh.yaml'), MESH);
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  async function run(name: string, input: FallbackInput) {
    const filter = renderFallbackEnvoyFilter(input);
    if (!filter) throw new Error('no EnvoyFilter rendered');
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, stringify(filter));
    const { code, dump } = await runIstioHarness(
      [fixturePath('context-bookinfo.yaml'), join(dir, 'mesh.yaml'), file],
      PRODUCTPAGE,
    );
    const explained = explainEnvoyFilters({
      objects: [...yamlObjects(context), ...yamlObjects(MESH)],
      envoyFilters: [filter as unknown as KubeObject],
      proxy: { namespace: 'default', name: 'productpage-v1-7d4f8b6c9-abcde' },
    });
    return { code, dump, explained };
  }

  function expectCleanAndExplained(r: Awaited<ReturnType<typeof run>>): void {
    expect(r.dump.unappliedPatches).toEqual([]);
    expect(r.dump.validation.filter((v) => !v.valid)).toEqual([]);
    expect(r.dump.envoyValidation).toEqual([]);
    expect(r.code).toBe(0);
    const key = (p: { envoyFilter: string; index: number }) => `${p.envoyFilter}#${p.index}`;
    const istiod = new Map<string, PatchPlace[]>(r.dump.appliedPatches.map((p) => [key(p), p.places]));
    expect(r.explained.patches.map(key).sort()).toEqual([...istiod.keys()].sort());
    for (const p of r.explained.patches) expect(p.places, key(p)).toEqual(istiod.get(key(p)));
  }

  it('sends hosts outside the Sidecar on 9080 to the fallback', async () => {
    const r = await run('default', FENCE);
    expectCleanAndExplained(r);
    expect(r.dump.appliedPatches.map((p) => p.places)).toEqual([
      [{ routeConfiguration: '9080', virtualHost: 'allow_any', route: 'allow_any' }],
    ]);
    const rc = routeConfiguration(r.dump, '9080');
    const allowAny = ((rc.virtualHosts ?? []) as EnvoyJson[]).filter((v) => v.name === 'allow_any');
    expect(allowAny).toHaveLength(1);
    expect(allowAny[0]!.domains).toEqual(['*']);
    expect(clustersOf(allowAny[0])).toEqual([FALLBACK_CLUSTER]);
    const headers = (((allowAny[0]!.routes as EnvoyJson[])[0]!.requestHeadersToAdd ?? []) as EnvoyJson[]).map(
      (h) => (h.header as { key: string }).key,
    );
    expect(headers).toEqual(['Slime-Orig-Dest', 'Slime-Source-Ns']);
    // The fenced services still go direct; the fallback's cluster is pushed.
    expect(virtualHost(rc, 'details.default.svc.cluster.local:9080')).toBeDefined();
    expect(virtualHost(rc, 'reviews.default.svc.cluster.local:9080')).toBeUndefined();
    expect(r.dump.clusters.map((c) => c.name)).toContain(FALLBACK_CLUSTER);
  });

  it('routes dispatched domains their own way and passes the rest through', async () => {
    const r = await run('dispatches', {
      ...FENCE,
      passthroughByDefault: true,
      dispatches: [
        { name: 'to-fallback', domains: ['*.example.com'], cluster: '_GLOBAL_SIDECAR' },
        { name: 'internal', domainRegex: '.*\\.svc\\.cluster\\.local(:\\d+)?', cluster: '_GLOBAL_SIDECAR' },
      ],
    });
    expectCleanAndExplained(r);
    const rc = routeConfiguration(r.dump, '9080');
    expect(clustersOf(virtualHost(rc, 'to-fallback'))).toEqual([FALLBACK_CLUSTER]);
    expect(virtualHost(rc, 'to-fallback')?.domains).toEqual(['*.example.com']);
    expect(clustersOf(virtualHost(rc, 'allow_any'))).toEqual([FALLBACK_CLUSTER, 'PassthroughCluster']);
  });

  it('needs a route configuration for the port: the fallback Service serving the wormhole port gives one', async () => {
    // A fence that lists nothing on 9080 leaves the proxy no route configuration there, so nothing to
    // patch; the fallback Service declaring the wormhole port (as Slime's does) brings it back.
    const bare = MESH.replace("    - '*/details.default.svc.cluster.local'\n", '');
    const withPort = bare.replace(
      'ports: [{name: http-80, port: 80, targetPort: 80}]',
      'ports: [{name: http-80, port: 80, targetPort: 80}, {name: http-9080, port: 9080, targetPort: 80}]',
    );
    const filter = join(dir, 'bare-filter.yaml');
    await writeFile(filter, stringify(renderFallbackEnvoyFilter(FENCE)));
    const dumpWith = async (mesh: string) => {
      const file = join(dir, 'bare-mesh.yaml');
      await writeFile(file, mesh);
      return (await runIstioHarness([fixturePath('context-bookinfo.yaml'), file, filter], PRODUCTPAGE)).dump;
    };
    const without = await dumpWith(bare);
    expect(without.routes.map((r) => r.name)).not.toContain('9080');
    expect(without.unappliedPatches.map((p) => p.index)).toEqual([0]);
    const served = await dumpWith(withPort);
    expect(served.unappliedPatches).toEqual([]);
    expect(clustersOf(virtualHost(routeConfiguration(served, '9080'), 'allow_any'))).toEqual([
      FALLBACK_CLUSTER,
    ]);
  });

  it('selects only the fenced workload', async () => {
    const filter = renderFallbackEnvoyFilter(FENCE)!;
    const file = join(dir, 'selector.yaml');
    await writeFile(file, stringify(filter));
    const { dump } = await runIstioHarness(
      [fixturePath('context-bookinfo.yaml'), join(dir, 'mesh.yaml'), file],
      'default/details-v1-5f4d584748-fghij',
    );
    expect(dump.unselectedEnvoyFilters).toEqual(['default/productpage.default.lazyload-fallback']);
    expect(clustersOf(virtualHost(routeConfiguration(dump, '9080'), 'allow_any'))).toEqual([
      'PassthroughCluster',
    ]);
  });
});
