/**
 * Where istiod applies an EnvoyFilter's patches on one proxy. The same shape is printed by the Istio
 * harness (scripts/istio/harness, `appliedPatches[].places`), found there by removing each patch and
 * comparing what istiod pushes, so that this module's explanation can be checked against istiod's.
 */

/** One place in a proxy's configuration that a patch changes. */
export interface PatchPlace {
  /** The listener, for patches on a listener, a filter chain or a connection manager's HTTP filters. */
  listener?: string;
  /** The filter chain (by name) inside `listener`. */
  filterChain?: string;
  /** A route configuration: an RDS name (`9080`, `http.80`), or a connection manager's inline one (`inbound|9080||`). */
  routeConfiguration?: string;
  /** A virtual host of `routeConfiguration`, by name. */
  virtualHost?: string;
  /** A route of `virtualHost`, by name (`#N` for the Nth unnamed route, from 0). */
  route?: string;
  /** A cluster, for CLUSTER patches. */
  cluster?: string;
}

export interface PatchExplanation {
  /** `namespace/name` of the EnvoyFilter. */
  envoyFilter: string;
  /** The patch's index in `spec.configPatches`. */
  index: number;
  applyTo: string;
  /** The match context (`SIDECAR_INBOUND`, `SIDECAR_OUTBOUND`, `GATEWAY`, `ANY`). */
  context: string;
  operation: string;
  /** Every place the patch changes, sorted; empty when it matches nothing. */
  places: PatchPlace[];
  /** When `places` is empty: why, in a sentence that names the closest candidates. */
  reason?: string;
}

export interface ProxyRef {
  namespace: string;
  /** The Pod. */
  name: string;
}

export interface ProxyExplanation {
  proxy: ProxyRef & { type: 'sidecar' | 'gateway'; labels: Record<string, string> };
  /** EnvoyFilters (`namespace/name`) that select this proxy: their patches are explained. */
  selected: string[];
  /** EnvoyFilters that do not select it (another namespace, or a workload selector it does not match). */
  unselected: string[];
  patches: PatchExplanation[];
  /** One line per patch that matches nothing, for CLIs and status messages. */
  warnings: string[];
}

/** The kinds an explanation reads: the proxies' Pods and what istiod builds listeners and routes from. */
export const EXPLAIN_INPUT_KINDS = ['Service', 'Pod', 'ServiceEntry', 'VirtualService', 'Gateway'] as const;
