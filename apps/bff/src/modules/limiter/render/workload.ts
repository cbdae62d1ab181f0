/**
 * Where a SmartLimiter applies: the pods it limits (the workload, its DestinationRule subsets, the pods of
 * each set) and the Envoy routes each descriptor's target names.
 */
import {
  BASE_SET,
  type PatchContext,
  type SmartLimitDescriptor,
  type SmartLimiter,
  type Target,
} from '@governor/crd-types';
import {
  findService,
  findServiceEntry,
  qualifyHost,
  runningPods,
  selectedWorkloadEntries,
  subsetsForHost,
  type ClusterContext,
  type Subset,
} from './context';
import type { RoutePlacement } from './rule';
import type { RenderProblem } from './status';

export interface Workload {
  /** The labels of the pods the limits apply to; empty means every workload in the namespace. */
  readonly selector: Record<string, string>;
  /** The service host whose DestinationRule subsets may be used as sets; undefined when sets do not apply. */
  readonly subsetHost?: string;
  /** The DestinationRule subsets of `subsetHost`: the sets besides `_base`. */
  readonly subsets: readonly Subset[];
}

function formatLabels(labels: Readonly<Record<string, string>> | null | undefined): Record<string, string> {
  // Istio's service registry reports an empty label value as "default" (Slime's formatLabels).
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[k] = v === '' ? 'default' : v;
  return out;
}

export function effectiveTarget(d: SmartLimitDescriptor, spec: SmartLimiter['spec']): Target | undefined {
  // A descriptor's own target replaces the spec's as a whole (Slime's getTarget).
  return d.target ?? spec.target;
}

/** The pods the SmartLimiter limits; undefined, with the reason in `problems`, when there are none. */
export function resolveWorkload(
  limiter: SmartLimiter,
  ctx: ClusterContext,
  problems: RenderProblem[],
  warnings: string[],
): Workload | undefined {
  const { spec, metadata } = limiter;
  const ns = metadata.namespace;
  const fail = (path: string, message: string): undefined => {
    problems.push({ kind: 'workload', path, message });
    return undefined;
  };
  // Slime reads DestinationRule subsets only for inbound sidecar limits of a service.
  const sidecarOutbound = Object.values(spec.sets ?? {}).some((s) =>
    (s.descriptor ?? []).some((d) => effectiveTarget(d, spec)?.direction === 'outbound'),
  );
  const withSubsets = (selector: Record<string, string>, host: string): Workload =>
    sidecarOutbound
      ? { selector, subsets: [] }
      : { selector, subsetHost: host, subsets: subsetsForHost(ctx, host) };

  const workloadSelector = spec.workloadSelector ?? {};
  if (spec.gateway || Object.keys(workloadSelector).length > 0) {
    if (Object.keys(workloadSelector).length === 0) {
      warnings.push(
        'spec.gateway is true but spec.workloadSelector is empty: the EnvoyFilter applies to every workload in the namespace',
      );
    }
    return { selector: { ...workloadSelector }, subsets: [] };
  }
  if (spec.host) {
    const se = findServiceEntry(ctx, ns, spec.host);
    if (!se) return fail('spec.host', `no ServiceEntry in namespace ${ns} declares host ${spec.host}`);
    const labels = formatLabels(se.spec.workloadSelector?.labels);
    if (Object.keys(labels).length === 0) {
      return fail(
        'spec.host',
        `ServiceEntry ${ns}/${se.metadata.name} has no workloadSelector, so there are no pods to limit`,
      );
    }
    return withSubsets(labels, spec.host);
  }
  const svc = findService(ctx, ns, metadata.name);
  if (!svc) {
    return fail(
      'metadata.name',
      `Service ${ns}/${metadata.name} not found: a SmartLimiter limits the Service of the same name (or set spec.workloadSelector or spec.host)`,
    );
  }
  const selector = { ...(svc.spec.selector ?? {}) };
  if (Object.keys(selector).length === 0) {
    return fail(
      'metadata.name',
      `Service ${ns}/${metadata.name} has no selector, so there are no pods to limit (set spec.workloadSelector)`,
    );
  }
  return withSubsets(selector, qualifyHost(metadata.name, ns));
}

/**
 * The labels a set adds to the workload's: none for `_base`, the subset's for a subset. Undefined, with a
 * problem when the workload is known, for a set that does not exist.
 */
export function setLabelsOf(
  set: string,
  limiter: SmartLimiter,
  workload: Workload | undefined,
  problems: RenderProblem[],
): Record<string, string> | undefined {
  if (set === BASE_SET) return {};
  const subsets = workload?.subsets ?? [];
  const subset = subsets.find((s) => s.name === set);
  if (subset) return { ...subset.labels };
  if (workload) {
    const { spec } = limiter;
    problems.push({
      kind: 'set',
      path: `spec.sets.${set}`,
      message: workload.subsetHost
        ? `no subset "${set}" in a DestinationRule for host ${workload.subsetHost}${subsets.length > 0 ? `; subsets: ${subsets.map((s) => s.name).join(', ')}` : ' (none found)'}`
        : `only _base applies to ${spec.gateway === true ? 'a gateway' : Object.keys(spec.workloadSelector ?? {}).length > 0 ? 'a workloadSelector' : 'outbound limits'}; "${set}" is not a set here`,
    });
  }
  return undefined;
}

/** The workloads whose metrics a set's expressions read, by set: what metric sources query. */
export interface MetricSet {
  readonly name: string;
  /** Running pod names, then the selected WorkloadEntries' (VMs), each sorted. */
  readonly pods: readonly string[];
}

function podsBySet(ctx: ClusterContext, namespace: string, workload: Workload): MetricSet[] {
  const names = (selector: Record<string, string>) => [
    ...runningPods(ctx, namespace, selector).map((p) => p.metadata.name),
    ...selectedWorkloadEntries(ctx, namespace, selector).map((w) => w.metadata.name),
  ];
  return [
    { name: BASE_SET, pods: names(workload.selector) },
    ...workload.subsets.map((s) => ({ name: s.name, pods: names({ ...workload.selector, ...s.labels }) })),
  ];
}

/**
 * The sets a SmartLimiter's metrics are read for, with their Running pods: `_base` (every pod of the
 * workload) and each DestinationRule subset (the pods with its labels), as the `<set>.pod` counts are
 * computed. Empty when the workload cannot be resolved (rendering reports why).
 */
export function metricSetsOf(limiter: SmartLimiter, ctx: ClusterContext): MetricSet[] {
  const workload = resolveWorkload(limiter, ctx, [], []);
  return workload ? podsBySet(ctx, limiter.metadata.namespace, workload) : [];
}

/** The `<set>.pod` metrics: how many Running pods and VMs (WorkloadEntries) each set has. */
export function podCounts(
  ctx: ClusterContext,
  namespace: string,
  workload: Workload | undefined,
): Record<string, number> {
  const counts: Record<string, number> = {};
  if (workload) for (const s of podsBySet(ctx, namespace, workload)) counts[`${s.name}.pod`] = s.pods.length;
  return counts;
}

/** Where a descriptor's target applies in Envoy; undefined, with the reason in `problems`, when nowhere. */
export function placementsOf(
  target: Target,
  gateway: boolean,
  path: string,
  problems: RenderProblem[],
): RoutePlacement[] | undefined {
  const fail = (at: string, message: string): undefined => {
    problems.push({ kind: 'target', path: at, message });
    return undefined;
  };
  const outbound = target.direction === 'outbound';
  const context: PatchContext = gateway ? 'GATEWAY' : outbound ? 'SIDECAR_OUTBOUND' : 'SIDECAR_INBOUND';
  const port = target.port ?? 0;
  const routes = target.route ?? [];
  const hosts = target.host ?? [];
  if (!outbound) {
    if (routes.length > 0 || hosts.length > 0) {
      return fail(
        path,
        'route and host name outbound routes and virtual hosts: set direction: outbound, or use port for inbound',
      );
    }
    // Inbound: the sidecar's inbound route for the port (Istio names it `inbound|http|<port>`, route
    // `default`); port 0 matches the inbound route of every vhost.
    return [{ context, vhost: port === 0 ? '' : `inbound|http|${port}`, route: 'default' }];
  }
  if (routes.length > 0) {
    const out: RoutePlacement[] = [];
    for (const [i, r] of routes.entries()) {
      const parts = r.split('/');
      if (parts.length !== 2) {
        return fail(
          `${path}.route[${i}]`,
          `expected <vhost>/<route name> (e.g. reviews.default.svc.cluster.local:80/default), got ${JSON.stringify(r)}`,
        );
      }
      const [vhost = '', route = ''] = parts;
      if (route === '') return fail(`${path}.route[${i}]`, `no route name after "/" in ${JSON.stringify(r)}`);
      out.push({ context, vhost: port !== 0 && vhost !== '' ? `${vhost}:${port}` : vhost, route });
    }
    return out;
  }
  if (hosts.length > 0) {
    return hosts.map((h) => ({ context, vhost: port !== 0 ? `${h}:${port}` : h }));
  }
  return fail(
    path,
    'an outbound target needs route (e.g. reviews.default.svc.cluster.local:80/default) or host',
  );
}
