/**
 * Aeraki's rendering rules, as pure functions:
 * - each MetaProtocol service port gets an outbound EnvoyFilter per address (the `tcp_proxy` of listener
 *   `<address>_<port>` replaced by a MetaProtocol proxy that fetches route configuration `<host>_<port>`
 *   from Governor's route server) and an inbound one on the workloads behind it (the proxy with the
 *   MetaRouter's local and global rate-limit filters ahead of the router, and a route to the inbound
 *   cluster);
 * - the route server serves one route configuration per service port: the MetaRouter's routes, or one
 *   default route to the service.
 */
import {
  ENVOYFILTER_API_VERSION,
  parseGoDuration,
  type DestinationRule,
  type MetaDestination,
  type MetaGlobalRateLimit,
  type MetaLocalRateLimit,
  type MetaRouteMatch,
  type MetaRouteSpec,
  type MetaRouter,
  type MetaTokenBucket,
  TYPED_STRUCT,
} from '@governor/crd-types';
import { RE2JS } from 're2js';
import type { KubeObject } from '../../cluster/store';
import type {
  MetaHeaderMatcher,
  MetaKeyValue,
  MetaRoute,
  MetaRouteAction,
  MetaRouteConfiguration,
} from '../../envoy/metaprotocol-route';
import type { PlanProblem } from '../../framework/module';
import type { MetaPort, MetaService } from './services';

export const MANAGER_LABEL = 'manager';
/** Aeraki's label value, so that tools which select Aeraki's EnvoyFilters find these. */
export const MANAGER = 'Aeraki';
export { TYPED_STRUCT };
export const META_PROTOCOL_PROXY = 'envoy.filters.network.meta_protocol_proxy';
export const META_PROTOCOL_PROXY_TYPE =
  'type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy';
export const LOCAL_RATELIMIT_TYPE =
  'type.googleapis.com/aeraki.meta_protocol_proxy.filters.local_ratelimit.v1alpha.LocalRateLimit';
export const GLOBAL_RATELIMIT_TYPE =
  'type.googleapis.com/aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit';
export const ISTIO_STATS_TYPE =
  'type.googleapis.com/aeraki.meta_protocol_proxy.filters.istio_stats.v1alpha.IstioStats';
export const TCP_PROXY = 'envoy.filters.network.tcp_proxy';

export interface RenderOptions {
  /** Where outbound EnvoyFilters go when the MetaRouter exports nowhere: the mesh's root namespace. */
  readonly rootNamespace: string;
  /** The proxies' bootstrap cluster that reaches Governor's route server (Aeraki's `aeraki-xds`). */
  readonly xdsCluster: string;
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = {
  rootNamespace: 'istio-system',
  xdsCluster: 'aeraki-xds',
};

/** Envoy's cluster names: `outbound|<port>|<subset>|<host>`. */
export const clusterName = (direction: 'inbound' | 'outbound', subset: string, host: string, port: number) =>
  `${direction}|${port}|${subset}|${host}`;
export const routeConfigName = (host: string, port: number) => `${host}_${port}`;

type Json = Record<string, unknown>;

/* ---------- matches ---------- */

/** A MetaRouter match as the header matchers the proxy evaluates against a call's attributes. */
export function metadataMatchers(match: MetaRouteMatch | undefined): MetaHeaderMatcher[] {
  // Sorted by name: a map has no order, and the served resource's version should not flap.
  return Object.entries(match?.attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, m]): MetaHeaderMatcher => {
      if (m === null || (m.exact === undefined && m.prefix === undefined && m.regex === undefined))
        return { name, presentMatch: true };
      if (m.regex === '*') return { name, presentMatch: true };
      if (m.exact !== undefined) return { name, exactMatch: m.exact };
      if (m.prefix !== undefined) return { name, prefixMatch: m.prefix };
      return { name, safeRegexMatch: { googleRe2: {}, regex: m.regex! } };
    });
}

/** Whether a call with these attributes matches, as the proxy's header matchers decide. */
export function callMatches(
  matchers: readonly MetaHeaderMatcher[],
  attributes: Readonly<Record<string, string>>,
): boolean {
  return matchers.every((m) => {
    const v = attributes[m.name];
    if (v === undefined) return false;
    if (m.presentMatch) return true;
    if (m.exactMatch !== undefined) return v === m.exactMatch;
    if (m.prefixMatch !== undefined) return v.startsWith(m.prefixMatch);
    if (m.safeRegexMatch) return RE2JS.compile(m.safeRegexMatch.regex).matches(v);
    return true;
  });
}

/* ---------- validation (Aeraki's admission rules, as problems) ---------- */

function checkMatch(match: MetaRouteMatch | undefined, at: string, problems: PlanProblem[]): void {
  for (const [name, m] of Object.entries(match?.attributes ?? {})) {
    const set = m ? (['exact', 'prefix', 'regex'] as const).filter((k) => m[k] !== undefined) : [];
    if (set.length > 1)
      problems.push({ path: `${at}.attributes.${name}`, message: `sets ${set.join(' and ')}: give one` });
    if (m?.regex !== undefined && m.regex !== '*') {
      if (m.regex === '') problems.push({ path: `${at}.attributes.${name}.regex`, message: 'empty' });
      else
        try {
          RE2JS.compile(m.regex);
        } catch (e) {
          problems.push({
            path: `${at}.attributes.${name}.regex`,
            message: `not an RE2 expression: ${(e as Error).message}`,
          });
        }
    }
  }
}

function checkBucket(b: MetaTokenBucket | undefined, at: string, problems: PlanProblem[]): void {
  if (!b) return;
  const ms = parseGoDuration(b.fillInterval);
  if (ms === null)
    problems.push({ path: `${at}.fillInterval`, message: `not a duration: "${b.fillInterval}" (e.g. 60s)` });
  else if (ms < 50)
    problems.push({ path: `${at}.fillInterval`, message: 'must be at least 50ms (Envoy refuses less)' });
  if ((b.maxTokens ?? 0) < 1) problems.push({ path: `${at}.maxTokens`, message: 'must be at least 1' });
  if (b.tokensPerFill !== undefined && b.tokensPerFill < 1)
    problems.push({ path: `${at}.tokensPerFill`, message: 'must be at least 1' });
}

function checkDestination(d: MetaDestination | undefined, at: string, problems: PlanProblem[]): void {
  if (!d) return;
  if (!d.host) problems.push({ path: `${at}.host`, message: 'required' });
  if (d.subset !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(d.subset))
    problems.push({ path: `${at}.subset`, message: `"${d.subset}" is not a subset name (DNS label)` });
}

/** What Aeraki's admission webhook refuses, as problems; what it would only log, as warnings. */
export function checkMetaRouter(r: MetaRouter): { problems: PlanProblem[]; warnings: string[] } {
  const problems: PlanProblem[] = [];
  const warnings: string[] = [];
  const { spec } = r;
  if ((spec.hosts ?? []).length === 0)
    problems.push({ path: 'spec.hosts', message: 'required: the service the rules are for' });
  if ((spec.routes ?? []).length === 0 && !spec.localRateLimit && !spec.globalRateLimit)
    problems.push({ path: 'spec', message: 'no routes, localRateLimit or globalRateLimit: nothing to do' });
  let catchAll = -1;
  (spec.routes ?? []).forEach((route, i) => {
    const at = `spec.routes[${i}]`;
    checkMatch(route.match, `${at}.match`, problems);
    if (!route.match) {
      if (catchAll >= 0)
        warnings.push(`${at}: never used, spec.routes[${catchAll}] before it matches every call`);
      catchAll = i;
    }
    const dests = route.route ?? [];
    if (dests.length === 0)
      problems.push({ path: `${at}.route`, message: 'required: at least one destination' });
    dests.forEach((d, j) => {
      checkDestination(d.destination, `${at}.route[${j}].destination`, problems);
      if ((d.weight ?? 0) > 100) problems.push({ path: `${at}.route[${j}].weight`, message: 'at most 100' });
    });
    const total = dests.reduce((s, d) => s + (d.weight ?? 0), 0);
    if (dests.length > 1 && total !== 100)
      problems.push({ path: `${at}.route`, message: `weights add up to ${total}, not 100` });
    checkDestination(route.mirror, `${at}.mirror`, problems);
    if (route.mirrorPercentage && !route.mirror)
      problems.push({ path: `${at}.mirrorPercentage`, message: 'set with mirror only' });
    const pct = route.mirrorPercentage?.value;
    if (pct !== undefined && (pct <= 0 || pct > 100))
      problems.push({
        path: `${at}.mirrorPercentage.value`,
        message: `must be above 0 and at most 100, got ${pct}`,
      });
    for (const k of ['requestMutation', 'responseMutation'] as const)
      (route[k] ?? []).forEach((kv, j) => {
        if (!kv.key) problems.push({ path: `${at}.${k}[${j}].key`, message: 'empty' });
        if (!kv.value) problems.push({ path: `${at}.${k}[${j}].value`, message: 'empty' });
      });
  });
  const local = spec.localRateLimit;
  if (local) {
    if (!local.tokenBucket && (local.conditions ?? []).length === 0)
      problems.push({ path: 'spec.localRateLimit', message: 'give tokenBucket, conditions or both' });
    checkBucket(local.tokenBucket, 'spec.localRateLimit.tokenBucket', problems);
    (local.conditions ?? []).forEach((c, i) => {
      checkMatch(c.match, `spec.localRateLimit.conditions[${i}].match`, problems);
      checkBucket(c.tokenBucket, `spec.localRateLimit.conditions[${i}].tokenBucket`, problems);
    });
  }
  const global = spec.globalRateLimit;
  if (global) {
    if (!global.domain) problems.push({ path: 'spec.globalRateLimit.domain', message: 'empty' });
    if (!global.rateLimitService)
      problems.push({ path: 'spec.globalRateLimit.rateLimitService', message: 'empty' });
    checkMatch(global.match, 'spec.globalRateLimit.match', problems);
    if (global.descriptors.length === 0)
      problems.push({ path: 'spec.globalRateLimit.descriptors', message: 'required: at least one' });
    global.descriptors.forEach((d, i) => {
      if (!d.property)
        problems.push({ path: `spec.globalRateLimit.descriptors[${i}].property`, message: 'empty' });
      if (!d.descriptorKey)
        problems.push({ path: `spec.globalRateLimit.descriptors[${i}].descriptorKey`, message: 'empty' });
    });
    if (global.requestTimeout !== undefined && parseGoDuration(global.requestTimeout) === null)
      problems.push({
        path: 'spec.globalRateLimit.requestTimeout',
        message: `not a duration: "${global.requestTimeout}" (e.g. 100ms)`,
      });
  }
  return { problems, warnings };
}

/* ---------- route configurations ---------- */

/** The header name a DestinationRule's consistent hash uses for a subset (or the whole host). */
function hashPolicy(dr: DestinationRule | undefined, subset: string): string | undefined {
  const spec = dr?.spec as Json | undefined;
  const lbOf = (tp: unknown) =>
    (((tp as Json | undefined)?.loadBalancer as Json | undefined)?.consistentHash as Json | undefined)
      ?.httpHeaderName as string | undefined;
  const sub = (spec?.subsets as Json[] | undefined)?.find((s) => s.name === subset);
  return (sub ? lbOf(sub.trafficPolicy) : undefined) ?? lbOf(spec?.trafficPolicy);
}

const mutations = (kvs: MetaRouteSpec['requestMutation']): MetaKeyValue[] | undefined =>
  kvs && kvs.length > 0 ? kvs.map(({ key, value }) => ({ key, value })) : undefined;

function routeAction(
  route: MetaRouteSpec,
  port: number,
  destinationRule: (host: string) => DestinationRule | undefined,
): MetaRouteAction {
  const action: MetaRouteAction = {};
  const dests = route.route ?? [];
  const portOf = (d: MetaDestination) => (d.port?.number ? d.port.number : port);
  const hashes: string[] = [];
  const hashOf = (d: MetaDestination) => {
    const h = hashPolicy(destinationRule(d.host), d.subset ?? '');
    if (h) hashes.push(h);
  };
  if (dests.length === 1) {
    const d = dests[0]!.destination;
    action.cluster = clusterName('outbound', d.subset ?? '', d.host, portOf(d));
    hashOf(d);
  } else if (dests.length > 1) {
    action.weightedClusters = {
      clusters: dests.map((d) => ({
        name: clusterName('outbound', d.destination.subset ?? '', d.destination.host, portOf(d.destination)),
        weight: d.weight ?? 0,
      })),
      totalWeight: dests.reduce((s, d) => s + (d.weight ?? 0), 0),
    };
    dests.forEach((d) => hashOf(d.destination));
  }
  if (route.mirror) {
    const pct = route.mirrorPercentage?.value ? route.mirrorPercentage.value : 100;
    action.requestMirrorPolicies = [
      {
        cluster: clusterName('outbound', route.mirror.subset ?? '', route.mirror.host, portOf(route.mirror)),
        // Aeraki's translation: percent to parts per million.
        runtimeFraction: { defaultValue: { numerator: Math.trunc(pct * 10_000), denominator: 'MILLION' } },
      },
    ];
  }
  if (hashes.length > 0) action.hashPolicy = hashes;
  return action;
}

/** The route configuration the route server serves for one service port. */
export function routeConfiguration(
  service: Pick<MetaService, 'host'>,
  port: Pick<MetaPort, 'number'>,
  router: MetaRouter | undefined,
  destinationRule: (host: string) => DestinationRule | undefined,
): MetaRouteConfiguration {
  const name = routeConfigName(service.host, port.number);
  const routes = router?.spec.routes ?? [];
  if (routes.length === 0) {
    const hash = hashPolicy(destinationRule(service.host), '');
    return {
      name,
      routes: [
        {
          name: 'default',
          match: { metadata: [] },
          route: {
            cluster: clusterName('outbound', '', service.host, port.number),
            ...(hash ? { hashPolicy: [hash] } : {}),
          },
        },
      ],
    };
  }
  return {
    name,
    routes: routes.map((r): MetaRoute => {
      const req = mutations(r.requestMutation);
      const res = mutations(r.responseMutation);
      return {
        name: r.name ?? '',
        match: { metadata: metadataMatchers(r.match) },
        route: routeAction(r, port.number, destinationRule),
        ...(req ? { requestMutation: req } : {}),
        ...(res ? { responseMutation: res } : {}),
      };
    }),
  };
}

/* ---------- EnvoyFilters ---------- */

/** A Go duration as proto3 JSON's `Duration` ("60s", "0.100s"). */
export function protoDuration(text: string): string {
  const ms = parseGoDuration(text) ?? 0;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(9).replace(/0+$/, '')}s`;
}

function tokenBucket(b: MetaTokenBucket): Json {
  return {
    maxTokens: b.maxTokens ?? 0,
    ...(b.tokensPerFill ? { tokensPerFill: b.tokensPerFill } : {}),
    fillInterval: protoDuration(b.fillInterval),
  };
}

const routeMatch = (m: MetaRouteMatch | undefined): Json => {
  const metadata = metadataMatchers(m);
  return metadata.length > 0 ? { metadata } : {};
};

export function localRateLimitConfig(host: string, l: MetaLocalRateLimit): Json {
  return {
    '@type': LOCAL_RATELIMIT_TYPE,
    statPrefix: host,
    ...(l.tokenBucket ? { tokenBucket: tokenBucket(l.tokenBucket) } : {}),
    ...((l.conditions ?? []).length > 0
      ? {
          conditions: l.conditions!.map((c) => ({
            match: routeMatch(c.match),
            tokenBucket: tokenBucket(c.tokenBucket),
          })),
        }
      : {}),
  };
}

export function globalRateLimitConfig(g: MetaGlobalRateLimit): Json {
  return {
    '@type': GLOBAL_RATELIMIT_TYPE,
    match: routeMatch(g.match),
    domain: g.domain,
    timeout: protoDuration(g.requestTimeout ?? '0s'),
    ...(g.denyOnFail ? { failureModeDeny: true } : {}),
    rateLimitService: { grpcService: { envoyGrpc: { clusterName: g.rateLimitService } } },
    descriptors: g.descriptors.map((d) => ({ property: d.property, descriptorKey: d.descriptorKey })),
  };
}

function commonFilters(host: string): Json[] {
  return [
    { name: 'aeraki.meta_protocol.filters.metadata_exchange' },
    {
      name: 'aeraki.meta_protocol.filters.istio_stats',
      config: { '@type': ISTIO_STATS_TYPE, destinationService: host },
    },
    { name: 'aeraki.meta_protocol.filters.router' },
  ];
}

/** The MetaProtocol proxy a client's outbound listener gets: routes from the route server. */
export function outboundProxy(
  service: MetaService,
  port: MetaPort,
  codec: string,
  options: RenderOptions,
): Json {
  return {
    statPrefix: clusterName('outbound', '', service.host, port.number),
    rds: {
      configSource: {
        apiConfigSource: {
          apiType: 'GRPC',
          transportApiVersion: 'V3',
          grpcServices: [{ envoyGrpc: { clusterName: options.xdsCluster } }],
        },
        resourceApiVersion: 'V3',
      },
      routeConfigName: routeConfigName(service.host, port.number),
    },
    applicationProtocol: port.protocol,
    codec: { name: codec },
    metaProtocolFilters: commonFilters(service.host),
  };
}

/** The MetaProtocol proxy a server's inbound listener gets: limits, then the route to the local app. */
export function inboundProxy(
  service: MetaService,
  port: MetaPort,
  codec: string,
  router: MetaRouter | undefined,
): Json {
  const inbound = clusterName('inbound', '', service.host, port.number);
  const limits: Json[] = [];
  if (router?.spec.localRateLimit)
    limits.push({
      name: 'aeraki.meta_protocol.filters.local_ratelimit',
      config: localRateLimitConfig(router.spec.hosts?.[0] ?? service.host, router.spec.localRateLimit),
    });
  if (router?.spec.globalRateLimit)
    limits.push({
      name: 'aeraki.meta_protocol.filters.ratelimit',
      config: globalRateLimitConfig(router.spec.globalRateLimit),
    });
  return {
    statPrefix: inbound,
    routeConfig: { name: inbound, routes: [{ route: { cluster: inbound } }] },
    applicationProtocol: port.protocol,
    codec: { name: codec },
    metaProtocolFilters: [...limits, ...commonFilters(service.host)],
  };
}

/** The MetaProtocol proxy as the network filter that replaces `tcp_proxy`. */
export const replacement = (proxy: Json): Json => ({
  name: META_PROTOCOL_PROXY,
  typed_config: { '@type': TYPED_STRUCT, type_url: META_PROTOCOL_PROXY_TYPE, value: proxy },
});

/** An EnvoyFilter as Aeraki labels them. */
export const envoyFilter = (name: string, namespace: string, spec: Json): KubeObject => ({
  apiVersion: ENVOYFILTER_API_VERSION,
  kind: 'EnvoyFilter',
  metadata: { name, namespace, labels: { [MANAGER_LABEL]: MANAGER } },
  spec,
});

export const outboundFilterName = (host: string, address: string, port: number) =>
  `aeraki-outbound-${host}-${address}-${port}`;
export const inboundFilterName = (host: string, port: number) => `aeraki-inbound-${host}-${port}`;

/** The namespaces a MetaRouter's outbound EnvoyFilters go to (Aeraki's exportTo handling). */
export function exportNamespaces(router: MetaRouter | undefined, options: RenderOptions): string[] {
  const exportTo = router?.spec.exportTo ?? [];
  if (exportTo.length === 0) return [options.rootNamespace];
  return [
    ...new Set(
      exportTo.map((ns) =>
        ns === '.' ? router!.metadata.namespace : ns === '*' ? options.rootNamespace : ns,
      ),
    ),
  ].sort();
}

export interface ServiceRender {
  readonly envoyFilters: KubeObject[];
  readonly problems: PlanProblem[];
  readonly warnings: string[];
}

/** A MetaProtocol service's EnvoyFilters, with the MetaRouter that governs it (if any). */
export function renderService(
  service: MetaService,
  router: MetaRouter | undefined,
  codecs: ReadonlyMap<string, string>,
  options: RenderOptions,
): ServiceRender {
  const problems: PlanProblem[] = [];
  const warnings: string[] = [];
  const envoyFilters: KubeObject[] = [];
  const namespaces = exportNamespaces(router, options);
  service.ports.forEach((port, i) => {
    const codec = codecs.get(port.protocol);
    if (!codec) {
      problems.push({
        path: `spec.ports[${i}].name`,
        message: `no ApplicationProtocol for protocol "${port.protocol}": its codec is unknown`,
      });
      return;
    }
    const outbound = replacement(outboundProxy(service, port, codec, options));
    for (const address of service.addresses)
      for (const namespace of namespaces)
        envoyFilters.push(
          envoyFilter(outboundFilterName(service.host, address, port.number), namespace, {
            configPatches: [
              {
                applyTo: 'NETWORK_FILTER',
                match: {
                  listener: {
                    name: `${address}_${port.number}`,
                    filterChain: { filter: { name: TCP_PROXY } },
                  },
                },
                patch: { operation: 'REPLACE', value: outbound },
              },
            ],
          }),
        );
    if (service.workloadLabels)
      envoyFilters.push(
        envoyFilter(inboundFilterName(service.host, port.number), service.namespace, {
          workloadSelector: { labels: service.workloadLabels },
          configPatches: [
            {
              applyTo: 'NETWORK_FILTER',
              match: {
                listener: {
                  name: 'virtualInbound',
                  filterChain: { destinationPort: port.number, filter: { name: TCP_PROXY } },
                },
              },
              patch: { operation: 'REPLACE', value: replacement(inboundProxy(service, port, codec, router)) },
            },
          ],
        }),
      );
  });
  if (!service.workloadLabels)
    warnings.push(
      "selects no workloads: no inbound EnvoyFilter, so a MetaRouter's rate limits for it apply nowhere",
    );
  if (service.addressSource === 'none' && service.kind === 'ServiceEntry')
    warnings.push(
      `no address: its outbound listener is ${service.ports.map((p) => `0.0.0.0_${p.number}`).join(', ')}, which every MetaProtocol service without an address on that port shares (give spec.addresses, or let Istio allocate them)`,
    );
  return { envoyFilters, problems, warnings };
}
