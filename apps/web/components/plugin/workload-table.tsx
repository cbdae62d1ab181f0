import { objectKey } from '../../lib/clusters';
import { ListTable, listLook } from '../table';
import { WorkloadRow } from '../workload-row';
import type { PluginWorkload } from './types';

const columns = ['Workload', 'Cluster', 'Namespace', 'Plugin objects', 'Filters from EnvoyFilters'];

export function PluginWorkloadTable({
  workloads,
  selected,
  onSelect,
}: {
  workloads: readonly PluginWorkload[];
  selected: string | null;
  onSelect: (key: string) => void;
}) {
  return (
    <ListTable caption="Workloads and their plugins" columns={columns}>
      {workloads.map((w) => {
        const key = objectKey(w);
        const added = new Set(
          w.chains.flatMap((c) =>
            c.filters.filter((f) => f.by !== 'istio').map((f) => `${f.name} ${JSON.stringify(f.by)}`),
          ),
        ).size;
        return (
          <WorkloadRow key={key} workload={w} selected={selected === key} onSelect={() => onSelect(key)}>
            <td className={listLook.cell} data-column="plugins">
              {w.plugins.length === 0 ? (
                '—'
              ) : (
                <ul className="flex flex-wrap gap-1">
                  {w.plugins.map((p) => {
                    const on = p.plugins.filter((x) => x.enabled).length;
                    return (
                      <li
                        key={`${p.kind}/${p.name}`}
                        className={`rounded px-1.5 py-0.5 text-xs ${p.ready === 'False' ? 'bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-200' : 'bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-200'}`}
                      >
                        {p.kind} {p.name}: {on}/{p.plugins.length} on
                        {p.ready === 'False' ? ', not ready' : ''}
                      </li>
                    );
                  })}
                </ul>
              )}
            </td>
            <td className={listLook.cell} data-column="added">
              {added}
            </td>
          </WorkloadRow>
        );
      })}
    </ListTable>
  );
}
