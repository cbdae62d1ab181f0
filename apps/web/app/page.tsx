export default function HomePage() {
  return (
    <main className="mx-auto max-w-3xl p-8">
      <h1 className="text-3xl font-semibold">Governor</h1>
      <p className="mt-4 text-slate-700">
        Adaptive rate limiting for Istio: SmartLimiter policies, rendered into EnvoyFilters and enforced by
        Governor&apos;s own engine.
      </p>
      <p className="mt-4 text-slate-700">
        The dashboard is under construction. Meanwhile <code>pnpm -s governor render</code> previews the
        EnvoyFilters that a SmartLimiter produces.
      </p>
    </main>
  );
}
