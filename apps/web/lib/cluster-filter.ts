'use client';
/**
 * The cluster filter, kept in the URL as `?cluster=<name>` (absent: every cluster) so that a reload, a
 * shared link and the navigation keep it. Lists pass {@link ClusterFilter.input} to their queries.
 */
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback } from 'react';
import { CLUSTER_PARAM } from './routes';

export interface ClusterFilter {
  /** The cluster chosen; undefined: every cluster. */
  readonly cluster: string | undefined;
  /** What a list query adds to its input: `{ cluster }`, or nothing for every cluster. */
  readonly input: { cluster?: string };
  /** Chooses a cluster (undefined: every one), dropping the query parameters `reset` names. */
  readonly setCluster: (cluster: string | undefined, reset?: readonly string[]) => void;
}

export function useClusterFilter(): ClusterFilter {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const cluster = params.get(CLUSTER_PARAM) || undefined;
  const setCluster = useCallback(
    (next: string | undefined, reset: readonly string[] = []) => {
      const query = new URLSearchParams(params);
      for (const k of reset) query.delete(k);
      if (next) query.set(CLUSTER_PARAM, next);
      else query.delete(CLUSTER_PARAM);
      const q = query.toString();
      router.replace(q === '' ? pathname : `${pathname}?${q}`, { scroll: false });
    },
    [params, pathname, router],
  );
  return { cluster, input: cluster ? { cluster } : {}, setCluster };
}
