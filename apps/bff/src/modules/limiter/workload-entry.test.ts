/** VMs (WorkloadEntries) are workloads of a SmartLimiter's sets: one added or removed re-plans its share. */
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { smartLimiterYaml } from '../../../test/support/fixtures';
import { testScope } from '../../../test/support/test-scope';
import type { KubeObject } from '../../cluster/store';
import { ControlPlane } from '../../framework/control-plane';
import { seedBookinfo } from '../../../test/support/controller-suite';
import { limiterModule } from './module';

/** reviews' pods and VMs share 100 requests a minute. */
const limiter = parse(
  smartLimiterYaml(
    `- {action: {fill_interval: {seconds: 60}, quota: "100", strategy: average}, condition: "true", target: {port: 9080}}`,
  ),
) as KubeObject;

const vm: KubeObject = {
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'WorkloadEntry',
  metadata: { name: 'reviews-vm', namespace: 'default' },
  spec: { address: '10.0.2.20', labels: { app: 'reviews', version: 'v1' } },
};

const quotaOf = (o: KubeObject | null): string | undefined =>
  (o?.status as { ratelimitStatus?: { _base?: { descriptor?: { action?: { quota?: string } }[] } } })
    ?.ratelimitStatus?._base?.descriptor?.[0]?.action?.quota;

describe('a SmartLimiter over pods and VMs', () => {
  const scope = testScope();

  it("re-plans an average quota's share when a VM joins the Service and when it leaves", async () => {
    const store = await scope.store();
    await seedBookinfo(store, 'default');
    const plane = new ControlPlane({ store, tickMs: 0, modules: [limiterModule()] });
    scope.defer(() => plane.stop());
    await plane.start();
    await store.create(limiter);
    const quota = async () => quotaOf(await store.get('SmartLimiter', 'default', 'reviews'));
    // Bookinfo's three reviews pods: ceil(100/3).
    await vi.waitFor(async () => expect(await quota()).toBe('34'));
    const created = await store.create(vm);
    await vi.waitFor(async () => expect(await quota()).toBe('25'));
    await store.delete('WorkloadEntry', 'default', created.metadata.name);
    await vi.waitFor(async () => expect(await quota()).toBe('34'));
  });
});
