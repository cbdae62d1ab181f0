'use client';
import { objectKey } from '../../lib/clusters';
import type { MetaProtocolService } from './types';

const cell = 'px-3 py-2';

/** The MetaProtocol services, each with the MetaRouter that governs it; one is selected at a time. */
export function ServiceTable({
  services,
  selected,
  onSelect,
}: {
  services: readonly MetaProtocolService[];
  selected: string | null;
  onSelect: (key: string) => void;
}) {
  return (
    <table aria-label="MetaProtocol services" className="w-full text-left text-sm">
      <thead className="border-b border-slate-200 text-xs uppercase text-slate-600 dark:border-slate-700 dark:text-slate-400">
        <tr>
          <th scope="col" className={cell}>
            Host
          </th>
          <th scope="col" className={cell}>
            Cluster
          </th>
          <th scope="col" className={cell}>
            Protocol
          </th>
          <th scope="col" className={cell}>
            Ports
          </th>
          <th scope="col" className={cell}>
            MetaRouter
          </th>
          <th scope="col" className={cell}>
            Ready
          </th>
          <th scope="col" className={cell}>
            <span className="sr-only">Select</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {services.map((s) => {
          const key = objectKey(s);
          const current = key === selected;
          return (
            <tr
              key={`${s.kind}/${key}`}
              aria-selected={current}
              className={`border-b border-slate-100 dark:border-slate-800 ${current ? 'bg-indigo-50 dark:bg-indigo-950' : ''}`}
            >
              <th scope="row" className={`${cell} font-medium`}>
                {s.host}
              </th>
              <td className={cell} data-column="cluster">
                {s.cluster}
              </td>
              <td className={cell} data-column="protocol">
                {s.protocols.join(', ')}
              </td>
              <td className={cell} data-column="ports">
                {s.ports.map((p) => `${p.number} (${p.codec ?? 'no codec'})`).join(', ')}
              </td>
              <td className={cell} data-column="metarouter">
                {s.metaRouter ? `${s.metaRouter.namespace}/${s.metaRouter.name}` : 'none: default route'}
                {s.otherMetaRouters.length > 0 && (
                  <span className="block text-xs text-amber-700 dark:text-amber-400">
                    also named by {s.otherMetaRouters.join(', ')} (not used)
                  </span>
                )}
              </td>
              <td className={cell} data-column="ready" title={s.metaRouter?.message ?? undefined}>
                {s.metaRouter ? s.metaRouter.ready : '—'}
              </td>
              <td className={cell}>
                <button
                  type="button"
                  aria-pressed={current}
                  onClick={() => onSelect(key)}
                  className="rounded-md border border-slate-300 px-2 py-1 text-xs dark:border-slate-600"
                >
                  Show {s.name}
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
