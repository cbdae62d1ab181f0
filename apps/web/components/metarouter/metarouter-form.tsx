'use client';
/**
 * A MetaRouter as a form: its routes (attribute matches, destinations with subset and weight, mirror, request
 * and response mutations), its local token buckets and its global limit. Each edit sets one value in the
 * YAML; the live check's problems show beside the field they name.
 */
import { useEffect, useState, type ReactNode } from 'react';
import type { JsonObject, JsonValue } from '../../lib/limiter-form/json';
import type { Problem } from '../limiter/problems';
import { button, field } from '../limiter/styles';
import {
  attributesOf,
  attributesValue,
  getIn,
  issuePath,
  MATCH_KINDS,
  numberOf,
  type AttributeMatch,
  type MatchKind,
  type Path,
} from './form-model';

interface Ctx {
  readonly written: JsonObject;
  readonly issues: readonly Problem[];
  readonly disabled: boolean;
  readonly set: (path: Path, value: JsonValue | undefined) => void;
}

const small = `${button} px-2 py-1 text-xs`;

function IssuesAt({ path, ctx }: { path: Path; ctx: Ctx }) {
  const at = issuePath(path);
  const list = ctx.issues.filter((i) => i.path === at);
  if (list.length === 0) return null;
  return (
    <ul className="text-xs">
      {list.map((i, n) => (
        <li
          key={n}
          className={
            i.severity === 'error' ? 'text-red-700 dark:text-red-400' : 'text-amber-700 dark:text-amber-400'
          }
        >
          {i.message}
        </li>
      ))}
    </ul>
  );
}

function TextField({ label, name, path, ctx }: { label: string; name: string; path: Path; ctx: Ctx }) {
  const v = getIn(ctx.written, path);
  return (
    <label className="flex flex-col gap-0.5 text-xs">
      <span aria-hidden="true">{label}</span>
      <input
        aria-label={name}
        className={field}
        disabled={ctx.disabled}
        value={typeof v === 'string' || typeof v === 'number' ? String(v) : ''}
        onChange={(e) => ctx.set(path, e.target.value === '' ? undefined : e.target.value)}
      />
      <IssuesAt path={path} ctx={ctx} />
    </label>
  );
}

/** A number; text that is not one stays in the input, unwritten. */
function NumberField({ label, name, path, ctx }: { label: string; name: string; path: Path; ctx: Ctx }) {
  const v = getIn(ctx.written, path);
  const shown = typeof v === 'number' ? String(v) : '';
  const [draft, setDraft] = useState(shown);
  // The YAML changed under the input (the other tab, a rollback): show what is written now.
  useEffect(
    () => setDraft((d) => (Number(d) === v || (d === '' && v === undefined) ? d : shown)),
    [shown, v],
  );
  const bad = numberOf(draft).ok === false;
  return (
    <label className="flex flex-col gap-0.5 text-xs">
      <span aria-hidden="true">{label}</span>
      <input
        aria-label={name}
        inputMode="decimal"
        aria-invalid={bad || undefined}
        className={`${field} w-24`}
        disabled={ctx.disabled}
        value={draft}
        onChange={(e) => {
          setDraft(e.target.value);
          const r = numberOf(e.target.value);
          if (r.ok) ctx.set(path, r.value);
        }}
      />
      {bad && <span className="text-red-700 dark:text-red-400">not a number</span>}
      <IssuesAt path={path} ctx={ctx} />
    </label>
  );
}

/** The attribute matches of a `match`: all must match. */
function AttributeMatches({ title, path, ctx }: { title: string; path: Path; ctx: Ctx }) {
  const list = attributesOf(getIn(ctx.written, path));
  const write = (next: AttributeMatch[]) =>
    ctx.set(path, next.length === 0 ? undefined : { attributes: attributesValue(next) });
  const change = (i: number, patch: Partial<AttributeMatch>) =>
    write(list.map((a, j) => (j === i ? { ...a, ...patch } : a)));
  return (
    <fieldset className="space-y-1 rounded-md border border-slate-200 p-2 dark:border-slate-700">
      <legend className="px-1 text-xs font-medium">{title}: attribute matches</legend>
      {list.length === 0 && <p className="text-xs">None: every call.</p>}
      {list.map((a, i) => (
        <div key={i} className="flex flex-wrap items-end gap-2">
          <label className="flex flex-col gap-0.5 text-xs">
            <span aria-hidden="true">Attribute</span>
            <input
              aria-label={`${title} attribute ${i + 1} name`}
              className={field}
              disabled={ctx.disabled}
              value={a.name}
              onChange={(e) => change(i, { name: e.target.value })}
            />
          </label>
          <label className="flex flex-col gap-0.5 text-xs">
            <span aria-hidden="true">Match</span>
            <select
              aria-label={`${title} attribute ${i + 1} match`}
              className={field}
              disabled={ctx.disabled}
              value={a.kind}
              onChange={(e) => change(i, { kind: e.target.value as MatchKind })}
            >
              {MATCH_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          {a.kind !== 'present' && (
            <label className="flex flex-col gap-0.5 text-xs">
              <span aria-hidden="true">Value</span>
              <input
                aria-label={`${title} attribute ${i + 1} value`}
                className={field}
                disabled={ctx.disabled}
                value={a.value}
                onChange={(e) => change(i, { value: e.target.value })}
              />
            </label>
          )}
          <button
            type="button"
            className={small}
            disabled={ctx.disabled}
            onClick={() => write(list.filter((_, j) => j !== i))}
          >
            Remove {title.toLowerCase()} attribute {i + 1}
          </button>
          <IssuesAt path={[...path, 'attributes', a.name]} ctx={ctx} />
        </div>
      ))}
      <button
        type="button"
        className={small}
        disabled={ctx.disabled}
        onClick={() =>
          write([...list, { name: list.length === 0 ? 'method' : '', kind: 'exact', value: '' }])
        }
      >
        Add {title.toLowerCase()} attribute
      </button>
    </fieldset>
  );
}

/** A list of objects, one row of fields each, with add and remove. */
function Rows({
  title,
  path,
  ctx,
  blank,
  row,
}: {
  title: string;
  path: Path;
  ctx: Ctx;
  blank: () => JsonValue;
  row: (itemPath: Path, n: number) => ReactNode;
}) {
  const items = getIn(ctx.written, path);
  const list = Array.isArray(items) ? items : [];
  return (
    <fieldset className="space-y-1 rounded-md border border-slate-200 p-2 dark:border-slate-700">
      <legend className="px-1 text-xs font-medium">{title}</legend>
      {list.map((_, i) => (
        <div key={i} className="flex flex-wrap items-end gap-2">
          {row([...path, i], i + 1)}
          <button
            type="button"
            className={small}
            disabled={ctx.disabled}
            onClick={() => ctx.set(path, list.length === 1 ? undefined : list.filter((__, j) => j !== i))}
          >
            Remove {title.toLowerCase()} {i + 1}
          </button>
        </div>
      ))}
      <button
        type="button"
        className={small}
        disabled={ctx.disabled}
        onClick={() => ctx.set([...path, list.length], blank())}
      >
        Add {title.toLowerCase()}
      </button>
      <IssuesAt path={path} ctx={ctx} />
    </fieldset>
  );
}

function Bucket({ title, path, ctx }: { title: string; path: Path; ctx: Ctx }) {
  return (
    <div className="flex flex-wrap gap-2">
      <NumberField label="Max tokens" name={`${title} max tokens`} path={[...path, 'maxTokens']} ctx={ctx} />
      <NumberField
        label="Tokens per fill"
        name={`${title} tokens per fill`}
        path={[...path, 'tokensPerFill']}
        ctx={ctx}
      />
      <TextField
        label="Fill interval"
        name={`${title} fill interval`}
        path={[...path, 'fillInterval']}
        ctx={ctx}
      />
    </div>
  );
}

function Route({ i, ctx, host }: { i: number; ctx: Ctx; host: string }) {
  const at: Path = ['spec', 'routes', i];
  const r = `Route ${i + 1}`;
  const hasMirror = getIn(ctx.written, [...at, 'mirror']) !== undefined;
  return (
    <section
      aria-label={r}
      className="space-y-2 rounded-md border border-slate-300 p-3 dark:border-slate-600"
    >
      <div className="flex flex-wrap items-end justify-between gap-2">
        <h5 className="text-sm font-medium">{r}</h5>
        <button
          type="button"
          className={small}
          disabled={ctx.disabled}
          onClick={() => ctx.set(at, undefined)}
        >
          Remove route {i + 1}
        </button>
      </div>
      <TextField label="Name" name={`${r} name`} path={[...at, 'name']} ctx={ctx} />
      <AttributeMatches title={r} path={[...at, 'match']} ctx={ctx} />
      <Rows
        title="Destination"
        path={[...at, 'route']}
        ctx={ctx}
        blank={() => ({ destination: { host, subset: '' }, weight: 0 })}
        row={(p, n) => (
          <>
            <TextField
              label="Host"
              name={`${r} destination ${n} host`}
              path={[...p, 'destination', 'host']}
              ctx={ctx}
            />
            <TextField
              label="Subset"
              name={`${r} destination ${n} subset`}
              path={[...p, 'destination', 'subset']}
              ctx={ctx}
            />
            <NumberField
              label="Weight"
              name={`${r} destination ${n} weight`}
              path={[...p, 'weight']}
              ctx={ctx}
            />
          </>
        )}
      />
      <fieldset className="space-y-1 rounded-md border border-slate-200 p-2 dark:border-slate-700">
        <legend className="px-1 text-xs font-medium">Mirror</legend>
        <label className="flex items-center gap-2 text-xs">
          <input
            type="checkbox"
            checked={hasMirror}
            disabled={ctx.disabled}
            onChange={(e) => {
              if (e.target.checked) ctx.set([...at, 'mirror'], { host, subset: '' });
              else {
                ctx.set([...at, 'mirror'], undefined);
                ctx.set([...at, 'mirrorPercentage'], undefined);
              }
            }}
          />
          Copy calls to another destination
        </label>
        {hasMirror && (
          <div className="flex flex-wrap gap-2">
            <TextField label="Host" name={`${r} mirror host`} path={[...at, 'mirror', 'host']} ctx={ctx} />
            <TextField
              label="Subset"
              name={`${r} mirror subset`}
              path={[...at, 'mirror', 'subset']}
              ctx={ctx}
            />
            <NumberField
              label="Percentage"
              name={`${r} mirror percentage`}
              path={[...at, 'mirrorPercentage', 'value']}
              ctx={ctx}
            />
          </div>
        )}
        <IssuesAt path={[...at, 'mirrorPercentage']} ctx={ctx} />
      </fieldset>
      {(['requestMutation', 'responseMutation'] as const).map((k) => {
        const title = k === 'requestMutation' ? 'Request mutation' : 'Response mutation';
        return (
          <Rows
            key={k}
            title={title}
            path={[...at, k]}
            ctx={ctx}
            blank={() => ({ key: '', value: '' })}
            row={(p, n) => (
              <>
                <TextField
                  label="Key"
                  name={`${r} ${title.toLowerCase()} ${n} key`}
                  path={[...p, 'key']}
                  ctx={ctx}
                />
                <TextField
                  label="Value"
                  name={`${r} ${title.toLowerCase()} ${n} value`}
                  path={[...p, 'value']}
                  ctx={ctx}
                />
              </>
            )}
          />
        );
      })}
    </section>
  );
}

/** An optional part of the spec: a switch that writes a starting value or removes it, and its fields. */
function Optional({
  id,
  title,
  path,
  ctx,
  label,
  start,
  children,
}: {
  id: string;
  title: string;
  path: Path;
  ctx: Ctx;
  label: string;
  start: JsonValue;
  children: ReactNode;
}) {
  const on = getIn(ctx.written, path) !== undefined;
  return (
    <section aria-labelledby={id} className="space-y-2">
      <h4 id={id} className="font-medium">
        {title}
      </h4>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          checked={on}
          disabled={ctx.disabled}
          onChange={(e) => ctx.set(path, e.target.checked ? start : undefined)}
        />
        {label}
      </label>
      {on && children}
      <IssuesAt path={path} ctx={ctx} />
    </section>
  );
}

function LocalRateLimit({ ctx }: { ctx: Ctx }) {
  const at: Path = ['spec', 'localRateLimit'];
  return (
    <Optional
      id="mr-local-heading"
      title="Local rate limit"
      path={at}
      ctx={ctx}
      label="Each receiving proxy limits calls with token buckets"
      start={{ tokenBucket: { maxTokens: 100, tokensPerFill: 100, fillInterval: '1s' } }}
    >
      <p className="text-xs">Bucket for calls no condition matches:</p>
      <Bucket title="Default bucket" path={[...at, 'tokenBucket']} ctx={ctx} />
      <Rows
        title="Condition"
        path={[...at, 'conditions']}
        ctx={ctx}
        blank={() => ({
          match: { attributes: { method: { exact: '' } } },
          tokenBucket: { maxTokens: 10, tokensPerFill: 10, fillInterval: '1s' },
        })}
        row={(p, n) => (
          <div className="space-y-1">
            <AttributeMatches title={`Condition ${n}`} path={[...p, 'match']} ctx={ctx} />
            <Bucket title={`Condition ${n} bucket`} path={[...p, 'tokenBucket']} ctx={ctx} />
          </div>
        )}
      />
    </Optional>
  );
}

function GlobalRateLimit({ ctx }: { ctx: Ctx }) {
  const at: Path = ['spec', 'globalRateLimit'];
  return (
    <Optional
      id="mr-global-heading"
      title="Global rate limit"
      path={at}
      ctx={ctx}
      label="A rate-limit service counts calls for every proxy"
      start={{
        domain: 'production',
        match: { attributes: { method: { exact: '' } } },
        rateLimitService: 'outbound|8081||rate-limit-server.default.svc.cluster.local',
        descriptors: [{ property: 'method', descriptorKey: 'method' }],
      }}
    >
      <div className="flex flex-wrap gap-2">
        <TextField label="Domain" name="Global limit domain" path={[...at, 'domain']} ctx={ctx} />
        <TextField
          label="Rate-limit service cluster"
          name="Global limit rate-limit service"
          path={[...at, 'rateLimitService']}
          ctx={ctx}
        />
        <TextField
          label="Request timeout"
          name="Global limit request timeout"
          path={[...at, 'requestTimeout']}
          ctx={ctx}
        />
      </div>
      <AttributeMatches title="Global limit" path={[...at, 'match']} ctx={ctx} />
      <Rows
        title="Descriptor"
        path={[...at, 'descriptors']}
        ctx={ctx}
        blank={() => ({ property: '', descriptorKey: '' })}
        row={(p, n) => (
          <>
            <TextField
              label="Property"
              name={`Descriptor ${n} property`}
              path={[...p, 'property']}
              ctx={ctx}
            />
            <TextField
              label="Descriptor key"
              name={`Descriptor ${n} key`}
              path={[...p, 'descriptorKey']}
              ctx={ctx}
            />
          </>
        )}
      />
    </Optional>
  );
}

export function MetaRouterForm({
  written,
  issues,
  canEdit,
  onSet,
}: {
  written: JsonObject;
  issues: readonly Problem[];
  canEdit: boolean;
  onSet: (path: Path, value: JsonValue | undefined) => void;
}) {
  const ctx: Ctx = { written, issues, disabled: !canEdit, set: onSet };
  const routes = getIn(written, ['spec', 'routes']);
  const list = Array.isArray(routes) ? routes : [];
  const host = String(getIn(written, ['spec', 'hosts', 0]) ?? '');
  return (
    <div className="space-y-4">
      <TextField label="Host" name="Host" path={['spec', 'hosts', 0]} ctx={ctx} />
      <section aria-labelledby="mr-routes-heading" className="space-y-2">
        <h4 id="mr-routes-heading" className="font-medium">
          Routes (the first that matches a call wins)
        </h4>
        {list.map((_, i) => (
          <Route key={i} i={i} ctx={ctx} host={host} />
        ))}
        <button
          type="button"
          className={button}
          disabled={ctx.disabled}
          onClick={() =>
            onSet(['spec', 'routes', list.length], {
              name: `route-${list.length + 1}`,
              route: [{ destination: { host } }],
            })
          }
        >
          Add route
        </button>
      </section>
      <LocalRateLimit ctx={ctx} />
      <GlobalRateLimit ctx={ctx} />
    </div>
  );
}
