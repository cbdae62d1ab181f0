/** The header shown when there is nothing to log in to (the BFF cannot be reached). */
export function SiteHeader() {
  return (
    <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="mx-auto max-w-4xl px-6 py-4">
        <h1 className="text-xl font-semibold tracking-tight">Governor</h1>
        <p className="text-sm text-slate-600 dark:text-slate-400">Adaptive rate limiting for Istio</p>
      </div>
    </header>
  );
}
