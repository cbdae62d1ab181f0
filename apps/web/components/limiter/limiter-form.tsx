'use client';
import type { FormEdit } from '../../lib/limiter-form/apply-edit';
import type { LimiterForm as LimiterFormState } from '../../lib/limiter-form/form-state';
import { ClustersField, type FleetCluster } from './clusters-field';
import { LimitFields } from './limit-fields';
import { button, field } from './styles';

/** The form: the fields it shows of the policy, and a list of those it keeps as written. */
export function LimiterForm({
  form,
  kept,
  canEdit,
  nameFixed,
  fleet,
  onEdit,
}: {
  form: LimiterFormState;
  kept: readonly string[];
  canEdit: boolean;
  nameFixed: boolean;
  /** The clusters a policy of the home cluster can be copied to; null: no Clusters field here. */
  fleet: { home: string; clusters: readonly FleetCluster[] } | null;
  onEdit: (edit: FormEdit) => void;
}) {
  return (
    <fieldset disabled={!canEdit} className="space-y-4">
      <div className="flex flex-wrap gap-4">
        <label className="text-sm">
          <span className="block">Service</span>
          <input
            className={field}
            value={form.name}
            disabled={nameFixed}
            onChange={(e) => onEdit({ kind: 'name', value: e.target.value })}
          />
        </label>
        <label className="text-sm">
          <span className="block">Namespace</span>
          <input
            className={field}
            value={form.namespace}
            disabled={nameFixed}
            onChange={(e) => onEdit({ kind: 'namespace', value: e.target.value })}
          />
        </label>
        <label className="flex items-center gap-2 self-end text-sm">
          <input
            type="checkbox"
            checked={form.shadow}
            onChange={(e) => onEdit({ kind: 'shadow', value: e.target.checked })}
          />
          Shadow mode (count what it would limit, limit nothing)
        </label>
      </div>
      {fleet && (
        <ClustersField choice={form.clusters} home={fleet.home} clusters={fleet.clusters} onEdit={onEdit} />
      )}
      {form.limits.map((limit, i) => (
        <LimitFields key={i} limit={limit} n={i + 1} onEdit={onEdit} />
      ))}
      <datalist id="condition-examples">
        <option value="true" />
        <option value="{{._base.cpu.percent}}>80" />
        <option value="{{._base.qps}}>100" />
        <option value="{{._base.rt99}}>500" />
      </datalist>
      <button
        type="button"
        className={button}
        onClick={() => onEdit({ kind: 'addLimit', port: form.limits[0]?.port ?? 9080 })}
      >
        Add a limit
      </button>
      {kept.length > 0 && (
        <details className="text-sm">
          <summary className="cursor-pointer">
            {kept.length} field{kept.length === 1 ? '' : 's'} the form does not show, kept as written
          </summary>
          <ul className="mt-1 list-inside list-disc font-mono text-xs">
            {kept.map((path) => (
              <li key={path}>{path}</li>
            ))}
          </ul>
        </details>
      )}
    </fieldset>
  );
}
