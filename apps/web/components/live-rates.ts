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
  readonly second: number;
  readonly rows: readonly SecondRow[];
}

/** The last `keep` seconds of decisions, filtered as given; updated as each second completes. */
export function useLiveSeconds(
  filter: { namespace?: string; service?: string; policy?: string } = {},
  keep = 300,
) {
  const trpc = useTRPC();
  const [seconds, setSeconds] = useState<Second[]>([]);
  const sub = useSubscription(
    trpc.decisions.seconds.subscriptionOptions(
      { ...filter, backfill: keep },
      {
        onData: (d) =>
          setSeconds((prev) => {
            const next = prev.length > 0 && prev.at(-1)!.second >= d.data.second ? prev : [...prev, d.data];
            return next.length > keep ? next.slice(next.length - keep) : next;
          }),
      },
    ),
  );
  return { seconds, status: sub.status, error: sub.error };
}

/** Per service `namespace/name`: allowed and limited per second, averaged over the last `window` seconds. */
export function ratesByService(
  seconds: readonly Second[],
  window = 5,
): Map<string, { allowed: number; limited: number }> {
  const recent = seconds.slice(-window);
  const out = new Map<string, { allowed: number; limited: number }>();
  for (const s of recent)
    for (const r of s.rows) {
      const k = `${r.namespace}/${r.service}`;
      const e = out.get(k) ?? { allowed: 0, limited: 0 };
      e.allowed += r.allowed / recent.length;
      e.limited += r.limited / recent.length;
      out.set(k, e);
    }
  return out;
}
