'use client';
import { STRATEGIES } from '@governor/crd-types';
import { useEffect, useState } from 'react';
import type { FormEdit } from '../../lib/limiter-form/apply-edit';
import { parseSecondsText, secondsText } from '../../lib/limiter-form/duration';
import type { LimitForm } from '../../lib/limiter-form/form-state';
import { ConditionBuilder } from './condition-builder';
import { button, field } from './styles';

/** The set name, changed when the field is left: a limit moving set as each letter is typed would jump. */
function SetField({ value, onChange }: { value: string; onChange: (set: string) => void }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const commit = () => (draft.trim() === '' ? setDraft(value) : draft !== value && onChange(draft.trim()));
  return (
    <label className="text-sm">
      <span className="block">Set</span>
      <input
        className={`${field} w-24`}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    </label>
  );
}

/** One limit (a descriptor) of the policy. */
export function LimitFields({
  limit,
  n,
  onEdit,
}: {
  limit: LimitForm;
  n: number;
  onEdit: (edit: FormEdit) => void;
}) {
  const { at } = limit;
  const strategy = limit.strategy ?? 'single';
  return (
    <fieldset className="rounded-lg border border-slate-200 p-3 dark:border-slate-700">
      <legend className="px-1 text-sm font-medium">Limit {n}</legend>
      <div className="flex flex-wrap gap-3">
        <SetField value={at.set} onChange={(value) => onEdit({ kind: 'set', at, value })} />
        <label className="text-sm">
          <span className="block">Quota</span>
          <input
            className={`${field} w-40`}
            value={limit.quota}
            onChange={(e) => onEdit({ kind: 'quota', at, value: e.target.value })}
          />
        </label>
        <label className="text-sm">
          <span className="block">Per (seconds)</span>
          <input
            type="number"
            min={0}
            step="any"
            className={`${field} w-24`}
            value={secondsText(limit.fillInterval)}
            onChange={(e) => {
              const value = parseSecondsText(e.target.value);
              if (value) onEdit({ kind: 'fillInterval', at, value });
            }}
          />
        </label>
        <label className="text-sm">
          <span className="block">Strategy</span>
          <select
            className={field}
            value={strategy}
            onChange={(e) => {
              const value = STRATEGIES.find((s) => s === e.target.value);
              if (value) onEdit({ kind: 'strategy', at, value });
            }}
          >
            <option value="single">single (per pod)</option>
            <option value="average">average (split over pods)</option>
            <option value="global">global (shared)</option>
            {!(STRATEGIES as readonly string[]).includes(strategy) && (
              <option value={strategy}>{strategy}</option>
            )}
          </select>
        </label>
        <label className="text-sm">
          <span className="block">Port</span>
          <input
            type="number"
            min={0}
            max={65535}
            placeholder="every port"
            className={`${field} w-28`}
            value={limit.port ?? ''}
            onChange={(e) =>
              onEdit({ kind: 'port', at, value: e.target.value === '' ? undefined : Number(e.target.value) })
            }
          />
        </label>
      </div>
      <div className="mt-3 flex flex-wrap gap-3">
        <ConditionBuilder
          value={limit.condition}
          set={at.set}
          onChange={(value) => onEdit({ kind: 'condition', at, value })}
        />
        {limit.header ? (
          <>
            <label className="text-sm">
              <span className="block">Only requests with header</span>
              <input
                className={`${field} w-32`}
                placeholder="x-user"
                value={limit.header.name}
                onChange={(e) => onEdit({ kind: 'headerName', at, value: e.target.value })}
              />
            </label>
            <label className="text-sm">
              <span className="block">equal to</span>
              <input
                className={`${field} w-32`}
                value={limit.header.value}
                onChange={(e) => onEdit({ kind: 'headerValue', at, value: e.target.value })}
              />
            </label>
            {limit.header.name !== '' && (
              <label className="flex items-center gap-2 self-end text-sm">
                <input
                  type="checkbox"
                  checked={limit.header.invert}
                  onChange={(e) => onEdit({ kind: 'headerInvert', at, value: e.target.checked })}
                />
                Invert (every other request)
              </label>
            )}
          </>
        ) : (
          <p className="self-end text-sm">Matches: as written in the YAML tab.</p>
        )}
        <button
          type="button"
          className={`${button} self-end`}
          onClick={() => onEdit({ kind: 'removeLimit', at })}
        >
          Remove limit {n}
        </button>
      </div>
    </fieldset>
  );
}
