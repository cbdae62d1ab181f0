'use client';
/** Every service with its live traffic, the policies that apply and their health; filter, search, sort. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useMemo } from 'react';
import { useClusterFilter } from '../lib/cluster-filter';
import { objectKey } from '../lib/clusters';
import { limiterEditPath, servicePath } from '../lib/routes';
import { useTRPC } from '../lib/trpc';
import { ClusterFilterSelect } from './clusters/cluster-filter';
import { ratesByService, useLiveSeconds } from './live-rates';
import { ListTable, listLook } from './table';
import { Topology } from './topology';

const fmt = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined ? '—' : n.toFixed(digits);

type SortKey = 'name' | 'rps' | 'limited' | 'errors' | 'p99' | 'cpu';
const columns: { key: SortKey | null; label: string }[] = [
  { key: 'name', label: 'Service' },
  { key: null, label: 'Cluster' },
  { key: null, label: 'Pods' },
  { key: 'rps', label: 'Requests/s' },
  { key: 'limited', label: 'Limited/s' },
  { key: 'errors', label: 'Errors/s' },
  { key: 'p99', label: 'p99 (ms)' },
  { key: 'cpu', label: 'CPU %' },
  { key: null, label: 'Policies' },
];

export function Overview() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const queryClient = useQueryClient();
  const namespace = params.get('ns') ?? '';
  const search = params.get('q') ?? '';
  const sort = (params.get('sort') as SortKey | null) ?? 'name';
  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value === '') next.delete(key);
    else next.set(key, value);
    router.replace(`${pathname}?${next.toString()}`, { scroll: false });
  };

  const { input: clusterInput } = useClusterFilter();

  const namespaces = useQuery(trpc.cluster.namespaces.queryOptions());
  const servicesInput = namespace ? { ...clusterInput, namespace } : clusterInput;
  const services = useQuery(trpc.services.list.queryOptions(servicesInput));
  const live = useLiveSeconds(servicesInput, 30);
  // Live seconds are one cluster's (the chosen one, else home); other clusters' rows show the list's rates.
  const rates = useMemo(() => ratesByService(live.seconds), [live.seconds]);
  // p99 and CPU come with the service list: refresh it as live seconds arrive, every fifth.
  const tick = live.seconds.at(-1)?.second ?? 0;
  useEffect(() => {
    if (tick % 5 === 0 && tick > 0) void queryClient.invalidateQueries({ queryKey: trpc.services.pathKey() });
  }, [tick, queryClient, trpc]);

  const rows = useMemo(() => {
    const list = (services.data ?? [])
      .filter((s) => search === '' || s.name.includes(search.toLowerCase()))
      .map((s) => {
        const r = rates.get(objectKey(s));
        return {
          ...s,
          liveRps: r ? r.allowed + r.limited : s.rps,
          liveLimited: r ? r.limited : s.limitedRps,
        };
      });
    const by: Record<SortKey, (a: (typeof list)[number], b: (typeof list)[number]) => number> = {
      name: (a, b) =>
        `${a.namespace}/${a.name}/${a.cluster}`.localeCompare(`${b.namespace}/${b.name}/${b.cluster}`),
      rps: (a, b) => b.liveRps - a.liveRps,
      limited: (a, b) => b.liveLimited - a.liveLimited,
      errors: (a, b) => (b.errorRps ?? -1) - (a.errorRps ?? -1),
      p99: (a, b) => (b.p99Ms ?? -1) - (a.p99Ms ?? -1),
      cpu: (a, b) => (b.cpuPercent ?? -1) - (a.cpuPercent ?? -1),
    };
    return list.sort(by[sort] ?? by.name);
  }, [services.data, rates, search, sort]);

  const totals = rows.reduce(
    (t, r) => ({
      rps: t.rps + r.liveRps,
      limited: t.limited + r.liveLimited,
      policies: t.policies + r.policies.length,
    }),
    { rps: 0, limited: 0, policies: 0 },
  );

  return (
    <div className="space-y-8">
      <section aria-labelledby="services-heading" className="space-y-4">
        <h2 id="services-heading" className="text-lg font-semibold">
          Services
        </h2>
        <dl aria-label="Totals" className="grid grid-cols-2 gap-3 sm:grid-cols-4">
          {[
            ['Services', String(rows.length)],
            ['Requests/s', fmt(totals.rps)],
            ['Limited/s', fmt(totals.limited)],
            ['Policies', String(totals.policies)],
          ].map(([label, value]) => (
            <div
              key={label}
              className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900"
            >
              <dt className="text-xs text-slate-600 dark:text-slate-400">{label}</dt>
              <dd className="text-xl font-semibold tabular-nums">{value}</dd>
            </div>
          ))}
        </dl>
        <div className="flex flex-wrap items-end gap-3">
          <ClusterFilterSelect />
          <label className="text-sm">
            <span className="block text-slate-600 dark:text-slate-400">Namespace</span>
            <select
              value={namespace}
              onChange={(e) => setParam('ns', e.target.value)}
              className="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-900"
            >
              <option value="">All namespaces</option>
              {(namespaces.data ?? []).map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
          <label className="text-sm">
            <span className="block text-slate-600 dark:text-slate-400">Search</span>
            <input
              type="search"
              value={search}
              onChange={(e) => setParam('q', e.target.value)}
              placeholder="service name"
              className="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-900"
            />
          </label>
          <p className="text-xs text-slate-600 dark:text-slate-400" role="status">
            {live.status === 'connecting' || live.status === 'idle'
              ? 'Connecting to live traffic…'
              : live.status === 'error'
                ? `Live traffic unavailable: ${live.error?.message ?? 'error'}`
                : `Live: ${live.seconds.length > 0 ? 'updated every second' : 'waiting for the first second'}`}
          </p>
        </div>
        {services.isPending ? (
          <p role="status">Loading services…</p>
        ) : services.isError ? (
          <p role="alert">Could not load the services: {services.error.message}</p>
        ) : rows.length === 0 ? (
          <p>No services match. {search !== '' && 'Clear the search to see them all.'}</p>
        ) : (
          <ListTable
            caption="Services with live traffic"
            head={
              <thead className={listLook.head}>
                <tr>
                  {columns.map((c) => (
                    <th
                      key={c.label}
                      scope="col"
                      className={listLook.heading}
                      aria-sort={c.key === sort ? (c.key === 'name' ? 'ascending' : 'descending') : undefined}
                    >
                      {c.key ? (
                        <button
                          type="button"
                          onClick={() => setParam('sort', c.key === 'name' ? '' : c.key!)}
                          className="underline-offset-2 hover:underline"
                        >
                          {c.label}
                        </button>
                      ) : (
                        c.label
                      )}
                    </th>
                  ))}
                </tr>
              </thead>
            }
          >
            {rows.map((s) => (
              <tr key={objectKey(s)} className={listLook.row}>
                <th scope="row" className={`${listLook.cell} text-left font-medium`}>
                  <Link
                    href={servicePath(s)}
                    className="text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300"
                  >
                    {s.name}
                  </Link>{' '}
                  <span className="ml-1 text-xs text-slate-500 dark:text-slate-400">{s.namespace}</span>
                </th>
                <td className={listLook.cell} data-column="cluster">
                  {s.cluster}
                </td>
                <td className={`${listLook.cell} tabular-nums`}>{s.pods}</td>
                <td className={`${listLook.cell} tabular-nums`} data-column="rps">
                  {fmt(s.liveRps)}
                </td>
                <td className={`${listLook.cell} tabular-nums`} data-column="limited">
                  {fmt(s.liveLimited)}
                </td>
                <td className={`${listLook.cell} tabular-nums`} data-column="errors">
                  {fmt(s.errorRps)}
                </td>
                <td className={`${listLook.cell} tabular-nums`}>{fmt(s.p99Ms, 0)}</td>
                <td className={`${listLook.cell} tabular-nums`}>{fmt(s.cpuPercent, 0)}</td>
                <td className={listLook.cell}>
                  <ul className="flex flex-wrap gap-1">
                    {s.policies.map((p) => (
                      <li key={p.name}>
                        <Link
                          href={limiterEditPath({
                            cluster: s.cluster,
                            namespace: s.namespace,
                            name: p.name,
                          })}
                          title={p.message ?? undefined}
                          className={`rounded-full px-2 py-0.5 text-xs ${p.ready ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100' : 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100'}`}
                        >
                          {p.name}
                          <span className="sr-only">{p.ready ? ' (ready)' : ' (not ready)'}</span>
                        </Link>
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </ListTable>
        )}
      </section>
      <Topology {...(namespace ? { namespace } : {})} services={services.data ?? []} />
    </div>
  );
}
