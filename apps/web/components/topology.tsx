'use client';
/**
 * Who calls whom, as Kiali draws it: services boxed by namespace and layered by call depth, calls
 * labelled with rate, 5xx share and p95 and coloured by health, badges for what governs a service; a
 * node opens a side panel. The same calls are listed as text below the graph.
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState, type KeyboardEvent } from 'react';
import { useTRPC } from '../lib/trpc';
import { layoutTopology, type Rect } from '../lib/topology/layout';
import {
  HEALTH_FILL,
  HEALTH_STROKE,
  HEALTH_TEXT,
  edgeLabel,
  percent,
  rate,
  type HealthStatus,
} from '../lib/topology/format';
import { TopologySidePanel } from './topology/side-panel';
import type { TopologyNode } from './topology/types';

const STATUSES: readonly HealthStatus[] = ['healthy', 'degraded', 'failing', 'idle'];

/** The badges of a node, each a short label with what it stands for. */
function badgesOf(n: TopologyNode): { label: string; title: string }[] {
  const out: { label: string; title: string }[] = [];
  if (n.badges.limits.length > 0)
    out.push({ label: 'limit', title: `rate limits: ${n.badges.limits.map((l) => l.name).join(', ')}` });
  if (n.badges.fence?.enabled)
    out.push({ label: 'fence', title: `lazyload fence, ${n.badges.fence.hosts} egress hosts` });
  if (n.badges.plugins.length > 0)
    out.push({ label: 'plugin', title: `plugins: ${n.badges.plugins.join(', ')}` });
  if (n.badges.metaRouter)
    out.push({ label: 'RPC', title: `RPC routing by ${n.badges.metaRouter.routers.join(', ')}` });
  return out;
}

export function Topology({
  namespace,
}: {
  namespace?: string;
  /** The overview's rows; the topology carries its own nodes with the same figures. */
  services?: readonly unknown[];
}) {
  const trpc = useTRPC();
  // Refreshed with the service list as the live seconds arrive (see Overview).
  const topology = useQuery(trpc.services.topology.queryOptions(namespace ? { namespace } : {}));
  const nodes = useMemo(() => topology.data?.nodes ?? [], [topology.data]);
  const edges = useMemo(() => topology.data?.edges ?? [], [topology.data]);
  const layout = useMemo(
    // The namespace is the box; a cluster box around these comes with multi-cluster graphs.
    () =>
      layoutTopology(
        nodes.map((n) => ({ id: n.id, group: n.namespace })),
        edges,
      ),
    [nodes, edges],
  );
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const selected = nodes.find((n) => n.id === selectedId);
  const nodeName = (id: string) => id.slice(id.indexOf('/') + 1);
  const open = (id: string) => setSelectedId((current) => (current === id ? null : id));
  const onNodeKey = (id: string) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open(id);
    }
  };

  return (
    <section aria-labelledby="topology-heading" className="space-y-2">
      <h2 id="topology-heading" className="text-lg font-semibold">
        Topology
      </h2>
      {edges.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {topology.isPending
            ? 'Loading who calls whom…'
            : 'No calls between services seen yet (Istio’s source labels or the demo mesh’s calls show them).'}
        </p>
      ) : (
        <>
          <ul
            aria-label="Health colours"
            className="flex flex-wrap gap-4 text-xs text-slate-700 dark:text-slate-300"
          >
            {STATUSES.map((s) => (
              <li key={s} className="flex items-center gap-1">
                <svg width="10" height="10" aria-hidden="true">
                  <circle cx="5" cy="5" r="5" className={HEALTH_FILL[s]} />
                </svg>
                {HEALTH_TEXT[s]}
              </li>
            ))}
            <li>5xx: degraded from 0.1%, failing from 10%; 4xx (429s included): 10% and 20%</li>
          </ul>
          <div className="flex flex-col gap-3 lg:flex-row lg:items-start">
            <div
              role="group"
              className="min-w-0 flex-1 overflow-auto rounded-lg border border-slate-200 bg-white p-2 dark:border-slate-800 dark:bg-slate-900"
              style={{ maxHeight: '75vh' }}
              tabIndex={0}
              aria-label="Topology graph"
            >
              <svg
                width={layout.width + 4}
                height={layout.height + 4}
                role="group"
                aria-label="Services and the calls between them: choose a service for its details"
              >
                <defs>
                  {STATUSES.map((s) => (
                    <marker
                      key={s}
                      id={`topology-arrow-${s}`}
                      viewBox="0 0 10 10"
                      refX="10"
                      refY="5"
                      markerWidth="6"
                      markerHeight="6"
                      orient="auto-start-reverse"
                    >
                      <path d="M 0 0 L 10 5 L 0 10 z" className={HEALTH_FILL[s]} />
                    </marker>
                  ))}
                </defs>
                <g aria-hidden="true">
                  {layout.boxes.map((b) => (
                    <g key={b.group}>
                      <rect
                        x={b.x + 2}
                        y={b.y + 2}
                        width={b.width}
                        height={b.height}
                        rx={8}
                        strokeDasharray="4 3"
                        className="fill-slate-50/60 stroke-slate-300 dark:fill-slate-950/40 dark:stroke-slate-700"
                      />
                      <text
                        x={b.x + 12}
                        y={b.y + 19}
                        className="fill-slate-700 text-[12px] font-semibold dark:fill-slate-300"
                      >
                        {b.group}
                      </text>
                    </g>
                  ))}
                  {edges.map((e) => {
                    const a = layout.nodes.get(e.from);
                    const b = layout.nodes.get(e.to);
                    if (!a || !b) return null;
                    return (
                      <Edge
                        key={`${e.from}>${e.to}`}
                        a={a}
                        b={b}
                        status={e.health.status}
                        label={edgeLabel(e)}
                      />
                    );
                  })}
                </g>
                {nodes.map((n) => {
                  const p = layout.nodes.get(n.id);
                  if (!p) return null;
                  const isSelected = n.id === selectedId;
                  const badges = badgesOf(n);
                  let bx = p.x + 12;
                  return (
                    <g key={n.id} transform="translate(2 2)">
                      <g
                        role="button"
                        tabIndex={0}
                        aria-label={`${n.name} in ${n.namespace}: ${HEALTH_TEXT[n.health.status]}, ${rate(n.rps)}${badges.length ? `; ${badges.map((x) => x.title).join('; ')}` : ''}`}
                        aria-expanded={isSelected}
                        aria-controls={isSelected ? 'topology-panel' : undefined}
                        onClick={() => open(n.id)}
                        onKeyDown={onNodeKey(n.id)}
                        className="group cursor-pointer outline-none"
                      >
                        <rect
                          x={p.x}
                          y={p.y}
                          width={p.width}
                          height={p.height}
                          rx={6}
                          strokeWidth={isSelected ? 3 : 1.5}
                          className={`fill-white dark:fill-slate-800 ${HEALTH_STROKE[n.health.status]} group-focus-visible:stroke-blue-600 group-focus-visible:[stroke-width:3]`}
                        />
                        <circle cx={p.x + 14} cy={p.y + 16} r={5} className={HEALTH_FILL[n.health.status]} />
                      </g>
                      {/* Drawn over the button but outside it: its name says all of this, and clicks pass through. */}
                      <g aria-hidden="true" pointerEvents="none">
                        <text
                          x={p.x + 25}
                          y={p.y + 20}
                          className="fill-slate-900 text-[13px] font-medium dark:fill-slate-100"
                        >
                          {n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name}
                        </text>
                        <text
                          x={p.x + p.width - 8}
                          y={p.y + 20}
                          textAnchor="end"
                          className="fill-slate-600 text-[11px] dark:fill-slate-300"
                        >
                          {rate(n.rps)}
                        </text>
                        {badges.map((x) => {
                          const w = 8 + x.label.length * 6.5;
                          const at = bx;
                          bx += w + 4;
                          return (
                            <g key={x.label}>
                              <title>{x.title}</title>
                              <rect
                                x={at}
                                y={p.y + 29}
                                width={w}
                                height={16}
                                rx={8}
                                className="fill-slate-100 stroke-slate-400 dark:fill-slate-700"
                              />
                              <text
                                x={at + w / 2}
                                y={p.y + 41}
                                textAnchor="middle"
                                className="fill-slate-800 text-[10px] dark:fill-slate-100"
                              >
                                {x.label}
                              </text>
                            </g>
                          );
                        })}
                      </g>
                    </g>
                  );
                })}
              </svg>
            </div>
            {selected && (
              <TopologySidePanel node={selected} edges={edges} onClose={() => setSelectedId(null)} />
            )}
          </div>
          <ul aria-label="Calls between services" className="grid gap-x-6 text-sm sm:grid-cols-2">
            {edges.map((e) => (
              <li key={`${e.from}>${e.to}`}>
                <Link href={`/services/${e.from}`} className="underline">
                  {nodeName(e.from)}
                </Link>{' '}
                →{' '}
                <Link href={`/services/${e.to}`} className="underline">
                  {nodeName(e.to)}
                </Link>
                : {e.rps.toFixed(1)} requests/s, {e.limitedRps.toFixed(1)} limited,{' '}
                {percent(e.health.serverErrorPercent)} 5xx
                {e.p95Ms !== null ? `, p95 ${e.p95Ms.toFixed(0)} ms` : ''} ({HEALTH_TEXT[e.health.status]})
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** A call: a curve from the caller's right side to the callee's left, its label at the middle. */
function Edge({ a, b, status, label }: { a: Rect; b: Rect; status: HealthStatus; label: string }) {
  const x1 = a.x + a.width + 2;
  const y1 = a.y + a.height / 2 + 2;
  const x2 = b.x + 2;
  const y2 = b.y + b.height / 2 + 2;
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  return (
    <g>
      <path
        d={`M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`}
        fill="none"
        strokeWidth={1.75}
        className={HEALTH_STROKE[status]}
        markerEnd={`url(#topology-arrow-${status})`}
      />
      <text
        x={(x1 + x2) / 2}
        y={(y1 + y2) / 2 - 4}
        textAnchor="middle"
        paintOrder="stroke"
        strokeWidth={3}
        className="fill-slate-800 stroke-white text-[10px] dark:fill-slate-200 dark:stroke-slate-900"
      >
        {label}
      </text>
    </g>
  );
}
