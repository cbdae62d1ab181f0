/**
 * The SmartLimiter controller against a real kube-apiserver: the behavioural suite the embedded store also
 * passes, plus what only a real API server shows (restarts, two replicas).
 */
import { describe, expect, it, vi } from 'vitest';
import { limiterModule } from '../../src/modules/limiter/module';
import { KubernetesStore } from '../../src/cluster/kubernetes-store';
import { ConflictError, type KubeObject } from '../../src/cluster/store';
import { ControlPlane } from '../../src/framework/control-plane';
import {
  describeControllerBehaviour,
  limiterFrom,
  seedBookinfo,
  startController,
} from '../support/controller-suite';
import { freshNamespace as namespaceOn, useKubeTestServer } from '../support/kube-test-fixtures';

const running = useKubeTestServer();
const freshNamespace = () => namespaceOn(running(), 'ctl');

describeControllerBehaviour('a real kube-apiserver', freshNamespace);

const WAIT = { timeout: 30_000, interval: 100 };
const readyOf = (o: KubeObject | null) =>
  ((o?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).find(
    (c) => c.type === 'Ready',
  )?.status;

describe('SmartLimiter controller on a real kube-apiserver: resilience', () => {
  it('converges after the API server restarts while SmartLimiters change, nothing duplicated or lost', async () => {
    const { store, namespace: ns, cleanup } = await freshNamespace();
    await seedBookinfo(store, ns);
    const r = await startController(store, ns);
    try {
      await store.create(limiterFrom('doc-a-single-inbound.yaml', ns));
      await vi.waitFor(
        async () => expect(readyOf(await store.get('SmartLimiter', ns, 'reviews'))).toBe('True'),
        WAIT,
      );
      // The API server goes away and comes back; meanwhile a second SmartLimiter arrives (written right
      // after the restart, before the informers have reconnected) and the first one's quota changes.
      await running().restartApiServer();
      const other = KubernetesStore.fromKubeConfig(running().kubeConfig);
      await other.create(limiterFrom('doc-c-header-match.yaml', ns));
      // A user's edit: on a conflict (the controller writing the status) read again and retry.
      for (let attempt = 0; ; attempt++) {
        const sl = (await other.get('SmartLimiter', ns, 'reviews')) as KubeObject;
        const spec = JSON.parse(JSON.stringify(sl.spec).replace('"quota":"100"', '"quota":"77"')) as unknown;
        try {
          await other.update({ ...sl, spec });
          break;
        } catch (e) {
          if (!(e instanceof ConflictError) || attempt >= 10) throw e;
        }
      }
      await other.close();
      await vi.waitFor(async () => {
        expect(readyOf(await store.get('SmartLimiter', ns, 'productpage'))).toBe('True');
        const ef = await store.get('EnvoyFilter', ns, `reviews.${ns}.ratelimit`);
        expect(JSON.stringify(ef?.spec)).toContain('"maxTokens":77');
      }, WAIT);
      const names = (await store.list('EnvoyFilter', ns)).items.map((e) => e.metadata.name).sort();
      expect(names).toEqual([`productpage.${ns}.ratelimit`, `reviews.${ns}.ratelimit`]);
      expect(r.informers.get('SmartLimiter')!.health()).toMatchObject({ connected: true, synced: true });
    } finally {
      r.stop();
      await cleanup();
    }
  }, 120_000);

  it('elects one leader of two replicas; when the leader dies the other takes over', async () => {
    const { store, namespace: ns, cleanup } = await freshNamespace();
    await seedBookinfo(store, ns);
    const storeB = KubernetesStore.fromKubeConfig(running().kubeConfig);
    const lease = { leaseNamespace: ns, namespace: ns, tickMs: 0, modules: [limiterModule()] };
    const a = new ControlPlane({ store, identity: 'replica-a', ...lease });
    const b = new ControlPlane({ store: storeB, identity: 'replica-b', ...lease });
    try {
      await a.start();
      await vi.waitFor(() => expect(a.health().leader).toBe(true), WAIT);
      await b.start();
      await store.create(limiterFrom('doc-a-single-inbound.yaml', ns));
      await vi.waitFor(
        async () => expect(readyOf(await store.get('SmartLimiter', ns, 'reviews'))).toBe('True'),
        WAIT,
      );
      expect(b.health().leader).toBe(false);
      // The leader goes: it stops and releases the lease; the standby takes over and keeps reconciling.
      await a.stop();
      await vi.waitFor(() => expect(b.health().leader).toBe(true), WAIT);
      await storeB.create(limiterFrom('doc-c-header-match.yaml', ns));
      await vi.waitFor(async () => {
        expect(readyOf(await store.get('SmartLimiter', ns, 'productpage'))).toBe('True');
        expect(await store.get('EnvoyFilter', ns, `productpage.${ns}.ratelimit`)).not.toBeNull();
      }, WAIT);
    } finally {
      await a.stop();
      await b.stop();
      await storeB.close();
      await cleanup();
    }
  }, 120_000);
});
