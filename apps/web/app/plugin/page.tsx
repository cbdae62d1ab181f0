import { Suspense } from 'react';
import { AppShell } from '../../components/app-shell';
import { PluginView } from '../../components/plugin/plugin-view';

export default function PluginPage() {
  return (
    <AppShell>
      <Suspense>
        <PluginView />
      </Suspense>
    </AppShell>
  );
}
