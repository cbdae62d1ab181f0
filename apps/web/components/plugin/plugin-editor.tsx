'use client';
/**
 * A PluginManager or EnvoyPlugin as a form or YAML, checked by the BFF as it is typed (field paths, lines and the
 * closest known field of Envoy's filter); preview the EnvoyFilter's diff and the chains it gives, then apply.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../../lib/trpc';
import { useCanEdit } from '../app-shell';
import { DiffView } from '../diff-view';
import { EditorTabs } from '../editor-tabs';
import { Problems } from '../limiter/problems';
import { button, primary } from '../limiter/styles';
import { usePausedCheck } from '../limiter/use-live-check';
import { YamlPanel } from '../limiter/yaml-panel';
import { ChainTable } from './chain-table';
import { PluginForm } from './plugin-form';

const TABS = [
  ['form', 'Form'],
  ['yaml', 'YAML'],
] as const;
type Tab = (typeof TABS)[number][0];

export const TEMPLATES = {
  PluginManager: `apiVersion: microservice.slime.io/v1alpha1
kind: PluginManager
metadata: { name: my-plugins, namespace: default }
spec:
  workloadLabels: { app: ratings }
  plugin:
    - name: envoy.filters.http.fault
      enable: true
      listenerType: Inbound
      port: 9080
      inline:
        settings:
          abort: { http_status: 503, percentage: { numerator: 10 } }
`,
  EnvoyPlugin: `apiVersion: microservice.slime.io/v1alpha1
kind: EnvoyPlugin
metadata: { name: my-route-plugins, namespace: default }
spec:
  workloadSelector: { labels: { app: ratings } }
  host: [ratings.default.svc.cluster.local]
  plugins:
    - name: envoy.filters.http.fault
      enable: true
      inline:
        settings:
          abort: { http_status: 429, percentage: { numerator: 10 } }
`,
} as const;

const namespaceOf = (text: string): string | undefined =>
  /namespace:\s*([a-z0-9-]+)/.exec(text)?.[1] ?? undefined;

/** Edits a plugin object's YAML; `cluster` is where it lives or goes (none: the home cluster). */
export function PluginEditor({
  initial,
  title,
  cluster,
}: {
  initial: string;
  title: string;
  cluster?: string | undefined;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [text, setText] = useState(initial);
  const [applied, setApplied] = useState(false);
  const [tab, setTab] = useState<Tab>('yaml');
  const edit = (v: string) => {
    setText(v);
    setApplied(false);
  };
  const canEdit = useCanEdit(namespaceOf(text));
  const validate = useMutation(trpc.plugins.validate.mutationOptions());
  const inCluster = cluster ? { cluster } : {};
  const upToDate = usePausedCheck(text, {
    mutate: (input, options) => validate.mutate({ ...input, ...inCluster }, options),
    isPending: validate.isPending,
  });
  const preview = useMutation(trpc.plugins.preview.mutationOptions());
  const apply = useMutation(
    trpc.plugins.applyPlugin.mutationOptions({
      onSuccess: async () => {
        setApplied(true);
        preview.reset();
        await queryClient.invalidateQueries({ queryKey: trpc.plugins.pathKey() });
      },
    }),
  );
  const checking = !upToDate;
  const issues = validate.data?.issues ?? [];
  const errors = issues.filter((i) => i.severity === 'error').length;
  const p = preview.data;
  return (
    <section aria-labelledby="editor-heading" className="space-y-3">
      <h3 id="editor-heading" className="text-base font-semibold">
        {title}
      </h3>
      {!canEdit && (
        <p className="rounded-md bg-slate-100 px-3 py-1 text-sm dark:bg-slate-800">
          Read-only: your role cannot change plugins in this namespace.
        </p>
      )}
      <EditorTabs id="plugin" tabs={TABS} tab={tab} onTab={setTab}>
        {tab === 'form' ? (
          <PluginForm text={text} issues={issues} canEdit={canEdit} onText={edit} />
        ) : (
          <YamlPanel text={text} editable onChange={edit} label="Plugin YAML" grow />
        )}
      </EditorTabs>
      <Problems issues={issues} checking={checking} />
      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className={button}
          disabled={preview.isPending}
          onClick={() => {
            setApplied(false);
            preview.mutate({ yaml: text, ...inCluster });
          }}
        >
          {preview.isPending ? 'Previewing…' : 'Preview'}
        </button>
      </div>
      {applied && <p role="status">Applied. The EnvoyFilter follows once it is reconciled.</p>}
      {preview.isError && <p role="alert">Preview failed: {preview.error.message}</p>}
      {apply.isError && <p role="alert">Apply failed: {apply.error.message}</p>}
      {p && (
        <section aria-labelledby="plugin-preview-heading" className="space-y-3">
          <h4 id="plugin-preview-heading" className="font-medium">
            Preview
          </h4>
          {p.issues.length > 0 && (
            <ul aria-label="Preview problems" className="space-y-1 text-sm">
              {p.issues.map((i, n) => (
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
          {p.diff.map((d) => (
            <div key={d.name}>
              <h5 className="text-sm">
                EnvoyFilter {d.name}: {d.change}
              </h5>
              <DiffView label={`Diff of EnvoyFilter ${d.name}`} lines={d.lines} />
            </div>
          ))}
          {p.workloads.map((w) => (
            <section
              key={`${w.namespace}/${w.name}`}
              aria-label={`Chains of ${w.namespace}/${w.name} after apply`}
              className="space-y-2"
            >
              <h5 className="text-sm font-medium">
                {w.namespace}/{w.name} after apply (on {w.pod})
              </h5>
              {w.chains
                .filter((c) => c.filters.some((f) => f.by !== 'istio'))
                .map((c, i) => (
                  <ChainTable key={i} chain={c} workload={`${w.namespace}/${w.name}`} />
                ))}
            </section>
          ))}
          <details>
            <summary className="cursor-pointer text-sm">What it writes (YAML)</summary>
            <pre
              tabIndex={0}
              aria-label="EnvoyFilter YAML"
              className="mt-1 max-h-80 overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100"
            >
              {p.yaml}
            </pre>
          </details>
          <div className="flex gap-2">
            <button
              type="button"
              className={primary}
              disabled={!p.ok || !canEdit || apply.isPending || errors > 0}
              onClick={() => apply.mutate({ yaml: text, ...inCluster })}
            >
              {apply.isPending ? 'Applying…' : 'Apply'}
            </button>
            <button type="button" className={button} onClick={() => preview.reset()}>
              Cancel
            </button>
          </div>
        </section>
      )}
    </section>
  );
}
