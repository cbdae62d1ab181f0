/** Status conditions as every module writes them. */
import type { Condition } from '@governor/crd-types';
import type { KubeObject } from '../cluster/store';
import type { PlanProblem } from './module';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/**
 * A condition that keeps its transition time while its status stays: the same input, the same status
 * (and no status write when nothing changed).
 */
export function condition(
  previous: { readonly conditions?: readonly Condition[] } | undefined,
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  now: Date,
): Condition {
  const before = previous?.conditions?.find((c) => c.type === type);
  const lastTransitionTime =
    before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now.toISOString();
  return { type, status, reason, message, lastTransitionTime };
}

/** A status's condition of that type, if it has one. */
export const conditionOf = (status: object | undefined, type: string): Condition | undefined =>
  (status as { readonly conditions?: readonly Condition[] } | undefined)?.conditions?.find(
    (c) => c.type === type,
  );

/** The problems as one message: `path: message; path: message`. */
export const problemText = (problems: readonly PlanProblem[]): string =>
  problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');

/** The status field that says which generation of the object a status is about, when it has one. */
export const observedGenerationOf = (raw: KubeObject): { observedGeneration?: number } =>
  raw.metadata.generation !== undefined ? { observedGeneration: raw.metadata.generation } : {};

/**
 * The status of an object whose spec does not parse: `Valid` and `Ready` False with the problems and what
 * became of its owned objects, the rest of the last status as it was.
 */
export function invalidSpecStatus(
  raw: KubeObject,
  problems: readonly PlanProblem[],
  kept: string,
  now: Date,
): Record<string, unknown> {
  const previous = raw.status as { readonly conditions?: readonly Condition[] } | undefined;
  const message = `${problemText(problems)}; ${kept}`;
  return {
    ...(previous ?? {}),
    conditions: [
      condition(previous, 'Valid', 'False', 'InvalidSpec', message, now),
      condition(previous, 'Ready', 'False', 'Invalid', message, now),
    ],
    ...observedGenerationOf(raw),
  };
}

/** `Valid`: True without problems, else False with them (`text` says them; reason `InvalidSpec`). */
export function validCondition(
  previous: { readonly conditions?: readonly Condition[] } | undefined,
  problems: readonly PlanProblem[],
  now: Date,
  {
    invalidReason = 'InvalidSpec',
    validMessage = 'the spec is valid',
    text = problemText,
  }: {
    invalidReason?: string;
    validMessage?: string;
    text?: (problems: readonly PlanProblem[]) => string;
  } = {},
): Condition {
  return problems.length > 0
    ? condition(previous, 'Valid', 'False', invalidReason, text(problems), now)
    : condition(previous, 'Valid', 'True', 'Valid', validMessage, now);
}

/**
 * `Valid` from the problems, then `Ready`: while there are problems False (`Invalid`) with them and what
 * became of the owned objects (`kept`), else `ready()`.
 */
export function validAndReady(
  previous: { readonly conditions?: readonly Condition[] } | undefined,
  problems: readonly PlanProblem[],
  kept: string,
  ready: () => Condition,
  now: Date,
): Condition[] {
  return [
    validCondition(previous, problems, now),
    problems.length > 0
      ? condition(previous, 'Ready', 'False', 'Invalid', `${problemText(problems)}; ${kept}`, now)
      : ready(),
  ];
}
