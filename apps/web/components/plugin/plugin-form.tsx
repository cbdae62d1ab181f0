'use client';
/**
 * The plugins of a PluginManager or EnvoyPlugin as a form: each plugin's filter, switch, listener and port,
 * and its settings as fields built from the filter's schema in Envoy's catalog. Every edit rewrites the YAML
 * (only the value edited), and the live check's problems show beside the field they name.
 */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import type { JsonValue } from '../../lib/limiter-form/json';
import {
  editPluginText,
  issuePath,
  LISTENER_TYPES,
  readPluginText,
  settingAt,
  type PluginEdit,
  type PluginEntry,
  type SettingPath,
} from '../../lib/plugin-form/edit';
import { fieldsOf, startsOpen, type Field, type SettingsSchema } from '../../lib/plugin-form/fields';
import { formatValue, parseInput } from '../../lib/plugin-form/value';
import { useTRPC } from '../../lib/trpc';
import type { Problem } from '../limiter/problems';
import { button, field as fieldClass } from '../limiter/styles';

const NEW_PLUGIN = 'envoy.filters.http.fault';

interface Context {
  readonly schema: SettingsSchema;
  readonly entry: PluginEntry;
  readonly listPath: string;
  readonly issues: readonly Problem[];
  readonly disabled: boolean;
  readonly onEdit: (e: PluginEdit) => void;
}

function IssuesAt({ id, issues }: { id: string; issues: readonly Problem[] }) {
  if (issues.length === 0) return null;
  return (
    <ul id={id} className="text-xs text-red-700 dark:text-red-400">
      {issues.map((i, n) => (
        <li key={n}>{i.message}</li>
      ))}
    </ul>
  );
}

const hint = (f: Field): string =>
  [f.oneof && `one of ${f.oneof}`, f.deprecated && 'deprecated'].filter(Boolean).join(', ');

/** A scalar, enum or JSON field. Text that is not yet a value stays in the input, with why, unwritten. */
function ValueField({ f, path, ctx }: { f: Field; path: SettingPath; ctx: Context }) {
  const id = useId();
  const value = settingAt(ctx.entry.settings, path);
  const shown = formatValue(f.kind, value);
  const [draft, setDraft] = useState(shown);
  const [error, setError] = useState<string | null>(null);
  // The YAML changed under the input (another tab, an undo): show what is written now.
  useEffect(() => {
    setDraft((d) => {
      const r = parseInput(f.kind, d);
      return r.ok && formatValue(f.kind, r.value) === shown ? d : shown;
    });
    setError(null);
  }, [shown, f.kind]);
  const at = issuePath(ctx.listPath, ctx.entry.index, ctx.entry.settings, path);
  const issues = ctx.issues.filter((i) => i.path === at);
  const describedBy = [issues.length > 0 && `${id}-issues`, error && `${id}-error`].filter(Boolean).join(' ');
  const write = (v: JsonValue | undefined) =>
    ctx.onEdit({ kind: 'setting', index: ctx.entry.index, path, value: v });
  const onText = (text: string) => {
    setDraft(text);
    const r = parseInput(f.kind, text);
    setError(r.ok ? null : r.message);
    if (r.ok) write(r.value);
  };
  const common = {
    id,
    disabled: ctx.disabled,
    'aria-invalid': issues.length > 0 || error !== null ? true : undefined,
    'aria-describedby': describedBy || undefined,
  };
  const k = f.kind;
  let input;
  if (k.type === 'boolean')
    input = (
      <input
        type="checkbox"
        {...common}
        checked={value === true}
        // Unchecked removes the field: false is protobuf's default.
        onChange={(e) => write(e.target.checked ? true : undefined)}
      />
    );
  else if (k.type === 'enum')
    input = (
      <select className={fieldClass} {...common} value={shown} onChange={(e) => onText(e.target.value)}>
        <option value="">(unset)</option>
        {!k.values.includes(shown) && shown !== '' && <option value={shown}>{shown}</option>}
        {k.values.map((v) => (
          <option key={v}>{v}</option>
        ))}
      </select>
    );
  else if (k.type === 'json')
    input = (
      <textarea
        className={`${fieldClass} w-full font-mono text-xs`}
        rows={2}
        {...common}
        value={draft}
        placeholder={k.shape === 'array' ? '[ … ] (JSON or YAML)' : '{ … } (JSON or YAML)'}
        onChange={(e) => onText(e.target.value)}
      />
    );
  else
    input = (
      <input
        className={`${fieldClass} ${k.type === 'string' ? 'w-64' : 'w-36'}`}
        inputMode={k.type === 'integer' || k.type === 'number' ? 'decimal' : undefined}
        placeholder={k.type === 'duration' ? '1s' : undefined}
        {...common}
        value={draft}
        onChange={(e) => onText(e.target.value)}
      />
    );
  return (
    <div className={`text-sm ${k.type === 'json' ? 'w-full' : ''}`}>
      <label htmlFor={id} className={k.type === 'boolean' ? 'mr-2' : 'block'}>
        {f.key}
        {hint(f) && <span className="text-xs text-slate-600 dark:text-slate-400"> ({hint(f)})</span>}
      </label>
      {input}
      {error && (
        <p id={`${id}-error`} className="text-xs text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      <IssuesAt id={`${id}-issues`} issues={issues} />
    </div>
  );
}

/** A nested message: set or not (only set ones are written), its fields shown when open. */
function MessageField({
  f,
  path,
  depth,
  ctx,
}: {
  f: Field & { kind: { type: 'message' } };
  path: SettingPath;
  depth: number;
  ctx: Context;
}) {
  const id = useId();
  const value = settingAt(ctx.entry.settings, path);
  const set = value !== undefined && value !== null;
  const [open, setOpen] = useState(startsOpen(depth, f.kind));
  const at = issuePath(ctx.listPath, ctx.entry.index, ctx.entry.settings, path);
  const issues = ctx.issues.filter((i) => i.path === at);
  return (
    <fieldset className="w-full rounded-md border border-slate-200 p-2 dark:border-slate-700">
      <legend className="px-1 text-sm font-medium">
        {f.key}
        {hint(f) && <span className="text-xs font-normal"> ({hint(f)})</span>}
      </legend>
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label htmlFor={id}>
          <input
            id={id}
            type="checkbox"
            className="mr-1"
            disabled={ctx.disabled}
            checked={set}
            onChange={(e) => {
              ctx.onEdit({
                kind: 'setting',
                index: ctx.entry.index,
                path,
                value: e.target.checked ? {} : undefined,
              });
              if (e.target.checked) setOpen(true);
            }}
          />
          set {f.key}
        </label>
        {set && (
          <button type="button" className={button} aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide' : 'Show'} fields of {f.key}
          </button>
        )}
      </div>
      <IssuesAt id={`${id}-issues`} issues={issues} />
      {set && open && <MessageFields refName={f.kind.ref} path={path} depth={depth + 1} ctx={ctx} />}
    </fieldset>
  );
}

function MessageFields({
  refName,
  path,
  depth,
  ctx,
}: {
  refName: string;
  path: SettingPath;
  depth: number;
  ctx: Context;
}) {
  return (
    <div className="mt-2 flex flex-wrap items-start gap-3">
      {fieldsOf(ctx.schema, refName).map((f) => {
        const p = [...path, { key: f.key, jsonName: f.jsonName }];
        return f.kind.type === 'message' ? (
          <MessageField
            key={f.key}
            f={f as Field & { kind: { type: 'message' } }}
            path={p}
            depth={depth}
            ctx={ctx}
          />
        ) : (
          <ValueField key={f.key} f={f} path={p} ctx={ctx} />
        );
      })}
    </div>
  );
}

function SettingsFields({ entry, perRoute, ...rest }: Omit<Context, 'schema'> & { perRoute: boolean }) {
  const trpc = useTRPC();
  const filter = entry.typeUrl ?? entry.name;
  const schema = useQuery({
    ...trpc.envoy.schema.queryOptions({ filter, perRoute }),
    enabled: entry.source !== 'wasm' && entry.source !== 'rider' && filter !== '',
    retry: false,
  });
  if (entry.source === 'wasm' || entry.source === 'rider')
    return (
      <p className="text-sm">
        The settings of a {entry.source} plugin are its code&apos;s: edit them in the YAML tab.
      </p>
    );
  if (filter === '') return null;
  if (schema.isPending) return <p role="status">Loading the settings of {filter}…</p>;
  if (schema.isError)
    return (
      <p className="text-sm">
        No settings form for {filter}: {schema.error.message}. Edit them in the YAML tab.
      </p>
    );
  const issues = rest.issues.filter(
    (i) => i.path === issuePath(rest.listPath, entry.index, entry.settings, []),
  );
  return (
    <fieldset className="w-full rounded-md border border-slate-200 p-2 dark:border-slate-700">
      <legend className="px-1 text-sm font-medium">
        Settings ({perRoute ? 'per route' : 'filter'}: {schema.data.$ref.replace(/^#\/\$defs\//, '')})
      </legend>
      <IssuesAt id={`settings-${entry.index}-issues`} issues={issues} />
      <MessageFields
        refName={schema.data.$ref}
        path={[]}
        depth={0}
        ctx={{ ...rest, entry, schema: schema.data }}
      />
    </fieldset>
  );
}

function EntryFields({
  entry,
  kind,
  filters,
  ctx,
}: {
  entry: PluginEntry;
  kind: 'PluginManager' | 'EnvoyPlugin';
  filters: readonly string[];
  ctx: Omit<Context, 'schema' | 'entry'>;
}) {
  const id = useId();
  const index = entry.index;
  const [port, setPort] = useState(entry.port?.toString() ?? '');
  useEffect(() => setPort(entry.port?.toString() ?? ''), [entry.port]);
  const at = (field: string) => ctx.issues.filter((i) => i.path === `${ctx.listPath}[${index}].${field}`);
  const names = filters.includes(entry.name) ? filters : [entry.name, ...filters];
  return (
    <fieldset className="space-y-3 rounded-lg border border-slate-200 p-3 dark:border-slate-700">
      <legend className="px-1 text-sm font-medium">
        Plugin {index + 1}: {entry.name || '(no name)'}
      </legend>
      <div className="flex flex-wrap items-end gap-3 text-sm">
        <div>
          <label htmlFor={`${id}-name`} className="block">
            Filter
          </label>
          <select
            id={`${id}-name`}
            className={fieldClass}
            disabled={ctx.disabled}
            value={entry.name}
            onChange={(e) => ctx.onEdit({ kind: 'name', index, value: e.target.value })}
          >
            {names.map((n) => (
              <option key={n} value={n}>
                {n || '(none)'}
                {n !== '' && !filters.includes(n) && filters.length > 0 ? ' (not in Envoy’s catalog)' : ''}
              </option>
            ))}
          </select>
          <IssuesAt id={`${id}-name-issues`} issues={at('name')} />
        </div>
        <label className="flex items-center gap-1">
          <input
            type="checkbox"
            disabled={ctx.disabled}
            checked={entry.enable === true}
            onChange={(e) => ctx.onEdit({ kind: 'enable', index, value: e.target.checked })}
          />
          Enabled
        </label>
        {kind === 'PluginManager' && (
          <>
            <div>
              <label htmlFor={`${id}-listener`} className="block">
                Listener type
              </label>
              <select
                id={`${id}-listener`}
                className={fieldClass}
                disabled={ctx.disabled}
                value={entry.listenerType ?? ''}
                onChange={(e) =>
                  ctx.onEdit({ kind: 'listenerType', index, value: e.target.value || undefined })
                }
              >
                <option value="">(default: Outbound)</option>
                {[...new Set([...LISTENER_TYPES, entry.listenerType ?? 'Outbound'])].map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor={`${id}-port`} className="block">
                Port
              </label>
              <input
                id={`${id}-port`}
                className={`${fieldClass} w-24`}
                inputMode="numeric"
                placeholder="every port"
                disabled={ctx.disabled}
                value={port}
                onChange={(e) => {
                  setPort(e.target.value);
                  const v = e.target.value.trim();
                  if (v === '') ctx.onEdit({ kind: 'port', index, value: undefined });
                  else if (/^\d+$/.test(v) && Number(v) <= 65535)
                    ctx.onEdit({ kind: 'port', index, value: Number(v) });
                }}
              />
            </div>
          </>
        )}
        <button
          type="button"
          className={button}
          disabled={ctx.disabled}
          onClick={() => ctx.onEdit({ kind: 'removePlugin', index })}
        >
          Remove plugin {index + 1}
        </button>
      </div>
      <SettingsFields
        key={`${entry.typeUrl ?? entry.name}`}
        entry={entry}
        perRoute={kind === 'EnvoyPlugin'}
        {...ctx}
      />
    </fieldset>
  );
}

export function PluginForm({
  text,
  issues,
  canEdit,
  onText,
}: {
  text: string;
  issues: readonly Problem[];
  canEdit: boolean;
  onText: (text: string) => void;
}) {
  const trpc = useTRPC();
  const filters = useQuery(trpc.envoy.filters.queryOptions());
  const r = readPluginText(text);
  if (!r.ok) return <p role="status">{r.reason}</p>;
  const names = filters.data?.filters.map((f) => f.name) ?? [];
  const ctx = {
    listPath: r.listPath,
    issues,
    disabled: !canEdit,
    onEdit: (e: PluginEdit) => onText(editPluginText(text, e)),
  };
  return (
    <div className="space-y-3">
      {filters.isError && <p role="alert">Could not load Envoy&apos;s filters: {filters.error.message}</p>}
      {r.entries.length === 0 && <p className="text-sm">No plugins yet.</p>}
      {r.entries.map((e) => (
        <EntryFields key={e.index} entry={e} kind={r.kind} filters={names} ctx={ctx} />
      ))}
      <button
        type="button"
        className={button}
        disabled={!canEdit}
        onClick={() => ctx.onEdit({ kind: 'addPlugin', name: NEW_PLUGIN })}
      >
        Add plugin
      </button>
    </div>
  );
}
