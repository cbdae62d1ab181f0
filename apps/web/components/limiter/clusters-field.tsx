'use client';
/**
 * Where the policy applies across the fleet: this cluster only, every cluster, or the clusters chosen. It
 * writes `governor.io/clusters`, which the fan-out reads to copy the policy from the home cluster.
 */
import type { FormEdit } from '../../lib/limiter-form/apply-edit';
import { toggleCluster, type ClusterChoice } from '../../lib/limiter-form/clusters';

export interface FleetCluster {
  readonly name: string;
  readonly home: boolean;
  readonly reachable: boolean;
}

const MODES = [
  ['here', 'This cluster only'],
  ['all', 'All clusters (*)'],
  ['some', 'Chosen clusters'],
] as const;

export function ClustersField({
  choice,
  home,
  clusters,
  onEdit,
}: {
  choice: ClusterChoice;
  home: string;
  clusters: readonly FleetCluster[];
  onEdit: (edit: FormEdit) => void;
}) {
  const set = (value: ClusterChoice) => onEdit({ kind: 'clusters', value });
  const chosen = choice.mode === 'some' ? choice.names : [];
  // Names the annotation has that the registry does not: shown, so that they are not lost unseen.
  const unknown = chosen.filter((n) => !clusters.some((c) => c.name === n));
  const rows = [
    ...clusters.map((c) => ({
      name: c.name,
      note: [c.home ? 'home' : null, c.reachable ? null : 'unreachable'].filter(Boolean).join(', '),
    })),
    ...unknown.map((name) => ({ name, note: 'not a known cluster' })),
  ];
  return (
    <fieldset className="space-y-2 rounded-md border border-slate-200 p-3 text-sm dark:border-slate-700">
      <legend className="px-1 font-medium">Clusters</legend>
      <p className="text-slate-600 dark:text-slate-400">
        The policy lives in {home}, the home cluster; Governor copies it to the other clusters chosen and
        keeps the copies equal to it.
      </p>
      <div className="flex flex-wrap gap-4">
        {MODES.map(([mode, label]) => (
          <label key={mode} className="flex items-center gap-1.5">
            <input
              type="radio"
              name="limiter-clusters"
              checked={choice.mode === mode}
              onChange={() =>
                set(
                  mode === 'some'
                    ? // From here or all: start from the home cluster, where the policy is anyway.
                      { mode, names: choice.mode === 'all' ? clusters.map((c) => c.name) : [home] }
                    : { mode },
                )
              }
            />
            {label}
          </label>
        ))}
      </div>
      {choice.mode === 'some' && (
        <ul aria-label="Clusters to copy to" className="flex flex-wrap gap-x-4 gap-y-1">
          {rows.map((r) => (
            <li key={r.name}>
              <label className="flex items-center gap-1.5">
                <input
                  type="checkbox"
                  checked={chosen.includes(r.name)}
                  onChange={(e) => set(toggleCluster(choice, r.name, e.target.checked))}
                />
                {r.name}
                {r.note && ' '}
                {r.note && <span className="text-slate-600 dark:text-slate-400">({r.note})</span>}
              </label>
            </li>
          ))}
        </ul>
      )}
      {choice.mode === 'some' && chosen.filter((n) => n !== home).length === 0 && (
        <p className="text-slate-600 dark:text-slate-400">No other cluster chosen: nothing is copied.</p>
      )}
    </fieldset>
  );
}
