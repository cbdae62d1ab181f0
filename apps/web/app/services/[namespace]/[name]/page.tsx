import { Suspense } from 'react';
import { AppShell } from '../../../../components/app-shell';
import { ServiceView } from '../../../../components/service-view';

export default async function ServicePage({
  params,
}: {
  params: Promise<{ namespace: string; name: string }>;
}) {
  const { namespace, name } = await params;
  return (
    <AppShell>
      <Suspense>
        <ServiceView namespace={namespace} name={name} />
      </Suspense>
    </AppShell>
  );
}
