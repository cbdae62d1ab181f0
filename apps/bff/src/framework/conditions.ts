/** Status conditions as every module writes them. */
import type { Condition } from '@governor/crd-types';

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
