import { aerakiDemo } from '@governor/crd-types/testing';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../cluster/store';
import { verifyMetaProtocolValue } from '../../envoy/metaprotocol-protos';
import type { Module, Plan } from '../../framework/module';
import { defaultSettings } from '../../framework/registry';
import { staticSnapshot } from '../../framework/snapshot';
import { RouteStatusBoard } from '../../sources/route-status';
import { createMetaRouterModule, type MetaRouterModule } from './module';
import { META_PROTOCOL_PROXY_TYPE, protoDuration } from './render';
import { callMatches, routeConfigurations } from './routes';
import { METAROUTER_MODULE } from './settings';

const NOW = new Date('2026-01-01T00:00:00Z');

const demo = (namespace: string, ...files: string[]) => aerakiDemo<KubeObject>(namespace, ...files);

const thrift = (...routers: string[]) =>
  demo(
    'meta-thrift',
    'applicationprotocol.yaml',
    'thrift/thrift-sample.yaml',
    'thrift/destinationrule.yaml',
    ...routers,
  );
const dubbo = (...routers: string[]) =>
  demo(
    'meta-dubbo',
    'applicationprotocol.yaml',
    'dubbo/serviceentry.yaml',
    'dubbo/destinationrule.yaml',
    ...routers,
  );

const moduleWith = (board = new RouteStatusBoard()): MetaRouterModule =>
  createMetaRouterModule({
    settings: defaultSettings(METAROUTER_MODULE),
    metrics: undefined as never,
    options: {},
    routeStatus: board,
  });

function planOf(module: Module, raw: KubeObject, cluster: readonly KubeObject[]): Plan<unknown> {
  const parsed = module.parse(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return module.plan({
    object: parsed.value,
    raw,
    snapshot: staticSnapshot(cluster.includes(raw) ? cluster : [...cluster, raw]),
    metrics: { values: {}, health: { available: true } },
    now: NOW,
  });
}

/** The EnvoyFilters of every MetaProtocol Service and ServiceEntry of the cluster. */
function envoyFilters(module: MetaRouterModule, cluster: readonly KubeObject[]): KubeObject[] {
  const [services, entries] = module.companions as Module[];
  return cluster.flatMap((o) => {
    const m = o.kind === 'Service' ? services : o.kind === 'ServiceEntry' ? entries : undefined;
    if (!m) return [];
    const plan = planOf(m, o, cluster);
    expect(plan.problems).toEqual([]);
    return plan.desired as KubeObject[];
  });
}

const condition = (plan: Plan<unknown>, type: string) =>
  (plan.status.conditions as { type: string; status: string; reason: string; message: string }[]).find(
    (c) => c.type === type,
  );
const proxyOf = (ef: KubeObject) =>
  (
    ef.spec as {
      configPatches: { patch: { value: { typed_config: { type_url: string; value: unknown } } } }[];
    }
  ).configPatches[0]!.patch.value.typed_config as { type_url: string; value: Record<string, unknown> };

const ROUTERS = {
  thrift: [
    'thrift/metarouter-v1.yaml',
    'thrift/metarouter-v2.yaml',
    'thrift/traffic-split.yaml',
    'thrift/metarouter-header-mutation.yaml',
    'thrift/metarouter-local-ratelimit.yaml',
    'thrift/metarouter-global-ratelimit.yaml',
  ],
  dubbo: [
    'dubbo/metarouter-v1.yaml',
    'dubbo/traffic-split.yaml',
    'dubbo/traffic-mirroring.yaml',
    'dubbo/metarouter-local-ratelimit.yaml',
    'dubbo/metarouter-global-ratelimit.yaml',
  ],
};

describe("every Aeraki demo MetaRouter, as Aeraki's demos apply them", () => {
  for (const [protocol, files] of Object.entries(ROUTERS))
    for (const file of files)
      it(`${file}: a valid, served MetaRouter; EnvoyFilters whose proxies check against the protos`, () => {
        const cluster = protocol === 'thrift' ? thrift(file) : dubbo(file);
        const module = moduleWith();
        const router = cluster.find((o) => o.kind === 'MetaRouter')!;
        const plan = planOf(module, router, cluster);
        expect(plan.problems).toEqual([]);
        expect(plan.warnings).toEqual([]);
        expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Served' });
        expect(condition(plan, 'ServiceFound')?.status).toBe('True');
        const filters = envoyFilters(module, cluster);
        expect(filters.length).toBeGreaterThanOrEqual(2);
        for (const ef of filters) {
          const { type_url, value } = proxyOf(ef);
          expect(type_url).toBe(META_PROTOCOL_PROXY_TYPE);
          expect({ name: ef.metadata.name, errors: verifyMetaProtocolValue(type_url, value) }).toEqual({
            name: ef.metadata.name,
            errors: [],
          });
          expect(ef.metadata.labels).toEqual({ manager: 'Aeraki' });
        }
        const routes = routeConfigurations(staticSnapshot(cluster)).configs;
        expect(routes.length).toBeGreaterThan(0);
      });
});

describe('the EnvoyFilters of a MetaProtocol service', () => {
  it("replace the outbound listener's tcp_proxy in the root namespace, and the inbound one on its workloads", () => {
    const cluster = thrift('thrift/metarouter-local-ratelimit.yaml');
    const filters = envoyFilters(moduleWith(), cluster);
    expect(filters.map((f) => `${f.metadata.namespace}/${f.metadata.name}`)).toEqual([
      'istio-system/aeraki-outbound-thrift-sample-server.meta-thrift.svc.cluster.local-0.0.0.0-9090',
      'meta-thrift/aeraki-inbound-thrift-sample-server.meta-thrift.svc.cluster.local-9090',
    ]);
    const [outbound, inbound] = filters as [KubeObject, KubeObject];
    expect((outbound.spec as { configPatches: unknown[] }).configPatches[0]).toMatchObject({
      applyTo: 'NETWORK_FILTER',
      match: {
        listener: {
          name: '0.0.0.0_9090',
          filterChain: { filter: { name: 'envoy.filters.network.tcp_proxy' } },
        },
      },
      patch: { operation: 'REPLACE', value: { name: 'envoy.filters.network.meta_protocol_proxy' } },
    });
    expect(proxyOf(outbound).value).toMatchObject({
      statPrefix: 'outbound|9090||thrift-sample-server.meta-thrift.svc.cluster.local',
      rds: { routeConfigName: 'thrift-sample-server.meta-thrift.svc.cluster.local_9090' },
      applicationProtocol: 'thrift',
      codec: { name: 'aeraki.meta_protocol.codec.thrift' },
    });
    expect(inbound.spec).toMatchObject({
      workloadSelector: { labels: { app: 'thrift-sample-server' } },
      configPatches: [
        { match: { listener: { name: 'virtualInbound', filterChain: { destinationPort: 9090 } } } },
      ],
    });
    const filtersOf = (ef: KubeObject) =>
      (proxyOf(ef).value.metaProtocolFilters as { name: string }[]).map((f) => f.name);
    // Limits ahead of the router, on the receiving side only.
    expect(filtersOf(inbound)).toEqual([
      'aeraki.meta_protocol.filters.local_ratelimit',
      'aeraki.meta_protocol.filters.metadata_exchange',
      'aeraki.meta_protocol.filters.istio_stats',
      'aeraki.meta_protocol.filters.router',
    ]);
    expect(filtersOf(outbound)).toEqual([
      'aeraki.meta_protocol.filters.metadata_exchange',
      'aeraki.meta_protocol.filters.istio_stats',
      'aeraki.meta_protocol.filters.router',
    ]);
  });

  it("name each address's listener (a cluster IP, a ServiceEntry's addresses or Istio's allocation)", () => {
    const cluster = thrift().map((o) =>
      o.kind === 'Service' ? { ...o, spec: { ...(o.spec as object), clusterIP: '10.96.0.12' } } : o,
    );
    const dubboCluster = dubbo().map((o) =>
      o.kind === 'ServiceEntry' && o.metadata.name === 'dubbo-demoservice'
        ? { ...o, status: { addresses: [{ value: '240.240.0.3', host: 'x' }] } }
        : o.kind === 'ServiceEntry'
          ? { ...o, spec: { ...(o.spec as object), addresses: ['240.240.0.9', '240.240.0.10'] } }
          : o,
    );
    const names = (c: KubeObject[]) =>
      envoyFilters(moduleWith(), c)
        .map((f) => f.metadata.name)
        .filter((n) => n.includes('outbound'));
    expect(names(cluster)).toEqual([
      'aeraki-outbound-thrift-sample-server.meta-thrift.svc.cluster.local-10.96.0.12-9090',
    ]);
    expect(names(dubboCluster)).toEqual([
      'aeraki-outbound-org.apache.dubbo.samples.basic.api.demoservice-240.240.0.3-20880',
      'aeraki-outbound-org.apache.dubbo.samples.basic.api.secondservice-240.240.0.9-20880',
      'aeraki-outbound-org.apache.dubbo.samples.basic.api.secondservice-240.240.0.10-20880',
    ]);
  });

  it('go where the MetaRouter is exported, and turn the local and global limits into the filters', () => {
    const cluster = thrift('thrift/metarouter-global-ratelimit.yaml').map((o) =>
      o.kind === 'MetaRouter' ? { ...o, spec: { ...(o.spec as object), exportTo: ['.', 'clients'] } } : o,
    );
    const filters = envoyFilters(moduleWith(), cluster);
    expect(filters.map((f) => f.metadata.namespace)).toEqual(['clients', 'meta-thrift', 'meta-thrift']);
    const global = (
      proxyOf(filters[2]!).value.metaProtocolFilters as { name: string; config?: unknown }[]
    )[0]!;
    expect(global).toEqual({
      name: 'aeraki.meta_protocol.filters.ratelimit',
      config: {
        '@type': 'type.googleapis.com/aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit',
        match: { metadata: [{ name: 'method', exactMatch: 'sayHello' }] },
        domain: 'production',
        timeout: '0.1s',
        failureModeDeny: true,
        rateLimitService: {
          grpcService: {
            envoyGrpc: { clusterName: 'outbound|8081||rate-limit-server.meta-thrift.svc.cluster.local' },
          },
        },
        descriptors: [{ property: 'method', descriptorKey: 'method' }],
      },
    });
  });

  it('say when address-less services share one outbound listener, where only one can apply', () => {
    const cluster = dubbo();
    const [, entries] = moduleWith().companions as Module[];
    const se = cluster.find((o) => o.kind === 'ServiceEntry' && o.metadata.name === 'dubbo-demoservice')!;
    expect(planOf(entries!, se, cluster).warnings).toContainEqual(
      expect.stringMatching(
        /^shares listener 0\.0\.0\.0_20880 with ServiceEntry meta-dubbo\/dubbo-secondservice: istiod keeps one tcp_proxy there/,
      ),
    );
    const addressed = cluster.map((o) =>
      o.kind === 'ServiceEntry'
        ? { ...o, spec: { ...(o.spec as object), addresses: [`240.240.0.${o.metadata.name.length}`] } }
        : o,
    );
    expect(
      planOf(
        entries!,
        addressed.find((o) => o.metadata.name === 'dubbo-demoservice')!,
        addressed,
      ).warnings,
    ).toEqual([]);
  });

  it('say what cannot be rendered: a protocol without an ApplicationProtocol, a service without workloads', () => {
    const cluster = dubbo().filter((o) => o.kind !== 'ApplicationProtocol');
    const [, entries] = moduleWith().companions as Module[];
    const se = cluster.find((o) => o.kind === 'ServiceEntry')!;
    expect(planOf(entries!, se, cluster).problems).toEqual([
      {
        path: 'spec.ports[0].name',
        message: 'no ApplicationProtocol for protocol "dubbo": its codec is unknown',
      },
    ]);
    const noSelector = { ...se, spec: { ...(se.spec as object), workloadSelector: undefined } };
    const plan = planOf(entries!, noSelector, dubbo());
    expect(plan.desired.map((d) => d.metadata.name)).toEqual([
      'aeraki-outbound-org.apache.dubbo.samples.basic.api.demoservice-0.0.0.0-20880',
    ]);
    expect(plan.warnings?.[0]).toMatch(/selects no workloads: no inbound EnvoyFilter/);
  });
});

describe('route configurations', () => {
  it('route by attribute to a subset, split by weight, mirror by percentage, mutate, as Aeraki serves them', () => {
    const split = routeConfigurations(staticSnapshot(dubbo('dubbo/traffic-split.yaml'))).configs[0]!;
    expect(split).toEqual({
      name: 'org.apache.dubbo.samples.basic.api.demoservice_20880',
      routes: [
        {
          name: 'traffic-split',
          match: {
            metadata: [
              { name: 'foo', exactMatch: 'bar' },
              { name: 'interface', exactMatch: 'org.apache.dubbo.samples.basic.api.DemoService' },
              { name: 'method', exactMatch: 'sayHello' },
            ],
          },
          route: {
            weightedClusters: {
              clusters: [
                { name: 'outbound|20880|v1|org.apache.dubbo.samples.basic.api.demoservice', weight: 20 },
                { name: 'outbound|20880|v2|org.apache.dubbo.samples.basic.api.demoservice', weight: 80 },
              ],
              totalWeight: 100,
            },
          },
        },
      ],
    });
    const mirror = routeConfigurations(staticSnapshot(dubbo('dubbo/traffic-mirroring.yaml'))).configs[0]!;
    expect(mirror.routes[0]!.route.requestMirrorPolicies).toEqual([
      {
        cluster: 'outbound|20880|v2|org.apache.dubbo.samples.basic.api.demoservice',
        runtimeFraction: { defaultValue: { numerator: 1_000_000, denominator: 'MILLION' } },
      },
    ]);
    const mutation = routeConfigurations(staticSnapshot(thrift('thrift/metarouter-header-mutation.yaml')))
      .configs[0]!;
    expect(mutation.routes[0]).toMatchObject({
      match: { metadata: [] },
      route: { cluster: 'outbound|9090||thrift-sample-server.meta-thrift.svc.cluster.local' },
      requestMutation: [
        { key: 'foo', value: 'bar' },
        { key: 'foo1', value: 'bar1' },
      ],
    });
  });

  it('serve a default route to the service without a MetaRouter, or with one that only limits', () => {
    for (const cluster of [thrift(), thrift('thrift/metarouter-global-ratelimit.yaml')])
      expect(routeConfigurations(staticSnapshot(cluster)).configs).toEqual([
        {
          name: 'thrift-sample-server.meta-thrift.svc.cluster.local_9090',
          routes: [
            {
              name: 'default',
              match: { metadata: [] },
              route: { cluster: 'outbound|9090||thrift-sample-server.meta-thrift.svc.cluster.local' },
            },
          ],
        },
      ]);
  });

  it('match exact, prefix, regex and presence as the proxy does; the hash policy from a DestinationRule', () => {
    const cluster = thrift().concat({
      apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
      kind: 'MetaRouter',
      metadata: { name: 'm', namespace: 'meta-thrift' },
      spec: {
        hosts: ['thrift-sample-server.meta-thrift.svc.cluster.local'],
        routes: [
          {
            name: 'r',
            match: {
              attributes: { a: { prefix: 'say' }, b: { regex: 'v[0-9]+' }, c: null, d: { regex: '*' } },
            },
            route: [
              { destination: { host: 'thrift-sample-server.meta-thrift.svc.cluster.local', subset: 'v1' } },
            ],
          },
        ],
      },
    });
    const withHash = cluster.map((o) =>
      o.kind === 'DestinationRule'
        ? {
            ...o,
            spec: {
              ...(o.spec as object),
              trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'user' } } },
            },
          }
        : o,
    );
    const route = routeConfigurations(staticSnapshot(withHash)).configs[0]!.routes[0]!;
    const matchers = route.match!.metadata;
    expect(matchers).toEqual([
      { name: 'a', prefixMatch: 'say' },
      { name: 'b', safeRegexMatch: { googleRe2: {}, regex: 'v[0-9]+' } },
      { name: 'c', presentMatch: true },
      { name: 'd', presentMatch: true },
    ]);
    expect(route.route.hashPolicy).toEqual(['user']);
    expect(callMatches(matchers, { a: 'sayHi', b: 'v12', c: '', d: 'x' })).toBe(true);
    expect(callMatches(matchers, { a: 'sayHi', b: 'v12x', c: '', d: 'x' })).toBe(false);
    expect(callMatches(matchers, { a: 'sayHi', b: 'v12', d: 'x' })).toBe(false);
  });

  it('give proto3 JSON durations', () => {
    expect(protoDuration('60s')).toBe('60s');
    expect(protoDuration('100ms')).toBe('0.1s');
    expect(protoDuration('1m30s')).toBe('90s');
  });
});

describe("a MetaRouter's status: what Aeraki would lose silently", () => {
  const router = (
    name: string,
    spec: Record<string, unknown>,
    created = '2026-01-01T00:00:00Z',
  ): KubeObject => ({
    apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
    kind: 'MetaRouter',
    metadata: { name, namespace: 'meta-thrift', creationTimestamp: created },
    spec,
  });
  const host = 'thrift-sample-server.meta-thrift.svc.cluster.local';
  const route = { name: 'r', route: [{ destination: { host, subset: 'v1' } }] };

  it('several hosts: the first only', () => {
    const plan = planOf(
      moduleWith(),
      router('a', { hosts: [host, 'other.meta-thrift.svc.cluster.local'], routes: [route] }),
      thrift(),
    );
    expect(plan.warnings).toEqual([`spec.hosts: 2 hosts, but the rules apply to the first only (${host})`]);
  });

  it('two MetaRouters for one service: the oldest governs, both say so', () => {
    const older = router('older', { hosts: [host], routes: [route] }, '2026-01-01T00:00:00Z');
    const newer = router('newer', { hosts: [host], routes: [route] }, '2026-02-01T00:00:00Z');
    const cluster = [...thrift(), older, newer];
    expect(condition(planOf(moduleWith(), older, cluster), 'Conflict')).toMatchObject({
      status: 'True',
      reason: 'SharedHost',
      message: `MetaRouter meta-thrift/newer also names host ${host}; this one, the oldest, is used`,
    });
    const p = planOf(moduleWith(), newer, cluster);
    expect(condition(p, 'Conflict')?.reason).toBe('Superseded');
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'Superseded' });
    expect(p.status.routeConfigurations).toBeUndefined();
  });

  it('a host with no MetaProtocol port, and a host nothing has', () => {
    const plain = thrift().map((o) =>
      o.kind === 'Service'
        ? { ...o, spec: { ...(o.spec as object), ports: [{ name: 'tcp', port: 9090 }] } }
        : o,
    );
    const p = planOf(moduleWith(), router('a', { hosts: [host], routes: [route] }), plain);
    expect(condition(p, 'ServiceFound')).toMatchObject({ status: 'False', reason: 'NoMetaProtocolPort' });
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'NoService' });
    const none = planOf(
      moduleWith(),
      router('a', { hosts: ['nothing.x.svc.cluster.local'], routes: [route] }),
      thrift(),
    );
    expect(condition(none, 'ServiceFound')).toMatchObject({ status: 'False', reason: 'NoService' });
  });

  it("Aeraki's admission rules are problems: the last good routes stay served", () => {
    const bad = router('a', {
      hosts: [host],
      routes: [
        {
          name: 'split',
          route: [
            { destination: { host, subset: 'v1' }, weight: 30 },
            { destination: { host, subset: 'v2' }, weight: 30 },
          ],
        },
      ],
      localRateLimit: { tokenBucket: { fillInterval: 'soon', maxTokens: 0 } },
    });
    const plan = planOf(moduleWith(), bad, thrift());
    expect(plan.problems.map((p) => p.path)).toEqual([
      'spec.routes[0].route',
      'spec.localRateLimit.tokenBucket.fillInterval',
      'spec.localRateLimit.tokenBucket.maxTokens',
    ]);
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Invalid' });
    // Its service keeps a default route rather than a broken split.
    expect(routeConfigurations(staticSnapshot([...thrift(), bad])).configs[0]!.routes[0]!.name).toBe(
      'default',
    );
  });

  it("a proxy's NACK, with its error text", () => {
    const board = new RouteStatusBoard();
    const name = `${host}_9090`;
    board.replaceAll([
      {
        routeConfig: name,
        node: 'sidecar~10.0.0.7~client.meta-thrift',
        version: 'v3',
        acked: false,
        error: 'Unexpected RDS configuration',
        connectedAt: NOW.toISOString(),
      },
      {
        routeConfig: name,
        node: 'sidecar~10.0.0.8~client2.meta-thrift',
        version: 'v3',
        acked: true,
        ackedVersion: 'v3',
        connectedAt: NOW.toISOString(),
      },
    ]);
    const plan = planOf(moduleWith(board), router('a', { hosts: [host], routes: [route] }), thrift());
    expect(condition(plan, 'ProxiesAccepted')).toMatchObject({
      status: 'False',
      reason: 'Rejected',
      message: `sidecar~10.0.0.7~client.meta-thrift refused ${name} version v3: Unexpected RDS configuration`,
    });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Rejected' });
    expect(plan.status.proxies).toEqual({
      [`sidecar~10.0.0.7~client.meta-thrift ${name}`]: {
        version: 'v3',
        acked: false,
        error: 'Unexpected RDS configuration',
      },
      [`sidecar~10.0.0.8~client2.meta-thrift ${name}`]: { version: 'v3', acked: true },
    });
  });
});

describe('a MetaProtocol server on an ingress gateway', () => {
  const gateway: KubeObject = {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'Gateway',
    metadata: { name: 'meta-gw', namespace: 'istio-system' },
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [
        { port: { number: 9090, name: 'tcp-metaprotocol-thrift-gw', protocol: 'TCP' }, hosts: ['*'] },
        { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] },
      ],
    },
  };
  const host = 'thrift-sample-server.meta-thrift.svc.cluster.local';
  const router = (gateways: string[], port = 9090): KubeObject => ({
    apiVersion: 'metaprotocol.aeraki.io/v1alpha1',
    kind: 'MetaRouter',
    metadata: { name: 'gw-route', namespace: 'meta-thrift' },
    spec: {
      hosts: [host],
      gateways,
      routes: [{ name: 'v1', route: [{ destination: { host, subset: 'v1', port: { number: port } } }] }],
    },
  });
  const gatewayPlan = (cluster: KubeObject[]) => {
    const gw = moduleWith().companions![2] as Module;
    return planOf(gw, gateway, [...cluster, gateway]);
  };

  it("gets Aeraki's VirtualService and EnvoyFilter for a MetaRouter that names it and routes to the port", () => {
    const plan = gatewayPlan([...thrift(), router(['istio-system/meta-gw'])]);
    expect(plan.problems).toEqual([]);
    expect(plan.desired.map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).toEqual([
      'VirtualService istio-system/aeraki-vs-istio-system.meta-gw-9090',
      'EnvoyFilter istio-system/aeraki-gateway-outbound-meta-gw.istio-system-9090',
    ]);
    const [vs, ef] = plan.desired as [KubeObject, KubeObject];
    expect(vs.spec).toEqual({
      hosts: [host],
      gateways: ['istio-system/meta-gw'],
      tcp: [{ match: [{ port: 9090 }], route: [{ destination: { host, port: { number: 9090 } } }] }],
    });
    expect(ef.spec).toMatchObject({
      workloadSelector: { labels: { istio: 'ingressgateway' } },
      configPatches: [{ match: { listener: { name: '0.0.0.0_9090' } }, patch: { operation: 'REPLACE' } }],
    });
    const { type_url, value } = proxyOf(ef);
    expect(value).toMatchObject({ rds: { routeConfigName: `${host}_9090` }, applicationProtocol: 'thrift' });
    expect(verifyMetaProtocolValue(type_url, value)).toEqual([]);
  });

  it('gets nothing from a MetaRouter that names another gateway or routes to another port', () => {
    expect(gatewayPlan([...thrift(), router(['other'])]).desired).toEqual([]);
    expect(gatewayPlan([...thrift(), router(['istio-system/meta-gw'], 9091)]).desired).toEqual([]);
    // A bare name is in the MetaRouter's namespace.
    expect(gatewayPlan([...thrift(), router(['meta-gw'])]).desired).toEqual([]);
  });
});
