/**
 * Aeraki MetaProtocol route configurations, as Governor serves them to MetaProtocol proxies over RDS.
 *
 * The types are the proto3 JSON (lowerCamel) of `aeraki.meta_protocol_proxy.config.route.v1alpha`
 * messages. The proxy is an Envoy build whose xDS client only knows Envoy's resource types, so it
 * subscribes with Envoy's RouteConfiguration type URL: each MetaProtocol configuration travels as an
 * Envoy HTTP RouteConfiguration with one virtual host, one HTTP route per MetaProtocol route, and the
 * proxy converts it back (`toHttpRouteConfiguration` is that encoding; `fromHttpRouteConfiguration`
 * reads it as the proxy does).
 */

export interface MetaHeaderMatcher {
  name: string;
  exactMatch?: string;
  prefixMatch?: string;
  safeRegexMatch?: { googleRe2: Record<string, never>; regex: string };
  presentMatch?: boolean;
}
export interface MetaRouteAction {
  cluster?: string;
  weightedClusters?: { clusters: { name: string; weight: number }[]; totalWeight: number };
  requestMirrorPolicies?: {
    cluster: string;
    runtimeFraction: { defaultValue: { numerator: number; denominator: 'MILLION' } };
  }[];
  hashPolicy?: string[];
}
export interface MetaKeyValue {
  key: string;
  value: string;
}
export interface MetaRoute {
  name: string;
  match?: { metadata: MetaHeaderMatcher[] };
  route: MetaRouteAction;
  requestMutation?: MetaKeyValue[];
  responseMutation?: MetaKeyValue[];
}
/** One per MetaProtocol service port, named `<host>_<port>`. */
export interface MetaRouteConfiguration {
  name: string;
  routes: MetaRoute[];
}
export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const META_ROUTE_TYPE_URL =
  'type.googleapis.com/aeraki.meta_protocol_proxy.config.route.v1alpha.RouteConfiguration';

/** The proxy asserts exactly one virtual host; its name and domains mean nothing to it. */
export const CARRIER_VIRTUAL_HOST = 'dummy';

/** The proto3 JSON of the parts of `envoy.config.route.v3.RouteConfiguration` the carrier uses. */
export interface HttpHeaderValueOption {
  header: { key: string; value: string };
}
export interface HttpRoute {
  name: string;
  match: { prefix: '/'; headers?: MetaHeaderMatcher[] };
  route: {
    cluster?: string;
    weightedClusters?: MetaRouteAction['weightedClusters'];
    requestMirrorPolicies?: MetaRouteAction['requestMirrorPolicies'];
    hashPolicy?: { header: { headerName: string } }[];
  };
  requestHeadersToAdd?: HttpHeaderValueOption[];
  responseHeadersToAdd?: HttpHeaderValueOption[];
}
export interface HttpRouteConfiguration {
  name: string;
  virtualHosts: [{ name: string; domains: ['*']; routes: HttpRoute[] }];
}

const headers = (kvs: readonly MetaKeyValue[] | undefined): HttpHeaderValueOption[] | undefined =>
  kvs && kvs.length > 0 ? kvs.map(({ key, value }) => ({ header: { key, value } })) : undefined;

/** Drops undefined members, so the JSON holds only what is set (as proto3 JSON writes it). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A MetaProtocol route configuration as the Envoy HTTP RouteConfiguration that carries it. */
export function toHttpRouteConfiguration(config: MetaRouteConfiguration): HttpRouteConfiguration {
  const routes = config.routes.map((r): HttpRoute =>
    defined({
      name: r.name,
      match: defined({
        // Every request of an HTTP carrier has path "/"-prefixed; the metadata matchers decide.
        prefix: '/' as const,
        headers: r.match && r.match.metadata.length > 0 ? r.match.metadata.map((m) => ({ ...m })) : undefined,
      }),
      route: defined({
        // The proto's oneof: weighted clusters win when both are given, as the proxy reads them.
        cluster: r.route.weightedClusters ? undefined : r.route.cluster,
        weightedClusters: r.route.weightedClusters,
        requestMirrorPolicies:
          r.route.requestMirrorPolicies && r.route.requestMirrorPolicies.length > 0
            ? r.route.requestMirrorPolicies
            : undefined,
        hashPolicy:
          r.route.hashPolicy && r.route.hashPolicy.length > 0
            ? r.route.hashPolicy.map((headerName) => ({ header: { headerName } }))
            : undefined,
      }),
      requestHeadersToAdd: headers(r.requestMutation),
      responseHeadersToAdd: headers(r.responseMutation),
    }),
  );
  return { name: config.name, virtualHosts: [{ name: CARRIER_VIRTUAL_HOST, domains: ['*'], routes }] };
}

/** Reads a carrier back as the proxy does; throws when it is not one (not exactly one virtual host). */
export function fromHttpRouteConfiguration(http: {
  name?: string;
  virtualHosts?: { routes?: HttpRoute[] }[];
}): MetaRouteConfiguration {
  if (http.virtualHosts?.length !== 1)
    throw new Error(`a MetaProtocol carrier has one virtual host, got ${http.virtualHosts?.length ?? 0}`);
  const routes = (http.virtualHosts[0]!.routes ?? []).map((h): MetaRoute =>
    defined({
      name: h.name ?? '',
      match: h.match?.headers?.length ? { metadata: h.match.headers } : undefined,
      route: defined({
        cluster: h.route?.cluster,
        weightedClusters: h.route?.weightedClusters,
        requestMirrorPolicies: h.route?.requestMirrorPolicies,
        hashPolicy: h.route?.hashPolicy?.map((p) => p.header.headerName),
      }),
      requestMutation: h.requestHeadersToAdd?.map((o) => ({ ...o.header })),
      responseMutation: h.responseHeadersToAdd?.map((o) => ({ ...o.header })),
    }),
  );
  return { name: http.name ?? '', routes };
}
