'use client';
/**
 * The SmartLimiter editor: a form and a YAML tab on the same text, checked by the BFF as you type; preview
 * (the EnvoyFilters and a diff against the cluster), a what-if replay of recent traffic, apply with
 * confirmation, and the history with diffs and rollback. Viewers see it read-only.
 */
import { yaml as yamlLanguage } from '@codemirror/lang-yaml';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { EditorView } from '@uiw/react-codemirror';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { STRATEGIES } from '@governor/crd-types';
import { applyEdit, type FormEdit } from '../lib/limiter-form/apply-edit';
import {
  BUILDER_METRICS,
  compareCondition,
  COMPARISONS,
  conditionShape,
} from '../lib/limiter-form/condition';
import { parseSecondsText, secondsText } from '../lib/limiter-form/duration';
import type { LimiterForm as LimiterFormState, LimitForm } from '../lib/limiter-form/form-state';
import { keptFields } from '../lib/limiter-form/kept-fields';
import { newLimiter } from '../lib/limiter-form/new-limiter';
import { readLimiterText, toYamlText, writeLimiterText } from '../lib/limiter-form/yaml-text';
import { useTRPC } from '../lib/trpc';
import { useCanEdit } from './app-shell';

const CodeMirror = dynamic(() => import('@uiw/react-codemirror'), {
  ssr: false,
  loading: () => <p role="status">Loading the editor…</p>,
});

/** Always, or "metric op value" from lists; anything else is edited as text. */
function ConditionBuilder({
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
function LimitFields({
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

/** The form: the fields it shows of the policy, and a list of those it keeps as written. */
function PolicyForm({
  form,
  kept,
  canEdit,
  nameFixed,
  onEdit,
}: {
  form: LimiterFormState;
  kept: readonly string[];
  canEdit: boolean;
  nameFixed: boolean;
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

/** A line diff, added lines green and removed ones red; keyboard-scrollable. */
function DiffView({ label, lines }: { label: string; lines: readonly { op: string; text: string }[] }) {
  return (
    <pre
      tabIndex={0}
      aria-label={label}
      className="mt-1 max-h-80 overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100"
    >
      {lines.map((l, n) => (
        <div key={n} className={l.op === '+' ? 'text-emerald-300' : l.op === '-' ? 'text-red-300' : ''}>
          {l.op} {l.text}
        </div>
      ))}
    </pre>
  );
}

const field = 'rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-900';
const button =
  'rounded-md border border-slate-300 px-3 py-1.5 text-sm disabled:opacity-50 dark:border-slate-600';
const primary = 'rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50';

export function PolicyEditor() {
  const trpc = useTRPC();
  const params = useSearchParams();
  const router = useRouter();
  const queryClient = useQueryClient();
  const namespace = params.get('namespace') ?? 'default';
  const existingName = params.get('name');
  const service = params.get('service');
  const canEdit = useCanEdit(namespace);

  const existing = useQuery({
    ...trpc.policies.get.queryOptions({ namespace, name: existingName ?? '' }),
    enabled: existingName !== null,
  });
  const serviceInfo = useQuery({
    ...trpc.services.get.queryOptions({ namespace, name: service ?? '' }),
    enabled: service !== null,
  });
  const [text, setText] = useState<string | null>(null);
  const [tab, setTab] = useState<'form' | 'yaml'>('form');
  const [confirming, setConfirming] = useState(false);

  // The starting text: the stored policy, or a new one for the service.
  useEffect(() => {
    if (text !== null) return;
    if (existingName !== null) {
      if (existing.data) setText(existing.data.yaml);
    } else if (service === null || serviceInfo.data || serviceInfo.isError) {
      const port = serviceInfo.data?.ports[0]?.port ?? 9080;
      setText(toYamlText(newLimiter({ namespace, name: service ?? '', port })));
    }
  }, [text, existingName, existing.data, service, serviceInfo.data, serviceInfo.isError, namespace]);

  const yamlText = text ?? '';
  const model = useMemo(() => readLimiterText(yamlText), [yamlText]);

  // Checked by the BFF as you type (after a short pause).
  const validate = useMutation(trpc.policies.validate.mutationOptions());
  const [checkedText, setCheckedText] = useState<string | null>(null);
  const validateRef = useRef(validate.mutate);
  validateRef.current = validate.mutate;
  useEffect(() => {
    if (text === null) return;
    const timer = setTimeout(
      () => validateRef.current({ yaml: text }, { onSuccess: () => setCheckedText(text) }),
      300,
    );
    return () => clearTimeout(timer);
  }, [text]);
  const issues = validate.data?.issues ?? [];
  const errors = issues.filter((i) => i.severity === 'error');
  const upToDate = checkedText === text && !validate.isPending;

  const preview = useMutation(trpc.policies.preview.mutationOptions());
  const whatIf = useMutation(trpc.replay.run.mutationOptions());
  const history = useQuery({
    ...trpc.policies.history.queryOptions({ namespace, name: existingName ?? '' }),
    enabled: existingName !== null,
  });
  const invalidate = async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.policies.pathKey() });
    await queryClient.invalidateQueries({ queryKey: trpc.services.pathKey() });
  };
  const apply = useMutation(
    trpc.policies.applyPolicy.mutationOptions({
      onSuccess: async (r) => {
        setConfirming(false);
        await invalidate();
        if (existingName === null) router.replace(`/policies/edit?namespace=${r.namespace}&name=${r.name}`);
      },
    }),
  );
  const rollback = useMutation(
    trpc.policies.rollback.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        const fresh = await queryClient.fetchQuery(
          trpc.policies.get.queryOptions({ namespace, name: existingName ?? '' }),
        );
        setText(fresh.yaml);
      },
    }),
  );

  // A form edit is applied onto the policy as written: what the form does not show stays as it is.
  const edit = (e: FormEdit) => {
    if (model.ok) setText(writeLimiterText(yamlText, applyEdit(model.written, e)));
  };

  if (existingName !== null && existing.isError)
    return (
      <p role="alert">
        Could not load {namespace}/{existingName}: {existing.error.message}
      </p>
    );
  if (text === null) return <p role="status">Loading the policy…</p>;

  const title = existingName ? `${namespace}/${existingName}` : 'New policy';
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <div>
          <p className="text-sm">
            <Link href="/policies" className="text-indigo-700 underline dark:text-indigo-300">
              Policies
            </Link>
          </p>
          <h2 className="text-2xl font-semibold">{title}</h2>
          {existing.data && (
            <p className="text-sm text-slate-600 dark:text-slate-400">
              {existing.data.conditions.map((c) => `${c.type}: ${c.status}`).join(' · ')}
            </p>
          )}
        </div>
        {!canEdit && (
          <p className="rounded-md bg-slate-100 px-3 py-1 text-sm dark:bg-slate-800">
            Read-only: your role cannot change policies here.
          </p>
        )}
      </div>

      <div
        role="tablist"
        aria-label="Edit as"
        className="flex gap-1 border-b border-slate-200 dark:border-slate-800"
      >
        {(['form', 'yaml'] as const).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`panel-${t}`}
            onClick={() => setTab(t)}
            className={`px-3 py-1.5 text-sm ${tab === t ? 'border-b-2 border-indigo-600 font-medium' : 'text-slate-600 dark:text-slate-400'}`}
          >
            {t === 'form' ? 'Form' : 'YAML'}
          </button>
        ))}
      </div>

      {tab === 'form' ? (
        <div role="tabpanel" id="panel-form" aria-labelledby="tab-form" className="space-y-4">
          {model.ok ? (
            <PolicyForm
              form={model.form}
              kept={keptFields(model.written)}
              canEdit={canEdit}
              nameFixed={existingName !== null}
              onEdit={edit}
            />
          ) : (
            <p role="status">{model.reason}</p>
          )}
        </div>
      ) : (
        <div role="tabpanel" id="panel-yaml" aria-labelledby="tab-yaml">
          <CodeMirror
            value={yamlText}
            height="24rem"
            editable={canEdit}
            extensions={[yamlLanguage(), EditorView.contentAttributes.of({ 'aria-label': 'Policy YAML' })]}
            onChange={(v: string) => setText(v)}
            theme={
              typeof document !== 'undefined' && document.documentElement.classList.contains('dark')
                ? 'dark'
                : 'light'
            }
          />
        </div>
      )}

      <section aria-labelledby="problems-heading">
        <h3 id="problems-heading" className="sr-only">
          Problems
        </h3>
        <p role="status" className="text-sm">
          {!upToDate
            ? 'Checking…'
            : errors.length === 0
              ? 'No problems found.'
              : `${errors.length} problem${errors.length === 1 ? '' : 's'}:`}
        </p>
        {issues.length > 0 && (
          <ul aria-label="Problems" className="mt-1 space-y-1 text-sm">
            {issues.map((i, n) => (
              <li
                key={n}
                className={
                  i.severity === 'error'
                    ? 'text-red-700 dark:text-red-400'
                    : 'text-amber-700 dark:text-amber-400'
                }
              >
                {i.line !== undefined && `line ${i.line}: `}
                {i.path && <code>{i.path}</code>} {i.message}
              </li>
            ))}
          </ul>
        )}
      </section>

      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className={button}
          disabled={errors.length > 0 || !upToDate || preview.isPending}
          onClick={() => preview.mutate({ yaml: yamlText })}
        >
          {preview.isPending ? 'Previewing…' : 'Preview'}
        </button>
        <button
          type="button"
          className={button}
          disabled={errors.length > 0 || !upToDate || whatIf.isPending}
          onClick={() => whatIf.mutate({ policy: yamlText, recentSeconds: 60 })}
        >
          {whatIf.isPending ? 'Replaying…' : 'What if (last 60 s)'}
        </button>
        {canEdit && (
          <button
            type="button"
            className={primary}
            disabled={errors.length > 0 || !upToDate || apply.isPending}
            onClick={() => setConfirming(true)}
          >
            Apply…
          </button>
        )}
      </div>

      {confirming && (
        <div
          role="alertdialog"
          aria-labelledby="confirm-heading"
          aria-modal="false"
          className="rounded-lg border border-indigo-300 bg-indigo-50 p-4 dark:border-indigo-700 dark:bg-indigo-950"
        >
          <h3 id="confirm-heading" className="font-medium">
            Apply this policy? Envoy will enforce what it renders.
          </h3>
          <div className="mt-3 flex gap-2">
            <button
              type="button"
              className={primary}
              autoFocus
              disabled={apply.isPending}
              onClick={() => apply.mutate({ yaml: yamlText })}
            >
              {apply.isPending ? 'Applying…' : 'Apply now'}
            </button>
            <button type="button" className={button} onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {apply.isError && <p role="alert">Not applied: {apply.error.message}</p>}
      {apply.isSuccess && <p role="status">Applied. The control plane is rendering it now.</p>}

      {preview.data && (
        <section aria-labelledby="preview-heading" className="space-y-3">
          <h3 id="preview-heading" className="font-medium">
            Preview
          </h3>
          {preview.data.diff.length === 0 && (
            <p className="text-sm">No EnvoyFilter: no limit is active with today&apos;s metrics.</p>
          )}
          {preview.data.diff.map((d) => (
            <div key={d.name}>
              <h4 className="text-sm font-medium">
                EnvoyFilter {d.name}: {d.change}
              </h4>
              <DiffView label={`Diff of ${d.name}`} lines={d.lines} />
            </div>
          ))}
          <details>
            <summary className="cursor-pointer text-sm">Changes to the SmartLimiter</summary>
            <DiffView label="Diff of the policy" lines={preview.data.specDiff} />
          </details>
        </section>
      )}

      {whatIf.isError && <p role="alert">What-if failed: {whatIf.error.message}</p>}
      {whatIf.data && (
        <section aria-labelledby="whatif-heading">
          <h3 id="whatif-heading" className="font-medium">
            What if: the last 60 s of traffic through this policy
          </h3>
          <p className="text-sm">
            {whatIf.data.summary.requests} requests: {whatIf.data.summary.allowed} allowed,{' '}
            {whatIf.data.summary.limited} limited.
          </p>
          <div
            className="h-48"
            role="img"
            aria-label={`Replay: ${whatIf.data.summary.allowed} allowed, ${whatIf.data.summary.limited} limited`}
          >
            <ResponsiveContainer>
              <BarChart data={whatIf.data.seconds}>
                <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
                <XAxis dataKey="second" />
                <YAxis />
                <Tooltip />
                <Legend />
                <Bar dataKey="allowed" stackId="1" fill="#10b981" isAnimationActive={false} />
                <Bar dataKey="limited" stackId="1" fill="#f87171" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </section>
      )}

      {existingName !== null && (
        <section aria-labelledby="history-heading">
          <h3 id="history-heading" className="font-medium">
            History
          </h3>
          {history.data?.length === 0 && <p className="text-sm">No change made through Governor yet.</p>}
          <ol className="mt-2 space-y-2">
            {(history.data ?? []).map((h) => (
              <li key={h.id} className="rounded-md border border-slate-200 p-2 text-sm dark:border-slate-700">
                <span className="font-medium">Version {h.id}</span>: {h.action}
                {h.restoredFrom !== null && ` of version ${h.restoredFrom}`} by {h.user},{' '}
                {new Date(h.at).toLocaleString()}
                <details>
                  <summary className="cursor-pointer">Diff</summary>
                  <DiffView label={`Diff of version ${h.id}`} lines={h.diff} />
                </details>
                {canEdit && h.yaml !== null && (
                  <button
                    type="button"
                    className={`${button} mt-1`}
                    disabled={rollback.isPending}
                    onClick={() => rollback.mutate({ namespace, name: existingName, toId: h.id })}
                  >
                    Roll back to version {h.id}
                  </button>
                )}
              </li>
            ))}
          </ol>
          {rollback.isError && <p role="alert">Rollback failed: {rollback.error.message}</p>}
        </section>
      )}
    </div>
  );
}
