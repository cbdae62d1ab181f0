import { Suspense } from 'react';
import { AppShell } from '../../components/app-shell';
import { MetaRouterView } from '../../components/metarouter/metarouter-view';

export default function MetaRouterPage() {
  return (
    <AppShell>
      <Suspense>
        <MetaRouterView />
      </Suspense>
    </AppShell>
  );
}
