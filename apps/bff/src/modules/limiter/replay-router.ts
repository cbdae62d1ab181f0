/** What-if replays: a SmartLimiter over a trace, or over the recent traffic of its service. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { parsePolicy } from './policy-input';
import {
  parseTraceInSlices,
  replayInSlices,
  TraceTooLarge,
  TRACE_LIMITS,
  type ParsedTrace,
  type TraceLine,
} from './replay/replay';
import { type User } from '../../auth/auth';
import { limiterOf } from './service';
import { requireRole, router, viewerProcedure, type Context } from '../../api/trpc';

/** How long one what-if replay may take; it lets other requests run every few milliseconds meanwhile. */
const REPLAY_BUDGET_MS = 5_000;
/** Replays running at once; more are refused (they share the BFF's one thread). */
const MAX_CONCURRENT_REPLAYS = 2;

export const replayRouter = router({
  /**
   * What a policy would have done: the trace given (JSON lines, as `governor replay --trace`), or the
   * recent traffic of the policy's service in the simulated mesh, through the same engine path.
   */
  run: viewerProcedure
    .input(
      z.strictObject({
        policy: z.string().max(256 * 1024),
        trace: z.string().max(TRACE_LIMITS.bytes).optional(),
        /** Without a trace: the last this-many seconds of recorded traffic. */
        recentSeconds: z.number().int().min(1).max(300).default(60),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      // Counted per running Governor (its limiter service), not per process.
      const service = limiterOf(ctx.deps.modules);
      if (service.replaysRunning >= MAX_CONCURRENT_REPLAYS)
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `${MAX_CONCURRENT_REPLAYS} replays are running already: try again when one has finished`,
        });
      service.replaysRunning++;
      try {
        return await whatIf(ctx, input);
      } finally {
        service.replaysRunning--;
      }
    }),
});

type ViewerContext = Context & { readonly user: User };

/** The first problems of a trace, so that a trace of bad lines does not make an answer as large as itself. */
function firstFew(problems: string[], count = 20): string[] {
  return problems.length <= count
    ? problems
    : [...problems.slice(0, count), `and ${problems.length - count} more lines`];
}

/** The replay of `replay.run`: the policy rendered with the cluster's context, over the trace or the traffic. */
async function whatIf(
  ctx: ViewerContext,
  input: { policy: string; trace?: string | undefined; recentSeconds: number },
) {
  const parsed = parsePolicy({ yaml: input.policy });
  if (!parsed.limiter)
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: parsed.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '),
    });
  const limiter = parsed.limiter;
  requireRole(ctx.user, 'viewer', limiter.metadata.namespace);
  const service = limiterOf(ctx.deps.modules);
  const context = service.contextFor(limiter.metadata.namespace);
  const result = service.render(limiter);
  let lines: TraceLine[];
  let lineNumbers: number[] | undefined;
  if (input.trace !== undefined) {
    let t: ParsedTrace;
    try {
      t = await parseTraceInSlices(input.trace);
    } catch (e) {
      if (e instanceof TraceTooLarge) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: e.message });
      throw e;
    }
    if (t.problems.length > 0)
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: firstFew(t.problems.map((p) => `line ${p.line}: ${p.message}`)).join('; '),
      });
    lines = t.lines;
    lineNumbers = t.lineNumbers;
  } else {
    const recentRequests = ctx.deps.recentRequests;
    if (!recentRequests)
      throw new TRPCError({
        code: 'PRECONDITION_FAILED',
        message: 'no recorded traffic here: upload a trace',
      });
    const svc = context.services.find((s) => s.metadata.name === limiter.metadata.name);
    const port = svc?.spec.ports?.[0]?.port ?? 80;
    const recorded = recentRequests(limiter.metadata.namespace, limiter.metadata.name);
    const last = recorded.at(-1)?.t ?? 0;
    const from = last - input.recentSeconds * 1000;
    lines = recorded
      .filter((d) => d.t > from)
      .map((d) => ({
        t: d.t - from,
        service: d.service,
        namespace: d.namespace,
        port,
        pod: d.pod,
        headers: { 'x-user': d.user },
      }));
  }
  const r = await replayInSlices(
    { rules: result.rules, context, trace: lines, ...(lineNumbers ? { lineNumbers } : {}) },
    { budget: { ms: REPLAY_BUDGET_MS } },
  );
  const perSecond = new Map<number, { allowed: number; limited: number }>();
  for (const d of r.decisions) {
    const s = Math.floor(d.t / 1000);
    const e = perSecond.get(s) ?? { allowed: 0, limited: 0 };
    if (d.allowed) e.allowed++;
    else e.limited++;
    perSecond.set(s, e);
  }
  return {
    problems: [
      ...result.problems.map((p) => `${p.path}: ${p.message}`),
      ...firstFew(r.problems.map((p) => `line ${p.line}: ${p.message}`)),
      ...(r.truncated
        ? [
            `stopped after ${REPLAY_BUDGET_MS / 1000} s: ${r.truncated.decided} of ${r.truncated.of} requests replayed (the earliest); replay a shorter trace for all of them`,
          ]
        : []),
    ],
    truncated: r.truncated,
    summary: r.summary,
    seconds: [...perSecond.entries()].sort(([a], [b]) => a - b).map(([second, c]) => ({ second, ...c })),
  };
}
