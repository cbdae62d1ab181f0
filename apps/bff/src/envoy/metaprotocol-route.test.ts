import { describe, expect, it } from 'vitest';
import {
  fromHttpRouteConfiguration,
  toHttpRouteConfiguration,
  type MetaRouteConfiguration,
} from './metaprotocol-route';

const full: MetaRouteConfiguration = {
  name: 'org.apache.dubbo.samples.basic.api.demoservice_20880',
  routes: [
    {
      name: 'v1',
      match: {
        metadata: [
          { name: 'method', exactMatch: 'sayHello' },
          { name: 'interface', prefixMatch: 'org.apache' },
          { name: 'user', safeRegexMatch: { googleRe2: {}, regex: 'gold-.*' } },
          { name: 'trace', presentMatch: true },
        ],
      },
      route: {
        weightedClusters: {
          clusters: [
            { name: 'outbound|20880|v1|demo.svc', weight: 80 },
            { name: 'outbound|20880|v2|demo.svc', weight: 20 },
          ],
          totalWeight: 100,
        },
        requestMirrorPolicies: [
          {
            cluster: 'outbound|20880|v3|demo.svc',
            runtimeFraction: { defaultValue: { numerator: 100_000, denominator: 'MILLION' } },
          },
        ],
        hashPolicy: ['user'],
      },
      requestMutation: [{ key: 'foo', value: 'bar' }],
      responseMutation: [{ key: 'served-by', value: 'v1' }],
    },
    { name: 'default', route: { cluster: 'outbound|20880||demo.svc' } },
  ],
};

describe('toHttpRouteConfiguration', () => {
  it('carries each MetaProtocol route as one HTTP route of a single catch-all virtual host', () => {
    const http = toHttpRouteConfiguration(full);
    expect(http.name).toBe(full.name);
    expect(http.virtualHosts).toHaveLength(1);
    const [vh] = http.virtualHosts;
    expect(vh.name).toBe('dummy');
    expect(vh.domains).toEqual(['*']);
    expect(vh.routes[0]).toEqual({
      name: 'v1',
      match: { prefix: '/', headers: full.routes[0]!.match!.metadata },
      route: {
        weightedClusters: full.routes[0]!.route.weightedClusters,
        requestMirrorPolicies: full.routes[0]!.route.requestMirrorPolicies,
        hashPolicy: [{ header: { headerName: 'user' } }],
      },
      requestHeadersToAdd: [{ header: { key: 'foo', value: 'bar' } }],
      responseHeadersToAdd: [{ header: { key: 'served-by', value: 'v1' } }],
    });
    // Nothing but what is set: a plain route is a prefix match and a cluster.
    expect(vh.routes[1]).toEqual({
      name: 'default',
      match: { prefix: '/' },
      route: { cluster: 'outbound|20880||demo.svc' },
    });
  });

  it('keeps the oneof: weighted clusters replace a cluster given beside them', () => {
    const http = toHttpRouteConfiguration({
      name: 'x_1',
      routes: [
        {
          name: 'r',
          route: { cluster: 'a', weightedClusters: { clusters: [{ name: 'b', weight: 1 }], totalWeight: 1 } },
        },
      ],
    });
    expect(http.virtualHosts[0].routes[0]!.route.cluster).toBeUndefined();
  });

  it('holds an empty configuration as a virtual host without routes', () => {
    expect(toHttpRouteConfiguration({ name: 'x_1', routes: [] }).virtualHosts[0].routes).toEqual([]);
  });

  it('reads back to the same configuration, as the proxy converts it', () => {
    expect(fromHttpRouteConfiguration(toHttpRouteConfiguration(full))).toEqual(full);
    expect(() => fromHttpRouteConfiguration({ name: 'x', virtualHosts: [] })).toThrow(/one virtual host/);
  });
});
