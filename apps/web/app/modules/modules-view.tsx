'use client';
/**
 * The Modules page: which of Governor's modules run, with which settings and from where (a SlimeBoot in the
 * cluster, the GOVERNOR_MODULES file, the defaults), their configuration issues, what they need that is
 * missing, and the SlimeBoot changes that wait for a restart.
 */
import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { parse, stringify } from 'yaml';
import { CLUSTER_PARAM } from '../../lib/routes';
import { useTRPC } from '../../lib/trpc';
import { RESTART_COMMAND, SettingChanges, SlimeBootEditor } from './slimeboot-editor';

const card = 'rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900';
const muted = 'text-sm text-slate-600 dark:text-slate-400';
const pre =
  'overflow-x-auto rounded-md bg-slate-50 p-3 font-mono text-xs leading-5 dark:bg-slate-950 dark:text-slate-200';

/** What a module does, in one line. */
const PURPOSE: Record<string, string> = {
  limiter: 'SmartLimiter: local, global and adaptive rate limits (Slime limiter)',
  lazyload: 'ServiceFence: each workload gets the services it calls, learned from traffic (Slime lazyload)',
  plugin: 'PluginManager and EnvoyPlugin: Envoy filters per workload or route (Slime plugin)',
  metarouter: "MetaRouter: routes for MetaProtocol (Dubbo, Thrift…) proxies (Aeraki's metarouter)",
};

function Badge({ tone, children }: { tone: 'ok' | 'off' | 'warn' | 'bad' | 'info'; children: string }) {
  const tones = {
    ok: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
    off: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
    warn: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
    bad: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
    info: 'bg-indigo-100 text-indigo-900 dark:bg-indigo-900 dark:text-indigo-100',
  };
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${tones[tone]}`}>{children}</span>;
}

interface Issue {
  readonly severity: 'error' | 'warning' | 'note';
  readonly path: string;
  readonly message: string;
  readonly document?: number;
  readonly source?: string;
  readonly suggestion?: string;
}

function Issues({ issues, label }: { issues: readonly Issue[]; label: string }) {
  if (issues.length === 0) return null;
  return (
    <ul aria-label={label} className="space-y-1 text-sm">
      {issues.map((i, n) => (
        <li key={n} className="flex flex-wrap items-baseline gap-2">
          <Badge tone={i.severity === 'error' ? 'bad' : i.severity === 'warning' ? 'warn' : 'off'}>
            {i.severity}
          </Badge>
          <span>{i.message}</span>
          {i.path !== '' && (
            <code className="font-mono text-xs text-slate-600 dark:text-slate-400">
              {i.source ? `${i.source} ` : ''}
              {i.document !== undefined ? `document ${i.document}, ` : ''}
              {i.path}
            </code>
          )}
        </li>
      ))}
    </ul>
  );
}

/** A new SlimeBoot configuring `module`, from its entry in the file (or a bare one). */
function newSlimeBoot(namespace: string, module: string, entryYaml: string | null): string {
  const entry = (entryYaml !== null ? parse(entryYaml) : null) as Record<string, unknown> | null;
  return stringify({
    apiVersion: 'config.netease.com/v1alpha1',
    kind: 'SlimeBoot',
    metadata: { name: module, namespace },
    spec: { module: [entry ?? { name: module, kind: module, enable: true }] },
  });
}

export function ModulesView() {
  const trpc = useTRPC();
  const cluster = useSearchParams().get(CLUSTER_PARAM);
  const list = useQuery({
    ...trpc.modules.list.queryOptions(cluster ? { cluster } : undefined),
    // A SlimeBoot changed in the cluster shows within this.
    refetchInterval: 5_000,
  });
  const me = useQuery(trpc.auth.me.queryOptions());
  // Module configuration is every namespace's: only an admin of all namespaces edits it.
  const canEdit =
    me.data?.role === 'admin' &&
    me.data.namespaces === '*' &&
    list.data !== undefined &&
    list.data !== null &&
    list.data.slimeBoot.namespace !== null;
  // The home cluster's, whichever cluster the page shows: SlimeBoots are read from there only.
  const slimeBoots = useQuery({ ...trpc.modules.slimeBoots.queryOptions(), enabled: canEdit });
  const [editing, setEditing] = useState<{ module: string; title: string; initial: string } | null>(null);
  const [applied, setApplied] = useState<string | null>(null);

  return (
    <section aria-labelledby="modules-heading" className="space-y-4">
      <div className="space-y-1">
        <h2 id="modules-heading" className="text-lg font-semibold">
          Modules
        </h2>
        <p className={muted}>
          Governor runs Slime&apos;s modules (limiter, lazyload, plugin) and Aeraki&apos;s metarouter. Each is
          configured as in Slime, by a <code>spec.module[]</code> entry of a SlimeBoot: a SlimeBoot in the
          cluster&apos;s SlimeBoot namespace configures the modules it lists; the others take the
          GOVERNOR_MODULES file, or the defaults (on) when there is none. The settings are read when the BFF
          starts: a SlimeBoot changed later applies at the next restart. Below, each module&apos;s settings,
          where they came from, their issues, and what the module needs outside them.
        </p>
      </div>
      {list.isPending ? (
        <p role="status">Loading modules…</p>
      ) : list.isError ? (
        <p role="alert">Could not load the modules: {list.error.message}</p>
      ) : list.data === null ? (
        <p role="status">This BFF does not report its module configuration.</p>
      ) : (
        <>
          {canEdit && (
            <p className={muted}>
              As an admin you can edit the SlimeBoots of namespace {list.data.slimeBoot.namespace} of cluster{' '}
              {list.data.readFrom} here, or create one for a module the file or the defaults configure. A
              change applies at the next restart of the BFF (
              <code className="font-mono text-xs">{RESTART_COMMAND}</code>).
            </p>
          )}
          {applied !== null && (
            <p role="status" className="text-sm">
              {applied} Restart it with <code className="font-mono text-xs">{RESTART_COMMAND}</code>.
            </p>
          )}
          {list.data.restartPending.map((p) => (
            <div
              key={p.slimeBoot}
              role={p.modules.length > 0 ? 'alert' : 'status'}
              className={`rounded-lg border p-4 text-sm ${p.modules.length > 0 ? 'border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100' : 'border-slate-200 bg-slate-50 dark:border-slate-700 dark:bg-slate-900'}`}
            >
              <p className="font-medium">{p.message}</p>
              {p.modules.map((m) => (
                <div key={m.module} className="mt-2">
                  <p>
                    {m.module}:{' '}
                    {m.runningSource === m.configuredSource
                      ? `from ${m.runningSource}`
                      : `from ${m.runningSource} now, from ${m.configuredSource} after a restart`}
                  </p>
                  {m.changes.length > 0 && (
                    <SettingChanges changes={m.changes} label={`What a restart changes in ${m.module}`} />
                  )}
                </div>
              ))}
            </div>
          ))}

          <dl className={`${card} grid gap-x-6 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]`}>
            <dt className="font-medium">SlimeBoots</dt>
            <dd data-testid="slimeboot-status">
              {list.data.slimeBoot.message}
              {list.data.slimeBoot.namespace !== null && (
                <span className={`block ${muted}`}>
                  Namespace {list.data.slimeBoot.namespace} (GOVERNOR_SLIMEBOOT_NAMESPACE) of cluster{' '}
                  {list.data.readFrom};{' '}
                  {list.data.watchError !== null
                    ? `watching fails: ${list.data.watchError}`
                    : list.data.watching
                      ? 'watched for changes'
                      : 'not watched'}
                  .
                </span>
              )}
            </dd>
            <dt className="font-medium">File</dt>
            <dd>{list.data.file ?? 'none (GOVERNOR_MODULES is unset)'}</dd>
            <dt className="font-medium">Clusters</dt>
            <dd>
              One configuration for every cluster of this BFF; &quot;running&quot; is cluster{' '}
              {list.data.cluster}&apos;s.
            </dd>
          </dl>

          {list.data.sources.some((s) => s.issues.length > 0) && (
            <div className={`${card} space-y-3`}>
              <h3 className="font-medium">Issues of the inputs</h3>
              {list.data.sources
                .filter((s) => s.issues.length > 0)
                .map((s) => (
                  <div key={s.label} className="space-y-1">
                    <p className="text-sm font-medium">{s.label}</p>
                    <Issues issues={s.issues} label={`Issues of ${s.label}`} />
                  </div>
                ))}
            </div>
          )}

          <ul aria-label="Modules" className="space-y-4">
            {list.data.modules.map((m) => {
              const missing = m.needs.filter((n) => !n.met && !n.optional);
              const missingForSome = m.needs.filter((n) => !n.met && n.optional);
              return (
                <li key={m.name} aria-labelledby={`module-${m.name}`} className={`${card} space-y-3`}>
                  <div className="flex flex-wrap items-center gap-2">
                    <h3 id={`module-${m.name}`} className="text-base font-semibold">
                      {m.name}
                    </h3>
                    <Badge tone={m.running ? 'ok' : 'off'}>{m.running ? 'running' : 'off'}</Badge>
                    <Badge tone="info">{m.sourceLabel}</Badge>
                    {m.pending && <Badge tone="warn">restart pending</Badge>}
                  </div>
                  <p className={muted}>{PURPOSE[m.name] ?? ''}</p>
                  <p className="text-sm" data-testid={`source-${m.name}`}>
                    Settings from <strong className="font-medium">{m.sourceLabel}</strong>
                    {'at' in m.source && m.source.at ? ` (${m.source.at})` : ''}
                    {m.source.type === 'defaults' && ': no SlimeBoot or file configures it'}.
                  </p>

                  {missing.length > 0 && (
                    <div
                      role="alert"
                      aria-label={`What ${m.name} is missing`}
                      className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-950 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
                    >
                      <p className="font-medium">Missing</p>
                      <ul className="mt-1 space-y-1">
                        {missing.map((n) => (
                          <li key={n.id}>
                            {n.what}. <strong>To do:</strong> {n.hint}
                          </li>
                        ))}
                      </ul>
                    </div>
                  )}
                  {missingForSome.length > 0 && (
                    <div
                      aria-label={`What ${m.name} is missing for some uses`}
                      role="group"
                      className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
                    >
                      <p className="font-medium">Missing for some uses</p>
                      <ul className="mt-1 space-y-1">
                        {missingForSome.map((n) => (
                          <li key={n.id}>
                            {n.what}. <strong>To do:</strong> {n.hint}
                          </li>
                        ))}
                      </ul>
                    </div>
                  )}
                  {m.needs.some((n) => n.met) && (
                    <ul aria-label={`What ${m.name} has`} className="space-y-1 text-sm">
                      {m.needs
                        .filter((n) => n.met)
                        .map((n) => (
                          <li key={n.id}>
                            <Badge tone="ok">met</Badge> {n.what}: {n.by}.{' '}
                            <span className={muted}>{n.hint}</span>
                          </li>
                        ))}
                    </ul>
                  )}
                  {m.running && m.needs.length === 0 && (
                    <p className={muted}>Needs nothing outside its settings and the cluster.</p>
                  )}

                  <Issues issues={m.issues} label={`Issues of ${m.name}`} />

                  {m.pending && (
                    <p className="text-sm text-amber-800 dark:text-amber-300">
                      {m.pending.slimeBoots.map((s) => `SlimeBoot ${s}`).join(', ')} changed at{' '}
                      {new Date(m.pending.at).toLocaleString()}; restart the BFF to apply (
                      {m.pending.changes.length} setting{m.pending.changes.length === 1 ? '' : 's'} differ).
                    </p>
                  )}

                  {canEdit &&
                    editing?.module !== m.name &&
                    (m.source.type === 'slimeboot' ? (
                      <button
                        type="button"
                        className="rounded-md border border-slate-300 px-3 py-1 text-sm dark:border-slate-700"
                        disabled={!slimeBoots.data}
                        onClick={() => {
                          const source = m.source as { namespace: string; name: string };
                          const stored = slimeBoots.data?.find((b) => b.name === source.name);
                          if (!stored) return;
                          setApplied(null);
                          setEditing({
                            module: m.name,
                            title: `Edit SlimeBoot ${source.namespace}/${source.name}`,
                            initial: stored.yaml,
                          });
                        }}
                      >
                        Edit SlimeBoot {m.source.namespace}/{m.source.name}
                      </button>
                    ) : (
                      <button
                        type="button"
                        className="rounded-md border border-slate-300 px-3 py-1 text-sm dark:border-slate-700"
                        onClick={() => {
                          setApplied(null);
                          setEditing({
                            module: m.name,
                            title: `New SlimeBoot for ${m.name}`,
                            initial: newSlimeBoot(list.data!.slimeBoot.namespace!, m.name, m.entryYaml),
                          });
                        }}
                      >
                        New SlimeBoot for {m.name}
                      </button>
                    ))}
                  {canEdit && editing?.module === m.name && (
                    <SlimeBootEditor
                      title={editing.title}
                      initial={editing.initial}
                      onClose={() => setEditing(null)}
                      onApplied={(message) => {
                        setEditing(null);
                        setApplied(message);
                      }}
                    />
                  )}

                  <details>
                    <summary className="cursor-pointer text-sm font-medium">Settings in effect</summary>
                    <pre className={pre} aria-label={`Settings of ${m.name}`}>
                      {stringify(m.settings)}
                    </pre>
                  </details>
                  {m.entryYaml !== null && (
                    <details>
                      <summary className="cursor-pointer text-sm font-medium">
                        The entry in {m.sourceLabel}, as written
                      </summary>
                      <pre className={pre} aria-label={`Entry of ${m.name}`}>
                        {m.entryYaml}
                      </pre>
                    </details>
                  )}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}
