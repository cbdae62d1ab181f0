'use client';
/**
 * Plugins: every workload's HTTP filter chains (inbound, outbound, gateway) in the order Envoy runs them,
 * who put each filter there, the PluginManagers and EnvoyPlugins selecting it; edit one of them.
 */
import { useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { useClusterFilter } from '../../lib/cluster-filter';
import { findByKey, objectKey } from '../../lib/clusters';
import { useTRPC } from '../../lib/trpc';
import { ClusterFilterSelect } from '../clusters/cluster-filter';
import { useClusters } from '../clusters/use-clusters';
import { button } from '../limiter/styles';
import { ChainTable } from './chain-table';
import { PluginEditor, TEMPLATES } from './plugin-editor';
import type { PluginWorkload } from './types';
import { PluginWorkloadTable } from './workload-table';

type Editing = {
  kind: 'PluginManager' | 'EnvoyPlugin';
  cluster: string;
  namespace: string;
  name: string;
} | null;

function ExistingEditor({ editing }: { editing: NonNullable<Editing> }) {
  const trpc = useTRPC();
  const object = useQuery(trpc.plugins.get.queryOptions(editing));
  if (object.isPending) return <p role="status">Loading {editing.name}…</p>;
  if (object.isError)
    return (
      <p role="alert">
        Could not load {editing.name}: {object.error.message}
      </p>
    );
  return (
    <PluginEditor
      key={`${editing.kind}/${objectKey(editing)}`}
      initial={object.data.yaml}
      cluster={editing.cluster}
      title={`Edit ${editing.kind} ${editing.namespace}/${editing.name} in cluster ${editing.cluster}`}
    />
  );
}

function WorkloadDetail({
  workload: w,
  onEdit,
}: {
  workload: PluginWorkload;
  onEdit: (e: NonNullable<Editing>) => void;
}) {
  const key = `${w.namespace}/${w.name}`;
  const [showOutbound, setShowOutbound] = useState(false);
  const inbound = w.chains.filter((c) => c.direction === 'inbound');
  const outbound = w.chains.filter((c) => c.direction === 'outbound');
  const gateway = w.chains.filter((c) => c.direction === 'gateway');
  return (
    <section
      aria-labelledby="workload-heading"
      className="space-y-4 rounded-lg border border-slate-200 p-4 dark:border-slate-800"
    >
      <h3 id="workload-heading" className="text-base font-semibold">
        {key}
      </h3>
      <p className="text-sm">
        In cluster {w.cluster}. HTTP filters on {w.pod}, after every EnvoyFilter istiod applies to it, in the
        order Envoy runs them.
      </p>
      <section aria-labelledby="plugin-objects-heading" className="space-y-2">
        <h4 id="plugin-objects-heading" className="font-medium">
          Plugin objects selecting it
        </h4>
        {w.plugins.length === 0 ? (
          <p className="text-sm">None.</p>
        ) : (
          <ul className="space-y-1 text-sm">
            {w.plugins.map((p) => (
              <li key={`${p.kind}/${p.name}`} className="flex flex-wrap items-center gap-2">
                <span>
                  {p.kind} {p.namespace}/{p.name}:{' '}
                  {p.plugins.map((x) => `${x.name} (${x.enabled ? 'on' : 'off'})`).join(', ') || 'no plugins'}
                  {p.conditions.find((c) => c.type === 'Ready')?.message
                    ? ` — ${p.conditions.find((c) => c.type === 'Ready')!.message}`
                    : ''}
                </span>
                <button
                  type="button"
                  className={button}
                  onClick={() =>
                    onEdit({ kind: p.kind, cluster: w.cluster, namespace: p.namespace, name: p.name })
                  }
                >
                  Edit {p.kind} {p.name}
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      {w.warnings.length > 0 && (
        <ul
          aria-label="Patches that match nothing"
          className="space-y-1 text-sm text-amber-700 dark:text-amber-400"
        >
          {w.warnings.map((x, i) => (
            <li key={i}>{x}</li>
          ))}
        </ul>
      )}
      {[
        ['Inbound', inbound],
        ['Gateway', gateway],
      ].map(([label, list]) =>
        (list as typeof inbound).length === 0 ? null : (
          <section
            key={label as string}
            aria-label={`${label as string} filter chains`}
            className="space-y-3"
          >
            {(list as typeof inbound).map((c, i) => (
              <ChainTable key={i} chain={c} workload={key} />
            ))}
          </section>
        ),
      )}
      {outbound.length > 0 && (
        <section aria-label="Outbound filter chains" className="space-y-3">
          <button
            type="button"
            className={button}
            aria-expanded={showOutbound}
            onClick={() => setShowOutbound(!showOutbound)}
          >
            {showOutbound ? 'Hide' : 'Show'} outbound chains ({outbound.length})
          </button>
          {showOutbound && outbound.map((c, i) => <ChainTable key={i} chain={c} workload={key} />)}
        </section>
      )}
    </section>
  );
}

export function PluginView() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const { cluster, input } = useClusterFilter();
  const home = useClusters().data?.home;
  const workloads = useQuery({ ...trpc.plugins.workloads.queryOptions(input), refetchInterval: 3_000 });
  const [editing, setEditing] = useState<Editing>(null);
  const [template, setTemplate] = useState<keyof typeof TEMPLATES | null>(null);
  const selectedKey = params.get('workload');
  const select = (key: string) => {
    const next = new URLSearchParams(params);
    next.set('workload', key);
    router.replace(`${pathname}?${next.toString()}`, { scroll: false });
  };
  const selected = findByKey(workloads.data, selectedKey, cluster ?? home);
  // A new object goes to the cluster chosen, else to the home cluster.
  const newIn = cluster ?? home;

  return (
    <div className="space-y-8">
      <section aria-labelledby="plugins-heading" className="space-y-4">
        <div>
          <h2 id="plugins-heading" className="text-lg font-semibold">
            Plugins
          </h2>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            The HTTP filters each workload&apos;s proxy runs, in order, and who put each one there: Istio, or
            an EnvoyFilter and the PluginManager, EnvoyPlugin or SmartLimiter that owns it.
          </p>
        </div>
        <ClusterFilterSelect reset={['workload']} />
        {workloads.isPending ? (
          <p role="status">Loading workloads…</p>
        ) : workloads.isError ? (
          <p role="alert">Could not load the workloads: {workloads.error.message}</p>
        ) : workloads.data.length === 0 ? (
          <p>No workload (a Service with Pods) in the namespaces you may see.</p>
        ) : (
          <PluginWorkloadTable workloads={workloads.data} selected={selectedKey} onSelect={select} />
        )}
        <div className="flex flex-wrap gap-2">
          {(['PluginManager', 'EnvoyPlugin'] as const).map((k) => (
            <button
              key={k}
              type="button"
              className={button}
              onClick={() => {
                setEditing(null);
                setTemplate(k);
              }}
            >
              New {k}
            </button>
          ))}
        </div>
      </section>
      {selected && (
        <WorkloadDetail
          key={selectedKey}
          workload={selected}
          onEdit={(e) => {
            setTemplate(null);
            setEditing(e);
          }}
        />
      )}
      {selectedKey && workloads.data && !selected && (
        <p role="alert">No workload {selectedKey} among those you may see.</p>
      )}
      {editing && <ExistingEditor editing={editing} />}
      {!editing && template && (
        <PluginEditor
          key={`${template}/${newIn ?? ''}`}
          initial={TEMPLATES[template]}
          cluster={newIn}
          title={`New ${template}${newIn ? ` in cluster ${newIn}` : ''}`}
        />
      )}
    </div>
  );
}
