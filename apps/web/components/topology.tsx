'use client';
/**
 * Who calls whom: services as nodes by depth, calls as edges with their rates, badges on nodes for the
 * policies, the lazyload fence and the plugins that apply.
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../lib/trpc';

interface Node {
  key: string;
  name: string;
  namespace: string;
  policies: number;
  /** Egress hosts of its lazyload Sidecar when a fence is on; null when not fenced. */
  fencedHosts: number | null;
  /** PluginManagers and EnvoyPlugins selecting its pods. */
  plugins: number;
}

const W = 280;
const H = 44;
const GAP_X = 90;
const GAP_Y = 24;

export function Topology({
  namespace,
  services,
}: {
  namespace?: string;
  services: readonly {
    namespace: string;
    name: string;
    policies: readonly unknown[];
    fence?: { enabled: boolean; hosts: number } | null;
    plugins?: readonly string[];
  }[];
}) {
  const trpc = useTRPC();
  // Refreshed with the service list as the live seconds arrive (see Overview).
  const topology = useQuery(trpc.services.topology.queryOptions(namespace ? { namespace } : {}));
  const edges = topology.data?.edges ?? [];
  const nodes = new Map<string, Node>(
    services.map((s) => [
      `${s.namespace}/${s.name}`,
      {
        key: `${s.namespace}/${s.name}`,
        name: s.name,
        namespace: s.namespace,
        policies: s.policies.length,
        fencedHosts: s.fence?.enabled ? s.fence.hosts : null,
        plugins: s.plugins?.length ?? 0,
      },
    ]),
  );
  for (const e of edges)
    for (const k of [e.from, e.to])
      if (!nodes.has(k))
        nodes.set(k, {
          key: k,
          name: k.slice(k.indexOf('/') + 1),
          namespace: k.slice(0, k.indexOf('/')),
          policies: 0,
          fencedHosts: null,
          plugins: 0,
        });

  // Depth: longest path from a node nobody calls.
  const depth = new Map<string, number>();
  const callers = new Map<string, string[]>();
  for (const e of edges) callers.set(e.to, [...(callers.get(e.to) ?? []), e.from]);
  const depthOf = (k: string, seen: Set<string> = new Set()): number => {
    if (depth.has(k)) return depth.get(k)!;
    if (seen.has(k)) return 0;
    seen.add(k);
    const d = Math.max(-1, ...(callers.get(k) ?? []).map((c) => depthOf(c, seen))) + 1;
    depth.set(k, d);
    return d;
  };
  const columns: Node[][] = [];
  for (const n of [...nodes.values()].sort((a, b) => a.key.localeCompare(b.key)))
    (columns[depthOf(n.key)] ??= []).push(n);
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) =>
    col.forEach((n, r) => pos.set(n.key, { x: 10 + c * (W + GAP_X), y: 10 + r * (H + GAP_Y) })),
  );
  const width = 20 + Math.max(1, columns.length) * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;

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
          <div
            role="group"
            className="overflow-x-auto rounded-lg border border-slate-200 bg-white p-2 dark:border-slate-800 dark:bg-slate-900"
            tabIndex={0}
            aria-label="Topology graph"
          >
            <svg width={width} height={height} role="img" aria-label="Services and the calls between them">
              <defs>
                <marker
                  id="arrow"
                  viewBox="0 0 10 10"
                  refX="10"
                  refY="5"
                  markerWidth="6"
                  markerHeight="6"
                  orient="auto-start-reverse"
                >
                  <path d="M 0 0 L 10 5 L 0 10 z" className="fill-slate-500" />
                </marker>
              </defs>
              {edges.map((e) => {
                const a = pos.get(e.from);
                const b = pos.get(e.to);
                if (!a || !b) return null;
                const x1 = a.x + W;
                const y1 = a.y + H / 2;
                const x2 = b.x;
                const y2 = b.y + H / 2;
                return (
                  <g key={`${e.from}>${e.to}`}>
                    <line
                      x1={x1}
                      y1={y1}
                      x2={x2}
                      y2={y2}
                      className={e.limitedRps > 0.05 ? 'stroke-red-500' : 'stroke-slate-400'}
                      strokeWidth={1.5}
                      markerEnd="url(#arrow)"
                    />
                    <text
                      x={(x1 + x2) / 2}
                      y={(y1 + y2) / 2 - 4}
                      textAnchor="middle"
                      className="fill-slate-700 text-[11px] dark:fill-slate-300"
                    >
                      {e.rps.toFixed(1)}/s{e.limitedRps > 0.05 ? ` (${e.limitedRps.toFixed(1)} limited)` : ''}
                    </text>
                  </g>
                );
              })}
              {[...nodes.values()].map((n) => {
                const p = pos.get(n.key)!;
                return (
                  <g key={n.key}>
                    <rect
                      x={p.x}
                      y={p.y}
                      width={W}
                      height={H}
                      rx={6}
                      className="fill-slate-50 stroke-slate-300 dark:fill-slate-800 dark:stroke-slate-600"
                    />
                    <text
                      x={p.x + 10}
                      y={p.y + 19}
                      className="fill-slate-900 text-[13px] font-medium dark:fill-slate-100"
                    >
                      {n.name}
                    </text>
                    <text
                      x={p.x + 10}
                      y={p.y + 35}
                      className="fill-slate-500 text-[11px] dark:fill-slate-400"
                    >
                      {n.namespace}
                      {n.policies > 0 ? ` · ${n.policies} polic${n.policies === 1 ? 'y' : 'ies'}` : ''}
                      {n.fencedHosts !== null ? ` · fenced: ${n.fencedHosts} hosts` : ''}
                      {n.plugins > 0 ? ` · ${n.plugins} plugin${n.plugins === 1 ? '' : 's'}` : ''}
                    </text>
                  </g>
                );
              })}
            </svg>
          </div>
          <ul aria-label="Calls between services" className="grid gap-x-6 text-sm sm:grid-cols-2">
            {edges.map((e) => (
              <li key={`${e.from}>${e.to}`}>
                <Link href={`/services/${e.from}`} className="underline">
                  {e.from.slice(e.from.indexOf('/') + 1)}
                </Link>{' '}
                →{' '}
                <Link href={`/services/${e.to}`} className="underline">
                  {e.to.slice(e.to.indexOf('/') + 1)}
                </Link>
                : {e.rps.toFixed(1)} requests/s, {e.limitedRps.toFixed(1)} limited
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
