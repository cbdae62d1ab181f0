import { Suspense } from 'react';
import { AppShell } from '../../components/app-shell';
import { LimiterList } from '../../components/limiter/limiter-list';

export default function LimiterPage() {
  return (
    <AppShell>
      <Suspense>
        <LimiterList />
      </Suspense>
    </AppShell>
  );
}
