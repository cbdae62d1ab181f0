/**
 * The condition builder's view of a condition: always, or one metric of a set compared with a number.
 * Anything else is an expression the builder leaves to the text field.
 */

/** The metrics the builder offers, with what they measure. */
export const BUILDER_METRICS = [
  ['cpu.percent', 'CPU % of limit'],
  ['qps', 'requests/s'],
  ['limited_qps', 'limited requests/s'],
  ['rt99', 'p99 latency (ms)'],
  ['pod', 'running pods'],
] as const;

export const COMPARISONS = ['>', '>=', '<', '<='] as const;
export type Comparison = (typeof COMPARISONS)[number];

export interface Comparing {
  readonly set: string;
  readonly metric: string;
  readonly op: Comparison;
  readonly threshold: string;
}

export type ConditionShape =
  { readonly kind: 'always' } | ({ readonly kind: 'compare' } & Comparing) | { readonly kind: 'expression' };

const COMPARE = /^\{\{\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)\}\}\s*(>=|<=|>|<)\s*(-?[\d.]+)$/;

export function conditionShape(condition: string): ConditionShape {
  const c = condition.trim();
  // An empty condition is one still being written; the builder offers it as "always".
  if (c === 'true' || c === '') return { kind: 'always' };
  const m = COMPARE.exec(c);
  if (!m) return { kind: 'expression' };
  const [, set = '', metric = '', op = '>', threshold = ''] = m;
  return { kind: 'compare', set, metric, op: op as Comparison, threshold };
}

export const compareCondition = ({ set, metric, op, threshold }: Comparing): string =>
  `{{.${set}.${metric}}}${op}${threshold}`;
