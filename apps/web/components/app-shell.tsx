'use client';
/** The signed-in dashboard's frame: header with navigation, dependency health, the user and the theme. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useState, type ReactNode } from 'react';
import { CLUSTER_PARAM, CLUSTERS, LIMITER_LIST, withCluster } from '../lib/routes';
import { useTRPC } from '../lib/trpc';
import { ClusterBanner } from './clusters/cluster-banner';

const nav = [
  { href: '/', label: 'Overview' },
  { href: LIMITER_LIST, label: 'Policies' },
  { href: '/lazyload', label: 'Lazy loading' },
  { href: '/plugin', label: 'Plugins' },
  { href: '/metarouter', label: 'RPC routing' },
  { href: CLUSTERS, label: 'Clusters' },
  { href: '/modules', label: 'Modules' },
] as const;

/** The main navigation; its links keep the cluster filter (`?cluster=`). */
function MainNav({ cluster }: { cluster: string | null }) {
  const pathname = usePathname();
  return (
    <nav aria-label="Main">
      <ul className="flex flex-wrap gap-1 text-sm">
        {nav.map((n) => {
          const current =
            n.href === '/'
              ? pathname === '/' || pathname.startsWith('/services')
              : pathname.startsWith(n.href);
          return (
            <li key={n.href}>
              <Link
                href={withCluster(n.href, cluster)}
                aria-current={current ? 'page' : undefined}
                className={`rounded-md px-3 py-1.5 ${current ? 'bg-slate-100 font-medium dark:bg-slate-800' : 'text-slate-600 hover:text-slate-900 dark:text-slate-300'}`}
              >
                {n.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function MainNavWithFilter() {
  return <MainNav cluster={useSearchParams().get(CLUSTER_PARAM)} />;
}

function HealthBadges() {
  const trpc = useTRPC();
  const health = useQuery({ ...trpc.cluster.health.queryOptions(), refetchInterval: 10_000 });
  if (!health.data) return null;
  const h = health.data;
  const items = [
    { label: 'Store', ok: h.store.connected, detail: h.store.error ?? h.store.description },
    { label: 'Metrics', ok: h.metrics.available, detail: h.metrics.source },
    {
      label: 'Redis',
      ok: h.redis.configured ? ('connected' in h.redis ? h.redis.connected : false) : null,
      detail: h.redis.configured
        ? 'lastError' in h.redis
          ? (h.redis.lastError ?? 'connected')
          : ''
        : 'not configured: global limits count in the BFF',
    },
    {
      label: 'RLS',
      ok: h.rls.running ? true : null,
      detail: h.rls.running ? 'rate-limit service running' : 'off',
    },
  ];
  return (
    <ul aria-label="Dependencies" className="flex flex-wrap gap-2 text-xs">
      {items.map((i) => (
        <li
          key={i.label}
          title={i.detail}
          className="flex items-center gap-1 rounded-full border border-slate-200 px-2 py-0.5 dark:border-slate-700"
        >
          <span
            aria-hidden="true"
            className={`inline-block size-2 rounded-full ${i.ok === null ? 'bg-slate-400' : i.ok ? 'bg-emerald-500' : 'bg-red-500'}`}
          />
          {i.label}: {i.ok === null ? 'off' : i.ok ? 'ok' : 'down'}
        </li>
      ))}
    </ul>
  );
}

function ThemeToggle() {
  const [dark, setDark] = useState(false);
  useEffect(() => setDark(document.documentElement.classList.contains('dark')), []);
  return (
    <button
      type="button"
      aria-pressed={dark}
      onClick={() => {
        const next = !dark;
        document.documentElement.classList.toggle('dark', next);
        localStorage.setItem('governor-theme', next ? 'dark' : 'light');
        setDark(next);
      }}
      className="rounded-md border border-slate-300 px-2 py-1 text-xs dark:border-slate-600"
    >
      Dark mode
    </button>
  );
}

export function AppShell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  const me = useQuery(trpc.auth.me.queryOptions());
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries();
        router.push('/login');
      },
    }),
  );
  useEffect(() => {
    // Back to the same address after the login, its query (the cluster filter among it) included.
    if (me.isSuccess && me.data === null)
      router.replace(`/login?next=${encodeURIComponent(pathname + window.location.search)}`);
  }, [me.isSuccess, me.data, pathname, router]);

  return (
    <>
      <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-4 px-6 py-3">
          <div className="flex items-center gap-6">
            <div>
              <h1 className="text-xl font-semibold tracking-tight">Governor</h1>
              <p className="text-xs text-slate-600 dark:text-slate-400">Adaptive rate limiting for Istio</p>
            </div>
            {/* The search parameters are known in the browser only: until then, links without the filter. */}
            <Suspense fallback={<MainNav cluster={null} />}>
              <MainNavWithFilter />
            </Suspense>
          </div>
          <div className="flex flex-wrap items-center gap-3">
            {me.data && <HealthBadges />}
            <ThemeToggle />
            {me.data && (
              <span className="text-sm">
                {me.data.name} <span className="text-slate-500 dark:text-slate-400">({me.data.role})</span>
              </span>
            )}
            {me.data && (
              <button
                type="button"
                onClick={() => logout.mutate()}
                className="rounded-md border border-slate-300 px-2 py-1 text-xs dark:border-slate-600"
              >
                Log out
              </button>
            )}
          </div>
        </div>
      </header>
      {me.data && <ClusterBanner />}
      <main className="mx-auto max-w-7xl px-6 py-6">
        {me.isPending ? (
          <p role="status">Loading…</p>
        ) : me.isError ? (
          <p role="alert">The dashboard cannot reach the BFF: {me.error.message}</p>
        ) : me.data ? (
          children
        ) : (
          <p role="status">Redirecting to the login page…</p>
        )}
      </main>
    </>
  );
}

/** Whether the signed-in user may change policies in a namespace. */
export function useCanEdit(namespace: string | undefined): boolean {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const u = me.data;
  if (!u || u.role === 'viewer') return false;
  return u.namespaces === '*' || (namespace !== undefined && u.namespaces.includes(namespace));
}
