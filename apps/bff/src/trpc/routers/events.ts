/** The event log: what the control plane did and why, as a query and live. */
import { z } from 'zod';
import { canSee } from '../../auth/auth';
import { dns, liveInput, liveItems, tracked } from '../../api/inputs';
import { router, viewerProcedure } from '../../api/trpc';

export const eventsRouter = router({
  list: viewerProcedure
    .input(
      z
        .strictObject({
          namespace: dns.optional(),
          policy: z.string().max(300).optional(),
          limit: z.number().int().min(1).max(1000).default(100),
        })
        .default({ limit: 100 }),
    )
    .query(({ ctx, input }) =>
      ctx.deps.events
        .since(0)
        .filter(
          ({ item }) =>
            (item.namespace === null || canSee(ctx.user, item.namespace)) &&
            (!ctx.clusterChosen || item.cluster === ctx.deps.cluster) &&
            (input.namespace === undefined || item.namespace === input.namespace) &&
            (input.policy === undefined || item.policy === input.policy),
        )
        .slice(-input.limit)
        .reverse()
        .map(({ seq, item }) => ({ id: seq, ...item })),
    ),

  live: viewerProcedure.input(liveInput).subscription(async function* ({ ctx, input, signal }) {
    const feed = ctx.deps.events;
    for await (const { seq, item } of liveItems(feed, input, signal)) {
      if (item.namespace !== null && !canSee(ctx.user, item.namespace)) continue;
      if (input.namespace !== undefined && item.namespace !== input.namespace) continue;
      if (ctx.clusterChosen && item.cluster !== ctx.deps.cluster) continue;
      if (input.policy !== undefined && item.policy !== input.policy) continue;
      yield tracked(String(seq), { id: seq, ...item });
    }
  }),
});
