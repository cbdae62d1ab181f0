'use client';
/** The Clusters page: every cluster Governor manages, whether it can reach it, what runs there. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { formatAge, syncAgeNow } from '../../lib/clusters';
import { useTRPC } from '../../lib/trpc';
import { button } from '../limiter/styles';
import { ListTable, listLook } from '../table';
import { useClusters, useNow } from './use-clusters';

const columns = [
  'Cluster',
  'Kind',
  'Server',
  'Reachable',
  'Last sync',
  'API server',
  'Istio',
  'Governor CRDs',
  'Modules',
];
const cell = `${listLook.cell} align-top`;

function OutageButton({ cluster, down }: { cluster: string; down: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const simulate = useMutation(
    trpc.clusters.simulateOutage.mutationOptions({
      // Every page's data may change with a cluster going or coming back.
      onSuccess: () => queryClient.invalidateQueries(),
    }),
  );
  return (
    <>
      <button
        type="button"
        className={`${button} whitespace-nowrap`}
        disabled={simulate.isPending}
        onClick={() => simulate.mutate({ cluster, down: !down })}
      >
        {down ? 'Restore' : 'Simulate outage'}
        <span className="sr-only"> of {cluster}</span>
      </button>
      {simulate.isError && (
        <p role="alert" className="mt-1 text-xs text-red-700 dark:text-red-400">
          {simulate.error.message}
        </p>
      )}
    </>
  );
}

export function ClustersView() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const clusters = useClusters();
  const now = useNow();
  const isAdmin = me.data?.role === 'admin';
  const list = clusters.data?.clusters ?? [];
  const outageControls = isAdmin && list.some((c) => c.canSimulateOutage);

  return (
    <section aria-labelledby="clusters-heading" className="space-y-4">
      <div className="space-y-1">
        <h2 id="clusters-heading" className="text-lg font-semibold">
          Clusters
        </h2>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          The Kubernetes clusters Governor manages, each watched on its own: the home cluster, whose policies
          can be fanned out to the others, and its members. A cluster Governor cannot reach is named in a
          banner on every page until it is back.
        </p>
        {outageControls && (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            <strong className="font-medium">Simulate outage</strong> makes an embedded cluster&apos;s API
            unreachable, as if the cluster went down: Governor stops syncing it and its last sync stays where
            it was. <strong className="font-medium">Restore</strong> brings it back.
          </p>
        )}
      </div>
      {clusters.isPending ? (
        <p role="status">Loading clusters…</p>
      ) : clusters.isError ? (
        <p role="alert">Could not load the clusters: {clusters.error.message}</p>
      ) : (
        <ListTable caption="Clusters" columns={outageControls ? [...columns, 'Outage'] : columns}>
          {list.map((c) => (
            <tr key={c.name} className={listLook.row}>
              <th scope="row" className={`${cell} text-left font-medium whitespace-nowrap`}>
                {c.name}
                {c.home && ' '}
                {c.home && (
                  <span className="ml-2 rounded-full bg-indigo-100 px-2 py-0.5 text-xs font-normal text-indigo-900 dark:bg-indigo-900 dark:text-indigo-100">
                    home
                  </span>
                )}
              </th>
              <td className={cell} data-column="kind">
                {c.kind}
              </td>
              <td className={`${cell} font-mono text-xs break-all`} data-column="server">
                {c.server ?? '—'}
              </td>
              <td className={cell} data-column="reachable">
                {c.reachable ? (
                  <span className="text-emerald-700 dark:text-emerald-400">Yes</span>
                ) : (
                  <span className="font-medium text-red-700 dark:text-red-400">No</span>
                )}
                {c.lastError && (
                  <span className="block text-xs break-words text-slate-600 dark:text-slate-400">
                    {c.lastError}
                  </span>
                )}
              </td>
              <td
                className={`${cell} whitespace-nowrap`}
                data-column="last-sync"
                title={c.lastSuccessfulSync ? new Date(c.lastSuccessfulSync).toLocaleString() : undefined}
              >
                {c.lastSuccessfulSyncAgeMs === null
                  ? 'never'
                  : formatAge(syncAgeNow(c.lastSuccessfulSyncAgeMs, clusters.dataUpdatedAt, now) ?? 0)}
              </td>
              <td className={cell} data-column="api-server">
                {c.apiServerVersion ?? '—'}
              </td>
              <td className={cell} data-column="istio">
                {c.istioVersion ?? '—'}
              </td>
              <td className={cell} data-column="crds">
                {c.governorCrds.missing.length === 0 ? (
                  `all ${c.governorCrds.installed.length} installed`
                ) : (
                  <>
                    {c.governorCrds.installed.length} installed;{' '}
                    <span className="text-amber-700 dark:text-amber-400">
                      missing {c.governorCrds.missing.join(', ')}
                    </span>
                  </>
                )}
              </td>
              <td className={cell} data-column="modules">
                {c.modules.length === 0 ? '—' : c.modules.join(', ')}
              </td>
              {outageControls && (
                <td className={cell}>
                  {c.canSimulateOutage ? <OutageButton cluster={c.name} down={!c.reachable} /> : '—'}
                </td>
              )}
            </tr>
          ))}
        </ListTable>
      )}
    </section>
  );
}
