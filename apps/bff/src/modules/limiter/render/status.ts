/**
 * The SmartLimiter's standard conditions. Slime only logged a bad condition; Governor says in the status
 * what is wrong and where (`spec.sets._base.descriptor[0].condition: unknown metric ...`).
 */
import type { Condition } from '@governor/crd-types';

export type RenderProblemKind =
  'spec' | 'set' | 'target' | 'match' | 'action' | 'expression' | 'metric' | 'workload';

export interface RenderProblem {
  readonly kind: RenderProblemKind;
  /** Where in the SmartLimiter, e.g. `spec.sets._base.descriptor[0].action.quota`. */
  readonly path: string;
  readonly message: string;
}

export const formatProblem = (p: RenderProblem): string => `${p.path}: ${p.message}`;

/** Condition messages stay readable in `kubectl describe`: the first few problems, then a count. */
function summarize(problems: readonly RenderProblem[]): string {
  const shown = problems.slice(0, 5).map(formatProblem);
  if (problems.length > 5) shown.push(`and ${problems.length - 5} more`);
  return shown.join('; ');
}

export interface MetricSourceHealth {
  readonly available: boolean;
  /** Why not, e.g. `Prometheus at http://prometheus:9090 did not answer: timeout after 5s`. */
  readonly message?: string;
}

export interface ConditionInput {
  readonly problems: readonly RenderProblem[];
  readonly envoyFilterCount: number;
  readonly ruleCount: number;
  readonly now: Date;
  readonly previous?: readonly Condition[];
  /** The health of the metric sources the values came from; available when not given. */
  readonly metricSource?: MetricSourceHealth;
}

/**
 * Valid (the spec and its expressions make sense: a metric key that does not exist is a spec problem,
 * Slime's issue #217), MetricsAvailable (the metric sources answered), and Ready (both). Unchanged
 * conditions keep their lastTransitionTime.
 */
export function buildConditions(input: ConditionInput): Condition[] {
  const time = new Date(Math.floor(input.now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const make = (type: string, ok: boolean, reason: string, message: string): Condition => {
    const prev = input.previous?.find((c) => c.type === type);
    const status = ok ? 'True' : 'False';
    return {
      type,
      status,
      reason,
      message,
      lastTransitionTime:
        prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : time,
    };
  };
  const { problems } = input;
  const valid = problems.length === 0;
  const onlyMetrics = problems.length > 0 && problems.every((p) => p.kind === 'metric');
  const invalidReason = onlyMetrics ? 'UnknownMetric' : 'InvalidSpec';
  const source = input.metricSource ?? { available: true };
  const ready = valid && source.available;
  return [
    make('Valid', valid, valid ? 'Valid' : invalidReason, valid ? 'the spec is valid' : summarize(problems)),
    make(
      'MetricsAvailable',
      source.available,
      source.available ? 'MetricsAvailable' : 'MetricSourceUnavailable',
      source.message ??
        (source.available ? 'the metric sources answered' : 'the metric sources did not answer'),
    ),
    make(
      'Ready',
      ready,
      ready ? 'Rendered' : valid ? 'MetricSourceUnavailable' : invalidReason,
      ready
        ? `${input.ruleCount} active descriptor(s) in ${input.envoyFilterCount} EnvoyFilter(s)`
        : valid
          ? (source.message ?? 'the metric sources did not answer')
          : summarize(problems),
    ),
  ];
}
