/** Policies fanned out from the home cluster: each one's copies and their state in every cluster. */
import { z } from 'zod';
import { canSee } from '../../auth/auth';
import { dns } from '../../api/inputs';
import { requireRole, router, viewerProcedure } from '../../api/trpc';
import type { FanoutStatus } from '../../fleet/fanout';

/** Ages are of the moment of the answer. */
const withAges = (s: FanoutStatus, now: number): FanoutStatus => ({
  ...s,
  clusters: s.clusters.map((c) =>
    c.lastSuccessfulSync
      ? { ...c, lastSuccessfulSyncAgeMs: Math.max(0, now - Date.parse(c.lastSuccessfulSync)) }
      : c,
  ),
});

export const fleetRouter = router({
  /** A policy's fan-out; null when it is not fanned out (no `governor.io/clusters`). */
  status: viewerProcedure
    .input(z.strictObject({ kind: z.string().min(1).max(63), namespace: dns, name: dns }))
    .query(({ ctx, input }): FanoutStatus | null => {
      requireRole(ctx.user, 'viewer', input.namespace);
      const s = ctx.deps.fleet.fanout?.status(input.kind, input.namespace, input.name);
      return s ? withAges(s, Date.now()) : null;
    }),

  list: viewerProcedure.query(({ ctx }): FanoutStatus[] => {
    const now = Date.now();
    return (ctx.deps.fleet.fanout?.list() ?? [])
      .filter((s) => canSee(ctx.user, s.namespace))
      .map((s) => withAges(s, now));
  }),
});
