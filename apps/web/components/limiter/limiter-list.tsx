'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useClusterFilter } from '../../lib/cluster-filter';
import { objectKey } from '../../lib/clusters';
import { limiterEditPath } from '../../lib/routes';
import { useTRPC } from '../../lib/trpc';
import { ClusterFilterSelect } from '../clusters/cluster-filter';

export function LimiterList() {
  const trpc = useTRPC();
  const { cluster, input } = useClusterFilter();
  const policies = useQuery(trpc.policies.list.queryOptions(input));
  return (
    <section aria-labelledby="policies-heading" className="space-y-4">
      <div className="flex items-center justify-between">
        <h2 id="policies-heading" className="text-lg font-semibold">
          Policies
        </h2>
        <Link
          href={limiterEditPath({ cluster })}
          className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white"
        >
          New policy
        </Link>
      </div>
      <ClusterFilterSelect />
      {policies.isPending ? (
        <p role="status">Loading policies…</p>
      ) : policies.isError ? (
        <p role="alert">Could not load the policies: {policies.error.message}</p>
      ) : policies.data.length === 0 ? (
        <p>
          No SmartLimiter {cluster ? `in cluster ${cluster} ` : ''}yet. Create one from a service's page or
          with “New policy”.
        </p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
          <table className="w-full text-sm">
            <caption className="sr-only">SmartLimiters</caption>
            <thead className="bg-slate-50 text-left dark:bg-slate-800">
              <tr>
                {['Policy', 'Cluster', 'Sets', 'Status', 'EnvoyFilters', 'Last change'].map((h) => (
                  <th key={h} scope="col" className="px-3 py-2 font-medium">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {policies.data.map((p) => {
                const ready = p.conditions.find((c) => c.type === 'Ready');
                return (
                  <tr key={objectKey(p)} className="border-t border-slate-100 dark:border-slate-800">
                    <th scope="row" className="px-3 py-2 text-left">
                      <Link
                        href={limiterEditPath({ cluster: p.cluster, namespace: p.namespace, name: p.name })}
                        className="font-medium text-indigo-700 underline dark:text-indigo-300"
                      >
                        {p.name}
                      </Link>
                      <span className="ml-1 text-xs text-slate-500 dark:text-slate-400">{p.namespace}</span>
                    </th>
                    <td className="px-3 py-2" data-column="cluster">
                      {p.cluster}
                    </td>
                    <td className="px-3 py-2">{p.sets.join(', ')}</td>
                    <td className="px-3 py-2">
                      {ready?.status === 'True' ? (
                        <span className="text-emerald-700 dark:text-emerald-400">Ready</span>
                      ) : (
                        <span className="text-amber-700 dark:text-amber-400">
                          {ready ? `Not ready: ${ready.message ?? ready.reason}` : 'Pending'}
                        </span>
                      )}
                    </td>
                    <td className="px-3 py-2">{p.envoyFilters.length}</td>
                    <td className="px-3 py-2 text-xs">
                      {p.lastChange
                        ? `${p.lastChange.action} by ${p.lastChange.user}, ${new Date(p.lastChange.at).toLocaleString()}`
                        : '—'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
