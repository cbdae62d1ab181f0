/** The control plane's and its dependencies' health, and the namespaces the user may see. */
import { redactCredentials } from '../../redact';
import { canSee } from '../../auth/auth';
import { router, viewerProcedure } from '../../api/trpc';
import { listedClusters } from '../../api/clusters';
import { productOf } from '../create-api';

export const clusterRouter = router({
  health: viewerProcedure.query(({ ctx }) => {
    const { governor, rls } = productOf(ctx.deps);
    const plane = governor.controlPlane.health();
    const prom = governor.prometheus;
    const metrics = prom
      ? { source: 'prometheus' as const, url: redactCredentials(prom.url), ...prom.source.health() }
      : governor.mesh
        ? { source: 'embedded mesh' as const, available: true }
        : { source: 'pushed values only' as const, available: true };
    return {
      mode: ctx.deps.mode,
      store: {
        description: plane.store,
        connected: plane.storeError === undefined && plane.informers.every((i) => i.connected),
        error: plane.storeError ?? null,
      },
      leader: plane.leader,
      leaderElectionError: plane.leaderElectionError ?? null,
      informers: plane.informers,
      queue: plane.queue,
      metrics,
      redis: rls
        ? (() => {
            const h = rls.health();
            return h.store === 'redis'
              ? { configured: true, connected: h.connected, lastError: h.lastError }
              : { configured: false };
          })()
        : { configured: false },
      rls: rls ? { running: true, domain: rls.domain } : { running: false },
    };
  }),
  /** Every listed cluster's namespaces that the user may see. */
  namespaces: viewerProcedure.query(({ ctx }) => {
    const names = new Set<string>();
    for (const deps of listedClusters(ctx)) {
      const snapshot = productOf(deps).governor.controlPlane.snapshot;
      for (const o of [...snapshot.list('Service'), ...snapshot.list('SmartLimiter')])
        names.add(o.metadata.namespace ?? 'default');
    }
    return [...names].filter((n) => canSee(ctx.user, n)).sort();
  }),
});
