/**
 * The HTTP filters a workload's proxy runs, per connection manager, after every EnvoyFilter patch istiod
 * would apply (the proxy model patched by `explain.ts`), each with who put it there: istiod itself, or an
 * EnvoyFilter's patch and the object that owns that EnvoyFilter. Pure.
 */
import { patchProxy, chainId, type ExplainInput } from './explain';
import type { KubeObject, ModelFilterChain, ModelListener } from './proxy-model';

const HCM = 'envoy.filters.network.http_connection_manager';

/** Who put a filter in the chain. */
export type FilterSource =
  | 'istio'
  | {
      /** `namespace/name` of the EnvoyFilter. */
      envoyFilter: string;
      /** The patch's index in `spec.configPatches`. */
      patch: number;
      /** The EnvoyFilter's controller, `Kind namespace/name` (`PluginManager default/ratings-fault`). */
      owner?: string;
    };

export interface ChainFilter {
  name: string;
  /** Inserted with `disabled: true`: it runs only where a route's configuration enables it. */
  disabled?: boolean;
  by: FilterSource;
}

export type ChainDirection = 'inbound' | 'outbound' | 'gateway';

/** One connection manager's HTTP filters, in the order Envoy runs them. */
export interface ConnectionManagerChain {
  direction: ChainDirection;
  /** The port: inbound, the workload's target port; outbound and gateway, the listener's. None: catch-all. */
  port?: number;
  listener: string;
  /** The filter chains (names, or `#N`) whose connection managers have exactly these filters. */
  filterChains: string[];
  routeConfiguration?: string;
  filters: ChainFilter[];
}

export interface WorkloadFilterChains {
  proxy: { namespace: string; name: string; type: 'sidecar' | 'gateway' };
  chains: ConnectionManagerChain[];
  /** EnvoyFilters that select the proxy, `namespace/name`. */
  selected: string[];
  /** One line per patch that matches nothing on the proxy. */
  warnings: string[];
}

const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};

/** `Kind namespace/name` of an EnvoyFilter's controller owner reference, if it has one. */
export function controllerOf(ef: KubeObject): string | undefined {
  const refs = (ef.metadata as { ownerReferences?: unknown } | undefined)?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const ref = refs.map(rec).find((r) => r.controller === true) ?? undefined;
  if (ref === undefined) return undefined;
  return `${String(ref.kind)} ${ef.metadata?.namespace ?? 'default'}/${String(ref.name)}`;
}

const directionOf = (l: ModelListener): ChainDirection =>
  l.context === 'GATEWAY' ? 'gateway' : l.context === 'SIDECAR_INBOUND' ? 'inbound' : 'outbound';

const portOf = (l: ModelListener, fc: ModelFilterChain): number | undefined =>
  l.name === 'virtualInbound' ? fc.match.destinationPort : l.port;

const directionOrder: Record<ChainDirection, number> = { inbound: 0, outbound: 1, gateway: 2 };

/** Every connection manager of the proxy with its HTTP filters after the EnvoyFilters that select it. */
export function workloadFilterChains(input: ExplainInput): WorkloadFilterChains {
  const patched = patchProxy(input);
  const byName = new Map(
    input.envoyFilters.map((ef) => [`${ef.metadata?.namespace ?? 'default'}/${ef.metadata?.name ?? ''}`, ef]),
  );
  const sourceOf = (origin: { envoyFilter: string; patch: number } | null): FilterSource => {
    if (origin === null) return 'istio';
    const owner = byName.has(origin.envoyFilter) ? controllerOf(byName.get(origin.envoyFilter)!) : undefined;
    return { envoyFilter: origin.envoyFilter, patch: origin.patch, ...(owner ? { owner } : {}) };
  };
  const disabledBy = (origin: { envoyFilter: string; patch: number } | null): boolean => {
    if (origin === null) return false;
    const patches = rec(byName.get(origin.envoyFilter)?.spec).configPatches;
    const value = rec(rec(rec(Array.isArray(patches) ? patches[origin.patch] : undefined).patch).value);
    return value.disabled === true;
  };

  const chains: ConnectionManagerChain[] = [];
  for (const l of patched.model.listeners) {
    const all = [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])];
    for (const fc of all)
      for (const nf of fc.filters) {
        if (nf.name !== HCM) continue;
        const origins = patched.httpFilterOrigins(nf);
        const filters: ChainFilter[] = (nf.httpFilters ?? []).map((name, i) => {
          const origin = origins[i] ?? null;
          return { name, ...(disabledBy(origin) ? { disabled: true } : {}), by: sourceOf(origin) };
        });
        const direction = directionOf(l);
        const port = portOf(l, fc);
        const key = JSON.stringify(filters);
        // Chains of one port that differ only in TLS or ALPN usually run the same filters: shown once.
        const same = chains.find(
          (c) =>
            c.direction === direction &&
            c.port === port &&
            c.listener === l.name &&
            JSON.stringify(c.filters) === key,
        );
        if (same !== undefined) {
          const id = chainId(l, fc);
          if (!same.filterChains.includes(id)) same.filterChains.push(id);
          continue;
        }
        chains.push({
          direction,
          ...(port !== undefined ? { port } : {}),
          listener: l.name,
          filterChains: [chainId(l, fc)],
          ...(nf.routeConfiguration !== undefined ? { routeConfiguration: nf.routeConfiguration } : {}),
          filters,
        });
      }
  }
  // Stable: by direction, then port (catch-alls last); the listener's own order otherwise.
  const ordered = chains
    .map((c, i) => ({ c, i }))
    .sort(
      (a, b) =>
        directionOrder[a.c.direction] - directionOrder[b.c.direction] ||
        (a.c.port ?? Infinity) - (b.c.port ?? Infinity) ||
        a.i - b.i,
    )
    .map(({ c }) => c);
  const { proxy, selected, warnings } = patched.explanation;
  return {
    proxy: { namespace: proxy.namespace, name: proxy.name, type: proxy.type },
    chains: ordered,
    selected,
    warnings,
  };
}
