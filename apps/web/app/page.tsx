import { ControlPlaneCard } from '../components/control-plane-card';
import { SiteHeader } from '../components/site-header';
import { bffUrlFromEnv, fetchControlPlaneStatus } from '../lib/control-plane';

// The card shows the BFF as it is now, so the page renders per request, never at build time.
export const dynamic = 'force-dynamic';

const upcoming = [
  {
    title: 'Services',
    text: 'every service with its live request rate, rate-limited (429) rate, latency, CPU, pod count and the policies that apply to it.',
  },
  {
    title: 'Policies',
    text: 'SmartLimiters written in a form or in YAML, checked as you type, previewed as the EnvoyFilters they produce, then applied.',
  },
  {
    title: 'Decisions',
    text: 'allowed versus limited requests per policy and descriptor over time, the current quota and which condition set it.',
  },
] as const;

export default async function HomePage() {
  const status = await fetchControlPlaneStatus(bffUrlFromEnv());
  return (
    <>
      <SiteHeader />
      <main className="mx-auto max-w-4xl space-y-8 px-6 py-8">
        <ControlPlaneCard status={status} />

        <section aria-labelledby="upcoming-heading">
          <h2 id="upcoming-heading" className="text-lg font-semibold">
            What this will show
          </h2>
          <ul className="mt-3 space-y-2 text-slate-700 dark:text-slate-300">
            {upcoming.map(({ title, text }) => (
              <li key={title}>
                <span className="font-medium text-slate-900 dark:text-slate-100">{title}</span>: {text}
              </li>
            ))}
          </ul>
        </section>

        <section aria-labelledby="cli-preview-heading">
          <h2 id="cli-preview-heading" className="text-lg font-semibold">
            Preview a policy from the command line
          </h2>
          <p className="mt-3 text-slate-700 dark:text-slate-300">
            Until the editor lands, the CLI prints the EnvoyFilters a SmartLimiter produces for a given
            service context:
          </p>
          <pre className="mt-3 overflow-x-auto rounded-md bg-slate-900 p-4 text-sm text-slate-100 dark:bg-black">
            <code>pnpm -s governor render -f limiter.yaml -f context.yaml</code>
          </pre>
        </section>
      </main>
    </>
  );
}
