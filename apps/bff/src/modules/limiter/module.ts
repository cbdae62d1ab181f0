/**
 * The limiter module: SmartLimiter → EnvoyFilters (Envoy's local and global rate limits) and the rules
 * Governor's engine enforces, adaptive to metric values. Rendering is in `render/`; this file plugs it into
 * the framework's contract.
 */
import {
  SMARTLIMITER_API_VERSION,
  parseSmartLimiter,
  destinationRuleSchema,
  podSchema,
  serviceEntrySchema,
  serviceSchema,
  workloadEntrySchema,
  type SmartLimiter,
  type SmartLimiterStatus,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import { parsedOf, type Module, type ModuleEvent, type Plan, type Snapshot } from '../../framework/module';
import type { ModuleContext } from '../../framework/registry';
import { conditionOf, observedGenerationOf } from '../../framework/conditions';
import { noMetrics, type MetricSource } from '../../sources/metric-source';
import {
  DEFAULT_RATE_LIMIT_SERVICE,
  renderSmartLimiter,
  type ClusterContext,
  type RateLimitServiceOptions,
  type RenderedRule,
  type RenderResult,
} from './render';
import { buildConditions } from './render/status';

export interface LimiterModuleOptions {
  readonly metrics?: MetricSource;
  readonly rateLimitService?: RateLimitServiceOptions;
  /**
   * What a SmartLimiter whose metric source is unavailable enforces: `keep` (default) its last good limits,
   * `open` none (its EnvoyFilters are removed until the metrics are back).
   */
  readonly metricsUnavailable?: 'keep' | 'open';
}

/** The limiter's plan keeps the whole render: the dashboard and previews show more than the contract. */
export interface LimiterPlan extends Plan<readonly RenderedRule[]> {
  readonly render: RenderResult;
}

/** The Services, Pods, DestinationRules, ServiceEntries and WorkloadEntries of a namespace (all without one). */
export function contextOf(snapshot: Snapshot, namespace?: string): ClusterContext {
  return {
    services: snapshot.parsed('Service', serviceSchema, namespace),
    pods: snapshot.parsed('Pod', podSchema, namespace),
    destinationRules: snapshot.parsed('DestinationRule', destinationRuleSchema, namespace),
    serviceEntries: snapshot.parsed('ServiceEntry', serviceEntrySchema, namespace),
    workloadEntries: snapshot.parsed('WorkloadEntry', workloadEntrySchema, namespace),
  };
}

/** `<set>[<index>]` → quota, for telling which quotas a new plan changes. */
function quotas(s: SmartLimiterStatus | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [set, v] of Object.entries(s?.ratelimitStatus ?? {})) {
    const descriptors = (v as { descriptor?: { action?: { quota?: string } }[] }).descriptor ?? [];
    descriptors.forEach((d, i) => out.set(`${set}[${i}]`, d.action?.quota ?? ''));
  }
  return out;
}

/** Events: a limiter that becomes invalid, and adaptive quotas that move. */
function limiterEvents(previousRaw: Record<string, unknown> | undefined, plan: LimiterPlan): ModuleEvent[] {
  const previous = previousRaw as SmartLimiterStatus | undefined;
  const result = plan.render;
  const events: ModuleEvent[] = [];
  const wasValid = conditionOf(previous, 'Valid');
  const isValid = conditionOf(result.status, 'Valid');
  if (isValid?.status === 'False' && wasValid?.status !== 'False')
    events.push({ type: 'Warning', reason: isValid.reason ?? 'Invalid', message: isValid.message ?? '' });
  if (previous?.ratelimitStatus) {
    const before = quotas(previous);
    const after = quotas(result.status);
    const changed = [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v);
    if (changed.length > 0) {
      const metrics = Object.entries(result.metrics)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      events.push({
        type: 'Normal',
        reason: 'QuotaChanged',
        message: `${changed.map(([k, v]) => `${k} quota ${before.get(k)} → ${v}`).join('; ')} (metrics: ${metrics})`,
      });
    }
  }
  return events;
}

export type LimiterModule = Module<SmartLimiter, readonly RenderedRule[]> & {
  plan(input: Parameters<Module<SmartLimiter, readonly RenderedRule[]>['plan']>[0]): LimiterPlan;
};

export function limiterModule(options: LimiterModuleOptions = {}): LimiterModule {
  const metrics = options.metrics ?? noMetrics;
  const rateLimitService = options.rateLimitService ?? DEFAULT_RATE_LIMIT_SERVICE;
  return {
    name: 'limiter',
    kind: 'SmartLimiter',
    apiVersion: SMARTLIMITER_API_VERSION,
    // A VM (WorkloadEntry) added or removed changes `<set>.pod`, as a Pod does.
    watches: ['Service', 'Pod', 'WorkloadEntry', 'DestinationRule', 'ServiceEntry'],
    owns: ['EnvoyFilter'],
    reads: ['VirtualService', 'Gateway'],
    ownedLabelKeys: ['istio.io/rev'],
    parse: (raw: KubeObject) => parsedOf(parseSmartLimiter(raw)),
    invalidStatus(raw, problems, ownedCount, now) {
      const previous = (raw.status as SmartLimiterStatus | undefined) ?? {};
      return {
        ...previous,
        conditions: buildConditions({
          problems: problems.map((p) => ({ kind: 'spec' as const, path: p.path ?? '', message: p.message })),
          envoyFilterCount: ownedCount,
          ruleCount: 0,
          now,
          ...(previous.conditions ? { previous: previous.conditions } : {}),
        }),
        ...observedGenerationOf(raw),
      };
    },
    metrics: (limiter) => metrics.metricsFor(limiter),
    plan({ object: limiter, snapshot, metrics: { values, health }, now }): LimiterPlan {
      const render = renderSmartLimiter({
        limiter,
        context: contextOf(snapshot, limiter.metadata.namespace),
        metrics: values,
        options: {
          rateLimitService,
          now,
          ...(limiter.status ? { previousStatus: limiter.status } : {}),
          metricSource: health,
        },
      });
      // Fail-open: without metrics, a limiter enforces nothing until they are back; or it keeps its last
      // good limits.
      const lift = !health.available && options.metricsUnavailable === 'open';
      return {
        render,
        desired: lift ? [] : (render.envoyFilters as unknown as KubeObject[]),
        status: render.status as Record<string, unknown>,
        problems: render.problems,
        warnings: render.warnings,
        engine: lift ? [] : render.rules,
        hold: !health.available && !lift,
      };
    },
    events: (previous, plan) => limiterEvents(previous, plan as LimiterPlan),
  };
}

/** Slime's `rls` (service and port) and `domain` settings over the product's rate-limit service. */
function rateLimitServiceOf(
  general: Readonly<Record<string, unknown>>,
  base: RateLimitServiceOptions,
): RateLimitServiceOptions {
  const rls = general.rls as { service?: string; port?: number } | undefined;
  const domain = typeof general.domain === 'string' && general.domain !== '' ? general.domain : base.domain;
  const clusterName = rls?.service && rls.port ? `outbound|${rls.port}||${rls.service}` : base.clusterName;
  return { clusterName, domain };
}

/** The limiter as the framework creates it: the product's metric sources and options, a SlimeBoot's settings. */
export function createLimiterModule({ metrics, options, settings }: ModuleContext): LimiterModule {
  return limiterModule({
    metrics,
    rateLimitService: rateLimitServiceOf(
      settings.general,
      (options.rateLimitService as RateLimitServiceOptions | undefined) ?? DEFAULT_RATE_LIMIT_SERVICE,
    ),
    ...(options.metricsUnavailable
      ? { metricsUnavailable: options.metricsUnavailable as 'keep' | 'open' }
      : {}),
  });
}
