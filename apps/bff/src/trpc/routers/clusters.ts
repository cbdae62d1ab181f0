/** The clusters Governor manages: each one's reachability, versions and modules; an embedded outage. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { mutationProcedure, router, viewerProcedure } from '../../api/trpc';
import type { ApiDeps } from '../../api/deps';
import type { FleetMember } from '../../fleet/members';
import { productOf } from '../create-api';

const ageMs = (at: string | null, now: number): number | null =>
  at === null ? null : Math.max(0, now - Date.parse(at));

function row(deps: ApiDeps, member: FleetMember | undefined, now: number) {
  const { governor } = productOf(deps);
  const plane = governor.controlPlane.health();
  // A cluster the fleet does not list (one store alone) is as reachable as its informers are.
  const health = member?.health ?? {
    reachable: plane.storeError === undefined && plane.informers.every((i) => i.connected),
    lastSuccessfulSync: null,
    lastProbe: null,
    lastError: plane.storeError ?? null,
    apiServerVersion: null,
    istioVersion: null,
    governorCrds: { installed: [], missing: [] },
  };
  return {
    name: deps.cluster,
    home: deps.cluster === deps.fleet.home,
    kind: member?.kind ?? (deps.mode === 'embedded' ? ('embedded' as const) : ('kubernetes' as const)),
    server: member?.server ?? null,
    reachable: health.reachable,
    lastSuccessfulSync: health.lastSuccessfulSync,
    lastSuccessfulSyncAgeMs: ageMs(health.lastSuccessfulSync, now),
    lastError: health.lastError,
    apiServerVersion: health.apiServerVersion,
    istioVersion: health.istioVersion,
    governorCrds: {
      installed: [...health.governorCrds.installed],
      missing: [...health.governorCrds.missing],
    },
    modules: [...governor.modules.keys()],
    leader: plane.leader,
    canSimulateOutage: member?.simulateOutage !== undefined,
  };
}

export const clustersRouter = router({
  list: viewerProcedure.query(({ ctx }) => {
    const now = Date.now();
    const members = new Map(ctx.deps.fleet.members().map((m) => [m.name, m]));
    return {
      home: ctx.deps.fleet.home,
      clusters: ctx.deps.fleet.clusters().map((deps) => row(deps, members.get(deps.cluster), now)),
    };
  }),

  /** Takes an embedded cluster down (or back up), as a real cluster's outage would: for demos and tests. */
  simulateOutage: mutationProcedure('admin')
    // `cluster` (required here) chooses the cluster, as for every procedure.
    .input(z.strictObject({ down: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const name = ctx.deps.cluster;
      if (!ctx.clusterChosen)
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: 'cluster: name the cluster to take down or restore',
        });
      const member = ctx.deps.fleet.members().find((m) => m.name === name);
      if (!member?.simulateOutage)
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `cluster ${name} is not an embedded cluster: only an embedded cluster's outage can be simulated`,
        });
      member.simulateOutage(input.down);
      await ctx.deps.audit.record({
        user: ctx.user.name,
        action: 'outage',
        cluster: name,
        detail: input.down ? 'simulated outage began' : 'simulated outage ended',
      });
      return { name, reachable: !input.down };
    }),
});
