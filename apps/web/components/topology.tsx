'use client';
/**
 * Who calls whom, as Kiali draws it: services boxed by cluster, then by namespace, and layered by call
 * depth; calls labelled with rate, 5xx share and p95 and coloured by health, dashed when they cross
 * clusters; badges for what governs a service; a node opens a side panel. The same calls are listed as
 * text below the graph.
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState, type KeyboardEvent, type ReactNode } from 'react';
import { useClusterFilter } from '../lib/cluster-filter';
import { lastSyncedText, syncAgeNow } from '../lib/clusters';
import { servicePath } from '../lib/routes';
import {
  HEALTH_FILL,
  HEALTH_STROKE,
  HEALTH_TEXT,
  edgeLabel,
  percent,
  rate,
  type HealthStatus,
} from '../lib/topology/format';
import { layoutTopology, type ClusterBox, type Rect } from '../lib/topology/layout';
import { useTRPC } from '../lib/trpc';
import { useClusters, useNow } from './clusters/use-clusters';
import { TopologySidePanel } from './topology/side-panel';
import type { TopologyNode } from './topology/types';

const STATUSES: readonly HealthStatus[] = ['healthy', 'degraded', 'failing', 'idle'];
/** A call across clusters: dashed, whatever its health colour. */
const CROSS_DASH = '7 4';

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

/** What the graph knows of a cluster beyond its nodes: home or not, reachable or since when not. */
export interface ClusterInfo {
  readonly home: boolean;
  readonly reachable: boolean;
  readonly lastSuccessfulSyncAgeMs: number | null;
}

export function Topology({
  namespace,
}: {
  namespace?: string;
  /** The overview's rows; the topology carries its own nodes with the same figures. */
  services?: readonly unknown[];
}) {
  const trpc = useTRPC();
  const { cluster } = useClusterFilter();
  // Refreshed with the service list as the live seconds arrive (see Overview).
  const topology = useQuery(
    trpc.services.topology.queryOptions({
      ...(namespace ? { namespace } : {}),
      ...(cluster ? { cluster } : {}),
    }),
  );
  const clusterList = useClusters();
  const nodes = useMemo(() => topology.data?.nodes ?? [], [topology.data]);
  const edges = useMemo(() => topology.data?.edges ?? [], [topology.data]);

  const clusterInfo = useMemo(
    () =>
      new Map<string, ClusterInfo>(
        (clusterList.data?.clusters ?? []).map((c) => [
          c.name,
          { home: c.home, reachable: c.reachable, lastSuccessfulSyncAgeMs: c.lastSuccessfulSyncAgeMs },
        ]),
      ),
    [clusterList.data],
  );
  const home = clusterList.data?.home;
  const clustersShown = useMemo(() => [...new Set(nodes.map((n) => n.cluster))], [nodes]);
  // An unreachable cluster may have nothing to show: its box is drawn anyway, saying so.
  const unreachable = useMemo(
    () =>
      (clusterList.data?.clusters ?? [])
        .filter((c) => !c.reachable && (cluster === undefined || c.name === cluster))
        .map((c) => c.name),
    [clusterList.data, cluster],
  );
  const layout = useMemo(
    () =>
      layoutTopology(
        nodes.map((n) => ({ id: n.id, group: n.namespace, cluster: n.cluster })),
        edges,
        { ...(home ? { firstCluster: home } : {}), emptyClusters: unreachable },
      ),
    [nodes, edges, home, unreachable],
  );
  const now = useNow(1_000, unreachable.length > 0);
  const reportedAt = clusterList.dataUpdatedAt;

  /**
   * A node outside the home cluster is named with its cluster, `reviews (west)`; the home cluster's as
   * before. Without the clusters' list, every node is when the graph spans more than one cluster.
   */
  const outside = (c: string) => (home !== undefined ? c !== home : clustersShown.length > 1);
  const byId = useMemo(() => new Map(nodes.map((n) => [n.id, n])), [nodes]);
  const displayName = (id: string) => {
    const n = byId.get(id);
    if (!n) return id.slice(id.lastIndexOf('/') + 1);
    return outside(n.cluster) ? `${n.name} (${n.cluster})` : n.name;
  };
  /** Links to a node's pages name its cluster unless it is the home one (the pages' default). */
  const linkCluster = (n: TopologyNode) => (outside(n.cluster) ? n.cluster : null);

  const [selectedId, setSelectedId] = useState<string | null>(null);
  const selected = byId.get(selectedId ?? '');
  const open = (id: string) => setSelectedId((current) => (current === id ? null : id));
  const onNodeKey = (id: string) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open(id);
    }
  };
  const multiCluster = layout.clusters.length > 1 || edges.some((e) => e.crossCluster);

  /** A cluster's caption: home or not, reachable or since when not; `note` is said after its name. */
  const clusterCaption = (name: string): { home: boolean; down: boolean; note: string | null } => {
    const info = clusterInfo.get(name);
    const isHome = info?.home ?? name === home;
    const down = info !== undefined && !info.reachable;
    const parts = [
      ...(isHome ? ['home'] : []),
      ...(down
        ? [`unreachable, ${lastSyncedText(syncAgeNow(info.lastSuccessfulSyncAgeMs, reportedAt, now))}`]
        : []),
    ];
    return { home: isHome, down, note: parts.length ? parts.join(', ') : null };
  };

  const nodeButton = (n: TopologyNode) => {
    const p = layout.nodes.get(n.id);
    if (!p) return null;
    const isSelected = n.id === selectedId;
    const badges = badgesOf(n);
    let bx = p.x + 12;
    const where = outside(n.cluster) ? `${n.namespace} (${n.cluster})` : n.namespace;
    return (
      <g key={n.id}>
        <g
          role="button"
          tabIndex={0}
          aria-label={`${n.name} in ${where}: ${HEALTH_TEXT[n.health.status]}, ${rate(n.rps)}${badges.length ? `; ${badges.map((x) => x.title).join('; ')}` : ''}`}
          aria-expanded={isSelected}
          aria-controls={isSelected ? 'topology-panel' : undefined}
          onClick={() => open(n.id)}
          onKeyDown={onNodeKey(n.id)}
          className="group cursor-pointer outline-none"
        >
          <rect
            {...rectOf(p)}
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
  };

  const nodesIn = (clusterName: string, group: string) =>
    nodes.filter((n) => n.cluster === clusterName && n.namespace === group);

  return (
    <section aria-labelledby="topology-heading" className="space-y-2">
      <h2 id="topology-heading" className="text-lg font-semibold">
        Topology
      </h2>
      {edges.length === 0 && unreachable.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {topology.isPending
            ? 'Loading who calls whom…'
            : 'No calls between services seen yet (Istio’s source labels or the demo mesh’s calls show them).'}
        </p>
      ) : (
        <>
          <ul
            aria-label="Legend"
            className="flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-slate-700 dark:text-slate-300"
          >
            {STATUSES.map((s) => (
              <LegendItem key={s} width={10} height={10} label={HEALTH_TEXT[s]}>
                <circle cx="5" cy="5" r="5" className={HEALTH_FILL[s]} />
              </LegendItem>
            ))}
            <li>5xx: degraded from 0.1%, failing from 10%; 4xx (429s included): 10% and 20%</li>
            {multiCluster && (
              <>
                <LegendItem width={28} height={8} label="call within a cluster">
                  <CallSample />
                </LegendItem>
                <LegendItem width={28} height={8} label="call across clusters (dashed)">
                  <CallSample dash={CROSS_DASH} />
                </LegendItem>
                <LegendItem width={12} height={12} label="home cluster">
                  <HomeGlyph x={0} y={0} />
                </LegendItem>
                <LegendItem width={16} height={12} label="unreachable cluster">
                  <rect
                    x="1"
                    y="1"
                    width="14"
                    height="10"
                    rx="2"
                    strokeDasharray="3 2"
                    className="fill-red-50 stroke-red-700"
                  />
                </LegendItem>
              </>
            )}
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
                aria-label="Services by cluster and namespace, and the calls between them: choose a service for its details"
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
                <g transform="translate(2 2)">
                  {/* The boxes and calls, under the nodes; the accessible structure is drawn after. */}
                  <g aria-hidden="true">
                    {layout.clusters.map((c) => (
                      <ClusterFrame key={c.cluster} box={c} {...clusterCaption(c.cluster)} />
                    ))}
                    {layout.boxes.map((b) => (
                      <g key={`${b.cluster}/${b.group}`}>
                        <rect
                          {...rectOf(b)}
                          rx={8}
                          strokeDasharray="4 3"
                          className="fill-slate-50/60 stroke-slate-300 dark:fill-slate-950/40 dark:stroke-slate-700"
                        />
                        <text
                          x={b.x + 10}
                          y={b.y + 17}
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
                          id={`${e.from}>${e.to}`}
                          a={a}
                          b={b}
                          status={e.health.status}
                          label={edgeLabel(e)}
                          crossCluster={e.crossCluster}
                        />
                      );
                    })}
                  </g>
                  {layout.clusters.length === 0
                    ? nodes.map(nodeButton)
                    : layout.clusters.map((c) => {
                        const caption = clusterCaption(c.cluster);
                        return (
                          <g
                            key={c.cluster}
                            role="group"
                            aria-label={`Cluster ${c.cluster}${caption.note ? `, ${caption.note}` : ''}`}
                          >
                            {/* The box's extent, for what measures the group; it paints nothing. */}
                            <rect {...rectOf(c)} fill="none" stroke="none" />
                            {layout.boxes
                              .filter((b) => b.cluster === c.cluster)
                              .map((b) => (
                                <g
                                  key={b.group}
                                  role="group"
                                  aria-label={`Namespace ${b.group} in ${c.cluster}`}
                                >
                                  <rect {...rectOf(b)} fill="none" stroke="none" />
                                  {nodesIn(c.cluster, b.group).map(nodeButton)}
                                </g>
                              ))}
                          </g>
                        );
                      })}
                </g>
              </svg>
            </div>
            {selected && (
              <TopologySidePanel
                node={selected}
                edges={edges}
                nameOf={displayName}
                linkCluster={linkCluster(selected)}
                clusterNote={clusterCaption(selected.cluster).note}
                onClose={() => setSelectedId(null)}
              />
            )}
          </div>
          <ul aria-label="Calls between services" className="grid gap-x-6 text-sm sm:grid-cols-2">
            {edges.map((e) => {
              const from = byId.get(e.from);
              const to = byId.get(e.to);
              return (
                <li key={`${e.from}>${e.to}`}>
                  <NodeLink node={from} id={e.from} cluster={from && linkCluster(from)}>
                    {displayName(e.from)}
                  </NodeLink>{' '}
                  {e.crossCluster ? '⇢' : '→'}{' '}
                  <NodeLink node={to} id={e.to} cluster={to && linkCluster(to)}>
                    {displayName(e.to)}
                  </NodeLink>
                  : {e.rps.toFixed(1)} requests/s, {e.limitedRps.toFixed(1)} limited,{' '}
                  {percent(e.health.serverErrorPercent)} 5xx
                  {e.p95Ms !== null ? `, p95 ${e.p95Ms.toFixed(0)} ms` : ''} ({HEALTH_TEXT[e.health.status]})
                  {e.crossCluster ? ', across clusters' : ''}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}

const rectOf = (r: Rect) => ({ x: r.x, y: r.y, width: r.width, height: r.height });

/** A legend entry: a small drawing of the mark, then what it means. */
function LegendItem({
  width,
  height,
  label,
  children,
}: {
  width: number;
  height: number;
  label: string;
  children: ReactNode;
}) {
  return (
    <li className="flex items-center gap-1">
      <svg width={width} height={height} aria-hidden="true">
        {children}
      </svg>
      {label}
    </li>
  );
}

/** A call's line as the legend draws it: solid, or with the dashes of a call across clusters. */
function CallSample({ dash }: { dash?: string }) {
  return (
    <line x1="0" y1="4" x2="28" y2="4" strokeWidth={2} strokeDasharray={dash} className="stroke-slate-600" />
  );
}

function NodeLink({
  node,
  id,
  cluster,
  children,
}: {
  node: TopologyNode | undefined;
  id: string;
  cluster: string | null | undefined;
  children: string;
}) {
  const href = node
    ? servicePath({ namespace: node.namespace, name: node.name, cluster })
    : `/services/${id.split('/').slice(-2).join('/')}`;
  return (
    <Link href={href} className="underline">
      {children}
    </Link>
  );
}

/** A small house: the home cluster's mark. */
function HomeGlyph({ x, y }: { x: number; y: number }) {
  return (
    <path
      d={`M ${x + 1} ${y + 6} L ${x + 6} ${y + 1} L ${x + 11} ${y + 6} M ${x + 2.5} ${y + 5} V ${y + 11} H ${x + 9.5} V ${y + 5}`}
      fill="none"
      strokeWidth={1.6}
      className="stroke-indigo-700 dark:stroke-indigo-300"
    />
  );
}

/** A cluster's box: its name (a house for the home one), and red and dashed when it cannot be reached. */
function ClusterFrame({
  box,
  home,
  note,
  down,
}: {
  box: ClusterBox;
  home: boolean;
  note: string | null;
  down: boolean;
}) {
  return (
    <g>
      <rect
        {...rectOf(box)}
        rx={12}
        strokeWidth={down ? 2 : 1.5}
        strokeDasharray={down ? '8 4' : undefined}
        className={
          down
            ? 'fill-red-50/70 stroke-red-700 dark:fill-red-950/30 dark:stroke-red-400'
            : 'fill-indigo-50/40 stroke-indigo-300 dark:fill-indigo-950/20 dark:stroke-indigo-700'
        }
      />
      {home && <HomeGlyph x={box.x + 12} y={box.y + 9} />}
      <text
        x={box.x + (home ? 30 : 12)}
        y={box.y + 20}
        className={`text-[14px] font-semibold ${down ? 'fill-red-800 dark:fill-red-300' : 'fill-indigo-900 dark:fill-indigo-200'}`}
      >
        {box.cluster}
        {note && (
          <tspan className="text-[12px] font-normal" dx={6}>
            · {note}
          </tspan>
        )}
      </text>
    </g>
  );
}

/** A call: a curve from the caller's right side to the callee's left, its label at the middle. */
function Edge({
  id,
  a,
  b,
  status,
  label,
  crossCluster,
}: {
  id: string;
  a: Rect;
  b: Rect;
  status: HealthStatus;
  label: string;
  crossCluster: boolean;
}) {
  const x1 = a.x + a.width;
  const y1 = a.y + a.height / 2;
  const x2 = b.x;
  const y2 = b.y + b.height / 2;
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  return (
    <g data-edge={id}>
      <path
        d={`M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`}
        fill="none"
        strokeWidth={crossCluster ? 2.25 : 1.75}
        strokeDasharray={crossCluster ? CROSS_DASH : undefined}
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
