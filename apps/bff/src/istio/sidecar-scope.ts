/**
 * What a Sidecar's egress hosts let into a proxy's configuration, by Istio's rules for `egress[].hosts`:
 * `namespace/host`, where the namespace is a name, `*` (any), `.` (the Sidecar's own) or `~` (none), and
 * the host is an FQDN, `*` or `*.suffix`. The Sidecar's namespace is not implied: without a `./…` or
 * `<ns>/…` entry for it, the workload's neighbours are out too. Used to size a proxy's configuration
 * with a Sidecar and without one.
 */
import type { KubeObject, ProxyModel } from './proxy-model';

export interface EgressHost {
  /** A namespace, or `*` for any. */
  readonly namespace: string;
  readonly host: string;
}

/** An egress host entry as Istio reads it; null for one that admits nothing (`~/…`, no `/`). */
export function parseEgressHost(entry: string, sidecarNamespace: string): EgressHost | null {
  const slash = entry.indexOf('/');
  if (slash <= 0 || slash === entry.length - 1) return null;
  const ns = entry.slice(0, slash);
  if (ns === '~') return null;
  return { namespace: ns === '.' ? sidecarNamespace : ns, host: entry.slice(slash + 1) };
}

/** A host pattern against a hostname: exact, `*`, or `*.suffix` (which needs at least one more label). */
export function egressHostMatches(pattern: string, hostname: string): boolean {
  if (pattern === '*' || pattern === hostname) return true;
  return pattern.startsWith('*.') && hostname.endsWith(pattern.slice(1));
}

/** Whether the egress hosts admit `hostname` as declared in `namespace` (a Service, a ServiceEntry…). */
export function egressAdmits(
  hosts: readonly string[],
  sidecarNamespace: string,
  service: { readonly namespace: string; readonly hostname: string },
): boolean {
  return hosts.some((entry) => {
    const h = parseEgressHost(entry, sidecarNamespace);
    return (
      h !== null &&
      (h.namespace === '*' || h.namespace === service.namespace) &&
      egressHostMatches(h.host, service.hostname)
    );
  });
}

/**
 * The namespaces each hostname is declared in: a Service's (`name.ns.svc.<suffix>`), a ServiceEntry's
 * hosts and a VirtualService's hosts in theirs. Istio scopes by where a host is declared.
 */
export function hostNamespaces(
  objects: readonly KubeObject[],
  suffix = 'cluster.local',
): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  const add = (host: string, ns: string) => out.set(host, (out.get(host) ?? new Set()).add(ns));
  for (const o of objects) {
    const ns = o.metadata?.namespace ?? 'default';
    const spec = (o.spec ?? {}) as { hosts?: unknown };
    if (o.kind === 'Service' && o.apiVersion === 'v1') add(`${o.metadata?.name}.${ns}.svc.${suffix}`, ns);
    else if (o.kind === 'ServiceEntry' || o.kind === 'VirtualService')
      for (const h of Array.isArray(spec.hosts) ? spec.hosts : [])
        if (typeof h === 'string')
          add(h.includes('.') || h.includes('*') ? h : `${h}.${ns}.svc.${suffix}`, ns);
  }
  return new Map([...out].map(([h, s]) => [h, [...s].sort()]));
}

/** A hostname filter for a Sidecar's egress hosts over the cluster's objects. */
export function sidecarScope(
  hosts: readonly string[],
  sidecarNamespace: string,
  objects: readonly KubeObject[],
): (hostname: string) => boolean {
  const declared = hostNamespaces(objects);
  return (hostname) =>
    (declared.get(hostname) ?? ['']).some((namespace) =>
      egressAdmits(hosts, sidecarNamespace, { namespace, hostname }),
    );
}

export interface ConfigSize {
  /** Envoy clusters: outbound per service port and subset, plus inbound and Istio's own. */
  readonly clusters: number;
  /** Virtual hosts of the route configurations. */
  readonly virtualHosts: number;
  /** Routes of those virtual hosts. */
  readonly routes: number;
}

/**
 * The size of a sidecar proxy's configuration, all of it or only what `admits` lets in: outbound clusters
 * (`outbound|port|subset|host`) and outbound virtual hosts (`host:port`) of hosts it refuses drop out;
 * inbound ones, Istio's own clusters and the `allow_any` catch-all stay.
 */
export function configSize(
  model: ProxyModel,
  admits: (hostname: string) => boolean = () => true,
): ConfigSize {
  const clusters = model.clusters.filter((c) => {
    const parts = c.name.split('|');
    return parts[0] !== 'outbound' || parts.length !== 4 || admits(parts[3]!);
  }).length;
  let virtualHosts = 0;
  let routes = 0;
  for (const rc of model.routeConfigurations)
    for (const vh of rc.virtualHosts) {
      const colon = vh.name.lastIndexOf(':');
      const keep =
        rc.context !== 'SIDECAR_OUTBOUND' ||
        vh.name === 'allow_any' ||
        colon < 0 ||
        admits(vh.name.slice(0, colon));
      if (!keep) continue;
      virtualHosts++;
      routes += vh.routes.length;
    }
  return { clusters, virtualHosts, routes };
}
