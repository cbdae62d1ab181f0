'use client';
/**
 * An admin's editor of one SlimeBoot of the SlimeBoot namespace: the YAML, checked by the BFF's module
 * configuration parser (a dry run), and applied to the home cluster. The BFF reads SlimeBoots at start: an
 * applied change waits for a restart, and the Modules page shows what that restart would change.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { YamlPanel } from '../../components/limiter/yaml-panel';
import { useTRPC } from '../../lib/trpc';

export const RESTART_COMMAND = 'kubectl -n governor-system rollout restart deployment/governor-bff';

interface Issue {
  readonly severity: 'error' | 'warning' | 'note';
  readonly path: string;
  readonly message: string;
  readonly line?: number;
}

const shown = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v));

/** One module's setting changes, running value → configured value. */
export function SettingChanges({
  changes,
  label,
}: {
  changes: readonly { path: string; running?: unknown; configured?: unknown }[];
  label: string;
}) {
  return (
    <ul aria-label={label} className="ml-4 list-disc">
      {changes.map((c) => (
        <li key={c.path}>
          <code className="font-mono text-xs">{c.path}</code>: {shown(c.running)} → {shown(c.configured)}
        </li>
      ))}
    </ul>
  );
}

function IssueList({ issues, label }: { issues: readonly Issue[]; label: string }) {
  if (issues.length === 0) return null;
  return (
    <ul aria-label={label} className="space-y-1 text-sm">
      {issues.map((i, n) => (
        <li key={n}>
          <strong className="font-medium">{i.severity}</strong>{' '}
          {i.path !== '' && <code className="font-mono text-xs">{i.path}</code>}
          {i.line !== undefined ? ` (line ${i.line})` : ''}: {i.message}
        </li>
      ))}
    </ul>
  );
}

/** The issues a refused apply names (BAD_REQUEST carries each with its field path). */
function issuesOf(error: unknown): Issue[] {
  const data = (error as { data?: { issues?: Issue[] | null } } | null)?.data;
  return data?.issues ?? [];
}

export function SlimeBootEditor({
  title,
  initial,
  onClose,
  onApplied,
}: {
  /** `Edit SlimeBoot mesh-operator/limiter`, `New SlimeBoot for lazyload`. */
  title: string;
  initial: string;
  onClose: () => void;
  onApplied: (message: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [text, setText] = useState(initial);
  const check = useMutation(trpc.modules.applySlimeBoot.mutationOptions());
  const apply = useMutation(
    trpc.modules.applySlimeBoot.mutationOptions({
      onSuccess: async (r) => {
        await queryClient.invalidateQueries({ queryKey: trpc.modules.pathKey() });
        onApplied(
          `${r.created ? 'Created' : 'Updated'} SlimeBoot ${r.namespace}/${r.name}. It applies at the next BFF restart.`,
        );
      },
    }),
  );
  const edit = (next: string) => {
    setText(next);
    check.reset();
    apply.reset();
  };
  const failed = apply.isError ? apply : check.isError ? check : null;
  const result = check.data;

  return (
    <section
      aria-label={title}
      className="space-y-3 rounded-md border border-indigo-200 p-3 dark:border-indigo-800"
    >
      <h4 className="text-sm font-semibold">{title}</h4>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        Written to the home cluster. The BFF reads SlimeBoots when it starts: the change applies at its next
        restart (<code className="font-mono text-xs">{RESTART_COMMAND}</code>); until then this page shows
        what the restart would change.
      </p>
      <YamlPanel text={text} editable onChange={edit} label="SlimeBoot YAML" grow />
      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className="rounded-md border border-slate-300 px-3 py-1 text-sm dark:border-slate-700"
          disabled={check.isPending}
          onClick={() => {
            apply.reset();
            check.mutate({ yaml: text, dryRun: true });
          }}
        >
          Validate
        </button>
        <button
          type="button"
          className="rounded-md bg-indigo-600 px-3 py-1 text-sm text-white disabled:opacity-50"
          disabled={apply.isPending}
          onClick={() => {
            check.reset();
            apply.mutate({ yaml: text });
          }}
        >
          Apply
        </button>
        <button type="button" className="rounded-md px-3 py-1 text-sm underline" onClick={onClose}>
          Cancel
        </button>
      </div>
      {failed && (
        <div role="alert" className="space-y-1 text-sm text-red-800 dark:text-red-300">
          <p>
            {failed === apply ? 'Not applied' : 'Invalid'}: {failed.error!.message}
          </p>
          <IssueList issues={issuesOf(failed.error)} label="Errors of the SlimeBoot" />
        </div>
      )}
      {result && (
        <div role="status" className="space-y-1 text-sm">
          <p>
            Valid: SlimeBoot {result.namespace}/{result.name} would be{' '}
            {result.created ? 'created' : 'updated'}.
            {result.changes.length === 0 && ' A restart would change no module setting.'}
          </p>
          <IssueList issues={result.issues} label="Warnings of the SlimeBoot" />
          {result.changes.map((m) => (
            <div key={m.module}>
              <p>
                {m.module}: after a restart from {m.configuredSource}
              </p>
              <SettingChanges changes={m.changes} label={`What applying changes in ${m.module}`} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
