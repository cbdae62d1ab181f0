/**
 * The cluster objects a SmartLimiter is rendered against, and the lookups rendering needs. Pure data: the
 * same code serves the CLI (objects from files), the embedded store and a real cluster.
 */
import type { DestinationRule, Pod, Service, ServiceEntry, WorkloadEntry } from '@governor/crd-types';

export interface ClusterContext {
  readonly services: readonly Service[];
  readonly pods: readonly Pod[];
  readonly destinationRules: readonly DestinationRule[];
  readonly serviceEntries: readonly ServiceEntry[];
  /** VMs: selected by the same selectors as Pods, so they are workloads of a set too. */
  readonly workloadEntries?: readonly WorkloadEntry[];
}

export const emptyContext: ClusterContext = {
  services: [],
  pods: [],
  destinationRules: [],
  serviceEntries: [],
  workloadEntries: [],
};

const CLUSTER_DOMAIN_SUFFIX = '.svc.cluster.local';

/**
 * The fully qualified host of a Kubernetes service name as Istio resolves it: a short name lives in the
 * namespace of the object that names it (`reviews` → `reviews.default.svc.cluster.local`), `name.ns` gets
 * the cluster suffix, anything longer is taken as written.
 */
export function qualifyHost(host: string, namespace: string): string {
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}${CLUSTER_DOMAIN_SUFFIX}`;
  if (parts.length === 2) return `${host}${CLUSTER_DOMAIN_SUFFIX}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

export const namespaceOf = (o: { metadata: { namespace?: string | undefined } }): string =>
  o.metadata.namespace ?? 'default';

export function findService(ctx: ClusterContext, namespace: string, name: string): Service | undefined {
  return ctx.services.find((s) => s.metadata.name === name && namespaceOf(s) === namespace);
}

/** True when every label of the selector is on the object (an empty selector selects everything). */
export function labelsMatch(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** Pods that serve traffic: Running and not being deleted (what Slime counts as `<set>.pod`). */
export function runningPods(
  ctx: ClusterContext,
  namespace: string,
  selector: Readonly<Record<string, string>>,
): Pod[] {
  return ctx.pods
    .filter(
      (p) =>
        namespaceOf(p) === namespace &&
        p.status?.phase === 'Running' &&
        !p.metadata.deletionTimestamp &&
        labelsMatch(selector, p.metadata.labels),
    )
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/**
 * The WorkloadEntries (VMs) a selector picks in the namespace, as Istio picks them for a Service or an
 * EnvoyFilter's workloadSelector: by their `spec.labels`. A VM's sidecar enforces its share as a Pod's does.
 */
export function selectedWorkloadEntries(
  ctx: ClusterContext,
  namespace: string,
  selector: Readonly<Record<string, string>>,
): WorkloadEntry[] {
  return (ctx.workloadEntries ?? [])
    .filter(
      (w) =>
        namespaceOf(w) === namespace &&
        !w.metadata.deletionTimestamp &&
        labelsMatch(selector, w.spec.labels ?? undefined),
    )
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

export interface Subset {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The DestinationRule subsets for a host. A DestinationRule's host is resolved in its own namespace. When
 * several DestinationRules name the host, the one in the host's namespace wins, then the oldest by name.
 */
export function subsetsForHost(ctx: ClusterContext, host: string): Subset[] {
  const matching = ctx.destinationRules
    .filter((dr) => qualifyHost(dr.spec.host, namespaceOf(dr)) === host)
    .sort((a, b) => {
      const aLocal = host.includes(`.${namespaceOf(a)}.`) ? 0 : 1;
      const bLocal = host.includes(`.${namespaceOf(b)}.`) ? 0 : 1;
      return (
        aLocal - bLocal ||
        `${namespaceOf(a)}/${a.metadata.name}`.localeCompare(`${namespaceOf(b)}/${b.metadata.name}`)
      );
    });
  const dr = matching[0];
  return (dr?.spec.subsets ?? []).map((s) => ({ name: s.name, labels: s.labels ?? {} }));
}

/** The ServiceEntry in the namespace that declares the host. */
export function findServiceEntry(
  ctx: ClusterContext,
  namespace: string,
  host: string,
): ServiceEntry | undefined {
  return ctx.serviceEntries.find((se) => namespaceOf(se) === namespace && se.spec.hosts.includes(host));
}
