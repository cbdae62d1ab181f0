'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useClusterFilter } from '../../lib/cluster-filter';
import { objectKey } from '../../lib/clusters';
import { limiterEditPath } from '../../lib/routes';
import { useTRPC } from '../../lib/trpc';
import { ClusterFilterSelect } from '../clusters/cluster-filter';
import { ListTable, listLook } from '../table';

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
        <ListTable
          caption="SmartLimiters"
          columns={['Policy', 'Cluster', 'Sets', 'Status', 'EnvoyFilters', 'Last change']}
        >
          {policies.data.map((p) => {
            const ready = p.conditions.find((c) => c.type === 'Ready');
            return (
              <tr key={objectKey(p)} className={listLook.row}>
                <th scope="row" className={`${listLook.cell} text-left`}>
                  <Link
                    href={limiterEditPath({ cluster: p.cluster, namespace: p.namespace, name: p.name })}
                    className="font-medium text-indigo-700 underline dark:text-indigo-300"
                  >
                    {p.name}
                  </Link>
                  <span className="ml-1 text-xs text-slate-500 dark:text-slate-400">{p.namespace}</span>
                </th>
                <td className={listLook.cell} data-column="cluster">
                  {p.cluster}
                </td>
                <td className={listLook.cell}>{p.sets.join(', ')}</td>
                <td className={listLook.cell}>
                  {ready?.status === 'True' ? (
                    <span className="text-emerald-700 dark:text-emerald-400">Ready</span>
                  ) : (
                    <span className="text-amber-700 dark:text-amber-400">
                      {ready ? `Not ready: ${ready.message ?? ready.reason}` : 'Pending'}
                    </span>
                  )}
                </td>
                <td className={listLook.cell}>{p.envoyFilters.length}</td>
                <td className={`${listLook.cell} text-xs`}>
                  {p.lastChange
                    ? `${p.lastChange.action} by ${p.lastChange.user}, ${new Date(p.lastChange.at).toLocaleString()}`
                    : '—'}
                </td>
              </tr>
            );
          })}
        </ListTable>
      )}
    </section>
  );
}
