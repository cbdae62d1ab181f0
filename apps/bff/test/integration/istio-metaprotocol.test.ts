/**
 * Aeraki's MetaProtocol demos rendered by `governor render` and pushed through istiod's config pipeline
 * (scripts/istio/harness): on a client's sidecar the outbound listener of each service address has its
 * `tcp_proxy` replaced by the MetaProtocol proxy; on a server's sidecar the inbound chains of the service's
 * port have; the inbound EnvoyFilter leaves the client alone. Governor's explanation of where each patch
 * lands is held to istiod's. The meshes are the demos' own objects: their Service or ServiceEntries, and a
 * Pod for each Deployment.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aerakiFixturesDir } from '@governor/crd-types/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { explainEnvoyFilters } from '../../src/istio/explain';
import type { PatchPlace } from '../../src/istio/explain-types';
import type { KubeObject } from '../../src/istio/proxy-model';
import { runCli } from '../support/cli';
import { ENVOY_FILTER_WARNING, TYPED_STRUCT } from '../support/envoy-config';
import {
  buildIstioHarness,
  ISTIO_HARNESS_BUILD_TIMEOUT_MS,
  runIstioHarness,
  type EnvoyJson,
  type IstioDump,
} from '../support/istio-harness';

const META_PROTOCOL_PROXY = 'envoy.filters.network.meta_protocol_proxy';
const META_PROTOCOL_PROXY_TYPE = 'type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy';
const TCP_PROXY = 'envoy.filters.network.tcp_proxy';
const MX = 'istio.metadata_exchange';

const THRIFT_NS = 'meta-thrift';
const THRIFT_HOST = 'thrift-sample-server.meta-thrift.svc.cluster.local';
const THRIFT_IP = '10.96.90.90';
const DUBBO_NS = 'meta-dubbo';
const DEMO = 'org.apache.dubbo.samples.basic.api.demoservice';
const SECOND = 'org.apache.dubbo.samples.basic.api.secondservice';

const outboundName = (host: string, address: string, port: number) =>
  `istio-system/aeraki-outbound-${host}-${address}-${port}`;
const inboundName = (namespace: string, host: string, port: number) =>
  `${namespace}/aeraki-inbound-${host}-${port}`;

const dubboInbound = (host: string) => inboundName(DUBBO_NS, host, 20880);

const aeraki = (file: string): string => join(aerakiFixturesDir, file);

const yamlObjects = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');

const fixtureObjects = async (file: string): Promise<KubeObject[]> =>
  yamlObjects(await readFile(aeraki(file), 'utf8'));

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});

/** A running Pod for each Deployment of the fixture, with its template's labels and container ports. */
function podsOf(objects: KubeObject[], namespace: string, subnet: string): KubeObject[] {
  return objects
    .filter((o) => o.kind === 'Deployment')
    .map((d, i) => {
      const template = rec(rec(d.spec).template);
      const containers = (rec(template.spec).containers as Json[]).map((c) => ({
        name: c.name,
        image: c.image,
        ...(c.ports !== undefined ? { ports: c.ports } : {}),
      }));
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${d.metadata!.name}-0`,
          namespace,
          labels: rec(template.metadata).labels as Record<string, string>,
        },
        spec: { containers },
        status: { phase: 'Running', podIP: `${subnet}.${11 + i}` },
      } as KubeObject;
    });
}

/** The value of the rendered EnvoyFilter's one patch: the MetaProtocol proxy filter. */
function patchValue(envoyFilters: KubeObject[], name: string): Json {
  const ef = envoyFilters.find((e) => `${e.metadata?.namespace}/${e.metadata?.name}` === name);
  if (ef === undefined) throw new Error(`no EnvoyFilter ${name} rendered`);
  const patches = rec(ef.spec).configPatches as Json[];
  expect(patches).toHaveLength(1);
  return rec(rec(patches[0]!.patch).value);
}

/** The rendered filter as istiod pushes it: protojson's `typeUrl`, the TypedStruct's value as written. */
function pushedFilter(envoyFilters: KubeObject[], name: string): EnvoyJson {
  const value = patchValue(envoyFilters, name);
  const typed = rec(value.typed_config);
  expect(typed.type_url).toBe(META_PROTOCOL_PROXY_TYPE);
  return {
    name: META_PROTOCOL_PROXY,
    typedConfig: { '@type': TYPED_STRUCT, typeUrl: META_PROTOCOL_PROXY_TYPE, value: typed.value },
  };
}

const listenerOf = (dump: IstioDump, name: string): EnvoyJson => {
  const found = dump.listeners.find((l) => l.name === name);
  if (found === undefined)
    throw new Error(`no listener ${name} in ${JSON.stringify(dump.listeners.map((l) => l.name))}`);
  return found;
};
const chainsOf = (listener: EnvoyJson): EnvoyJson[] => (listener.filterChains ?? []) as EnvoyJson[];
const filtersOf = (chain: EnvoyJson): EnvoyJson[] => (chain.filters ?? []) as EnvoyJson[];
const filterNames = (chain: EnvoyJson): string[] => filtersOf(chain).map((f) => f.name as string);

/** Every listener (by name) that has a MetaProtocol proxy in some chain. */
const listenersWithMetaProxy = (dump: IstioDump): string[] =>
  dump.listeners
    .filter((l) => chainsOf(l).some((c) => filterNames(c).includes(META_PROTOCOL_PROXY)))
    .map((l) => l.name as string)
    .sort();

/** virtualInbound's chains for a destination port. */
const inboundChains = (dump: IstioDump, port: number): EnvoyJson[] =>
  chainsOf(listenerOf(dump, 'virtualInbound')).filter(
    (c) => rec(c.filterChainMatch).destinationPort === port,
  );

/** The outbound listener has one chain, whose one filter is the rendered MetaProtocol proxy. */
function expectOutbound(dump: IstioDump, listener: string, filter: EnvoyJson): void {
  const chains = chainsOf(listenerOf(dump, listener));
  expect(chains.map(filterNames)).toEqual([[META_PROTOCOL_PROXY]]);
  expect(filtersOf(chains[0]!)[0]).toEqual(filter);
}

/**
 * Each inbound chain of the port (one per transport istiod accepts there: mTLS with Istio's ALPNs, other
 * TLS, plain) has the metadata exchange, then the rendered MetaProtocol proxy where the TCP proxy was.
 */
function expectInbound(dump: IstioDump, port: number, filter: EnvoyJson): void {
  const chains = inboundChains(dump, port);
  expect(chains.map((c) => rec(c.filterChainMatch).transportProtocol)).toEqual(['tls', 'tls', 'raw_buffer']);
  for (const chain of chains) {
    expect(filterNames(chain)).toEqual([MX, META_PROTOCOL_PROXY]);
    expect(filtersOf(chain)[1]).toEqual(filter);
  }
  // The other inbound chains keep their TCP proxies: the patch names the port.
  const others = chainsOf(listenerOf(dump, 'virtualInbound')).filter((c) => !chains.includes(c));
  expect(others.flatMap(filterNames)).not.toContain(META_PROTOCOL_PROXY);
  expect(others.flatMap(filterNames)).toContain(TCP_PROXY);
}

interface Rendered {
  namespace: string;
  /** The mesh: the fixtures' Services or ServiceEntries and the Pods. */
  objects: KubeObject[];
  envoyFilters: KubeObject[];
  files: string[];
  stderr: string;
}

interface Expected {
  applied: Record<string, PatchPlace[]>;
  unapplied?: string[];
  unselected: string[];
}

/** Governor's explanation says what istiod does: the same EnvoyFilters selected, each patch's places. */
function expectIstiodPlaces(r: Rendered, proxy: string, dump: IstioDump): void {
  const explained = explainEnvoyFilters({
    objects: r.objects,
    envoyFilters: r.envoyFilters,
    proxy: { namespace: r.namespace, name: proxy },
    gateway: false,
  });
  expect(explained.unselected).toEqual(dump.unselectedEnvoyFilters);
  const key = (p: { envoyFilter: string; index: number }) => `${p.envoyFilter}#${p.index}`;
  const istiod = new Map<string, PatchPlace[]>([
    ...dump.appliedPatches.map((p): [string, PatchPlace[]] => [key(p), p.places]),
    ...dump.unappliedPatches.map((p): [string, PatchPlace[]] => [key(p), []]),
  ]);
  expect(explained.patches.map(key).sort()).toEqual([...istiod.keys()].sort());
  for (const p of explained.patches)
    expect(p.places, `${key(p)} ${p.applyTo} ${p.operation}: ${p.reason ?? ''}`).toEqual(istiod.get(key(p)));
}

/** The harness on the Pod's sidecar: what it applied, where, and what it found wrong. */
async function pushTo(r: Rendered, proxy: string, expected: Expected): Promise<IstioDump> {
  const { code, dump, stderr } = await runIstioHarness(r.files, `${r.namespace}/${proxy}`);
  // The outbound EnvoyFilters live in istio-system and apply to this proxy in another namespace: istio-system
  // is the harness's mesh root namespace (istiod's default mesh config), as it is Governor's.
  expect(dump.proxy.namespace).toBe(r.namespace);
  const key = (p: { envoyFilter: string; index: number }) => `${p.envoyFilter}#${p.index}`;
  expect(Object.fromEntries(dump.appliedPatches.map((p) => [key(p), p.places]))).toEqual(expected.applied);
  for (const p of [...dump.appliedPatches, ...dump.unappliedPatches])
    expect([p.applyTo, p.context, p.operation]).toEqual(['NETWORK_FILTER', 'ANY', 'REPLACE']);
  expect(dump.unappliedPatches.map(key)).toEqual(expected.unapplied ?? []);
  expect(dump.unselectedEnvoyFilters).toEqual(expected.unselected);
  expect(dump.validation.filter((v) => !v.valid)).toEqual([]);
  for (const v of dump.validation.filter((x) => x.kind === 'EnvoyFilter'))
    expect(v.warnings).toEqual([ENVOY_FILTER_WARNING]);
  // Aeraki's proxy is not linked into the harness: its config is reported unchecked, not as an error.
  expect(dump.envoyUncheckedTypes).toEqual([META_PROTOCOL_PROXY_TYPE]);
  expect(dump.envoyValidation).toEqual([]);
  expect(dump.ignored).toEqual([]);
  expect(code, stderr).toBe(expected.unapplied === undefined ? 0 : 1);
  expectIstiodPlaces(r, proxy, dump);
  return dump;
}

describe(
  'Aeraki MetaProtocol EnvoyFilters rendered by Governor, through istiod',
  { timeout: 120_000 },
  () => {
    let dir = '';

    beforeAll(async () => {
      await buildIstioHarness();
      dir = await mkdtemp(join(tmpdir(), 'governor-istio-metaprotocol-'));
    }, ISTIO_HARNESS_BUILD_TIMEOUT_MS);

    afterAll(async () => {
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    /** `governor render -n NAMESPACE` over the ApplicationProtocols, the mesh and the MetaRouter. */
    async function render(name: string, namespace: string, objects: KubeObject[], router: string) {
      const mesh = join(dir, `${name}.mesh.yaml`);
      await writeFile(mesh, objects.map((o) => stringify(o)).join('---\n'));
      const out = await runCli([
        'render',
        '-n',
        namespace,
        '-f',
        aeraki('applicationprotocol.yaml'),
        '-f',
        mesh,
        '-f',
        aeraki(router),
      ]);
      expect(out.code, out.stderr).toBe(0);
      const envoyFilters = yamlObjects(out.stdout);
      expect(envoyFilters.map((o) => o.kind)).toEqual(envoyFilters.map(() => 'EnvoyFilter'));
      const rendered = join(dir, `${name}.rendered.yaml`);
      await writeFile(rendered, out.stdout);
      return {
        namespace,
        objects,
        envoyFilters,
        files: [rendered, mesh],
        stderr: out.stderr,
      } satisfies Rendered;
    }

    it('thrift: the cluster IP listener outbound, port 9090 inbound on v1 and v2, the client left alone', async () => {
      const fixture = await fixtureObjects('thrift/thrift-sample.yaml');
      const service = fixture.find((o) => o.kind === 'Service')!;
      const objects: KubeObject[] = [
        {
          ...service,
          metadata: { ...service.metadata, namespace: THRIFT_NS },
          spec: { ...rec(service.spec), clusterIP: THRIFT_IP },
        },
        ...podsOf(fixture, THRIFT_NS, '10.1.0'),
      ];
      expect(objects.map((o) => o.metadata?.name)).toEqual([
        'thrift-sample-server',
        'thrift-sample-server-v1-0',
        'thrift-sample-server-v2-0',
        'thrift-sample-client-0',
      ]);
      const r = await render('thrift', THRIFT_NS, objects, 'thrift/metarouter-local-ratelimit.yaml');
      expect(r.stderr).toBe('');
      const outbound = outboundName(THRIFT_HOST, THRIFT_IP, 9090);
      const inbound = inboundName(THRIFT_NS, THRIFT_HOST, 9090);
      expect(r.envoyFilters.map((e) => `${e.metadata?.namespace}/${e.metadata?.name}`)).toEqual([
        outbound,
        inbound,
      ]);
      const outboundFilter = pushedFilter(r.envoyFilters, outbound);
      const inboundFilter = pushedFilter(r.envoyFilters, inbound);
      expect(rec(rec(rec(outboundFilter.typedConfig).value).rds).routeConfigName).toBe(`${THRIFT_HOST}_9090`);
      const outboundPlace = { listener: `${THRIFT_IP}_9090`, filterChain: '#0' };
      const inboundPlace = { listener: 'virtualInbound', filterChain: '0.0.0.0_9090' };

      const client = await pushTo(r, 'thrift-sample-client-0', {
        applied: { [`${outbound}#0`]: [outboundPlace] },
        unselected: [inbound],
      });
      expectOutbound(client, `${THRIFT_IP}_9090`, outboundFilter);
      // The inbound EnvoyFilter's workload selector misses the client: nothing of its inbound changed.
      expect(client.proxy.serviceTargets).toEqual([]);
      expect(listenersWithMetaProxy(client)).toEqual([`${THRIFT_IP}_9090`]);
      expect(inboundChains(client, 9090)).toEqual([]);

      for (const server of ['thrift-sample-server-v1-0', 'thrift-sample-server-v2-0']) {
        const dump = await pushTo(r, server, {
          applied: { [`${outbound}#0`]: [outboundPlace], [`${inbound}#0`]: [inboundPlace] },
          unselected: [],
        });
        expect(dump.proxy.serviceTargets).toEqual([`${THRIFT_HOST}:9090`]);
        expectInbound(dump, 9090, inboundFilter);
        // The local rate limit of the MetaRouter, ahead of Aeraki's common filters, on the server.
        const value = rec(rec(inboundFilter.typedConfig).value);
        expect((value.metaProtocolFilters as Json[]).map((f) => f.name)).toEqual([
          'aeraki.meta_protocol.filters.local_ratelimit',
          'aeraki.meta_protocol.filters.metadata_exchange',
          'aeraki.meta_protocol.filters.istio_stats',
          'aeraki.meta_protocol.filters.router',
        ]);
        // A server calls the service too: its outbound listener is patched like the client's.
        expectOutbound(dump, `${THRIFT_IP}_9090`, outboundFilter);
        expect(listenersWithMetaProxy(dump)).toEqual([`${THRIFT_IP}_9090`, 'virtualInbound']);
      }
    });

    it('an ingress gateway: the VirtualService gives it the port, the EnvoyFilter the MetaProtocol proxy', async () => {
      const fixture = await fixtureObjects('thrift/thrift-sample.yaml');
      const service = fixture.find((o) => o.kind === 'Service')!;
      const objects: KubeObject[] = [
        {
          ...service,
          metadata: { ...service.metadata, namespace: THRIFT_NS },
          spec: { ...rec(service.spec), clusterIP: THRIFT_IP },
        },
        ...podsOf(fixture, THRIFT_NS, '10.1.0'),
        {
          apiVersion: 'networking.istio.io/v1beta1',
          kind: 'Gateway',
          metadata: { name: 'meta-gw', namespace: 'istio-system' },
          spec: {
            selector: { istio: 'ingressgateway' },
            servers: [
              { port: { number: 9090, name: 'tcp-metaprotocol-thrift-gw', protocol: 'TCP' }, hosts: ['*'] },
            ],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'ingress-0', namespace: 'istio-system', labels: { istio: 'ingressgateway' } },
          spec: { containers: [{ name: 'istio-proxy', image: 'istio/proxyv2' }] },
          status: { phase: 'Running', podIP: '10.1.1.10' },
        } as KubeObject,
        {
          apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
          kind: 'MetaRouter',
          metadata: { name: 'gw-route', namespace: THRIFT_NS },
          spec: {
            hosts: [THRIFT_HOST],
            gateways: ['istio-system/meta-gw'],
            routes: [
              {
                name: 'v1',
                route: [{ destination: { host: THRIFT_HOST, subset: 'v1', port: { number: 9090 } } }],
              },
            ],
          },
        },
      ];
      const mesh = join(dir, 'gateway.mesh.yaml');
      await writeFile(mesh, objects.map((o) => stringify(o)).join('---\n'));
      const out = await runCli(['render', '-f', aeraki('applicationprotocol.yaml'), '-f', mesh]);
      expect(out.code, out.stderr).toBe(0);
      const rendered = yamlObjects(out.stdout);
      const gatewayFilter = 'istio-system/aeraki-gateway-outbound-meta-gw.istio-system-9090';
      expect(rendered.map((o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`)).toContain(
        `EnvoyFilter ${gatewayFilter}`,
      );
      expect(rendered.map((o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`)).toContain(
        'VirtualService istio-system/aeraki-vs-istio-system.meta-gw-9090',
      );
      const file = join(dir, 'gateway.rendered.yaml');
      await writeFile(file, out.stdout);
      const { dump } = await runIstioHarness([file, mesh], 'istio-system/ingress-0', { gateway: true });
      // The gateway's listener for the port exists (from the VirtualService), its tcp_proxy replaced.
      const listener = listenerOf(dump, '0.0.0.0_9090');
      expect(chainsOf(listener).flatMap(filterNames)).toEqual([META_PROTOCOL_PROXY]);
      const applied = dump.appliedPatches.map((p) => `${p.envoyFilter}#${p.index}`);
      expect(applied).toContain(`${gatewayFilter}#0`);
      // The sidecars' outbound filter, from the root namespace, selects the gateway too but finds no
      // <cluster IP>_9090 listener there: istiod applies it nowhere, as with Aeraki's own.
      expect(dump.unappliedPatches.map((p) => p.envoyFilter)).toEqual([
        outboundName(THRIFT_HOST, THRIFT_IP, 9090),
      ]);
      expect(dump.validation.filter((v) => !v.valid)).toEqual([]);
      expect(dump.envoyValidation).toEqual([]);
    });

    /** The demo's ServiceEntries (one port 20880 each, selecting their providers) and a Pod per Deployment. */
    async function dubboMesh(addresses: Record<string, string[]>): Promise<KubeObject[]> {
      const entries = (await fixtureObjects('dubbo/serviceentry.yaml')).map((se) => {
        const host = (rec(se.spec).hosts as string[])[0]!;
        return addresses[host] === undefined
          ? se
          : { ...se, spec: { ...rec(se.spec), addresses: addresses[host] } };
      });
      return [...entries, ...podsOf(await fixtureObjects('dubbo/dubbo-sample.yaml'), DUBBO_NS, '10.2.0')];
    }

    const DUBBO_PODS = [
      'dubbo-sample-provider-v1-0',
      'dubbo-sample-provider-v2-0',
      'dubbo-sample-second-provider-0',
      'dubbo-sample-consumer-0',
    ];

    it('dubbo with spec.addresses: a listener per address outbound, port 20880 inbound on each provider', async () => {
      const objects = await dubboMesh({ [DEMO]: ['240.240.0.1'], [SECOND]: ['240.240.0.2', '240.240.0.3'] });
      expect(objects.filter((o) => o.kind === 'Pod').map((o) => o.metadata?.name)).toEqual(DUBBO_PODS);
      const r = await render('dubbo-addresses', DUBBO_NS, objects, 'dubbo/metarouter-v1.yaml');
      expect(r.stderr).toBe('');
      const outbound = [
        [DEMO, '240.240.0.1'],
        [SECOND, '240.240.0.2'],
        [SECOND, '240.240.0.3'],
      ].map(([host, address]) => ({
        name: outboundName(host!, address!, 20880),
        listener: `${address}_20880`,
        host: host!,
      }));
      expect(r.envoyFilters.map((e) => `${e.metadata?.namespace}/${e.metadata?.name}`)).toEqual([
        ...outbound.map((o) => o.name),
        dubboInbound(DEMO),
        dubboInbound(SECOND),
      ]);
      const outboundApplied = Object.fromEntries(
        outbound.map((o) => [`${o.name}#0`, [{ listener: o.listener, filterChain: '#0' }]]),
      );
      const expectAllOutbound = (dump: IstioDump) => {
        for (const o of outbound) {
          const filter = pushedFilter(r.envoyFilters, o.name);
          expect(rec(rec(rec(filter.typedConfig).value).rds).routeConfigName).toBe(`${o.host}_20880`);
          expectOutbound(dump, o.listener, filter);
        }
      };

      const consumer = await pushTo(r, 'dubbo-sample-consumer-0', {
        applied: outboundApplied,
        unselected: [dubboInbound(DEMO), dubboInbound(SECOND)],
      });
      expectAllOutbound(consumer);
      expect(listenersWithMetaProxy(consumer)).toEqual(outbound.map((o) => o.listener));
      expect(inboundChains(consumer, 20880)).toEqual([]);

      const providers: [string, string, string][] = [
        ['dubbo-sample-provider-v1-0', DEMO, SECOND],
        ['dubbo-sample-provider-v2-0', DEMO, SECOND],
        ['dubbo-sample-second-provider-0', SECOND, DEMO],
      ];
      for (const [pod, host, other] of providers) {
        const dump = await pushTo(r, pod, {
          applied: {
            ...outboundApplied,
            [`${dubboInbound(host)}#0`]: [{ listener: 'virtualInbound', filterChain: '0.0.0.0_20880' }],
          },
          unselected: [dubboInbound(other)],
        });
        // istiod makes a service of each address: the second provider is a workload of both of its own.
        expect(new Set(dump.proxy.serviceTargets)).toEqual(new Set([`${host}:20880`]));
        expectInbound(dump, 20880, pushedFilter(r.envoyFilters, dubboInbound(host)));
        expectAllOutbound(dump);
      }
    });

    it("dubbo as the demo has it, no addresses: one 0.0.0.0_20880 listener, the second service's patch applies nowhere", async () => {
      const objects = await dubboMesh({});
      const r = await render('dubbo-no-address', DUBBO_NS, objects, 'dubbo/metarouter-v1.yaml');
      const meshFile = r.files[1]!;
      for (const name of ['dubbo-demoservice', 'dubbo-secondservice'])
        expect(r.stderr).toContain(
          `warning: ${meshFile}: ServiceEntry ${DUBBO_NS}/${name}: no address: its outbound listener is 0.0.0.0_20880, which every MetaProtocol service without an address on that port shares`,
        );
      const demoOut = outboundName(DEMO, '0.0.0.0', 20880);
      const secondOut = outboundName(SECOND, '0.0.0.0', 20880);
      expect(r.envoyFilters.map((e) => `${e.metadata?.namespace}/${e.metadata?.name}`)).toEqual([
        demoOut,
        secondOut,
        dubboInbound(DEMO),
        dubboInbound(SECOND),
      ]);

      // istiod without the EnvoyFilters: two TCP services on one port and no address share one listener, and
      // the first service takes it; the second has its cluster, but no listener sends anything to it.
      const plain = await runIstioHarness([r.files[1]!], `${DUBBO_NS}/dubbo-sample-consumer-0`);
      expect(plain.code, plain.stderr).toBe(0);
      const [only] = chainsOf(listenerOf(plain.dump, '0.0.0.0_20880'));
      expect(chainsOf(listenerOf(plain.dump, '0.0.0.0_20880'))).toHaveLength(1);
      expect(filtersOf(only!).map((f) => [f.name, rec(f.typedConfig).cluster])).toEqual([
        [TCP_PROXY, `outbound|20880||${DEMO}`],
      ]);
      expect(plain.dump.clusters.map((c) => c.name)).toContain(`outbound|20880||${SECOND}`);

      // With them: the demo service's proxy replaces that one TCP proxy, and the second service's patch finds
      // none left. Every call on port 20880, to either service, takes the demo service's route configuration.
      const demoFilter = pushedFilter(r.envoyFilters, demoOut);
      const applied = { [`${demoOut}#0`]: [{ listener: '0.0.0.0_20880', filterChain: '#0' }] };
      const consumer = await pushTo(r, 'dubbo-sample-consumer-0', {
        applied,
        unapplied: [`${secondOut}#0`],
        unselected: [dubboInbound(DEMO), dubboInbound(SECOND)],
      });
      expectOutbound(consumer, '0.0.0.0_20880', demoFilter);
      expect(rec(rec(rec(demoFilter.typedConfig).value).rds).routeConfigName).toBe(`${DEMO}_20880`);
      expect(listenersWithMetaProxy(consumer)).toEqual(['0.0.0.0_20880']);

      // Inbound is unaffected: each provider's chains for 20880 get its own service's proxy.
      for (const [pod, host, other] of [
        ['dubbo-sample-provider-v1-0', DEMO, SECOND],
        ['dubbo-sample-second-provider-0', SECOND, DEMO],
      ] as const) {
        const dump = await pushTo(r, pod, {
          applied: {
            ...applied,
            [`${dubboInbound(host)}#0`]: [{ listener: 'virtualInbound', filterChain: '0.0.0.0_20880' }],
          },
          unapplied: [`${secondOut}#0`],
          unselected: [dubboInbound(other)],
        });
        expectInbound(dump, 20880, pushedFilter(r.envoyFilters, dubboInbound(host)));
        expectOutbound(dump, '0.0.0.0_20880', demoFilter);
      }
    });
  },
);
