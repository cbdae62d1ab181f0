/** One connection manager's HTTP filters in the order Envoy runs them, each with who put it there. */
import type { FilterChain } from './types';

const DIRECTION: Record<string, string> = { inbound: 'Inbound', outbound: 'Outbound', gateway: 'Gateway' };

/** `Inbound port 9080`, `Inbound catch-all`. */
export function chainTitle(c: FilterChain): string {
  return `${DIRECTION[c.direction] ?? c.direction} ${c.port !== undefined ? `port ${c.port}` : 'catch-all'}`;
}

function source(by: FilterChain['filters'][number]['by']): string {
  if (by === 'istio') return 'Istio';
  return `${by.owner ?? 'EnvoyFilter'} (EnvoyFilter ${by.envoyFilter}, patch ${by.patch})`;
}

export function ChainTable({ chain, workload }: { chain: FilterChain; workload: string }) {
  const title = chainTitle(chain);
  return (
    <table className="w-full text-sm" data-chain={`${chain.direction}-${chain.port ?? 'any'}`}>
      <caption className="text-left font-medium">
        {title} HTTP filters of {workload}
        <span className="ml-2 text-xs font-normal text-slate-700 dark:text-slate-300">
          listener {chain.listener}
          {chain.routeConfiguration ? `, routes ${chain.routeConfiguration}` : ''}
        </span>
      </caption>
      <thead className="text-left">
        <tr>
          <th scope="col" className="w-10 pr-3 font-medium">
            #
          </th>
          <th scope="col" className="pr-3 font-medium">
            Filter
          </th>
          <th scope="col" className="pr-3 font-medium">
            Put there by
          </th>
        </tr>
      </thead>
      <tbody>
        {chain.filters.map((f, i) => (
          <tr key={i} className="border-t border-slate-100 dark:border-slate-800">
            <td className="pr-3">{i + 1}</td>
            <th scope="row" className="pr-3 text-left font-normal">
              <code>{f.name}</code>
              {f.disabled && (
                <span className="ml-2 text-xs text-amber-700 dark:text-amber-400">(disabled)</span>
              )}
            </th>
            <td className={`pr-3 ${f.by === 'istio' ? '' : 'text-indigo-700 dark:text-indigo-300'}`}>
              {source(f.by)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
