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

export interface ConditionInput {
  readonly problems: readonly RenderProblem[];
  readonly envoyFilterCount: number;
  readonly ruleCount: number;
  readonly now: Date;
  readonly previous?: readonly Condition[];
}

/** Valid, MetricsAvailable and Ready, keeping lastTransitionTime when a condition's status did not change. */
export function buildConditions(input: ConditionInput): Condition[] {
  const time = new Date(Math.floor(input.now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const specProblems = input.problems.filter((p) => p.kind !== 'metric');
  const metricProblems = input.problems.filter((p) => p.kind === 'metric');
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
  const ready = input.problems.length === 0;
  return [
    make(
      'Valid',
      specProblems.length === 0,
      specProblems.length === 0 ? 'Valid' : 'InvalidSpec',
      specProblems.length === 0 ? 'the spec is valid' : summarize(specProblems),
    ),
    make(
      'MetricsAvailable',
      metricProblems.length === 0,
      metricProblems.length === 0 ? 'MetricsAvailable' : 'MetricMissing',
      metricProblems.length === 0
        ? 'every metric the expressions use has a value'
        : summarize(metricProblems),
    ),
    make(
      'Ready',
      ready,
      ready ? 'Rendered' : specProblems.length > 0 ? 'InvalidSpec' : 'MetricMissing',
      ready
        ? `${input.ruleCount} active descriptor(s) in ${input.envoyFilterCount} EnvoyFilter(s)`
        : summarize(input.problems),
    ),
  ];
}
