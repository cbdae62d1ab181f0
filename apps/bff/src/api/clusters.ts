/** Lists across clusters: every cluster's rows, or the chosen cluster's, each row saying its cluster. */
import type { ApiDeps } from './deps';

/** The clusters a list covers: the one the input named, else every cluster. */
export function listedClusters(ctx: { deps: ApiDeps; clusterChosen?: boolean }): readonly ApiDeps[] {
  return ctx.clusterChosen ? [ctx.deps] : ctx.deps.fleet.clusters();
}

/** Each listed cluster's rows, in the fleet's order, with `cluster` set. */
export async function acrossClusters<T extends object>(
  ctx: { deps: ApiDeps; clusterChosen?: boolean },
  rows: (deps: ApiDeps) => readonly T[] | Promise<readonly T[]>,
): Promise<(T & { cluster: string })[]> {
  const parts = await Promise.all(
    listedClusters(ctx).map(async (deps) => (await rows(deps)).map((r) => ({ ...r, cluster: deps.cluster }))),
  );
  return parts.flat();
}
