import { objectKey } from '../../lib/clusters';
import { ListTable, listLook } from '../table';
import { WorkloadRow } from '../workload-row';
import type { Workload } from './types';

const columns = [
  'Workload',
  'Cluster',
  'Namespace',
  'Fence',
  'Egress hosts',
  'Clusters without fence',
  'Clusters with fence',
  'Fallback calls',
];

function fenceState(w: Workload): { label: string; tone: string } {
  if (!w.fence) return { label: 'Not fenced', tone: 'text-slate-600 dark:text-slate-400' };
  if (!w.fence.enabled) return { label: 'Fence disabled', tone: 'text-amber-700 dark:text-amber-400' };
  const ready = w.fence.conditions.find((c) => c.type === 'Ready');
  return ready?.status === 'True'
    ? { label: 'Fenced', tone: 'text-emerald-700 dark:text-emerald-400' }
    : {
        label: `Fenced, not ready${ready?.reason ? `: ${ready.reason}` : ''}`,
        tone: 'text-amber-700 dark:text-amber-400',
      };
}

export function WorkloadTable({
  workloads,
  selected,
  onSelect,
}: {
  workloads: readonly Workload[];
  selected: string | null;
  onSelect: (key: string) => void;
}) {
  return (
    <ListTable caption="Workloads and their fences" columns={columns}>
      {workloads.map((w) => {
        const key = objectKey(w);
        const state = fenceState(w);
        const withFence = w.size.withFence;
        return (
          <WorkloadRow key={key} workload={w} selected={selected === key} onSelect={() => onSelect(key)}>
            <td className={`${listLook.cell} ${state.tone}`} data-column="fence">
              {state.label}
            </td>
            <td className={listLook.cell} data-column="hosts">
              {w.sidecar ? w.hosts.length : '—'}
            </td>
            <td className={listLook.cell} data-column="without">
              {w.size.withoutFence.clusters}
            </td>
            <td className={listLook.cell} data-column="with">
              {withFence ? (
                <>
                  {withFence.clusters}
                  {withFence.from === 'plan' && (
                    <span className="ml-1 text-xs text-slate-700 dark:text-slate-300">(if fenced)</span>
                  )}
                </>
              ) : (
                '—'
              )}
            </td>
            <td className={listLook.cell} data-column="fallback">
              {w.fallbackCalls.reduce((n, c) => n + c.count, 0)}
            </td>
          </WorkloadRow>
        );
      })}
    </ListTable>
  );
}
