/** The engine's decisions, live over SSE, each item `tracked` by its feed sequence number (a reconnect resumes without a gap). */
import { canSee } from '../../auth/auth';
import { liveInput, startOf, tracked } from '../inputs';
import { router, viewerProcedure } from '../trpc';

export const decisionsRouter = router({
  /** Per-second counts per service and descriptor (allowed, limited, shadow, quota), one item per second. */
  seconds: viewerProcedure.input(liveInput).subscription(async function* ({ ctx, input, signal }) {
    const feed = ctx.deps.decisions?.seconds;
    if (!feed) return;
    for await (const { seq, item } of feed.subscribe({
      afterSeq: startOf(feed, input),
      ...(signal ? { signal } : {}),
    })) {
      const rows = item.rows.filter(
        (r) =>
          canSee(ctx.user, r.namespace) &&
          (input.namespace === undefined || r.namespace === input.namespace) &&
          (input.service === undefined || r.service === input.service) &&
          (input.policy === undefined || r.policy === input.policy),
      );
      yield tracked(String(seq), { second: item.second, rows });
    }
  }),

  /** Raw decisions as the mesh makes them. */
  recent: viewerProcedure.input(liveInput).subscription(async function* ({ ctx, input, signal }) {
    const feed = ctx.deps.decisions?.recent;
    if (!feed) return;
    for await (const { seq, item } of feed.subscribe({
      afterSeq: startOf(feed, input),
      ...(signal ? { signal } : {}),
    })) {
      if (!canSee(ctx.user, item.namespace)) continue;
      if (input.namespace !== undefined && item.namespace !== input.namespace) continue;
      if (input.service !== undefined && item.service !== input.service) continue;
      if (input.policy !== undefined && item.policy !== input.policy) continue;
      yield tracked(String(seq), item);
    }
  }),
});
