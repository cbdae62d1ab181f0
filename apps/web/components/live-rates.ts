'use client';
/** Live per-service and per-descriptor rates from the decisions subscription (last few seconds). */
import { useSubscription } from '@trpc/tanstack-react-query';
import { useState } from 'react';
import { useTRPC } from '../lib/trpc';

export interface SecondRow {
  readonly namespace: string;
  readonly service: string;
  readonly policy: string | null;
  readonly ruleId: string | null;
  readonly allowed: number;
  readonly limited: number;
  readonly shadow: number;
  readonly quota: number | null;
}
export interface Second {
  /** The cluster whose decisions these are. */
  readonly cluster: string;
  readonly second: number;
  readonly rows: readonly SecondRow[];
}

const NONE: readonly Second[] = [];

/**
 * The last `keep` seconds of decisions, filtered as given; updated as each second completes. They are one
 * cluster's: the filter's, else the home cluster's.
 */
export function useLiveSeconds(
  filter: { cluster?: string; namespace?: string; service?: string; policy?: string } = {},
  keep = 300,
) {
  const trpc = useTRPC();
  // Seconds are kept with the filter they answer: another filter (another cluster) starts afresh.
  const key = JSON.stringify(filter);
  const [kept, setKept] = useState<{ key: string; seconds: Second[] }>({ key, seconds: [] });
  const sub = useSubscription(
    trpc.decisions.seconds.subscriptionOptions(
      { ...filter, backfill: keep },
      {
        onData: (d) =>
          setKept((state) => {
            const prev = state.key === key ? state.seconds : [];
            const next = prev.length > 0 && prev.at(-1)!.second >= d.data.second ? prev : [...prev, d.data];
            return { key, seconds: next.length > keep ? next.slice(next.length - keep) : next };
          }),
      },
    ),
  );
  const seconds = kept.key === key ? kept.seconds : NONE;
  return { seconds, status: sub.status, error: sub.error };
}

/** Per service `cluster/namespace/name`: allowed and limited per second, averaged over the last `window` seconds. */
export function ratesByService(
  seconds: readonly Second[],
  window = 5,
): Map<string, { allowed: number; limited: number }> {
  const recent = seconds.slice(-window);
  const out = new Map<string, { allowed: number; limited: number }>();
  for (const s of recent)
    for (const r of s.rows) {
      const k = `${s.cluster}/${r.namespace}/${r.service}`;
      const e = out.get(k) ?? { allowed: 0, limited: 0 };
      e.allowed += r.allowed / recent.length;
      e.limited += r.limited / recent.length;
      out.set(k, e);
    }
  return out;
}
