/**
 * The fallback route of a fenced workload: a call to a host its Sidecar does not list still reaches the
 * fallback (the global sidecar), which forwards it and so lets lazyload learn the call. For each wormhole
 * port, the outbound route configuration's `allow_any` virtual host (the catch-all for hosts the proxy
 * does not know, present with `outboundTrafficPolicy: ALLOW_ANY`, Istio's default) sends such hosts to the
 * fallback instead of to their original destination, after the dispatches that route some domains their
 * own way.
 */
import {
  ENVOYFILTER_API_VERSION,
  ENVOYFILTER_KIND,
  type EnvoyConfigObjectPatch,
  type EnvoyFilter,
  type JsonValue,
} from '@governor/crd-types';

/** A dispatch's `cluster` that means the fallback itself (Slime's name for it). */
export const FALLBACK_CLUSTER_ALIAS = '_GLOBAL_SIDECAR';
/** Envoy's cluster for the original destination, as Istio names it. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/** The virtual host, and its one route, Istio gives unknown hosts on an outbound route configuration. */
export const ALLOW_ANY_VHOST = 'allow_any';
export const ALLOW_ANY_ROUTE = 'allow_any';
/**
 * Headers the fallback reads to forward a call: the address the caller dialled and the caller's namespace
 * (the names Slime's global sidecar expects, so that it can serve as the fallback).
 */
export const ORIGINAL_DESTINATION_HEADER = 'Slime-Orig-Dest';
export const SOURCE_NAMESPACE_HEADER = 'Slime-Source-Ns';

/** Traffic for some domains sent to a cluster of its own instead of the default route (Slime's `dispatches`). */
export interface FallbackDispatch {
  readonly name: string;
  /** Exact domains (Envoy virtual host domains, `*` prefixes allowed): a virtual host of their own. */
  readonly domains?: readonly string[];
  /** An RE2 regex on `:authority`: a route inside the catch-all virtual host, tried in order. */
  readonly domainRegex?: string;
  /** An Envoy cluster, {@link PASSTHROUGH_CLUSTER}, or {@link FALLBACK_CLUSTER_ALIAS} for the fallback. */
  readonly cluster: string;
}

export interface FallbackInput {
  readonly fence: { readonly name: string; readonly namespace: string };
  /** The labels the fence's Sidecar selects its workload by. */
  readonly workloadSelector: Readonly<Record<string, string>>;
  /** Service ports whose unknown hosts go to the fallback (Slime's `wormholePort`, e.g. `"9080"`). */
  readonly wormholePorts: readonly string[];
  readonly dispatches?: readonly FallbackDispatch[];
  /** Hosts no dispatch matches go to their original destination rather than to the fallback. */
  readonly passthroughByDefault?: boolean;
  /** The fallback's Service. Default `global-sidecar.<fence namespace>.svc.cluster.local` port 80. */
  readonly fallback?: { readonly host: string; readonly port: number };
  /** The `istio.io/rev` label, for a mesh with revisions. */
  readonly revision?: string;
}

/** The EnvoyFilter's name: distinct from the limiter's `<name>.<ns>.ratelimit`. */
export const fallbackEnvoyFilterName = (fence: { name: string; namespace: string }): string =>
  `${fence.name}.${fence.namespace}.lazyload-fallback`;

export const defaultFallback = (namespace: string): { host: string; port: number } => ({
  host: `global-sidecar.${namespace}.svc.cluster.local`,
  port: 80,
});

/** Istio's name of the outbound cluster of a Service port. */
export const outboundCluster = (host: string, port: number): string => `outbound|${port}||${host}`;

/** The valid wormhole ports, deduplicated and sorted; anything but a port number 1-65535 is left out. */
export function wormholePortNumbers(ports: readonly string[]): number[] {
  const valid = ports
    .map((p) => p.trim())
    .filter((p) => /^\d{1,5}$/.test(p))
    .map(Number)
    .filter((n) => n >= 1 && n <= 65535);
  return [...new Set(valid)].sort((a, b) => a - b);
}

/**
 * The fallback EnvoyFilter of one fence, selecting the fence's workload; null when there is nothing to
 * patch (no valid wormhole port, or passthrough by default without dispatches).
 */
export function renderFallbackEnvoyFilter(input: FallbackInput): EnvoyFilter | null {
  const ports = wormholePortNumbers(input.wormholePorts);
  if (ports.length === 0) return null;
  const { namespace } = input.fence;
  const fallback = input.fallback ?? defaultFallback(namespace);
  const fallbackCluster = outboundCluster(fallback.host, fallback.port);
  const dispatches = input.dispatches ?? [];

  const action = (cluster: string): { [key: string]: JsonValue } => {
    const target = cluster === FALLBACK_CLUSTER_ALIAS ? fallbackCluster : cluster;
    return {
      // The fallback forwards to the workload's real destination, which may take long: no route timeout.
      route: { cluster: target, timeout: '0s' },
      ...(target === fallbackCluster
        ? {
            request_headers_to_add: [
              header(ORIGINAL_DESTINATION_HEADER, '%DOWNSTREAM_LOCAL_ADDRESS%'),
              header(SOURCE_NAMESPACE_HEADER, namespace),
            ],
          }
        : {}),
    };
  };
  const domainDispatches = dispatches.filter((d) => !d.domainRegex && (d.domains?.length ?? 0) > 0);
  const regexDispatches = dispatches.filter((d) => d.domainRegex);

  // The catch-all keeps its name, domains and single route `allow_any`: only that route's destination
  // changes, and the regex dispatches go before it. Patching the route rather than replacing the virtual
  // host keeps every other field as istiod made it, and a REMOVE with an ADD of the same name would not do
  // (istiod drops removed names after its ADDs, the added one with them).
  const catchAllRoute = (port: number) => ({
    context: 'SIDECAR_OUTBOUND' as const,
    routeConfiguration: {
      portNumber: port,
      vhost: { name: ALLOW_ANY_VHOST, route: { name: ALLOW_ANY_ROUTE } },
    },
  });
  const configPatches: EnvoyConfigObjectPatch[] = ports.flatMap((port): EnvoyConfigObjectPatch[] => [
    ...regexDispatches.map((d): EnvoyConfigObjectPatch => ({
      applyTo: 'HTTP_ROUTE',
      match: catchAllRoute(port),
      patch: {
        operation: 'INSERT_BEFORE',
        value: {
          name: d.name,
          match: {
            prefix: '/',
            headers: [{ name: ':authority', string_match: { safe_regex: { regex: d.domainRegex! } } }],
          },
          ...action(d.cluster),
        },
      },
    })),
    ...(input.passthroughByDefault
      ? []
      : [
          {
            applyTo: 'HTTP_ROUTE' as const,
            match: catchAllRoute(port),
            patch: { operation: 'MERGE' as const, value: action(FALLBACK_CLUSTER_ALIAS) },
          },
        ]),
    ...domainDispatches.map((d): EnvoyConfigObjectPatch => ({
      applyTo: 'VIRTUAL_HOST',
      match: { context: 'SIDECAR_OUTBOUND', routeConfiguration: { portNumber: port } },
      patch: {
        operation: 'ADD',
        value: {
          name: d.name,
          domains: [...d.domains!],
          routes: [{ match: { prefix: '/' }, ...action(d.cluster) }],
        },
      },
    })),
  ]);
  if (configPatches.length === 0) return null;

  return {
    apiVersion: ENVOYFILTER_API_VERSION,
    kind: ENVOYFILTER_KIND,
    metadata: {
      name: fallbackEnvoyFilterName(input.fence),
      namespace,
      ...(input.revision ? { labels: { 'istio.io/rev': input.revision } } : {}),
    },
    spec: {
      // An empty selector would patch every workload of the namespace: only the fenced one is meant.
      ...(Object.keys(input.workloadSelector).length > 0
        ? { workloadSelector: { labels: { ...input.workloadSelector } } }
        : {}),
      configPatches,
    },
  };
}

function header(key: string, value: string): JsonValue {
  return { header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}
