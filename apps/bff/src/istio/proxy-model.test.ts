import { describe, expect, it } from 'vitest';
import { MESH, objectsOf } from '../../test/support/istio-mesh';
import { buildProxyModel, isGatewayPod, portProtocol } from './proxy-model';

describe('portProtocol: Istio protocol selection', () => {
  it('reads appProtocol first, then the port name prefix, and sniffs the rest', () => {
    expect(portProtocol({ name: 'http' })).toBe('http');
    expect(portProtocol({ name: 'http2-web' })).toBe('http');
    expect(portProtocol({ name: 'grpc-web' })).toBe('http');
    expect(portProtocol({ name: 'tcp-db' })).toBe('tcp');
    expect(portProtocol({ name: 'tls' })).toBe('tcp');
    expect(portProtocol({ name: 'web' })).toBe('auto');
    expect(portProtocol({})).toBe('auto');
    expect(portProtocol({ name: 'tcp', appProtocol: 'http' })).toBe('http');
    expect(portProtocol({ name: 'http', appProtocol: 'kubernetes.io/h2c' })).toBe('http');
    expect(portProtocol({ name: 'http', protocol: 'UDP' })).toBe('tcp');
  });
});

describe('buildProxyModel: a sidecar', () => {
  const model = buildProxyModel(MESH, { namespace: 'default', name: 'reviews-1' });

  it('is a sidecar: no Gateway selects the Pod', () => {
    expect(model.proxy.type).toBe('sidecar');
    expect(isGatewayPod(MESH, { namespace: 'default', name: 'reviews-1' })).toBe(false);
  });

  it('has inbound chains 0.0.0.0_<targetPort> with inline route configuration inbound|<port>||', () => {
    const inbound = model.listeners.find((l) => l.name === 'virtualInbound')!;
    expect(inbound.context).toBe('SIDECAR_INBOUND');
    const chains = inbound.filterChains.filter((c) => c.name === '0.0.0.0_9080');
    expect(chains.map((c) => c.match.transportProtocol)).toEqual(['tls', 'raw_buffer']);
    expect(chains[0]!.filters.map((f) => f.name)).toEqual([
      'istio.metadata_exchange',
      'envoy.filters.network.http_connection_manager',
    ]);
    expect(chains[0]!.filters[1]!.routeConfiguration).toBe('inbound|9080||');
    expect(inbound.filterChains.map((c) => c.name)).toContain('virtualInbound-catchall-http');
    const rc = model.routeConfigurations.find((r) => r.name === 'inbound|9080||')!;
    expect(rc.virtualHosts).toEqual([
      { name: 'inbound|http|9080', domains: ['*'], routes: [{ name: 'default', action: 'ROUTE' }] },
    ]);
  });

  it('has an outbound listener per port in the mesh, and an RDS route configuration per HTTP one', () => {
    expect(model.listeners.map((l) => l.name).sort()).toEqual([
      '0.0.0.0_5432',
      '0.0.0.0_80',
      '0.0.0.0_9080',
      'virtualInbound',
      'virtualOutbound',
    ]);
    const rc = model.routeConfigurations.find((r) => r.name === '9080')!;
    expect(rc.virtualHosts.map((v) => v.name)).toEqual([
      'api.example.com:9080',
      'reviews.default.svc.cluster.local:9080',
      'allow_any',
    ]);
    const reviews = rc.virtualHosts[1]!;
    expect(reviews.domains).toContain('reviews');
    // Routes named from the VirtualService: one per match, `name.matchName` when the match is named.
    expect(reviews.routes).toEqual([
      { name: 'v1.jason', action: 'ROUTE' },
      { name: 'v1', action: 'ROUTE' },
      { name: '', action: 'REDIRECT' },
    ]);
    const hello = model.routeConfigurations.find((r) => r.name === '80')!;
    // Another namespace's Service: no short name.
    expect(hello.virtualHosts[0]!.domains).not.toContain('hello');
    // A VirtualService host with no service on port 80 has a virtual host on port 80 all the same.
    expect(hello.virtualHosts.map((v) => v.name)).toEqual([
      'hello.other.svc.cluster.local:80',
      'reviews.default.svc.cluster.local:80',
      'allow_any',
    ]);
  });

  it('names an unnamed port by sniffing and resolves a named target port', () => {
    const helloModel = buildProxyModel(MESH, { namespace: 'other', name: 'hello-1' });
    const inbound = helloModel.listeners.find((l) => l.name === 'virtualInbound')!;
    const chains = inbound.filterChains.filter((c) => c.name === '0.0.0.0_8080');
    expect(chains).toHaveLength(5);
    expect(
      helloModel.routeConfigurations.find((r) => r.name === 'inbound|8080||')!.virtualHosts[0]!.name,
    ).toBe('inbound|http|80');
    const outbound = helloModel.listeners.find((l) => l.name === '0.0.0.0_80')!;
    expect(outbound.filterChains.map((c) => c.name)).toEqual(['']);
    expect(outbound.defaultFilterChain?.filters.map((f) => f.name)).toEqual([
      'envoy.filters.network.tcp_proxy',
    ]);
  });

  it('has clusters per service port', () => {
    expect(model.clusters.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'outbound|9080||reviews.default.svc.cluster.local',
        'inbound|9080||',
        'PassthroughCluster',
      ]),
    );
  });
});

describe('buildProxyModel: two Services on one Pod port', () => {
  it('lets the oldest name the chain, then the first by name', () => {
    const objects = (first: string, second: string) =>
      objectsOf(`
apiVersion: v1
kind: Service
metadata: {name: a, namespace: default, creationTimestamp: '${first}'}
spec: {selector: {app: a}, ports: [{port: 80, targetPort: 9999}]}
---
apiVersion: v1
kind: Service
metadata: {name: a-alias, namespace: default, creationTimestamp: '${second}'}
spec: {selector: {app: a}, ports: [{name: http, port: 8080, targetPort: 9999}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a-1, namespace: default, labels: {app: a}}
`);
    const vhost = (o: ReturnType<typeof objectsOf>) =>
      buildProxyModel(o, { namespace: 'default', name: 'a-1' }).routeConfigurations.find(
        (r) => r.name === 'inbound|9999||',
      )!.virtualHosts[0]!.name;
    expect(vhost(objects('2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z'))).toBe('inbound|http|80');
    expect(vhost(objects('2025-01-01T00:00:00Z', '2024-01-01T00:00:00Z'))).toBe('inbound|http|8080');
  });
});

describe('buildProxyModel: a gateway', () => {
  const ref = { namespace: 'gw', name: 'gw-1' };

  it('is a gateway when a Gateway selects the Pod, unless forced', () => {
    expect(isGatewayPod(MESH, ref)).toBe(true);
    expect(buildProxyModel(MESH, ref).proxy.type).toBe('gateway');
    expect(buildProxyModel(MESH, ref, { gateway: false }).proxy.type).toBe('sidecar');
    expect(
      buildProxyModel(MESH, { namespace: 'default', name: 'reviews-1' }, { gateway: true }).proxy.type,
    ).toBe('gateway');
  });

  it('has a listener per server port and virtual hosts from the bound VirtualServices', () => {
    const model = buildProxyModel(MESH, ref);
    expect(model.listeners.map((l) => l.name)).toEqual(['0.0.0.0_80']);
    expect(model.listeners[0]!.context).toBe('GATEWAY');
    expect(model.routeConfigurations).toEqual([
      {
        name: 'http.80',
        context: 'GATEWAY',
        virtualHosts: [
          { name: 'a.test.com:80', domains: ['a.test.com'], routes: [{ name: 'r1', action: 'ROUTE' }] },
        ],
      },
    ]);
  });

  it('listens on the target port of a Service in front of it; RDS http.<listener port>, hosts on the server port', () => {
    const withService = [
      ...MESH,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ingress', namespace: 'gw' },
        spec: { selector: { istio: 'ingress' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    ];
    const model = buildProxyModel(withService, ref);
    expect(model.listeners.map((l) => l.name)).toEqual(['0.0.0.0_8080']);
    expect(model.routeConfigurations.map((r) => [r.name, r.virtualHosts.map((v) => v.name)])).toEqual([
      ['http.8080', ['a.test.com:80']],
    ]);
    expect(model.gatewayPortMap.get(8080)).toEqual(new Set([80]));
  });

  it('merges the hosts of one VirtualService into one virtual host; routes through two Gateways twice', () => {
    const objects = objectsOf(`
apiVersion: v1
kind: Pod
metadata: {name: gw-2, namespace: gw, labels: {istio: two}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: one, namespace: gw}
spec:
  selector: {istio: two}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: two, namespace: default}
spec:
  selector: {istio: two}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [c.test.com]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: all, namespace: gw}
spec:
  hosts: [b.test.com, a.test.com, c.test.com]
  gateways: [one, default/two]
  http: [{name: r, route: [{destination: {host: x}}]}]
`);
    const model = buildProxyModel(objects, { namespace: 'gw', name: 'gw-2' });
    expect(model.routeConfigurations[0]!.virtualHosts).toEqual([
      {
        name: 'a.test.com:80',
        domains: ['a.test.com', 'b.test.com'],
        routes: [{ name: 'r', action: 'ROUTE' }],
      },
      {
        name: 'c.test.com:80',
        domains: ['c.test.com'],
        routes: [
          { name: 'r', action: 'ROUTE' },
          { name: 'r', action: 'ROUTE' },
        ],
      },
    ]);
  });
});
