/**
 * The engine's decisions, live over SSE, each item `tracked` by its feed sequence number (a reconnect
 * resumes without a gap). One cluster's: the one the input names, else the home cluster's.
 */
import { canSee, type User } from '../../auth/auth';
import { liveInput, liveItems, tracked, type LiveInput } from '../../api/inputs';
import { router, viewerProcedure } from '../../api/trpc';
import { productOf } from '../create-api';

/** Whether `user` may see decisions of `d`'s namespace and the subscription's filters keep them. */
const kept = (
  user: User,
  input: LiveInput,
  d: { namespace: string; service: string; policy: string | null },
) =>
  canSee(user, d.namespace) &&
  (input.namespace === undefined || d.namespace === input.namespace) &&
  (input.service === undefined || d.service === input.service) &&
  (input.policy === undefined || d.policy === input.policy);

export const decisionsRouter = router({
  /** Per-second counts per service and descriptor (allowed, limited, shadow, quota), one item per second. */
  seconds: viewerProcedure.input(liveInput).subscription(async function* ({ ctx, input, signal }) {
    const feed = productOf(ctx.deps).decisions?.seconds;
    if (!feed) return;
    for await (const { seq, item } of liveItems(feed, input, signal)) {
      const rows = item.rows.filter((r) => kept(ctx.user, input, r));
      yield tracked(String(seq), { cluster: ctx.deps.cluster, second: item.second, rows });
    }
  }),

  /** Raw decisions as the mesh makes them. */
  recent: viewerProcedure.input(liveInput).subscription(async function* ({ ctx, input, signal }) {
    const feed = productOf(ctx.deps).decisions?.recent;
    if (!feed) return;
    for await (const { seq, item } of liveItems(feed, input, signal)) {
      if (kept(ctx.user, input, item)) yield tracked(String(seq), { ...item, cluster: ctx.deps.cluster });
    }
  }),
});
