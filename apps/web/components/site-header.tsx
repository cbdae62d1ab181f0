import Link from 'next/link';

/** Views the dashboard grows into; listed so the navigation's shape is visible from the start. */
const upcomingViews = ['Services', 'Policies', 'Decisions'] as const;

export function SiteHeader() {
  return (
    <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="mx-auto flex max-w-4xl flex-wrap items-center justify-between gap-4 px-6 py-4">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">Governor</h1>
          <p className="text-sm text-slate-600 dark:text-slate-400">Adaptive rate limiting for Istio</p>
        </div>
        <nav aria-label="Main">
          <ul className="flex flex-wrap gap-1 text-sm">
            <li>
              <Link
                href="/"
                aria-current="page"
                className="rounded-md bg-slate-100 px-3 py-1.5 font-medium text-slate-900 dark:bg-slate-800 dark:text-slate-100"
              >
                Overview
              </Link>
            </li>
            {upcomingViews.map((view) => (
              <li key={view}>
                <span
                  className="block cursor-default px-3 py-1.5 text-slate-500 dark:text-slate-400"
                  title="Coming soon"
                >
                  {view}
                  <span className="sr-only"> (coming soon)</span>
                </span>
              </li>
            ))}
          </ul>
        </nav>
      </div>
    </header>
  );
}
