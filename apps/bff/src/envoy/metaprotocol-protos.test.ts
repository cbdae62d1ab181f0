import { describe, expect, it } from 'vitest';
import {
  decodeProto3Json,
  decodeRouteResource,
  encodeProto3Json,
  encodeRouteResource,
  META_PROTOCOL_MESSAGES,
  verifyMetaProtocolValue,
} from './metaprotocol-protos';
import { META_ROUTE_TYPE_URL, ROUTE_TYPE_URL, type MetaRouteConfiguration } from './metaprotocol-route';

const url = (name: string) => `type.googleapis.com/${name}`;

/** A MetaProtocolProxy as Aeraki's EnvoyFilters write it (snake_case, in a TypedStruct's value). */
const proxy = {
  stat_prefix: 'outbound|20880||demo.svc',
  application_protocol: 'dubbo',
  rds: {
    config_source: { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '0s' },
    route_config_name: 'demo.svc_20880',
  },
  codec: { name: 'aeraki.meta_protocol.codec.dubbo' },
  meta_protocol_filters: [
    {
      name: 'aeraki.meta_protocol.filters.local_ratelimit',
      config: {
        '@type': url(META_PROTOCOL_MESSAGES.localRateLimit),
        stat_prefix: 'demo',
        token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: '60s' },
        conditions: [
          {
            match: { metadata: [{ name: 'method', exact_match: 'sayHello' }] },
            token_bucket: { max_tokens: 2, tokens_per_fill: 2, fill_interval: '60s' },
          },
        ],
      },
    },
    { name: 'aeraki.meta_protocol.filters.router' },
  ],
};

describe('verifyMetaProtocolValue', () => {
  it('accepts the proxy and filter configurations Aeraki writes, in either field spelling', () => {
    expect(verifyMetaProtocolValue(url(META_PROTOCOL_MESSAGES.proxy), proxy)).toEqual([]);
    expect(
      verifyMetaProtocolValue(META_PROTOCOL_MESSAGES.proxy, {
        statPrefix: 'x',
        rds: { configSource: { ads: {} }, routeConfigName: 'a_1' },
        protocol: { name: 'thrift', codec: { name: 'aeraki.meta_protocol.codec.thrift' } },
        idleTimeout: '30s',
      }),
    ).toEqual([]);
    expect(
      verifyMetaProtocolValue(url(META_PROTOCOL_MESSAGES.rateLimit), {
        match: { metadata: [{ name: 'method', prefixMatch: 'say' }] },
        domain: 'production',
        timeout: '0.5s',
        failure_mode_deny: true,
        rate_limit_service: {
          grpc_service: { envoy_grpc: { cluster_name: 'outbound|8081||rls.governor.svc' } },
          transport_api_version: 'V3',
        },
        descriptors: [{ property: 'method', descriptor_key: 'method' }],
      }),
    ).toEqual([]);
    expect(
      verifyMetaProtocolValue(url(META_PROTOCOL_MESSAGES.istioStats), { destination_service: 'a' }),
    ).toEqual([]);
  });

  it('says where a value is wrong, with the closest field, also inside an Any', () => {
    const errors = verifyMetaProtocolValue(url(META_PROTOCOL_MESSAGES.proxy), {
      ...proxy,
      stat_prefx: 'x',
      idle_timeout: 30,
      meta_protocol_filters: [
        {
          name: 'aeraki.meta_protocol.filters.local_ratelimit',
          config: {
            '@type': url(META_PROTOCOL_MESSAGES.localRateLimit),
            token_bucket: { max_tokens: 'ten' },
          },
        },
      ],
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stat_prefx: unknown field .*did you mean stat_prefix/),
        expect.stringMatching(/^idle_timeout: .*duration/),
        expect.stringMatching(
          /^meta_protocol_filters\[0\]\.config\.token_bucket\.max_tokens: expected an integer/,
        ),
      ]),
    );
  });

  it('refuses a oneof set twice and an unknown message', () => {
    expect(
      verifyMetaProtocolValue(META_PROTOCOL_MESSAGES.proxy, {
        stat_prefix: 'x',
        rds: { route_config_name: 'a' },
        route_config: { name: 'a' },
      }).join('\n'),
    ).toMatch(/route_config|rds/);
    expect(
      verifyMetaProtocolValue('type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProx', {}),
    ).toEqual([expect.stringMatching(/unknown MetaProtocol message .*closest .*MetaProtocolProxy/)]);
    expect(verifyMetaProtocolValue(ROUTE_TYPE_URL, {})[0]).toMatch(/unknown MetaProtocol message/);
  });
});

describe('encoding', () => {
  const config: MetaRouteConfiguration = {
    name: 'demo.svc_20880',
    routes: [
      {
        name: 'r',
        match: { metadata: [{ name: 'method', exactMatch: 'sayHello' }] },
        route: {
          weightedClusters: {
            clusters: [
              { name: 'a', weight: 30 },
              { name: 'b', weight: 70 },
            ],
            totalWeight: 100,
          },
          hashPolicy: ['user'],
          requestMirrorPolicies: [
            { cluster: 'm', runtimeFraction: { defaultValue: { numerator: 5, denominator: 'MILLION' } } },
          ],
        },
        requestMutation: [{ key: 'k', value: 'v' }],
        responseMutation: [{ key: 'k2', value: 'v2' }],
      },
    ],
  };

  it('round-trips a route configuration through both RDS type URLs', () => {
    for (const typeUrl of [ROUTE_TYPE_URL, META_ROUTE_TYPE_URL])
      expect(decodeRouteResource(typeUrl, encodeRouteResource(config, typeUrl))).toEqual(config);
  });

  it('writes the carrier as Envoy reads it: a weight is a UInt32Value, a hash policy a header', () => {
    const http = decodeProto3Json(ROUTE_TYPE_URL, encodeRouteResource(config, ROUTE_TYPE_URL));
    expect(http).toMatchObject({
      name: 'demo.svc_20880',
      virtualHosts: [
        {
          name: 'dummy',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/', headers: [{ name: 'method', exactMatch: 'sayHello' }] },
              route: {
                weightedClusters: {
                  clusters: [
                    { name: 'a', weight: 30 },
                    { name: 'b', weight: 70 },
                  ],
                },
              },
            },
          ],
        },
      ],
    });
  });

  it('encodes well-known types from proto3 JSON: durations, Any, Struct', () => {
    const bytes = encodeProto3Json(META_PROTOCOL_MESSAGES.proxy, proxy);
    const back = decodeProto3Json(META_PROTOCOL_MESSAGES.proxy, bytes);
    expect(back).toMatchObject({
      statPrefix: proxy.stat_prefix,
      rds: { configSource: { initialFetchTimeout: '0s' }, routeConfigName: 'demo.svc_20880' },
      metaProtocolFilters: [
        {
          config: {
            '@type': url(META_PROTOCOL_MESSAGES.localRateLimit),
            tokenBucket: { maxTokens: 10, fillInterval: '60s' },
          },
        },
        { name: 'aeraki.meta_protocol.filters.router' },
      ],
    });
    expect(() => encodeProto3Json(META_PROTOCOL_MESSAGES.istioStats, { nope: 1 })).toThrow(/no field/);
  });
});
