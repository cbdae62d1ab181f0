'use client';
/** The cluster filter's control: every cluster, or one. The choice lives in the URL (`?cluster=`). */
import { useClusterFilter } from '../../lib/cluster-filter';
import { useClusters } from './use-clusters';

export function ClusterFilterSelect({ reset }: { reset?: readonly string[] }) {
  const { cluster, setCluster } = useClusterFilter();
  const clusters = useClusters();
  const names = (clusters.data?.clusters ?? []).map((c) => ({
    name: c.name,
    label: `${c.name}${c.home ? ' (home)' : ''}${c.reachable ? '' : ' (unreachable)'}`,
  }));
  // A cluster named in the URL stays a choice even before the list arrives, or if it is not known.
  if (cluster && !names.some((n) => n.name === cluster)) names.push({ name: cluster, label: cluster });
  return (
    <label className="text-sm">
      <span className="block text-slate-600 dark:text-slate-400">Cluster</span>
      <select
        value={cluster ?? ''}
        onChange={(e) => setCluster(e.target.value || undefined, reset)}
        className="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-900"
      >
        <option value="">All clusters</option>
        {names.map((n) => (
          <option key={n.name} value={n.name}>
            {n.label}
          </option>
        ))}
      </select>
    </label>
  );
}
