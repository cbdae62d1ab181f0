import { Suspense } from 'react';
import { AppShell } from '../components/app-shell';
import { ControlPlaneCard } from '../components/control-plane-card';
import { Overview } from '../components/overview';
import { SiteHeader } from '../components/site-header';
import { bffUrlFromEnv, fetchControlPlaneStatus } from '../lib/control-plane';

// Whether the BFF is there is decided per request, never at build time.
export const dynamic = 'force-dynamic';

export default async function HomePage() {
  const status = await fetchControlPlaneStatus(bffUrlFromEnv());
  if (!status.connected) {
    // Nothing to log in to: say what is wrong and how to fix it.
    return (
      <>
        <SiteHeader />
        <main className="mx-auto max-w-4xl space-y-8 px-6 py-8">
          <ControlPlaneCard status={status} />
        </main>
      </>
    );
  }
  return (
    <AppShell>
      <Suspense>
        <Overview />
      </Suspense>
    </AppShell>
  );
}
