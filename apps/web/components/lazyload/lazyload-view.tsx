'use client';
/** Lazy loading: every workload, fenced or not, what its Sidecar lets it reach and why; enable a fence. */
import { useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useClusterFilter } from '../../lib/cluster-filter';
import { findByKey } from '../../lib/clusters';
import { useTRPC } from '../../lib/trpc';
import { ClusterFilterSelect } from '../clusters/cluster-filter';
import { useClusters } from '../clusters/use-clusters';
import { WorkloadDetail } from './workload-detail';
import { WorkloadTable } from './workload-table';

export function LazyloadView() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const { cluster, input } = useClusterFilter();
  const workloads = useQuery({ ...trpc.lazyload.workloads.queryOptions(input), refetchInterval: 3_000 });
  const selectedKey = params.get('workload');
  const select = (key: string) => {
    const next = new URLSearchParams(params);
    next.set('workload', key);
    router.replace(`${pathname}?${next.toString()}`, { scroll: false });
  };
  const home = useClusters().data?.home;
  const selected = findByKey(workloads.data, selectedKey, cluster ?? home);

  return (
    <div className="space-y-8">
      <section aria-labelledby="workloads-heading" className="space-y-4">
        <div>
          <h2 id="workloads-heading" className="text-lg font-semibold">
            Lazy loading
          </h2>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            A fenced workload&apos;s Sidecar lists only the services it needs, so its proxy loads fewer
            clusters and routes. Calls to anything else go through the fallback, and are learned.
          </p>
        </div>
        <ClusterFilterSelect reset={['workload']} />
        {workloads.isPending ? (
          <p role="status">Loading workloads…</p>
        ) : workloads.isError ? (
          <p role="alert">Could not load the workloads: {workloads.error.message}</p>
        ) : workloads.data.length === 0 ? (
          <p>No workload (a Service with Pods) in the namespaces you may see.</p>
        ) : (
          <WorkloadTable workloads={workloads.data} selected={selectedKey} onSelect={select} />
        )}
      </section>
      {selected && <WorkloadDetail key={selectedKey} workload={selected} />}
      {selectedKey && workloads.data && !selected && (
        <p role="alert">No workload {selectedKey} among those you may see.</p>
      )}
    </div>
  );
}
