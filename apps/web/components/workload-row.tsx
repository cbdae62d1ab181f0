/** A row of a page's workload list (lazy loading, plugins): the workload opens its detail when chosen. */
import type { ReactNode } from 'react';
import { listLook } from './table';

export function WorkloadRow({
  workload: w,
  selected,
  onSelect,
  children,
}: {
  workload: { readonly name: string; readonly namespace: string; readonly cluster: string };
  selected: boolean;
  onSelect: () => void;
  /** The cells after the workload's name, cluster and namespace. */
  children: ReactNode;
}) {
  return (
    <tr className={`${listLook.row} ${selected ? 'bg-indigo-50 dark:bg-indigo-950' : ''}`}>
      <th scope="row" className={`${listLook.cell} text-left`}>
        <button
          type="button"
          onClick={onSelect}
          className="font-medium text-indigo-700 underline dark:text-indigo-300"
        >
          {w.name}
        </button>
      </th>
      <td className={listLook.cell} data-column="cluster">
        {w.cluster}
      </td>
      <td className={listLook.cell}>{w.namespace}</td>
      {children}
    </tr>
  );
}
