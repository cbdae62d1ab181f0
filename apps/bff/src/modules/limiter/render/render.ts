/**
 * SmartLimiter + cluster context + metric map → the EnvoyFilters to write and the SmartLimiter's status.
 *
 * Pure and deterministic: the same input gives byte-identical output. The shape follows Slime's limiter
 * module so that existing Envoy configs and dashboards keep working (one EnvoyFilter per set; route
 * `rate_limits` actions; an `INSERT_BEFORE envoy.filters.http.router` of the filter; per-route
 * `typed_per_filter_config` with one token bucket per descriptor and a permissive default bucket), with
 * Governor's differences: stable descriptor ids, `average` that really divides, errors in status instead
 * of silently dropped descriptors, and a shadow mode.
 *
 * This file composes the steps: the workload and its sets (workload.ts), each descriptor's rules
 * (descriptor.ts), one EnvoyFilter per set (envoy-filter.ts) and the status (status.ts).
 */
import {
  BASE_SET,
  type EnvoyFilter,
  type JsonValue,
  type SmartLimiter,
  type SmartLimiterStatus,
} from '@governor/crd-types';
import type { MetricMap } from '../expression';
import type { ClusterContext } from './context';
import { evaluateDescriptor, type SetScope } from './descriptor';
import { assembleEnvoyFilter, envoyFilterName } from './envoy-filter';
import {
  DEFAULT_RATE_LIMIT_SERVICE,
  globalDescriptorsOf,
  type RateLimitServiceOptions,
} from './global-ratelimit';
import type { RlsDescriptor } from './rls-config';
import type { ActiveDescriptor, RenderedRule } from './rule';
import { buildConditions, type MetricSourceHealth, type RenderProblem } from './status';
import { podCounts, resolveWorkload, setLabelsOf } from './workload';

/** Annotations that carry Governor-only options, so the spec stays Slime's. */
export const SHADOW_ANNOTATION = 'governor.io/shadow';
export const FAIL_MODE_ANNOTATION = 'governor.io/fail-mode';

export interface RenderOptions {
  readonly rateLimitService?: RateLimitServiceOptions;
  /** The time conditions change at; defaults to the epoch so that output depends only on input. */
  readonly now?: Date;
  /** The status last written, so that unchanged conditions keep their lastTransitionTime. */
  readonly previousStatus?: SmartLimiterStatus;
  /** The health of the metric sources (MetricsAvailable); available when not given. */
  readonly metricSource?: MetricSourceHealth;
}

export interface RenderInput {
  readonly limiter: SmartLimiter;
  readonly context: ClusterContext;
  /** Metric values (`_base.cpu.sum`, `v1.rt99`, ...). They override the pod counts rendering computes. */
  readonly metrics?: MetricMap;
  readonly options?: RenderOptions;
}

export interface RenderResult {
  /** The EnvoyFilters to exist, sorted by name. Sets without an active descriptor have none. */
  readonly envoyFilters: EnvoyFilter[];
  /** The name of the EnvoyFilter every set of the limiter would have: what the reconciler owns. */
  readonly envoyFilterNames: readonly string[];
  readonly status: SmartLimiterStatus;
  readonly problems: readonly RenderProblem[];
  /** Non-fatal remarks (e.g. a gateway limiter without a workload selector). */
  readonly warnings: readonly string[];
  /** The metric map the expressions saw. */
  readonly metrics: Readonly<Record<string, number | string>>;
  readonly rules: readonly RenderedRule[];
  /** The global descriptors as the rate-limit service's configuration tree. */
  readonly globalDescriptors: readonly RlsDescriptor[];
}

/** The Governor-only options of the annotations; a value that is neither of the allowed is a problem. */
function annotationOptions(
  limiter: SmartLimiter,
  problems: RenderProblem[],
): { shadow: boolean; failMode: 'open' | 'closed' } {
  const annotations = limiter.metadata.annotations ?? {};
  const failModeRaw = annotations[FAIL_MODE_ANNOTATION];
  if (failModeRaw !== undefined && failModeRaw !== 'open' && failModeRaw !== 'closed') {
    problems.push({
      kind: 'spec',
      path: `metadata.annotations.${FAIL_MODE_ANNOTATION}`,
      message: `expected open or closed, got ${JSON.stringify(failModeRaw)}`,
    });
  }
  const shadowRaw = annotations[SHADOW_ANNOTATION];
  if (shadowRaw !== undefined && !['true', 'false'].includes(shadowRaw)) {
    problems.push({
      kind: 'spec',
      path: `metadata.annotations.${SHADOW_ANNOTATION}`,
      message: `expected "true" or "false", got ${JSON.stringify(shadowRaw)}`,
    });
  }
  return { shadow: shadowRaw === 'true', failMode: failModeRaw === 'closed' ? 'closed' : 'open' };
}

/** Renders one SmartLimiter. Never throws on bad input: every problem is in the result. */
export function renderSmartLimiter(input: RenderInput): RenderResult {
  const { limiter, context: ctx } = input;
  const options = input.options ?? {};
  const rls = options.rateLimitService ?? DEFAULT_RATE_LIMIT_SERVICE;
  const { spec, metadata } = limiter;
  const problems: RenderProblem[] = [];
  const warnings: string[] = [];
  const { shadow, failMode } = annotationOptions(limiter, problems);
  const sets = spec.sets ?? {};
  const setNames = Object.keys(sets);
  if (setNames.length === 0) {
    problems.push({
      kind: 'spec',
      path: 'spec.sets',
      message: 'no sets: add `_base` (all pods) or a subset name with descriptors',
    });
  }

  const workload = resolveWorkload(limiter, ctx, problems, warnings);
  // The metric map: running pods per set, then whatever the metric sources gave (they win).
  const metrics: Record<string, number | string> = podCounts(ctx, metadata.namespace, workload);
  for (const [k, v] of Object.entries(input.metrics ?? {})) metrics[k] = v;

  const envoyFilters: EnvoyFilter[] = [];
  const rules: RenderedRule[] = [];
  const ratelimitStatus: Record<string, JsonValue> = {};
  const globalDescriptors: RlsDescriptor[] = [];

  for (const set of setNames) {
    const setLabels = setLabelsOf(set, limiter, workload, problems);
    const scope: SetScope = {
      limiter,
      set,
      metrics,
      workload,
      setLabels,
      shadow,
      failMode,
      occurrences: new Map(),
    };
    const evaluated = (sets[set]?.descriptor ?? []).flatMap((d, index) =>
      evaluateDescriptor(d, index, scope, problems),
    );
    const active: ActiveDescriptor[] = evaluated.map((e) => e.active);

    if (setLabels === undefined || active.length === 0) continue;
    for (const a of active) rules.push(a.rule);
    ratelimitStatus[set] = { descriptor: evaluated.map((e) => e.status) };
    const selector = { ...(workload?.selector ?? {}), ...setLabels };
    envoyFilters.push(assembleEnvoyFilter({ limiter, set, selector, active, rls, shadow, failMode }));
    globalDescriptors.push(...globalDescriptorsOf(active));
  }

  envoyFilters.sort((a, b) =>
    a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
  );
  const metricStatus: Record<string, string> = {};
  for (const k of Object.keys(metrics).sort()) metricStatus[k] = String(metrics[k]);
  const status: SmartLimiterStatus = {
    ratelimitStatus,
    metricStatus,
    conditions: buildConditions({
      problems,
      envoyFilterCount: envoyFilters.length,
      ruleCount: rules.length,
      now: options.now ?? new Date(0),
      ...(options.previousStatus?.conditions ? { previous: options.previousStatus.conditions } : {}),
      ...(options.metricSource ? { metricSource: options.metricSource } : {}),
    }),
    ...(metadata.generation !== undefined ? { observedGeneration: metadata.generation } : {}),
  };
  return {
    envoyFilters,
    envoyFilterNames: [...new Set([BASE_SET, ...setNames])].map((s) => envoyFilterName(limiter, s)).sort(),
    status,
    problems,
    warnings,
    metrics,
    rules,
    globalDescriptors,
  };
}
