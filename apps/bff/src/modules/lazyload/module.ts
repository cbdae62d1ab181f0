/**
 * The lazyload module: ServiceFence (Slime's lazyload) → an Istio Sidecar that limits a workload's egress
 * to the hosts it needs: those its fence names, those its label selectors select, and those it was seen
 * calling. Computing domains and rendering are in `render/`; this file plugs them into the framework.
 */
import { autofenceModule, autofenceOptions } from './autofence';
import {
  SERVICEFENCE_API_VERSION,
  findUnknownFields,
  parseServiceFence,
  serviceFenceSpecNode,
  serviceSchema,
  type Destinations,
  type ServiceFence,
  type ServiceFenceStatus,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import {
  parsedOf,
  type MetricInput,
  type Module,
  type ModuleEvent,
  type Plan,
  type PlanInput,
  type PlanProblem,
  type Snapshot,
} from '../../framework/module';
import type { ModuleContext } from '../../framework/registry';
import { NO_OBSERVED_CALLS, type ObservedCallSource } from '../../sources/observed-calls';
import { compileAliases, type DomainAliasRule } from './render/aliases';
import { computeDomains, destinationsOf, inSidecar, type DomainContext } from './render/domains';
import { metricKey } from './render/hosts';
import { FALLBACK_CLUSTER_ALIAS, renderFallbackEnvoyFilter, type FallbackDispatch } from './render/fallback';
import { egressHosts, ISTIO_REV_LABEL, renderSidecar, type SidecarOptions } from './render/sidecar';
import {
  condition,
  conditionOf,
  invalidSpecStatus,
  observedGenerationOf,
  validCondition,
} from '../../framework/conditions';

export const DEFAULT_GOVERNOR_NAMESPACE = 'governor-system';

export interface LazyloadOptions extends SidecarOptions {
  readonly observedCalls?: ObservedCallSource;
  readonly domainAliases?: readonly DomainAliasRule[];
  /** `general.wormholePort`: the ports whose unknown hosts go to the fallback; none, no fallback. */
  readonly wormholePorts?: readonly string[];
  readonly dispatches?: readonly FallbackDispatch[];
  readonly passthroughByDefault?: boolean;
}

/** The fallback's Service: the global sidecar of the fence's namespace, or the cluster's. */
function fallbackService(
  namespace: string,
  options: LazyloadOptions,
): { host: string; port: number } | undefined {
  if (options.globalSidecarMode === 'namespace') return undefined;
  const ns = options.clusterGsNamespace ?? options.governorNamespace;
  return { host: `global-sidecar.${ns}.svc.cluster.local`, port: 80 };
}

/** The owned objects of a fence that is enabled and selects a workload: its Sidecar and fallback. */
function ownedObjects(
  fence: ServiceFence,
  hosts: readonly string[],
  labels: Readonly<Record<string, string>>,
  options: LazyloadOptions,
): KubeObject[] {
  const sidecar = renderSidecar(fence, hosts, labels) as unknown as KubeObject;
  const revision = fence.metadata.labels?.[ISTIO_REV_LABEL];
  const fallback = fallbackService(fence.metadata.namespace, options);
  const envoyFilter = renderFallbackEnvoyFilter({
    fence: { name: fence.metadata.name, namespace: fence.metadata.namespace },
    workloadSelector: labels,
    wormholePorts: options.wormholePorts ?? [],
    ...(options.dispatches ? { dispatches: options.dispatches } : {}),
    ...(options.passthroughByDefault ? { passthroughByDefault: true } : {}),
    ...(fallback ? { fallback } : {}),
    ...(revision !== undefined ? { revision } : {}),
  });
  return envoyFilter ? [sidecar, envoyFilter as unknown as KubeObject] : [sidecar];
}

/** The calls a plan sees: Slime's metric keys → counts, and when each destination was last called. */
export interface CallInput extends MetricInput {
  /** Destination FQDN → last call, seconds since the epoch. */
  readonly lastCalled?: Readonly<Record<string, number>>;
}

export type LazyloadModule = Module<ServiceFence, null> & { readonly options: LazyloadOptions };

/** Counts merge over what the status holds: a restart or a quiet source forgets no call. */
function mergeMetricStatus(
  previous: Readonly<Record<string, string>> | undefined,
  values: MetricInput['values'],
): Record<string, string> {
  const out: Record<string, string> = { ...(previous ?? {}) };
  for (const [k, v] of Object.entries(values)) {
    const n = Number(v);
    const known = Number(out[k] ?? 0);
    out[k] = String(Number.isFinite(n) && n > known ? n : (out[k] ?? v));
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function domainContext(snapshot: Snapshot): DomainContext {
  const services = snapshot.parsed('Service', serviceSchema).map((s) => ({
    name: s.metadata.name,
    namespace: s.metadata.namespace ?? 'default',
    labels: s.metadata.labels ?? {},
  }));
  const virtualServices = snapshot
    .list('VirtualService')
    .map((v) => ({ namespace: v.metadata.namespace ?? 'default', spec: v.spec }));
  return { services, destinations: destinationsOf(virtualServices) };
}

const sortedRecord = <V>(r: Record<string, V>): Record<string, V> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * The workload the Sidecar applies to: `workloadSelector.labels`, else with `fromService` the Service's
 * selector, else `<global.service>: <fence name>`. Null when the Service it needs is not there.
 */
function workloadLabels(
  fence: ServiceFence,
  snapshot: Snapshot,
  serviceLabel: string,
): Record<string, string> | null {
  const ws = fence.spec.workloadSelector;
  if (ws?.labels && Object.keys(ws.labels).length > 0) return { ...ws.labels };
  if (ws?.fromService) {
    const raw = snapshot.get('Service', fence.metadata.namespace, fence.metadata.name);
    const svc = raw ? serviceSchema.safeParse(raw) : undefined;
    const selector = svc?.success ? svc.data.spec.selector : undefined;
    return selector && Object.keys(selector).length > 0 ? { ...selector } : null;
  }
  return { [serviceLabel]: fence.metadata.name };
}

export function planFence(
  { object: fence, raw, snapshot, metrics, now }: PlanInput<ServiceFence>,
  options: LazyloadOptions,
): Plan<null> {
  const previous = fence.status;
  const calls = metrics as CallInput;
  const metricStatus = mergeMetricStatus(previous?.metricStatus, calls.values);
  const aliases = compileAliases(options.domainAliases ?? []);
  const { domains, reasons, invalidKeys } = computeDomains({
    fence,
    metricStatus,
    lastCalled: new Map(Object.entries(calls.lastCalled ?? {})),
    context: domainContext(snapshot),
    aliases,
    now,
  });
  const problems: PlanProblem[] = invalidKeys.map((k) => ({
    path: `spec.host.${k}`,
    message: `${k} is not a host name, a short service name or ns/*`,
  }));
  const warnings = [
    ...findUnknownFields(serviceFenceSpecNode, raw.spec, 'spec').map(
      (u) => `${u.path}: unknown field, ignored${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}`,
    ),
    ...aliases.problems,
  ];

  const enabled = fence.spec.enable === true;
  const labels = enabled ? workloadLabels(fence, snapshot, options.serviceLabel) : {};
  const hosts = egressHosts(fence, domains, options);
  const desired: KubeObject[] = enabled && labels !== null ? ownedObjects(fence, hosts, labels, options) : [];
  // Without the Service to select its workload by, the last Sidecar stays: none is better than a wrong one.
  const hold = enabled && labels === null;

  const inCount = Object.values(domains).filter(inSidecar).length;
  const ready =
    problems.length > 0
      ? condition(previous, 'Ready', 'False', 'Invalid', problems.map((p) => p.message).join('; '), now)
      : hold
        ? condition(
            previous,
            'Ready',
            'False',
            'ServiceNotFound',
            `workloadSelector.fromService: no Service ${fence.metadata.namespace}/${fence.metadata.name} with a selector; the last Sidecar stays`,
            now,
          )
        : !enabled
          ? condition(previous, 'Ready', 'False', 'Disabled', 'spec.enable is not true: no Sidecar', now)
          : condition(
              previous,
              'Ready',
              'True',
              'SidecarWritten',
              `Sidecar ${fence.metadata.name}: ${hosts.length} egress hosts from ${inCount} domains`,
              now,
            );
  const health = metrics.health;
  const callsCondition = condition(
    previous,
    'CallsObserved',
    health.available ? 'True' : 'False',
    health.available ? 'SourceAvailable' : 'SourceUnavailable',
    health.available
      ? `${Object.keys(metricStatus).length} destinations called`
      : `${health.message ?? 'the call source is down'}; hosts known so far stay`,
    now,
  );
  const status: ServiceFenceStatus = {
    domains: sortedRecord(domains),
    metricStatus,
    reasons: sortedRecord(reasons),
    conditions: [
      validCondition(previous, problems, now, {
        invalidReason: 'InvalidHost',
        validMessage: 'the fence is valid',
        text: (ps) => ps.map((p) => p.message).join('; '),
      }),
      ready,
      callsCondition,
    ],
    ...observedGenerationOf(raw),
  };
  return {
    desired,
    status: status as Record<string, unknown>,
    problems,
    warnings,
    engine: null,
    ...(hold ? { hold } : {}),
  };
}

const activeHosts = (d: Record<string, Destinations> | undefined): Set<string> =>
  new Set(Object.entries(d ?? {}).flatMap(([k, v]) => (inSidecar(v) ? [k] : [])));

/** Events: a fence that becomes invalid or not ready, and hosts that enter or leave the Sidecar. */
export function fenceEvents(
  previousRaw: Record<string, unknown> | undefined,
  plan: Plan<null>,
): ModuleEvent[] {
  const previous = previousRaw as ServiceFenceStatus | undefined;
  const next = plan.status as ServiceFenceStatus;
  const events: ModuleEvent[] = [];
  const was = conditionOf(previous, 'Ready');
  const is = conditionOf(next, 'Ready');
  if (is?.status === 'False' && (was?.status !== 'False' || was.reason !== is.reason))
    events.push({ type: 'Warning', reason: is.reason ?? 'NotReady', message: is.message ?? '' });
  if (plan.problems.length > 0 || plan.hold) return events;
  const before = activeHosts(previous?.domains);
  const after = activeHosts(next.domains);
  const added = [...after].filter((h) => !before.has(h)).sort();
  const removed = [...before].filter((h) => !after.has(h)).sort();
  const why = (h: string) => next.reasons?.[h] ?? '';
  if (previous !== undefined && added.length > 0)
    events.push({
      type: 'Normal',
      reason: 'HostsAdded',
      message: added.map((h) => `${h} (${why(h)})`).join('; '),
    });
  const waiting = Object.entries(next.domains ?? {})
    .filter(([h, d]) => d.status === 2 && previous?.domains?.[h]?.status !== 2)
    .map(([h]) => h)
    .sort();
  if (waiting.length > 0)
    events.push({
      type: 'Normal',
      reason: 'HostsExpiring',
      message: waiting.map((h) => `${h} (${why(h)})`).join('; '),
    });
  if (removed.length > 0)
    events.push({ type: 'Normal', reason: 'HostsRemoved', message: removed.join('; ') });
  return events;
}

export function lazyloadModule(options: LazyloadOptions): LazyloadModule {
  const calls = options.observedCalls ?? NO_OBSERVED_CALLS;
  return {
    name: 'lazyload',
    kind: 'ServiceFence',
    apiVersion: SERVICEFENCE_API_VERSION,
    watches: ['Service'],
    owns: ['Sidecar', 'EnvoyFilter'],
    // Read when served; the periodic pass picks up their changes.
    // Pods, ServiceEntries and Gateways too: the dashboard sizes a proxy's configuration from them;
    // WorkloadEntries: VMs are a workload's proxies beside its Pods.
    reads: ['VirtualService', 'Pod', 'WorkloadEntry', 'ServiceEntry', 'Gateway'],
    ownedLabelKeys: ['istio.io/rev'],
    options,
    parse: (raw) => parsedOf(parseServiceFence(raw)),
    invalidStatus: (raw, problems, ownedCount, now) =>
      invalidSpecStatus(raw, problems, `${ownedCount} Sidecar kept as it was`, now),
    metrics(fence): CallInput {
      // The calling workload is the fence's namesake: Slime names a fence after its Service, whose
      // workload's app label is the calls' source_app.
      const seen = calls.callsFrom(fence.metadata.namespace, fence.metadata.name);
      const values: Record<string, number> = {};
      const lastCalled: Record<string, number> = {};
      for (const [destination, call] of seen) {
        values[metricKey(destination)] = call.count;
        if (call.lastSeen > 0) lastCalled[destination] = Math.floor(call.lastSeen / 1000);
      }
      return { values, health: calls.health(), lastCalled };
    },
    plan: (input) => planFence(input, options),
    events: fenceEvents,
    affectedBy(change, snapshot) {
      // A Service concerns the fences of its namespace (its name, fromService) and those selecting by
      // labels or naming its namespace anywhere.
      const ns = change.metadata.namespace;
      return snapshot
        .list('ServiceFence')
        .filter((f) => {
          if (f.metadata.namespace === ns) return true;
          const spec = (f.spec ?? {}) as { labelSelector?: unknown[]; host?: Record<string, unknown> };
          return (spec.labelSelector?.length ?? 0) > 0 || Object.keys(spec.host ?? {}).includes(`${ns}/*`);
        })
        .map((f) => `${f.metadata.namespace}/${f.metadata.name}`);
    },
  };
}

/** The module as the framework creates it: a SlimeBoot's settings over the product's options. */
export function createLazyloadModule({ settings, options, observedCalls }: ModuleContext): LazyloadModule {
  const general = settings.general as {
    wormholePort?: string[];
    dispatches?: { name?: string; domains?: string[]; cluster?: string; domainRegex?: string }[];
    passthroughByDefault?: boolean;
    stableHost?: string[];
    domainAliases?: DomainAliasRule[];
    globalSidecarMode?: string;
    clusterGsNamespace?: string;
  };
  const governorNamespace =
    settings.global.slimeNamespace ??
    (typeof options.governorNamespace === 'string' ? options.governorNamespace : DEFAULT_GOVERNOR_NAMESPACE);
  const module = lazyloadModule({
    istioNamespace: settings.global.istioNamespace ?? 'istio-system',
    governorNamespace,
    stableHosts: general.stableHost ?? [],
    serviceLabel: settings.global.service ?? 'app',
    ...(general.globalSidecarMode ? { globalSidecarMode: general.globalSidecarMode } : {}),
    ...(general.clusterGsNamespace ? { clusterGsNamespace: general.clusterGsNamespace } : {}),
    domainAliases: general.domainAliases ?? [],
    wormholePorts: general.wormholePort ?? [],
    dispatches: (general.dispatches ?? []).map((d, i) => ({
      name: d.name ?? `dispatch-${i}`,
      ...(d.domains ? { domains: d.domains } : {}),
      ...(d.domainRegex ? { domainRegex: d.domainRegex } : {}),
      cluster: d.cluster ?? FALLBACK_CLUSTER_ALIAS,
    })),
    passthroughByDefault: general.passthroughByDefault === true,
    ...(observedCalls ? { observedCalls } : {}),
  });
  // Runs even with autoFence off: it then removes the fences it created (Slime #517).
  return { ...module, companions: [autofenceModule(autofenceOptions(settings))] };
}
