/**
 * Auto-fencing on a real kube-apiserver: a fenced Service gets a ServiceFence and that fence a Sidecar,
 * both with controller owner references; turning fencing off removes them; a fence someone wrote stays;
 * a restart brings no removed fence back (Slime #517). The test server runs no controller manager, so
 * nothing here relies on the cluster's garbage collector: what goes, Governor removes.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { slimeBootYaml } from '../support/fixtures';
import { testScope } from '../support/test-scope';
import type { ClusterStore, KubeObject } from '../../src/cluster/store';
import { ControlPlane } from '../../src/framework/control-plane';
import { loadModuleConfig } from '../../src/framework/module-config';
import { MODULES } from '../../src/modules';
import { LAZYLOAD_MODULE } from '../../src/modules/lazyload/settings';
import { noMetrics } from '../../src/sources/metric-source';
import { freshNamespace, useKubeTestServer } from '../support/kube-test-fixtures';

const running = useKubeTestServer();
const WAIT = { timeout: 20_000, interval: 50 };
const TEST_TIMEOUT = 60_000;
const FENCED = 'slime.io/serviceFenced';
const CREATED_BY = { 'app.kubernetes.io/created-by': 'fence-controller' };

const settings = (general: string) =>
  loadModuleConfig(slimeBootYaml('lazyload', [`general: ${general}`]), [LAZYLOAD_MODULE]).modules.lazyload!;

const service = (name: string, namespace: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 9080 }] },
});

describe('auto-fencing on a real kube-apiserver', () => {
  const scope = testScope();

  async function setup() {
    const ctx = await freshNamespace(running(), 'autofence');
    scope.defer(() => ctx.cleanup());
    return ctx;
  }

  /** A control plane running the lazyload module (with its auto-fencing) over `ns`. */
  async function startPlane(store: ClusterStore, ns: string, general: string): Promise<ControlPlane> {
    // The registry's definition: it also teaches the store the ServiceFence and Sidecar kinds.
    const lazyload = MODULES.find((m) => m.name === 'lazyload')!;
    const module = lazyload.create({ settings: settings(general), metrics: noMetrics, options: {} });
    const plane = new ControlPlane({
      store,
      modules: [module],
      namespace: ns,
      leaseNamespace: ns,
      identity: `autofence-${randomUUID()}`,
      tickMs: 0,
      metricTickMs: 0,
    });
    let stopped = false;
    const original = plane.stop.bind(plane);
    const stop = async () => {
      if (!stopped) await original();
      stopped = true;
    };
    scope.defer(stop);
    await plane.start();
    await vi.waitFor(() => expect(plane.health().leader).toBe(true), WAIT);
    return Object.assign(plane, { stop });
  }

  const labelService = async (store: ClusterStore, ns: string, name: string, value: string) => {
    const current = (await store.get('Service', ns, name))!;
    await store.update({ ...current, metadata: { ...current.metadata, labels: { [FENCED]: value } } });
  };

  it(
    'fences a labelled Service, removes fence and Sidecar when the label turns false, leaves a written fence',
    async () => {
      const { store, namespace: ns } = await setup();
      const reviews = await store.create(service('reviews', ns, { [FENCED]: 'true' }));
      await store.create(service('ratings', ns));
      await store.create(service('details', ns, { [FENCED]: 'true' }));
      // A fence someone wrote for details: the auto-fencing must leave it as it is.
      const written = await store.create({
        apiVersion: 'microservice.slime.io/v1alpha1',
        kind: 'ServiceFence',
        metadata: { name: 'details', namespace: ns },
        spec: { enable: true, host: { [`reviews.${ns}.svc.cluster.local`]: { stable: {} } } },
      });
      const plane = await startPlane(store, ns, '{ autoFence: true }');

      let fence: KubeObject | null = null;
      let sidecar: KubeObject | null = null;
      await vi.waitFor(async () => {
        fence = await store.get('ServiceFence', ns, 'reviews');
        sidecar = await store.get('Sidecar', ns, 'reviews');
        // Both read in one pass: the fence may be written between the two reads.
        expect(fence).not.toBeNull();
        expect(sidecar).not.toBeNull();
      }, WAIT);
      expect(fence!.metadata.labels).toMatchObject(CREATED_BY);
      expect(fence!.spec).toEqual({ enable: true, workloadSelector: { fromService: true } });
      expect(fence!.metadata.ownerReferences).toEqual([
        expect.objectContaining({
          apiVersion: 'v1',
          kind: 'Service',
          name: 'reviews',
          uid: reviews.metadata.uid,
          controller: true,
        }),
      ]);
      expect(sidecar!.metadata.ownerReferences).toEqual([
        expect.objectContaining({
          kind: 'ServiceFence',
          name: 'reviews',
          uid: fence!.metadata.uid,
          controller: true,
        }),
      ]);
      expect(sidecar!.spec).toMatchObject({ workloadSelector: { labels: { app: 'reviews' } } });
      await plane.idle();
      // ratings says nothing and defaultFence is off; details has its own fence.
      expect(await store.get('ServiceFence', ns, 'ratings')).toBeNull();
      const details = await store.get('ServiceFence', ns, 'details');
      expect(details?.metadata.ownerReferences).toBeUndefined();
      expect(details?.metadata.labels ?? {}).not.toHaveProperty('app.kubernetes.io/created-by');
      expect(details?.spec).toEqual(written.spec);
      // A Service's status belongs to Kubernetes: never written.
      expect((await store.get('Service', ns, 'reviews'))?.status ?? {}).toEqual(reviews.status ?? {});

      await labelService(store, ns, 'reviews', 'false');
      await vi.waitFor(async () => {
        expect(await store.get('ServiceFence', ns, 'reviews')).toBeNull();
        // No garbage collector runs here: the lazyload controller removed the Sidecar of the gone fence.
        expect(await store.get('Sidecar', ns, 'reviews')).toBeNull();
      }, WAIT);
      await plane.idle();
      expect((await store.get('ServiceFence', ns, 'details'))?.spec).toEqual(written.spec);
      expect(await store.get('Sidecar', ns, 'details')).not.toBeNull();

      // Restarted, with the same label: the fence stays away.
      await plane.stop();
      const again = await startPlane(store, ns, '{ autoFence: true }');
      await again.idle();
      await new Promise((r) => setTimeout(r, 300));
      await again.idle();
      expect(await store.get('ServiceFence', ns, 'reviews')).toBeNull();
      expect(await store.get('Sidecar', ns, 'reviews')).toBeNull();
      expect((await store.get('ServiceFence', ns, 'details'))?.spec).toEqual(written.spec);
    },
    TEST_TIMEOUT,
  );

  it(
    "follows the Namespace's label, and removes every auto-created fence once autoFence is off, restart included",
    async () => {
      const { store, namespace: ns } = await setup();
      await store.create(service('reviews', ns));
      await store.create(service('ratings', ns));
      const namespace = (await store.get('Namespace', '', ns))!;
      await store.update({ ...namespace, metadata: { ...namespace.metadata, labels: { [FENCED]: 'true' } } });
      const plane = await startPlane(store, ns, '{ autoFence: true }');
      await vi.waitFor(async () => {
        expect(await store.get('Sidecar', ns, 'reviews')).not.toBeNull();
        expect(await store.get('Sidecar', ns, 'ratings')).not.toBeNull();
      }, WAIT);

      // The Namespace changes its mind: both go.
      const labelled = (await store.get('Namespace', '', ns))!;
      await store.update({ ...labelled, metadata: { ...labelled.metadata, labels: { [FENCED]: 'false' } } });
      await vi.waitFor(async () => {
        expect((await store.list('ServiceFence', ns)).items).toEqual([]);
        expect((await store.list('Sidecar', ns)).items).toEqual([]);
      }, WAIT);

      // Back on; then Governor restarts with autoFence off: what it created goes, and does not come back.
      const off = (await store.get('Namespace', '', ns))!;
      await store.update({ ...off, metadata: { ...off.metadata, labels: { [FENCED]: 'true' } } });
      await vi.waitFor(async () => {
        expect((await store.list('ServiceFence', ns)).items).toHaveLength(2);
      }, WAIT);
      await plane.stop();
      const restarted = await startPlane(store, ns, '{ autoFence: false }');
      await vi.waitFor(async () => {
        expect((await store.list('ServiceFence', ns)).items).toEqual([]);
        expect((await store.list('Sidecar', ns)).items).toEqual([]);
      }, WAIT);
      await restarted.idle();
      await new Promise((r) => setTimeout(r, 300));
      expect((await store.list('ServiceFence', ns)).items).toEqual([]);
    },
    TEST_TIMEOUT,
  );
});
