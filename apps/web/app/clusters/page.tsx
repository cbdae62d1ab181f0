import { Suspense } from 'react';
import { AppShell } from '../../components/app-shell';
import { ClustersView } from '../../components/clusters/clusters-view';

export default function ClustersPage() {
  return (
    <AppShell>
      <Suspense>
        <ClustersView />
      </Suspense>
    </AppShell>
  );
}
