'use client';
/** The proxies subscribed to a service's route configurations: the version each has, accepted or refused. */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../../lib/trpc';
import { ruledLook, TableHead } from '../table';

export function Subscriptions({
  cluster,
  routeConfigs,
}: {
  cluster: string;
  routeConfigs: readonly string[];
}) {
  const trpc = useTRPC();
  const subs = useQuery({
    ...trpc.metarouter.subscriptions.queryOptions({ cluster }),
    refetchInterval: 2_000,
  });
  const rows = (subs.data ?? []).filter((r) => routeConfigs.includes(r.routeConfig));
  return (
    <section aria-labelledby="mr-subs-heading" className="space-y-2">
      <h4 id="mr-subs-heading" className="font-medium">
        Proxies subscribed to {routeConfigs.join(', ')}
      </h4>
      {subs.isError && <p role="alert">Could not load the subscriptions: {subs.error.message}</p>}
      {subs.isPending ? (
        <p role="status">Loading the subscriptions…</p>
      ) : rows.length === 0 ? (
        <p className="text-sm">No proxy has subscribed yet.</p>
      ) : (
        <div className="overflow-x-auto">
          <table aria-label="Subscribed proxies" className="w-full text-left text-sm">
            <TableHead
              look={ruledLook}
              columns={['Proxy', 'Route configuration', 'Version', 'Answer', 'Accepted version']}
            />
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.routeConfig}|${r.node}`} className={ruledLook.row}>
                  <th scope="row" className={`${ruledLook.cell} font-mono text-xs font-normal`}>
                    {r.node}
                    {r.envoyCluster && (
                      <span className="block text-slate-600 dark:text-slate-400">{r.envoyCluster}</span>
                    )}
                  </th>
                  <td className={`${ruledLook.cell} font-mono text-xs`}>{r.routeConfig}</td>
                  <td className={ruledLook.cell}>{r.version}</td>
                  <td className={ruledLook.cell}>
                    {r.acked ? (
                      'ACK'
                    ) : r.error ? (
                      <span className="text-red-700 dark:text-red-400">NACK: {r.error}</span>
                    ) : (
                      'waiting'
                    )}
                  </td>
                  <td className={ruledLook.cell}>{r.ackedVersion ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
