'use client';
/** The side panel of one service of the topology: its rates, health, badges and where to go next. */
import Link from 'next/link';
import { useEffect, useRef } from 'react';
import { limiterEditPath, servicePath } from '../../lib/routes';
import { HEALTH_FILL, HEALTH_TEXT, ms, percent, rate } from '../../lib/topology/format';
import type { TopologyEdge, TopologyNode } from './types';

export function TopologySidePanel({
  node,
  edges,
  nameOf,
  linkCluster,
  clusterNote,
  onClose,
}: {
  node: TopologyNode;
  edges: readonly TopologyEdge[];
  /** How the graph names a node by id (`reviews`, or `reviews (west)` outside the home cluster). */
  nameOf: (id: string) => string;
  /** The cluster links name, null for the home cluster (the pages' default). */
  linkCluster: string | null;
  /** Said after the cluster's name: `home`, `unreachable, last synced …`. */
  clusterNote: string | null;
  onClose: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Focus moves to the panel when it opens for a node, so a keyboard user lands on what they opened.
  useEffect(() => heading.current?.focus(), [node.id]);
  // Pages select a workload by `namespace/name` in the home cluster, `cluster/namespace/name` elsewhere.
  const path = `${linkCluster ? `${linkCluster}/` : ''}${node.namespace}/${node.name}`;
  const b = node.badges;
  const inbound = edges.filter((e) => e.to === node.id);
  const outbound = edges.filter((e) => e.from === node.id);
  const across = (e: TopologyEdge) => (e.crossCluster ? ', across clusters' : '');
  return (
    <section
      id="topology-panel"
      aria-labelledby="topology-panel-heading"
      className="w-full space-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm lg:w-80 lg:shrink-0 dark:border-slate-800 dark:bg-slate-900"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="flex items-start justify-between gap-2">
        <div>
          <h3 id="topology-panel-heading" ref={heading} tabIndex={-1} className="text-base font-semibold">
            {node.name}
          </h3>
          <dl aria-label={`Where ${node.name} runs`} className="text-slate-600 dark:text-slate-400">
            <div className="flex gap-1">
              <dt>Cluster</dt>
              <dd className="font-medium text-slate-900 dark:text-slate-100">
                {node.cluster}
                {clusterNote ? ` (${clusterNote})` : ''}
              </dd>
            </div>
            <div className="flex gap-1">
              <dt>Namespace</dt>
              <dd className="font-medium text-slate-900 dark:text-slate-100">{node.namespace}</dd>
            </div>
          </dl>
        </div>
        <button
          type="button"
          onClick={onClose}
          className="rounded border border-slate-300 px-2 py-0.5 text-xs dark:border-slate-700"
        >
          Close<span className="sr-only"> the panel of {node.name}</span>
        </button>
      </div>
      <p className="flex items-center gap-2">
        <svg width="12" height="12" aria-hidden="true">
          <circle cx="6" cy="6" r="6" className={HEALTH_FILL[node.health.status]} />
        </svg>
        <span>Health: {HEALTH_TEXT[node.health.status]}</span>
      </p>
      <dl aria-label={`Figures of ${node.name}`} className="grid grid-cols-2 gap-x-3 gap-y-1">
        <dt className="text-slate-600 dark:text-slate-400">Requests</dt>
        <dd>{rate(node.rps)}</dd>
        <dt className="text-slate-600 dark:text-slate-400">Limited (429)</dt>
        <dd>{rate(node.limitedRps)}</dd>
        <dt className="text-slate-600 dark:text-slate-400">5xx</dt>
        <dd>
          {node.errorRps === null ? 'n/a' : rate(node.errorRps)} ({percent(node.health.serverErrorPercent)})
        </dd>
        <dt className="text-slate-600 dark:text-slate-400">4xx</dt>
        <dd>{percent(node.health.clientErrorPercent)}</dd>
        <dt className="text-slate-600 dark:text-slate-400">p99</dt>
        <dd>{ms(node.p99Ms)}</dd>
      </dl>
      <div>
        <h4 className="font-medium">Governed by</h4>
        <ul aria-label={`What governs ${node.name}`} className="list-disc pl-5">
          {b.limits.map((l) => (
            <li key={l.name}>
              Rate limit{' '}
              <Link
                className="underline"
                href={limiterEditPath({ namespace: node.namespace, name: l.name, cluster: linkCluster })}
              >
                {l.name}
              </Link>{' '}
              ({l.ready ? 'ready' : 'not ready'})
            </li>
          ))}
          {b.fence && (
            <li>
              <Link className="underline" href={`/lazyload?workload=${encodeURIComponent(path)}`}>
                Lazyload fence
              </Link>{' '}
              {b.fence.enabled ? `on, ${b.fence.hosts} egress hosts` : 'off'}
            </li>
          )}
          {b.plugins.map((p) => (
            <li key={p}>
              Plugin{' '}
              <Link className="underline" href={`/plugin?workload=${encodeURIComponent(path)}`}>
                {p}
              </Link>
            </li>
          ))}
          {b.metaRouter && (
            <li>
              <Link className="underline" href={`/metarouter?service=${encodeURIComponent(path)}`}>
                RPC routing
              </Link>{' '}
              ({b.metaRouter.protocol ?? 'MetaProtocol'}) by {b.metaRouter.routers.join(', ')}
            </li>
          )}
          {b.limits.length === 0 && !b.fence && b.plugins.length === 0 && !b.metaRouter && (
            <li>nothing yet</li>
          )}
        </ul>
      </div>
      <div>
        <h4 className="font-medium">Calls</h4>
        <ul aria-label={`Calls of ${node.name}`} className="space-y-0.5">
          {inbound.map((e) => (
            <li key={`in ${e.from}`}>
              from {nameOf(e.from)}: {rate(e.rps)}, {HEALTH_TEXT[e.health.status]}
              {across(e)}
            </li>
          ))}
          {outbound.map((e) => (
            <li key={`out ${e.to}`}>
              to {nameOf(e.to)}: {rate(e.rps)}, {HEALTH_TEXT[e.health.status]}
              {across(e)}
            </li>
          ))}
          {inbound.length + outbound.length === 0 && <li>none seen</li>}
        </ul>
      </div>
      {node.known && (
        <p>
          <Link
            className="underline"
            href={servicePath({ namespace: node.namespace, name: node.name, cluster: linkCluster })}
          >
            Service page of {node.name}
          </Link>
        </p>
      )}
    </section>
  );
}
