import { Suspense } from 'react';
import { AppShell } from '../../components/app-shell';
import { PolicyList } from '../../components/policy-list';

export default function PoliciesPage() {
  return (
    <AppShell>
      <Suspense>
        <PolicyList />
      </Suspense>
    </AppShell>
  );
}
