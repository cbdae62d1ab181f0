import { Suspense } from 'react';
import { AppShell } from '../../components/app-shell';
import { LazyloadView } from '../../components/lazyload/lazyload-view';

export default function LazyloadPage() {
  return (
    <AppShell>
      <Suspense>
        <LazyloadView />
      </Suspense>
    </AppShell>
  );
}
