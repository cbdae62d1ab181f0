'use client';
/**
 * The SmartLimiter editor: a form and a YAML tab on the same text, checked by the BFF as you type; preview
 * (the EnvoyFilters and a diff against the cluster), a what-if replay of recent traffic, apply with
 * confirmation, and the history with diffs and rollback. Viewers see it read-only.
 *
 * `?cluster=` names the cluster the policy lives in (none: the home cluster). A policy of the home cluster
 * can be copied to others (the Clusters field); the fan-out panel says how far the copies are.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { fanoutSource } from '../../lib/limiter-form/clusters';
import { applyEdit, type FormEdit } from '../../lib/limiter-form/apply-edit';
import { keptFields } from '../../lib/limiter-form/kept-fields';
import { newLimiter } from '../../lib/limiter-form/new-limiter';
import { readLimiterText, toYamlText, writeLimiterText } from '../../lib/limiter-form/yaml-text';
import { CLUSTER_PARAM, LIMITER_LIST, limiterEditPath } from '../../lib/routes';
import { useTRPC } from '../../lib/trpc';
import { useCanEdit } from '../app-shell';
import { useClusters, useNow } from '../clusters/use-clusters';
import { EditorTabs } from '../editor-tabs';
import { ApplyConfirm, EditorActions } from './editor-actions';
import { FanoutPanel } from './fanout-panel';
import { HistorySection } from './history-section';
import { LimiterForm } from './limiter-form';
import { PreviewSection } from './preview-section';
import { Problems } from './problems';
import { useLiveCheck } from './use-live-check';
import { WhatIfSection } from './what-if-section';
import { YamlPanel } from './yaml-panel';

const TABS = [
  ['form', 'Form'],
  ['yaml', 'YAML'],
] as const;
type Tab = (typeof TABS)[number][0];

/** How often the fan-out is read: often while copies are on their way, less once all are synced. */
const FANOUT_POLL_MS = { settling: 2_000, synced: 10_000 } as const;

export function LimiterEditor() {
  const params = useSearchParams();
  // A link to the policy's copy in another cluster opens another object: a fresh editor, not this text.
  return <ClusterEditor key={params.get(CLUSTER_PARAM) ?? ''} />;
}

function ClusterEditor() {
  const trpc = useTRPC();
  const params = useSearchParams();
  const router = useRouter();
  const queryClient = useQueryClient();
  const namespace = params.get('namespace') ?? 'default';
  const existingName = params.get('name');
  const service = params.get('service');
  const cluster = params.get(CLUSTER_PARAM) || undefined;
  /** What each call adds to act on the policy's cluster; nothing for the home cluster. */
  const at = useMemo(() => (cluster ? { cluster } : {}), [cluster]);
  const canEdit = useCanEdit(namespace);

  const existing = useQuery({
    ...trpc.policies.get.queryOptions({ namespace, name: existingName ?? '', ...at }),
    enabled: existingName !== null,
  });
  const serviceInfo = useQuery({
    ...trpc.services.get.queryOptions({ namespace, name: service ?? '', ...at }),
    enabled: service !== null,
  });
  const clusterList = useClusters();
  const home = clusterList.data?.home;
  // Only the home cluster's policies fan out; elsewhere the editor acts on that cluster's own object.
  const inHome = home !== undefined && (cluster === undefined || cluster === home);
  const fanout = useQuery({
    ...trpc.fleet.status.queryOptions({ kind: 'SmartLimiter', namespace, name: existingName ?? '' }),
    enabled: existingName !== null && inHome,
    refetchInterval: (q) =>
      q.state.data && q.state.data.state === 'synced' ? FANOUT_POLL_MS.synced : FANOUT_POLL_MS.settling,
  });
  const now = useNow();
  const [text, setText] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>('form');
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
  const kept = useMemo(() => (model.ok ? keptFields(model.written) : []), [model]);
  const check = useLiveCheck(text, cluster);
  const copiedFrom = model.ok ? fanoutSource(model.written) : undefined;

  const preview = useMutation(trpc.policies.preview.mutationOptions());
  const whatIf = useMutation(trpc.replay.run.mutationOptions());
  const history = useQuery({
    ...trpc.policies.history.queryOptions({ namespace, name: existingName ?? '', ...at }),
    enabled: existingName !== null,
  });
  const invalidate = async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.policies.pathKey() });
    await queryClient.invalidateQueries({ queryKey: trpc.services.pathKey() });
    await queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() });
  };
  const apply = useMutation(
    trpc.policies.applyPolicy.mutationOptions({
      onSuccess: async (r) => {
        setConfirming(false);
        await invalidate();
        if (existingName === null)
          router.replace(limiterEditPath({ namespace: r.namespace, name: r.name, cluster }));
      },
    }),
  );
  const rollback = useMutation(
    trpc.policies.rollback.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        const fresh = await queryClient.fetchQuery(
          trpc.policies.get.queryOptions({ namespace, name: existingName ?? '', ...at }),
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
        Could not load {namespace}/{existingName}
        {cluster ? ` in ${cluster}` : ''}: {existing.error.message}
      </p>
    );
  if (text === null) return <p role="status">Loading the policy…</p>;

  const title = existingName ? `${namespace}/${existingName}` : 'New policy';
  // One cluster alone has nowhere to copy to: no Clusters field, unless the policy already names some.
  const fleet =
    inHome &&
    clusterList.data &&
    (clusterList.data.clusters.length > 1 || (model.ok && model.form.clusters.mode !== 'here'))
      ? {
          home: clusterList.data.home,
          clusters: clusterList.data.clusters.map((c) => ({
            name: c.name,
            home: c.home,
            reachable: c.reachable,
          })),
        }
      : null;
  const ready = check.errors === 0 && check.upToDate;
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <div>
          <p className="text-sm">
            <Link href={LIMITER_LIST} className="text-indigo-700 underline dark:text-indigo-300">
              Policies
            </Link>
          </p>
          <h2 className="text-2xl font-semibold">{title}</h2>
          {cluster !== undefined && (
            <p className="text-sm">
              In cluster <strong>{cluster}</strong>
              {cluster === home ? ' (home)' : ''}
            </p>
          )}
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

      {copiedFrom !== undefined && (
        <p role="note" className="rounded-md bg-amber-50 px-3 py-2 text-sm dark:bg-amber-950">
          A copy of the policy in {copiedFrom}: Governor puts back any change made here.{' '}
          <Link
            className="underline"
            href={limiterEditPath({ namespace, name: existingName ?? '', cluster: copiedFrom })}
          >
            Edit it in {copiedFrom}
          </Link>
        </p>
      )}

      <EditorTabs id="limiter" tabs={TABS} tab={tab} onTab={setTab}>
        {tab === 'form' ? (
          model.ok ? (
            <LimiterForm
              form={model.form}
              kept={kept}
              canEdit={canEdit}
              nameFixed={existingName !== null}
              fleet={fleet}
              onEdit={edit}
            />
          ) : (
            <p role="status">{model.reason}</p>
          )
        ) : (
          <YamlPanel text={yamlText} editable={canEdit} onChange={setText} />
        )}
      </EditorTabs>

      <Problems issues={check.issues} checking={!check.upToDate} />

      <EditorActions
        ready={ready}
        canEdit={canEdit}
        previewing={preview.isPending}
        replaying={whatIf.isPending}
        applying={apply.isPending}
        onPreview={() => preview.mutate({ yaml: yamlText, ...at })}
        onWhatIf={() => whatIf.mutate({ policy: yamlText, recentSeconds: 60, ...at })}
        onApply={() => setConfirming(true)}
      />
      {confirming && (
        <ApplyConfirm
          applying={apply.isPending}
          onConfirm={() => apply.mutate({ yaml: yamlText, ...at })}
          onCancel={() => setConfirming(false)}
        />
      )}
      {apply.isError && <p role="alert">Not applied: {apply.error.message}</p>}
      {apply.isSuccess && <p role="status">Applied. The control plane is rendering it now.</p>}

      {preview.data && (
        <PreviewSection
          preview={preview.data}
          explaining={preview.isPending}
          onExplainOn={(proxy) => preview.mutate({ yaml: yamlText, proxy, ...at })}
        />
      )}

      {whatIf.isError && <p role="alert">What-if failed: {whatIf.error.message}</p>}
      {whatIf.data && <WhatIfSection result={whatIf.data} />}

      {existingName !== null && inHome && (
        <FanoutPanel
          status={fanout.data}
          loading={fanout.isPending}
          error={fanout.isError ? fanout.error.message : null}
          wanted={model.ok && model.form.clusters.mode !== 'here'}
          reportedAt={fanout.dataUpdatedAt}
          now={now}
        />
      )}

      {existingName !== null && (
        <HistorySection
          versions={history.data}
          canRollBack={canEdit}
          rollingBack={rollback.isPending}
          rollbackError={rollback.isError ? rollback.error.message : null}
          onRollBack={(toId) => rollback.mutate({ namespace, name: existingName, toId, ...at })}
        />
      )}
    </div>
  );
}
