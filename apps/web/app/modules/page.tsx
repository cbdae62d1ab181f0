import { Suspense } from 'react';
import { AppShell } from '../../components/app-shell';
import { ModulesView } from './modules-view';

export default function ModulesPage() {
  return (
    <AppShell>
      <Suspense>
        <ModulesView />
      </Suspense>
    </AppShell>
  );
}
