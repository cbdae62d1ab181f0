import { Suspense } from 'react';
import { AppShell } from '../../../components/app-shell';
import { PolicyEditor } from '../../../components/policy-editor';

export default function PolicyEditPage() {
  return (
    <AppShell>
      <Suspense>
        <PolicyEditor />
      </Suspense>
    </AppShell>
  );
}
