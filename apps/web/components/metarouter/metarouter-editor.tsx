'use client';
/**
 * The MetaRouter editor: a form and a YAML tab on one text, checked by the BFF as it is typed (problems by
 * line, and the status it would have); preview (the object's diff and the route configurations the route
 * server would serve, against now), apply with confirmation, history with diffs and rollback.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTRPC } from '../../lib/trpc';
import { useCanEdit } from '../app-shell';
import { DiffView } from '../diff-view';
import { EditorTabs } from '../editor-tabs';
import { ApplyConfirm, EditorActions } from '../limiter/editor-actions';
import { HistorySection } from '../limiter/history-section';
import { Problems } from '../limiter/problems';
import { usePausedCheck } from '../limiter/use-live-check';
import { YamlPanel } from '../limiter/yaml-panel';
import { editText, readMetaRouterText } from './form-model';
import { MetaRouterForm } from './metarouter-form';
import type { MetaRouterPreview } from './types';

const TABS = [
  ['form', 'Form'],
  ['yaml', 'YAML'],
] as const;
type Tab = (typeof TABS)[number][0];

/** A first MetaRouter for a service that has none: every call to it, to one subset. */
export const newMetaRouter = (
  namespace: string,
  name: string,
  host: string,
) => `apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  hosts:
    - ${host}
  routes:
    - name: v1
      route:
        - destination:
            host: ${host}
            subset: v1
`;

function PreviewSection({ preview }: { preview: MetaRouterPreview }) {
  return (
    <section aria-labelledby="mr-preview-heading" className="space-y-3">
      <h4 id="mr-preview-heading" className="font-medium">
        Preview
      </h4>
      {!preview.ok && <p role="alert">Apply would be refused: fix the problems above first.</p>}
      {preview.ok && preview.routes.length === 0 && (
        <p className="text-sm">
          No route configuration is served from it: no MetaProtocol service has its host.
        </p>
      )}
      {preview.routes.map((r) => (
        <div key={r.name}>
          <h5 className="text-sm font-medium">
            Route configuration {r.name}: {r.change}
          </h5>
          <DiffView label={`Diff of route configuration ${r.name}`} lines={r.lines} />
        </div>
      ))}
      <h5 className="text-sm font-medium">Changes to the MetaRouter</h5>
      <DiffView label="Diff of the MetaRouter" lines={preview.specDiff} />
    </section>
  );
}

export function MetaRouterEditor({
  cluster,
  namespace,
  name,
  initial,
  stored,
}: {
  /** The cluster it lives or goes in. */
  cluster: string;
  namespace: string;
  name: string;
  initial: string;
  /** Whether it exists in the cluster (else the editor creates it). */
  stored: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canEdit = useCanEdit(namespace);
  const [text, setText] = useState(initial);
  const [tab, setTab] = useState<Tab>('form');
  const [confirming, setConfirming] = useState(false);
  const model = useMemo(() => readMetaRouterText(text), [text]);

  const validate = useMutation(trpc.metarouter.validate.mutationOptions());
  const upToDate = usePausedCheck(text, {
    mutate: (input, options) => validate.mutate({ ...input, cluster }, options),
    isPending: validate.isPending,
  });
  const issues = validate.data?.issues ?? [];
  const errors = issues.filter((i) => i.severity === 'error').length;
  const preview = useMutation(trpc.metarouter.preview.mutationOptions());
  const ref = { cluster, namespace, name };
  const history = useQuery({ ...trpc.metarouter.history.queryOptions(ref), enabled: stored });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.metarouter.pathKey() });
  const apply = useMutation(
    trpc.metarouter.applyMetaRouter.mutationOptions({
      onSuccess: async () => {
        setConfirming(false);
        preview.reset();
        await invalidate();
      },
    }),
  );
  const rollback = useMutation(
    trpc.metarouter.rollback.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        setText((await queryClient.fetchQuery(trpc.metarouter.get.queryOptions(ref))).yaml);
      },
    }),
  );
  const edit = (next: string) => {
    setText(next);
    apply.reset();
  };

  return (
    <section aria-labelledby="mr-editor-heading" className="space-y-4">
      <h3 id="mr-editor-heading" className="text-base font-semibold">
        {stored ? `MetaRouter ${namespace}/${name}` : `New MetaRouter ${namespace}/${name}`}
      </h3>
      {!canEdit && (
        <p className="rounded-md bg-slate-100 px-3 py-1 text-sm dark:bg-slate-800">
          Read-only: your role cannot change MetaRouters in this namespace.
        </p>
      )}
      <EditorTabs id="mr" tabs={TABS} tab={tab} onTab={setTab}>
        {tab === 'yaml' ? (
          <YamlPanel text={text} editable={canEdit} onChange={edit} label="MetaRouter YAML" grow />
        ) : model.ok ? (
          <MetaRouterForm
            written={model.written}
            issues={issues}
            canEdit={canEdit}
            // Functional: a control that sets two values at once sees the first.
            onSet={(path, value) => {
              setText((t) => editText(t, path, value));
              apply.reset();
            }}
          />
        ) : (
          <p role="status">{model.reason}</p>
        )}
      </EditorTabs>

      <Problems issues={issues} checking={!upToDate} />
      {upToDate && validate.data?.status && (
        <p className="text-sm" aria-label="Status after apply">
          After apply: {validate.data.status.map((c) => `${c.type} ${c.status}`).join(' · ')}
        </p>
      )}

      <EditorActions
        ready={upToDate && errors === 0}
        canEdit={canEdit}
        previewing={preview.isPending}
        applying={apply.isPending}
        onPreview={() => preview.mutate({ yaml: text, cluster })}
        onApply={() => setConfirming(true)}
      />
      {confirming && (
        <ApplyConfirm
          question="Apply this MetaRouter? The route server serves its routes to the proxies at once."
          applying={apply.isPending}
          onConfirm={() => apply.mutate({ yaml: text, cluster })}
          onCancel={() => setConfirming(false)}
        />
      )}
      {apply.isError && <p role="alert">Not applied: {apply.error.message}</p>}
      {apply.isSuccess && <p role="status">Applied. The route server serves it to the subscribed proxies.</p>}
      {preview.isError && <p role="alert">Preview failed: {preview.error.message}</p>}
      {preview.data && <PreviewSection preview={preview.data} />}

      {stored && (
        <HistorySection
          versions={history.data}
          canRollBack={canEdit}
          rollingBack={rollback.isPending}
          rollbackError={rollback.isError ? rollback.error.message : null}
          onRollBack={(toId) => rollback.mutate({ ...ref, toId })}
        />
      )}
    </section>
  );
}
