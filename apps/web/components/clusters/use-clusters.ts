'use client';
/** The clusters and their health, polled: the banner, the filter and the Clusters page share one query. */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTRPC } from '../../lib/trpc';

/** How often the clusters' health is asked for. */
export const CLUSTERS_POLL_MS = 5_000;

export function useClusters(enabled = true) {
  const trpc = useTRPC();
  return useQuery({ ...trpc.clusters.list.queryOptions(), refetchInterval: CLUSTERS_POLL_MS, enabled });
}

/** The time now, updated every `everyMs` while `ticking`: for ages that grow between polls. */
export function useNow(everyMs = 1_000, ticking = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs, ticking]);
  return now;
}
