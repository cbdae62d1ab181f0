'use client';
/**
 * Under the header on every page: each cluster Governor cannot reach, how long ago it last synced and why
 * not now. What the dashboard shows of that cluster is as of that sync. Gone once the cluster is back.
 */
import Link from 'next/link';
import { lastSyncedText, syncAgeNow } from '../../lib/clusters';
import { CLUSTERS } from '../../lib/routes';
import { useClusters, useNow } from './use-clusters';

export function ClusterBanner() {
  const clusters = useClusters();
  const now = useNow();
  const down = (clusters.data?.clusters ?? []).filter((c) => !c.reachable);
  return (
    <>
      {/* Announced once per change of the set of clusters down, not on every tick of the ages. */}
      <p role="status" className="sr-only">
        {down.length === 0 ? '' : `Unreachable: ${down.map((c) => `cluster ${c.name}`).join(', ')}`}
      </p>
      {down.length > 0 && (
        <section
          aria-label="Unreachable clusters"
          className="border-b border-red-200 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100"
        >
          <ul className="mx-auto max-w-7xl space-y-1 px-6 py-2 text-sm">
            {down.map((c) => (
              <li key={c.name}>
                <span className="font-medium">
                  Cluster {c.name} is unreachable —{' '}
                  {lastSyncedText(syncAgeNow(c.lastSuccessfulSyncAgeMs, clusters.dataUpdatedAt, now))}
                </span>
                {c.lastError && <span className="block text-xs break-words">{c.lastError}</span>}
              </li>
            ))}
          </ul>
          <p className="mx-auto max-w-7xl px-6 pb-2 text-xs">
            Every cluster&apos;s health is on the{' '}
            <Link href={CLUSTERS} className="underline">
              Clusters
            </Link>{' '}
            page.
          </p>
        </section>
      )}
    </>
  );
}
