'use client';
/** A MetaProtocol service's calls by method and subset, as observed now, refreshed every 2 s. */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../../lib/trpc';
import { ruledLook, TableHead } from '../table';
import type { MethodRow } from './types';

const rate = (n: number) => (Math.round(n * 10) / 10).toString();

/** Calls per second by subset, and each one's share. */
function splitOf(rows: readonly MethodRow[]) {
  const bySubset = new Map<string, number>();
  for (const r of rows) bySubset.set(r.subset || '(none)', (bySubset.get(r.subset || '(none)') ?? 0) + r.rps);
  const total = [...bySubset.values()].reduce((a, b) => a + b, 0);
  return [...bySubset]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([subset, rps]) => ({ subset, rps, share: total > 0 ? (100 * rps) / total : 0 }));
}

export function LiveTraffic({ cluster, host }: { cluster: string; host: string }) {
  const trpc = useTRPC();
  const methods = useQuery({
    ...trpc.metarouter.methods.queryOptions({ cluster, host }),
    refetchInterval: 2_000,
  });
  if (methods.isPending) return <p role="status">Loading the calls…</p>;
  if (methods.isError) return <p role="alert">Could not load the calls: {methods.error.message}</p>;
  const rows = methods.data;
  const split = splitOf(rows);
  return (
    <div className="space-y-4">
      <section aria-labelledby="mr-methods-heading" className="space-y-2">
        <h4 id="mr-methods-heading" className="font-medium">
          Calls by method (live)
        </h4>
        {rows.length === 0 ? (
          <p className="text-sm">No calls observed lately.</p>
        ) : (
          <div className="overflow-x-auto">
            <table aria-label="Calls by method" className="w-full text-left text-sm">
              <TableHead
                look={ruledLook}
                columns={[
                  'Method',
                  'Route',
                  'Subset / cluster',
                  'Calls/s',
                  'Limited locally/s',
                  'Limited globally/s',
                  'Errors/s',
                  'Mirrored/s',
                ]}
              />
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.method}|${r.route}|${r.cluster}`} className={ruledLook.row}>
                    <th scope="row" className={`${ruledLook.cell} font-mono font-medium`}>
                      {r.method}
                    </th>
                    <td className={ruledLook.cell}>{r.route}</td>
                    <td className={ruledLook.cell}>
                      {r.subset || '—'}
                      <span className="block font-mono text-xs text-slate-600 dark:text-slate-400">
                        {r.cluster}
                      </span>
                    </td>
                    <td className={ruledLook.cell} data-column="rps">
                      {rate(r.rps)}
                    </td>
                    <td className={ruledLook.cell} data-column="local">
                      {rate(r.localLimitedRps)}
                    </td>
                    <td className={ruledLook.cell} data-column="global">
                      {rate(r.globalLimitedRps)}
                    </td>
                    <td
                      className={`${ruledLook.cell} ${r.errorRps > 0 ? 'text-red-700 dark:text-red-400' : ''}`}
                      data-column="errors"
                    >
                      {rate(r.errorRps)}
                    </td>
                    <td className={ruledLook.cell} data-column="mirrored">
                      {rate(r.mirroredRps)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {split.length > 0 && (
        <section aria-labelledby="mr-split-heading" className="space-y-2">
          <h4 id="mr-split-heading" className="font-medium">
            Traffic split by subset
          </h4>
          <ul aria-label="Traffic split by subset" className="space-y-1 text-sm">
            {split.map((s) => (
              <li key={s.subset} className="flex items-center gap-2">
                <span className="w-20 font-mono">{s.subset}</span>
                <span aria-hidden="true" className="h-3 w-48 rounded bg-slate-200 dark:bg-slate-700">
                  <span className="block h-3 rounded bg-indigo-500" style={{ width: `${s.share}%` }} />
                </span>
                <span>
                  {Math.round(s.share)}% ({rate(s.rps)}/s)
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
