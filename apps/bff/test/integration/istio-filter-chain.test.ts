/**
 * A workload's HTTP filter chains as Governor computes them (src/istio/filter-chain.ts) against istiod's:
 * for a Slime plugin fixture on a gateway and a SmartLimiter on a sidecar, the filter names of every
 * connection manager istiod pushes, in order, must be the ones Governor lists for that listener and chain.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { workloadFilterChains, type WorkloadFilterChains } from '../../src/istio/filter-chain';
import type { KubeObject } from '../../src/istio/proxy-model';
import { runCli } from '../support/cli';
import { fixturePath } from '../support/fixtures';
import { CASES, harnessInputPath, writeHarnessInputs } from '../support/istio-fixture-cases';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
  type IstioDump,
} from '../support/istio-harness';

const HCM = 'envoy.filters.network.http_connection_manager';

/** A gateway in `default` with an HTTP server on port 80, as Slime's plugin fixtures expect. */
const GATEWAY_MESH = `
apiVersion: v1
kind: Pod
metadata: {name: ingress-0, namespace: default, labels: {istio: ingressgateway}}
spec: {containers: [{name: istio-proxy, image: istio/proxyv2:1.24}]}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.test.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a-test-com, namespace: default}
spec:
  hosts: [a.test.com]
  gateways: [web]
  http:
  - name: r1
    match: [{uri: {prefix: /r1}}]
    route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
`;

const yamlObjects = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');

/** `listener|chain|filter,filter,…` for every connection manager istiod pushes. */
function istiodChains(dump: IstioDump): string[] {
  const out = new Set<string>();
  for (const l of dump.listeners) {
    const chains = ((l.filterChains ?? []) as EnvoyJson[]).map((fc, i) => ({
      fc,
      id: typeof fc.name === 'string' && fc.name !== '' ? fc.name : `#${i}`,
    }));
    if (l.defaultFilterChain !== undefined) {
      const fc = l.defaultFilterChain as EnvoyJson;
      chains.push({ fc, id: typeof fc.name === 'string' && fc.name !== '' ? fc.name : '#default' });
    }
    for (const { fc, id } of chains)
      for (const f of (fc.filters ?? []) as EnvoyJson[])
        if (f.name === HCM) {
          const names = (((f.typedConfig as EnvoyJson).httpFilters ?? []) as EnvoyJson[]).map((h) => h.name);
          out.add(`${String(l.name)}|${id}|${names.join(',')}`);
        }
  }
  return [...out].sort();
}

const governorChains = (chains: WorkloadFilterChains): string[] =>
  [
    ...new Set(
      chains.chains.flatMap((c) =>
        c.filterChains.map((id) => `${c.listener}|${id}|${c.filters.map((f) => f.name).join(',')}`),
      ),
    ),
  ].sort();

describe('HTTP filter chains: Governor against istiod', { timeout: 120_000 }, () => {
  let dir = '';

  beforeAll(async () => {
    await buildIstioHarness();
    dir = await mkdtemp(join(tmpdir(), 'governor-filter-chain-'));
    await writeHarnessInputs(dir);
  }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it("Slime's gateway_sample.plm: fault and rbac before the gateway's router", async () => {
    const out = await runCli(['render', '-f', fixturePath('plugin/gateway_sample.plm.yaml')]);
    expect(out.code).toBe(0);
    await writeFile(join(dir, 'plm.rendered.yaml'), out.stdout);
    await writeFile(join(dir, 'plm.mesh.yaml'), GATEWAY_MESH);
    const files = [
      join(dir, 'plm.rendered.yaml'),
      fixturePath('context-bookinfo.yaml'),
      join(dir, 'plm.mesh.yaml'),
    ];
    const { dump } = await runIstioHarness(files, 'default/ingress-0', { gateway: true });
    const objects = (await Promise.all(files.slice(1).map((f) => readFile(f, 'utf8')))).flatMap(yamlObjects);
    const chains = workloadFilterChains({
      objects,
      envoyFilters: yamlObjects(out.stdout),
      proxy: { namespace: 'default', name: 'ingress-0' },
      gateway: true,
    });
    expect(governorChains(chains)).toEqual(istiodChains(dump));
    const port80 = chains.chains.find((c) => c.direction === 'gateway' && c.port === 80)!;
    expect(port80.filters.slice(-3).map((f) => f.name)).toEqual([
      'envoy.filters.http.fault',
      'envoy.filters.http.rbac',
      'envoy.filters.http.router',
    ]);
    expect(port80.filters.at(-2)).toMatchObject({ disabled: true, by: { patch: 1 } });
  });

  it('a SmartLimiter (doc-a-single-inbound): the local rate limit in reviews’ inbound chain', async () => {
    const c = CASES.find((x) => x.name === 'doc-a-single-inbound')!;
    const out = await runCli(['render', ...c.render]);
    expect(out.code).toBe(0);
    const rendered = join(dir, 'limiter.rendered.yaml');
    await writeFile(rendered, out.stdout);
    const files = c.harness.map((i) => harnessInputPath(dir, i));
    const { dump } = await runIstioHarness([rendered, ...files], c.proxy);
    const objects = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).flatMap(yamlObjects);
    const [namespace, name] = c.proxy.split('/') as [string, string];
    const chains = workloadFilterChains({
      objects: objects.filter((o) => o.kind !== 'EnvoyFilter'),
      envoyFilters: [...yamlObjects(out.stdout), ...objects.filter((o) => o.kind === 'EnvoyFilter')],
      proxy: { namespace, name },
    });
    expect(governorChains(chains)).toEqual(istiodChains(dump));
    const inbound = chains.chains.find((x) => x.direction === 'inbound' && x.port === 9080)!;
    expect(
      inbound.filters.some((f) => f.name === 'envoy.filters.http.local_ratelimit' && f.by !== 'istio'),
    ).toBe(true);
  });
});
