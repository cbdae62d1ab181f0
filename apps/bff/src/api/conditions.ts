/** Status conditions as the API answers them: every field present, null where the object has none. */

interface ConditionLike {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** The conditions of a status (a module's own status type, or an object's `status`). */
export function conditionRows(status: unknown) {
  const conditions = (status as { conditions?: readonly ConditionLike[] } | null | undefined)?.conditions;
  return (conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason ?? null,
    message: c.message ?? null,
    lastTransitionTime: c.lastTransitionTime ?? null,
  }));
}
