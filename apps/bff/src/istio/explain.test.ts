import { describe, expect, it } from 'vitest';
import { explainEnvoyFilters } from './explain';
import { MESH, objectsOf } from '../../test/support/istio-mesh';
import type { KubeObject } from './proxy-model';

const SIDECAR = { namespace: 'default', name: 'reviews-1' };
const GATEWAY = { namespace: 'gw', name: 'gw-1' };

const ef = (
  patches: unknown[],
  extra: Record<string, unknown> = {},
  namespace = 'default',
  name = 'f',
): KubeObject => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'EnvoyFilter',
  metadata: { name, namespace },
  spec: { configPatches: patches, ...extra },
});

/** The places of one patch on the proxy. */
const placesOf = (patch: unknown, proxy = SIDECAR) =>
  explainEnvoyFilters({ objects: MESH, envoyFilters: [ef([patch], {}, proxy.namespace)], proxy }).patches[0]!;

const routerFilter = (context: string, listener: Record<string, unknown> = {}) => ({
  applyTo: 'HTTP_FILTER',
  match: {
    context,
    listener: {
      ...listener,
      filterChain: {
        ...(listener.filterChain as object),
        filter: {
          name: 'envoy.filters.network.http_connection_manager',
          subFilter: { name: 'envoy.filters.http.router' },
        },
      },
    },
  },
  patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.local_ratelimit' } },
});

describe('selection', () => {
  it('selects by namespace (the proxy’s or the root) and workload selector', () => {
    const r = explainEnvoyFilters({
      objects: MESH,
      envoyFilters: [
        ef([], {}, 'default', 'all'),
        ef([], { workloadSelector: { labels: { app: 'reviews' } } }, 'default', 'reviews'),
        ef([], { workloadSelector: { labels: { app: 'reviews', version: 'v2' } } }, 'default', 'v2'),
        ef([], {}, 'istio-system', 'mesh-wide'),
        ef([], {}, 'other', 'elsewhere'),
        ef([], {}, 'custom-root', 'custom'),
      ],
      proxy: SIDECAR,
    });
    expect(r.selected).toEqual(['default/all', 'default/reviews', 'istio-system/mesh-wide']);
    expect(r.unselected).toEqual(['custom-root/custom', 'default/v2', 'other/elsewhere']);
    const custom = explainEnvoyFilters({
      objects: MESH,
      envoyFilters: [ef([], {}, 'custom-root', 'custom')],
      proxy: SIDECAR,
      rootNamespace: 'custom-root',
    });
    expect(custom.selected).toEqual(['custom-root/custom']);
  });
});

describe('listener matches', () => {
  it('context: SIDECAR_INBOUND lands on the inbound chains with an HTTP connection manager', () => {
    expect(placesOf(routerFilter('SIDECAR_INBOUND')).places).toEqual([
      { listener: 'virtualInbound', filterChain: '0.0.0.0_9080' },
      { listener: 'virtualInbound', filterChain: 'virtualInbound-catchall-http' },
    ]);
  });

  it('context: SIDECAR_OUTBOUND, ANY and GATEWAY', () => {
    expect(placesOf(routerFilter('SIDECAR_OUTBOUND')).places).toEqual([
      { listener: '0.0.0.0_80', filterChain: '#0' },
      { listener: '0.0.0.0_9080', filterChain: '#0' },
    ]);
    expect(placesOf(routerFilter('ANY')).places).toHaveLength(4);
    const gw = placesOf(routerFilter('GATEWAY'));
    expect(gw.places).toEqual([]);
    expect(gw.reason).toBe(
      'context GATEWAY does not apply to a sidecar proxy (its contexts: SIDECAR_INBOUND, SIDECAR_OUTBOUND)',
    );
    expect(placesOf(routerFilter('GATEWAY'), GATEWAY).places).toEqual([
      { listener: '0.0.0.0_80', filterChain: '#0' },
    ]);
  });

  it('portNumber: a listener’s port, or the destination port of a virtual listener’s chains', () => {
    expect(placesOf(routerFilter('SIDECAR_INBOUND', { portNumber: 9080 })).places).toEqual([
      { listener: 'virtualInbound', filterChain: '0.0.0.0_9080' },
    ]);
    expect(placesOf(routerFilter('SIDECAR_OUTBOUND', { portNumber: 80 })).places).toEqual([
      { listener: '0.0.0.0_80', filterChain: '#0' },
    ]);
    const miss = placesOf(routerFilter('SIDECAR_INBOUND', { portNumber: 7000 }));
    expect(miss.places).toEqual([]);
    expect(miss.reason).toBe('no filter chain for port 7000 on virtualInbound; its ports: 9080, 15006');
  });

  it('name, filterChain.name, destinationPort, transportProtocol', () => {
    expect(placesOf(routerFilter('ANY', { name: 'virtualOutbound' })).places).toEqual([]);
    expect(
      placesOf(routerFilter('ANY', { filterChain: { name: 'virtualInbound-catchall-http' } })).places,
    ).toEqual([{ listener: 'virtualInbound', filterChain: 'virtualInbound-catchall-http' }]);
    expect(placesOf(routerFilter('ANY', { filterChain: { destinationPort: 9080 } })).places).toEqual([
      { listener: 'virtualInbound', filterChain: '0.0.0.0_9080' },
    ]);
    expect(
      placesOf(routerFilter('SIDECAR_INBOUND', { filterChain: { transportProtocol: 'tls' } })).places,
    ).toEqual([
      { listener: 'virtualInbound', filterChain: '0.0.0.0_9080' },
      { listener: 'virtualInbound', filterChain: 'virtualInbound-catchall-http' },
    ]);
  });

  it('filter and subFilter: an insert before a filter that is not there changes nothing', () => {
    const patch = routerFilter('SIDECAR_INBOUND');
    (patch.match.listener.filterChain as { filter: { subFilter: { name: string } } }).filter.subFilter.name =
      'envoy.filters.http.nope';
    const p = placesOf(patch);
    expect(p.places).toEqual([]);
    expect(p.reason).toMatch(
      /^no HTTP filter envoy\.filters\.http\.nope in the matching connection managers/,
    );
  });

  it('NETWORK_FILTER and FILTER_CHAIN', () => {
    const tcp = {
      applyTo: 'NETWORK_FILTER',
      match: {
        context: 'SIDECAR_OUTBOUND',
        listener: { filterChain: { filter: { name: 'envoy.filters.network.tcp_proxy' } } },
      },
      patch: { operation: 'MERGE', value: { typed_config: { '@type': 'x', idle_timeout: '5s' } } },
    };
    expect(placesOf(tcp).places).toEqual([
      { listener: '0.0.0.0_5432', filterChain: '#0' },
      { listener: '0.0.0.0_80', filterChain: '#default' },
      { listener: '0.0.0.0_9080', filterChain: 'PassthroughFilterChain' },
      { listener: 'virtualOutbound', filterChain: 'virtualOutbound-blackhole' },
      { listener: 'virtualOutbound', filterChain: 'virtualOutbound-catchall-tcp' },
    ]);
    const chain = {
      applyTo: 'FILTER_CHAIN',
      match: { context: 'SIDECAR_INBOUND', listener: { portNumber: 9080 } },
      patch: { operation: 'MERGE', value: {} },
    };
    expect(placesOf(chain).places).toEqual([{ listener: 'virtualInbound', filterChain: '0.0.0.0_9080' }]);
  });

  it('LISTENER', () => {
    const listener = {
      applyTo: 'LISTENER',
      match: { context: 'SIDECAR_OUTBOUND', listener: { portNumber: 9080 } },
      patch: { operation: 'MERGE', value: {} },
    };
    expect(placesOf(listener).places).toEqual([{ listener: '0.0.0.0_9080' }]);
  });
});

describe('route configuration matches', () => {
  const route = (
    context: string,
    routeConfiguration: unknown,
    applyTo = 'HTTP_ROUTE',
    operation = 'MERGE',
  ) => ({
    applyTo,
    match: { context, routeConfiguration },
    patch: { operation, value: {} },
  });

  it('vhost.name and vhost.route.name', () => {
    expect(
      placesOf(
        route('SIDECAR_OUTBOUND', {
          vhost: { name: 'reviews.default.svc.cluster.local:9080', route: { name: 'v1' } },
        }),
      ).places,
    ).toEqual([
      { routeConfiguration: '9080', virtualHost: 'reviews.default.svc.cluster.local:9080', route: 'v1' },
    ]);
    expect(
      placesOf(route('SIDECAR_INBOUND', { vhost: { name: 'inbound|http|9080', route: { name: 'default' } } }))
        .places,
    ).toEqual([{ routeConfiguration: 'inbound|9080||', virtualHost: 'inbound|http|9080', route: 'default' }]);
  });

  it('vhost.route.action, and unnamed routes as #N', () => {
    // The VirtualService's host has no service on port 80, so istiod gives it a virtual host there too.
    expect(placesOf(route('SIDECAR_OUTBOUND', { vhost: { route: { action: 'REDIRECT' } } })).places).toEqual([
      { routeConfiguration: '80', virtualHost: 'reviews.default.svc.cluster.local:80', route: '#0' },
      { routeConfiguration: '9080', virtualHost: 'reviews.default.svc.cluster.local:9080', route: '#0' },
    ]);
  });

  it('portNumber and name', () => {
    expect(placesOf(route('SIDECAR_INBOUND', { portNumber: 9080 }, 'ROUTE_CONFIGURATION')).places).toEqual([
      { routeConfiguration: 'inbound|9080||' },
    ]);
    expect(placesOf(route('SIDECAR_OUTBOUND', { portNumber: 80 }, 'ROUTE_CONFIGURATION')).places).toEqual([
      { routeConfiguration: '80' },
    ]);
    expect(placesOf(route('ANY', { name: '9080' }, 'ROUTE_CONFIGURATION')).places).toEqual([
      { routeConfiguration: '9080' },
    ]);
    // istiod merges into a route configuration and nothing else.
    expect(placesOf(route('ANY', { name: '9080' }, 'ROUTE_CONFIGURATION', 'ADD')).places).toEqual([]);
  });

  it('vhost.domainName', () => {
    expect(
      placesOf(route('SIDECAR_OUTBOUND', { vhost: { domainName: 'reviews' } }, 'VIRTUAL_HOST')).places,
    ).toEqual([{ routeConfiguration: '9080', virtualHost: 'reviews.default.svc.cluster.local:9080' }]);
  });

  it('gateway: portNumber, portName and the route names of its VirtualServices', () => {
    expect(
      placesOf(
        route('GATEWAY', { portNumber: 80, vhost: { name: 'a.test.com:80', route: { name: 'r1' } } }),
        GATEWAY,
      ).places,
    ).toEqual([{ routeConfiguration: 'http.80', virtualHost: 'a.test.com:80', route: 'r1' }]);
    const missing = placesOf(
      route('GATEWAY', { vhost: { name: 'a.test.com:80', route: { name: 'r9' } } }),
      GATEWAY,
    );
    expect(missing.places).toEqual([]);
    expect(missing.reason).toBe('no route named r9 in virtual host a.test.com:80; routes: r1');
  });

  it('HTTP_ROUTE INSERT_BEFORE a route that is not there changes nothing', () => {
    const p = placesOf(
      route(
        'SIDECAR_OUTBOUND',
        { vhost: { name: 'reviews.default.svc.cluster.local:9080', route: { name: 'zz' } } },
        'HTTP_ROUTE',
        'INSERT_BEFORE',
      ),
    );
    expect(p.places).toEqual([]);
  });
});

describe('places', () => {
  it('CLUSTER by service and subset; EXTENSION_CONFIG has none', () => {
    const cluster = {
      applyTo: 'CLUSTER',
      match: { context: 'SIDECAR_OUTBOUND', cluster: { service: 'reviews.default.svc.cluster.local' } },
      patch: { operation: 'MERGE', value: {} },
    };
    expect(placesOf(cluster).places).toEqual([
      { cluster: 'outbound|9080||reviews.default.svc.cluster.local' },
    ]);
    const typo = placesOf({
      ...cluster,
      match: { ...cluster.match, cluster: { service: 'review.default.svc.cluster.local' } },
    });
    expect(typo.reason).toMatch(
      /^no cluster of service review\.default\.svc\.cluster\.local; services with clusters: reviews\.default\.svc\.cluster\.local, /,
    );
    const ext = placesOf({ applyTo: 'EXTENSION_CONFIG', patch: { operation: 'ADD', value: { name: 'x' } } });
    expect(ext.places).toEqual([]);
    expect(ext.reason).toMatch(/EXTENSION_CONFIG/);
  });
});

describe('what changes nothing', () => {
  const cors = (typedConfig: Record<string, unknown>, proxy?: Record<string, unknown>) => ({
    applyTo: 'HTTP_FILTER',
    match: {
      context: 'SIDECAR_INBOUND',
      ...(proxy ? { proxy } : {}),
      listener: {
        portNumber: 9080,
        filterChain: {
          filter: {
            name: 'envoy.filters.network.http_connection_manager',
            subFilter: { name: 'envoy.filters.http.cors' },
          },
        },
      },
    },
    patch: { operation: 'MERGE', value: { name: 'envoy.filters.http.cors', typed_config: typedConfig } },
  });
  const at9080 = [{ listener: 'virtualInbound', filterChain: '0.0.0.0_9080' }];

  it('a MERGE of a typed_config without fields', () => {
    expect(
      placesOf(cors({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' })).places,
    ).toEqual([]);
    expect(placesOf(cors({ '@type': 'x', y: 1 })).places).toEqual(at9080);
  });

  it('a patch for another proxy version', () => {
    expect(placesOf(cors({ '@type': 'x', y: 1 }, { proxyVersion: '^1\\.31.*' })).places).toEqual(at9080);
    const old = placesOf(cors({ '@type': 'x', y: 1 }, { proxyVersion: '^1\\.2.*' }));
    expect(old.places).toEqual([]);
    expect(old.reason).toBe('match.proxy does not match this proxy (Istio 1.31.0)');
  });
});

describe("doc-b over Bookinfo's reviews on 9080", () => {
  const bookinfo = objectsOf(`
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080, targetPort: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec: {selector: {app: productpage}, ports: [{name: http, port: 9080, targetPort: 9080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: productpage-1, namespace: default, labels: {app: productpage}}
`);

  it('says no virtual host reviews:80 exists, and which do', () => {
    const r = explainEnvoyFilters({
      objects: bookinfo,
      envoyFilters: [
        ef(
          [
            {
              applyTo: 'HTTP_ROUTE',
              match: {
                context: 'SIDECAR_OUTBOUND',
                routeConfiguration: {
                  vhost: { name: 'reviews.default.svc.cluster.local:80', route: { name: 'default' } },
                },
              },
              patch: { operation: 'MERGE', value: {} },
            },
          ],
          { workloadSelector: { labels: { app: 'productpage' } } },
        ),
      ],
      proxy: { namespace: 'default', name: 'productpage-1' },
    });
    expect(r.patches[0]!.places).toEqual([]);
    expect(r.patches[0]!.reason).toBe(
      'no virtual host reviews.default.svc.cluster.local:80 on route configuration 80; virtual hosts on port 9080: ' +
        'reviews.default.svc.cluster.local:9080, productpage.default.svc.cluster.local:9080',
    );
    expect(r.warnings).toEqual([
      `default/f patch 0 (HTTP_ROUTE MERGE) matches nothing: ${r.patches[0]!.reason}`,
    ]);
  });
});
