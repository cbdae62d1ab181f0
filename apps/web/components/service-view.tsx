'use client';
/** One service: live charts of allowed and limited traffic with its quota, CPU with thresholds, p99; its policies; live decisions and events. */
import { useQuery } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMemo, useState } from 'react';
import {
  Area,
  AreaChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { CLUSTER_PARAM, limiterEditPath, withCluster } from '../lib/routes';
import { useTRPC } from '../lib/trpc';
import { useCanEdit } from './app-shell';
import { useLiveSeconds } from './live-rates';

const RANGES = ['5m', '15m', '1h', '6h', '24h'] as const;
type Range = (typeof RANGES)[number];
const time = (t: number) =>
  new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Thresholds on cpu.percent in a policy's conditions, to draw on the CPU chart. */
function cpuThresholds(conditions: readonly string[]): number[] {
  const out: number[] = [];
  for (const c of conditions)
    for (const m of c.matchAll(/cpu\.percent\}\}\s*[<>]=?\s*([\d.]+)/g)) out.push(Number(m[1]));
  return [...new Set(out)];
}

export function ServiceView({ namespace, name }: { namespace: string; name: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const range = (RANGES as readonly string[]).includes(params.get('range') ?? '')
    ? (params.get('range') as Range)
    : '5m';
  const canEdit = useCanEdit(namespace);
  // The cluster the service is in (none: the home cluster); every call about it names it.
  const cluster = params.get(CLUSTER_PARAM) || undefined;
  const inCluster = cluster ? { cluster } : {};

  const service = useQuery(trpc.services.get.queryOptions({ ...inCluster, namespace, name }));
  const series = useQuery({
    ...trpc.metrics.series.queryOptions({ ...inCluster, namespace, service: name, range }),
    refetchInterval: 15_000,
  });
  const live = useLiveSeconds({ ...inCluster, namespace, service: name }, 300);

  // Live seconds extend the history to now.
  const traffic = useMemo(() => {
    const points = new Map<number, { t: number; allowed: number; limited: number; quota: number | null }>();
    for (const p of series.data?.points ?? [])
      points.set(p.t, { t: p.t, allowed: p.allowedRps, limited: p.limitedRps, quota: null });
    for (const s of live.seconds) {
      const allowed = s.rows.reduce((a, r) => a + r.allowed + r.shadow, 0);
      const limited = s.rows.reduce((a, r) => a + r.limited, 0);
      const quotas = s.rows.map((r) => r.quota).filter((q): q is number => q !== null);
      points.set(s.second * 1000, {
        t: s.second * 1000,
        allowed,
        limited,
        quota: quotas.length > 0 ? Math.max(...quotas) : null,
      });
    }
    return [...points.values()].sort((a, b) => a.t - b.t);
  }, [series.data, live.seconds]);
  const lastLive = live.seconds.at(-1);
  const limitedNow = lastLive ? lastLive.rows.reduce((a, r) => a + r.limited, 0) : 0;
  const allowedNow = lastLive ? lastLive.rows.reduce((a, r) => a + r.allowed + r.shadow, 0) : 0;
  const thresholds = cpuThresholds((service.data?.policies ?? []).flatMap((p) => p.conditions));

  if (service.isPending) return <p role="status">Loading {name}…</p>;
  if (service.isError)
    return (
      <p role="alert">
        Could not load service {namespace}/{name}: {service.error.message}
      </p>
    );
  const svc = service.data;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-baseline justify-between gap-3">
        <div>
          <p className="text-sm">
            <Link href={withCluster('/', cluster)} className="text-indigo-700 underline dark:text-indigo-300">
              Services
            </Link>{' '}
            / {cluster ? `${cluster} / ` : ''}
            {namespace}
          </p>
          <h2 className="text-2xl font-semibold">{name}</h2>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {svc.pods.filter((p) => p.phase === 'Running').length} of {svc.pods.length} pods running
            {svc.subsets.length > 0 && ` · subsets ${svc.subsets.map((s) => s.name).join(', ')}`}
          </p>
        </div>
        <div className="flex items-center gap-3">
          <label className="text-sm">
            <span className="mr-2">Time range</span>
            <select
              value={range}
              onChange={(e) => {
                const next = new URLSearchParams(params);
                next.set('range', e.target.value);
                router.replace(`${pathname}?${next.toString()}`, { scroll: false });
              }}
              className="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-900"
            >
              {RANGES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          {canEdit && (
            <Link
              href={limiterEditPath({ cluster, namespace, service: name })}
              className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white"
            >
              New policy
            </Link>
          )}
        </div>
      </div>

      <dl
        aria-label="Now"
        data-second={lastLive?.second ?? ''}
        className="grid grid-cols-2 gap-3 sm:grid-cols-4"
      >
        {[
          ['Allowed/s', allowedNow.toFixed(0), 'allowed-now'],
          ['Limited/s', limitedNow.toFixed(0), 'limited-now'],
          ['p99 (ms)', svc.figures.p99Ms?.toFixed(0) ?? '—', 'p99-now'],
          ['CPU %', svc.figures.cpuPercent?.toFixed(0) ?? '—', 'cpu-now'],
        ].map(([label, value, id]) => (
          <div
            key={id}
            className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900"
          >
            <dt id={id} className="text-xs text-slate-600 dark:text-slate-400">
              {label}
            </dt>
            <dd aria-labelledby={id} className="text-xl font-semibold tabular-nums">
              {value}
            </dd>
          </div>
        ))}
      </dl>

      <section
        aria-labelledby="traffic-heading"
        className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
      >
        <h3 id="traffic-heading" className="font-medium">
          Requests per second: allowed and limited
        </h3>
        <div
          className="h-64"
          role="img"
          aria-label={`Allowed and limited requests per second; now ${allowedNow} allowed, ${limitedNow} limited`}
        >
          <ResponsiveContainer>
            <AreaChart data={traffic}>
              <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
              <XAxis dataKey="t" tickFormatter={time} minTickGap={40} />
              <YAxis />
              <Tooltip labelFormatter={(t) => time(Number(t))} />
              <Legend />
              <Area
                type="monotone"
                dataKey="allowed"
                stackId="1"
                stroke="#059669"
                fill="#10b981"
                name="allowed"
                isAnimationActive={false}
              />
              <Area
                type="monotone"
                dataKey="limited"
                stackId="1"
                stroke="#dc2626"
                fill="#f87171"
                name="limited"
                isAnimationActive={false}
              />
              <Line
                type="stepAfter"
                dataKey="quota"
                stroke="#4f46e5"
                dot={false}
                name="quota (per pod)"
                isAnimationActive={false}
              />
            </AreaChart>
          </ResponsiveContainer>
        </div>
      </section>

      <div className="grid gap-6 lg:grid-cols-2">
        <section
          aria-labelledby="cpu-heading"
          className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
        >
          <h3 id="cpu-heading" className="font-medium">
            CPU % of the pods' limit
          </h3>
          <div
            className="h-48"
            role="img"
            aria-label="CPU percent over time, with the thresholds of the conditions"
          >
            <ResponsiveContainer>
              <LineChart data={series.data?.points ?? []}>
                <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
                <XAxis dataKey="t" tickFormatter={time} minTickGap={40} />
                <YAxis domain={[0, 100]} />
                <Tooltip labelFormatter={(t) => time(Number(t))} />
                <Line
                  dataKey="cpuPercent"
                  stroke="#0284c7"
                  dot={false}
                  name="CPU %"
                  isAnimationActive={false}
                />
                {thresholds.map((v) => (
                  <ReferenceLine
                    key={v}
                    y={v}
                    stroke="#d97706"
                    strokeDasharray="4 4"
                    label={`threshold ${v}`}
                  />
                ))}
              </LineChart>
            </ResponsiveContainer>
          </div>
        </section>
        <section
          aria-labelledby="p99-heading"
          className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
        >
          <h3 id="p99-heading" className="font-medium">
            p99 latency (ms)
          </h3>
          <div className="h-48" role="img" aria-label="99th percentile latency over time">
            <ResponsiveContainer>
              <LineChart data={series.data?.points ?? []}>
                <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
                <XAxis dataKey="t" tickFormatter={time} minTickGap={40} />
                <YAxis />
                <Tooltip labelFormatter={(t) => time(Number(t))} />
                <Line dataKey="p99Ms" stroke="#7c3aed" dot={false} name="p99" isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </div>
        </section>
      </div>

      <section aria-labelledby="policies-heading">
        <h3 id="policies-heading" className="font-medium">
          Policies
        </h3>
        {svc.policies.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No policy limits this service yet.</p>
        ) : (
          <ul className="mt-2 space-y-1 text-sm">
            {svc.policies.map((p) => (
              <li key={p.name}>
                <Link
                  href={limiterEditPath({ cluster, namespace, name: p.name })}
                  className="font-medium text-indigo-700 underline dark:text-indigo-300"
                >
                  {p.name}
                </Link>{' '}
                <span
                  className={
                    p.ready ? 'text-emerald-700 dark:text-emerald-400' : 'text-amber-700 dark:text-amber-400'
                  }
                >
                  {p.ready ? 'Ready' : `Not ready: ${p.message ?? p.reason ?? ''}`}
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <div className="grid gap-6 lg:grid-cols-2">
        <RecentDecisions cluster={cluster} namespace={namespace} service={name} />
        <ServiceEvents
          cluster={cluster}
          namespace={namespace}
          policies={svc.policies.map((p) => `${namespace}/${p.name}`)}
        />
      </div>
    </div>
  );
}

function RecentDecisions({
  cluster,
  namespace,
  service,
}: {
  cluster: string | undefined;
  namespace: string;
  service: string;
}) {
  const trpc = useTRPC();
  const [items, setItems] = useState<
    {
      id: string;
      t: number;
      user: string;
      outcome: string;
      pod: string;
      policy: string | null;
      remaining: number | null;
    }[]
  >([]);
  useSubscription(
    trpc.decisions.recent.subscriptionOptions(
      { ...(cluster ? { cluster } : {}), namespace, service, backfill: 20 },
      { onData: (d) => setItems((prev) => [{ id: d.id, ...d.data }, ...prev].slice(0, 20)) },
    ),
  );
  return (
    <section
      aria-labelledby="decisions-heading"
      className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h3 id="decisions-heading" className="font-medium">
        Recent decisions
      </h3>
      <ol
        tabIndex={0}
        aria-label="Recent decisions, newest first"
        className="mt-2 max-h-64 overflow-y-auto font-mono text-xs"
      >
        {items.map((d) => (
          <li key={d.id} className={d.outcome === 'limited' ? 'text-red-700 dark:text-red-400' : ''}>
            {time(d.t)} {d.outcome.padEnd(7)} {d.pod} user={d.user} {d.policy ? `by ${d.policy}` : ''}{' '}
            {d.remaining !== null ? `left=${d.remaining}` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}

function ServiceEvents({
  cluster,
  namespace,
  policies,
}: {
  cluster: string | undefined;
  namespace: string;
  policies: string[];
}) {
  const trpc = useTRPC();
  const [items, setItems] = useState<
    { id: number; at: string; reason: string; message: string; type: string; policy: string | null }[]
  >([]);
  useSubscription(
    trpc.events.live.subscriptionOptions(
      { ...(cluster ? { cluster } : {}), namespace, backfill: 50 },
      { onData: (d) => setItems((prev) => [d.data, ...prev].slice(0, 50)) },
    ),
  );
  const shown = items.filter((e) => e.policy === null || policies.includes(e.policy));
  return (
    <section
      aria-labelledby="events-heading"
      className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h3 id="events-heading" className="font-medium">
        Events
      </h3>
      {shown.length === 0 ? (
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-400">No quota changes or failures yet.</p>
      ) : (
        <ol
          tabIndex={0}
          aria-label="Events, newest first"
          className="mt-2 max-h-64 space-y-1 overflow-y-auto text-sm"
        >
          {shown.map((e) => (
            <li key={e.id}>
              <span className="text-xs text-slate-500 dark:text-slate-400">
                {new Date(e.at).toLocaleTimeString()}
              </span>{' '}
              <span
                className={
                  e.type === 'Warning' ? 'font-medium text-amber-700 dark:text-amber-400' : 'font-medium'
                }
              >
                {e.reason}
              </span>{' '}
              {e.message}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
