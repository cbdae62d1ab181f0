/** The audit log: every change, who made it and when. */
import { z } from 'zod';
import { canSee } from '../../auth/auth';
import { dns } from '../../api/inputs';
import { router, viewerProcedure } from '../../api/trpc';

export const auditRouter = router({
  list: viewerProcedure
    .input(
      z
        .strictObject({
          namespace: dns.optional(),
          name: dns.optional(),
          user: z.string().max(64).optional(),
          beforeId: z.number().int().positive().optional(),
          limit: z.number().int().min(1).max(500).default(100),
        })
        .default({ limit: 100 }),
    )
    .query(({ ctx, input: { cluster: _chosen, ...input } }) =>
      // A chosen cluster's records, else every cluster's.
      (ctx.clusterChosen ? ctx.deps.audit.list : ctx.deps.audit.all)({ ...input, limit: 10_000 })
        .filter((r) =>
          r.namespace === undefined ? ctx.user.role === 'admin' : canSee(ctx.user, r.namespace),
        )
        .slice(0, input.limit),
    ),
});
