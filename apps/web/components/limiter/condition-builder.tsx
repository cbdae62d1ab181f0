'use client';
import { useState } from 'react';
import {
  BUILDER_METRICS,
  compareCondition,
  COMPARISONS,
  conditionShape,
} from '../../lib/limiter-form/condition';
import { button, field } from './styles';

/** Always, or "metric op value" from lists; anything else is edited as text. */
export function ConditionBuilder({
  value,
  set,
  onChange,
}: {
  value: string;
  set: string;
  onChange: (c: string) => void;
}) {
  const shape = conditionShape(value);
  const [asText, setAsText] = useState(shape.kind === 'expression');
  if (asText || shape.kind === 'expression')
    return (
      <div className="flex items-end gap-2">
        <label className="text-sm">
          <span className="block">Condition</span>
          <input
            className={`${field} w-80 font-mono`}
            list="condition-examples"
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
        </label>
        {shape.kind !== 'expression' && (
          <button type="button" className={button} onClick={() => setAsText(false)}>
            Use the builder
          </button>
        )}
      </div>
    );
  const compare =
    shape.kind === 'compare' ? shape : { set, metric: 'cpu.percent', op: '>' as const, threshold: '80' };
  const always = shape.kind === 'always';
  return (
    <fieldset className="flex flex-wrap items-end gap-2">
      <legend className="text-sm">Condition</legend>
      <label className="text-sm">
        <span className="block">When</span>
        <select
          className={field}
          value={always ? 'always' : compare.metric}
          onChange={(e) =>
            e.target.value === 'always'
              ? onChange('true')
              : onChange(compareCondition({ ...compare, metric: e.target.value }))
          }
        >
          <option value="always">always</option>
          {BUILDER_METRICS.map(([m, label]) => (
            <option key={m} value={m}>
              {label} ({m})
            </option>
          ))}
        </select>
      </label>
      {!always && (
        <>
          <label className="text-sm">
            <span className="block">is</span>
            <select
              className={field}
              value={compare.op}
              onChange={(e) =>
                onChange(
                  compareCondition({
                    ...compare,
                    op: COMPARISONS.find((o) => o === e.target.value) ?? compare.op,
                  }),
                )
              }
            >
              {COMPARISONS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label className="text-sm">
            <span className="block">Threshold</span>
            <input
              type="number"
              className={`${field} w-24`}
              value={compare.threshold}
              onChange={(e) =>
                onChange(
                  compareCondition({ ...compare, threshold: e.target.value === '' ? '0' : e.target.value }),
                )
              }
            />
          </label>
        </>
      )}
      <button type="button" className={button} onClick={() => setAsText(true)}>
        Edit as text
      </button>
    </fieldset>
  );
}
