import { Suspense } from 'react';
import { AppShell } from '../../../components/app-shell';
import { LimiterEditor } from '../../../components/limiter/limiter-editor';

export default function LimiterEditPage() {
  return (
    <AppShell>
      <Suspense>
        <LimiterEditor />
      </Suspense>
    </AppShell>
  );
}
