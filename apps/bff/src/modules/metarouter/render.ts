/**
 * Aeraki's rendering rules, as pure functions:
 * - each MetaProtocol service port gets an outbound EnvoyFilter per address (the `tcp_proxy` of listener
 *   `<address>_<port>` replaced by a MetaProtocol proxy that fetches route configuration `<host>_<port>`
 *   from Governor's route server) and an inbound one on the workloads behind it (the proxy with the
 *   MetaRouter's local and global rate-limit filters ahead of the router, and a route to the inbound
 *   cluster). What the route server serves is in `routes.ts`, the checks in `checks.ts`.
 */
import {
  ENVOYFILTER_API_VERSION,
  parseGoDuration,
  type MetaGlobalRateLimit,
  type MetaLocalRateLimit,
  type MetaRouteMatch,
  type MetaRouter,
  type MetaTokenBucket,
  TYPED_STRUCT,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import type { PlanProblem } from '../../framework/module';
import { clusterName, metadataMatchers, routeConfigName } from './routes';
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

type Json = Record<string, unknown>;

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
