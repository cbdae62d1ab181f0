import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AlreadyExistsError,
  apiVersionOf,
  ConflictError,
  InvalidError,
  NotFoundError,
  type ClusterStore,
  type Kind,
  type KubeObject,
  type WatchEvent,
  type WatchHandle,
} from '../../src/cluster/store';

export interface ClusterStoreFixture {
  readonly store: ClusterStore;
  /** A namespace no other test uses. On a cluster, setup creates it and cleanup deletes it. */
  readonly namespace: string;
  cleanup(): Promise<void>;
}

/** Events over a real API server take a round trip; allow for a busy test cluster. */
const WAIT = { timeout: 10_000, interval: 5 };

/**
 * The behaviour every {@link ClusterStore} shares, declared as vitest blocks: run it against each
 * implementation (the embedded store, a real API server) so that code written against the interface sees
 * the same semantics everywhere.
 *
 * It asserts only what a Kubernetes API server does itself: resourceVersions are compared for equality
 * only; core objects are matched partially (the server defaults their fields); nothing depends on a
 * controller (the garbage collector, the scheduler, a kubelet), so owner cascades are not part of it.
 * The kinds used: SmartLimiter (status subresource), EnvoyFilter (no status), Service and Pod.
 */
export function describeClusterStoreContract(name: string, setup: () => Promise<ClusterStoreFixture>): void {
  describe(`ClusterStore contract: ${name}`, { timeout: 30_000 }, () => {
    let fixture: ClusterStoreFixture | undefined;
    const watches: WatchHandle[] = [];

    beforeEach(async () => {
      fixture = await setup();
    });

    afterEach(async () => {
      for (const handle of watches.splice(0)) handle.stop();
      await fixture?.cleanup();
      fixture = undefined;
    });

    const current = (): ClusterStoreFixture => {
      if (fixture === undefined) throw new Error('the contract fixture is not set up');
      return fixture;
    };

    /** Records a namespace watch of `kind` from `resourceVersion`. */
    const record = (kind: Kind, resourceVersion: string): Recorder => {
      const { store, namespace } = current();
      const recorder: Recorder = { events: [], ended: undefined, stop: () => undefined };
      const handle = store.watch(kind, {
        namespace,
        resourceVersion,
        onEvent: (event) => recorder.events.push(event),
        onEnd: (error) => {
          recorder.ended = { error };
        },
      });
      watches.push(handle);
      recorder.stop = () => handle.stop();
      return recorder;
    };

    it('creates objects, gets them and lists them', async () => {
      const { store, namespace } = current();
      const created = await store.create(smartLimiter(namespace, 'reviews', 100));
      expect(created).toMatchObject({
        apiVersion: 'microservice.slime.io/v1alpha2',
        kind: 'SmartLimiter',
        metadata: { name: 'reviews', namespace, generation: 1 },
        spec: limiterSpec(100),
      });
      expect(created.metadata.uid).toEqual(expect.any(String));
      expect(created.metadata.resourceVersion).toEqual(expect.any(String));
      expect(created.metadata.resourceVersion).not.toBe('');
      expect(created.metadata.creationTimestamp).toEqual(expect.any(String));

      expect(await store.get('SmartLimiter', namespace, 'reviews')).toEqual(created);
      expect(await store.get('SmartLimiter', namespace, 'ratings')).toBeNull();

      await store.create(smartLimiter(namespace, 'productpage', 10));
      await store.create(smartLimiter(namespace, 'details', 20));
      const list = await store.list('SmartLimiter', namespace);
      expect(list.resourceVersion).toEqual(expect.any(String));
      expect(namesOf(list.items).sort()).toEqual(['details', 'productpage', 'reviews']);
      expect(list.items.find((o) => o.metadata.name === 'reviews')).toEqual(created);

      const everywhere = await store.list('SmartLimiter');
      expect(namesOf(everywhere.items.filter((o) => o.metadata.namespace === namespace)).sort()).toEqual([
        'details',
        'productpage',
        'reviews',
      ]);
      expect((await store.list('EnvoyFilter', namespace)).items).toEqual([]);
    });

    it('creates and lists core objects', async () => {
      const { store, namespace } = current();
      const created = await store.create(service(namespace, 'reviews'));
      expect(created).toMatchObject({
        metadata: { name: 'reviews', namespace, labels: { app: 'reviews' } },
        spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
      });
      const listed = await store.list('Service', namespace);
      expect(namesOf(listed.items)).toEqual(['reviews']);
    });

    it('handles a cluster-scoped kind: no namespace, listed and watched whole from a namespace', async () => {
      const { store, namespace } = current();
      const name = `${namespace}-scoped`;
      const listed = await store.list('Namespace', namespace);
      const recorder = record('Namespace', listed.resourceVersion);
      try {
        const created = await store.create({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { 'slime.io/serviceFenced': 'true' } },
        });
        expect(created.metadata.namespace ?? '').toBe('');
        expect(created.metadata.labels).toMatchObject({ 'slime.io/serviceFenced': 'true' });
        expect(await store.get('Namespace', '', name)).toEqual(created);
        // A namespace-scoped list or watch of a cluster-scoped kind sees every object of it.
        expect(namesOf((await store.list('Namespace', namespace)).items)).toContain(name);
        expect(namesOf((await store.list('Namespace')).items)).toContain(name);
        const updated = await store.update({
          ...created,
          metadata: { ...created.metadata, labels: { 'slime.io/serviceFenced': 'false' } },
        });
        // The API server labels every Namespace with its name.
        expect(updated.metadata.labels).toEqual({
          'slime.io/serviceFenced': 'false',
          'kubernetes.io/metadata.name': name,
        });
        await vi.waitFor(() =>
          expect(recorder.events.filter((e) => e.object.metadata.name === name).map((e) => e.type)).toEqual([
            'ADDED',
            'MODIFIED',
          ]),
        );
      } finally {
        await store.delete('Namespace', '', name).catch(() => undefined);
      }
    });

    it('hands out copies: changing a returned object does not change the store', async () => {
      const { store, namespace } = current();
      const created = await store.create(envoyFilter(namespace, 'reviews', 'one'));
      created.metadata.labels = { changed: 'yes' };
      const got = await store.get('EnvoyFilter', namespace, 'reviews');
      expect(got?.metadata.labels).toBeUndefined();
      if (got === null) return;
      (got.spec as { workloadSelector: { labels: Record<string, string> } }).workloadSelector.labels.app =
        'x';
      expect(await store.get('EnvoyFilter', namespace, 'reviews')).toMatchObject({
        spec: envoyFilterSpec('reviews', 'one'),
      });
    });

    it('refuses to create an object that exists', async () => {
      const { store, namespace } = current();
      await store.create(envoyFilter(namespace, 'reviews', 'one'));
      await expect(store.create(envoyFilter(namespace, 'reviews', 'two'))).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      expect(await store.get('EnvoyFilter', namespace, 'reviews')).toMatchObject({
        spec: envoyFilterSpec('reviews', 'one'),
      });
    });

    it('refuses an invalid name', async () => {
      const { store, namespace } = current();
      await expect(store.create(envoyFilter(namespace, 'Not_A_Name', 'one'))).rejects.toBeInstanceOf(
        InvalidError,
      );
    });

    it('updates with optimistic concurrency on resourceVersion', async () => {
      const { store, namespace } = current();
      const created = await store.create(envoyFilter(namespace, 'reviews', 'one'));
      const updated = await store.update({ ...created, spec: envoyFilterSpec('reviews', 'two') });
      expect(updated.spec).toEqual(envoyFilterSpec('reviews', 'two'));
      expect(updated.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
      expect(updated.metadata.uid).toBe(created.metadata.uid);

      // `created` carries the resourceVersion from before the update: a lost update is refused.
      await expect(
        store.update({ ...created, spec: envoyFilterSpec('reviews', 'stale') }),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(await store.get('EnvoyFilter', namespace, 'reviews')).toMatchObject({
        spec: envoyFilterSpec('reviews', 'two'),
      });

      // Without a resourceVersion the write is unconditional.
      const { resourceVersion: _resourceVersion, ...metadata } = created.metadata;
      const forced = await store.update({ ...created, metadata, spec: envoyFilterSpec('reviews', 'three') });
      expect(forced.spec).toEqual(envoyFilterSpec('reviews', 'three'));

      await expect(store.update(envoyFilter(namespace, 'ratings', 'one'))).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('grows metadata.generation when the spec changes, not on metadata changes', async () => {
      const { store, namespace } = current();
      const created = await store.create(envoyFilter(namespace, 'reviews', 'one'));
      expect(created.metadata.generation).toBe(1);

      const labelled = await store.update({
        ...created,
        metadata: { ...created.metadata, labels: { team: 'bookinfo' } },
      });
      expect(labelled.metadata.generation).toBe(1);
      expect(labelled.metadata.labels).toEqual({ team: 'bookinfo' });
      expect(labelled.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);

      const changed = await store.update({ ...labelled, spec: envoyFilterSpec('reviews', 'two') });
      expect(changed.metadata.generation).toBe(2);
    });

    it('keeps status behind its subresource', async () => {
      const { store, namespace } = current();
      const created = await store.create({
        ...smartLimiter(namespace, 'reviews', 100),
        status: limiterStatus(1),
      });
      expect(created.status).toBeUndefined();

      // updateStatus writes status only: the spec in the request is ignored, the generation stays.
      const withStatus = await store.updateStatus({
        ...created,
        spec: limiterSpec(999),
        status: limiterStatus(1),
      });
      expect(withStatus.status).toEqual(limiterStatus(1));
      expect(withStatus.spec).toEqual(limiterSpec(100));
      expect(withStatus.metadata.generation).toBe(1);
      expect(withStatus.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);

      // update writes everything but status.
      const updated = await store.update({ ...withStatus, spec: limiterSpec(50), status: limiterStatus(7) });
      expect(updated.spec).toEqual(limiterSpec(50));
      expect(updated.status).toEqual(limiterStatus(1));
      expect(updated.metadata.generation).toBe(2);
      expect(await store.get('SmartLimiter', namespace, 'reviews')).toEqual(updated);

      await expect(store.updateStatus({ ...withStatus, status: limiterStatus(2) })).rejects.toBeInstanceOf(
        ConflictError,
      );
      await expect(
        store.updateStatus({ ...smartLimiter(namespace, 'ratings', 1), status: limiterStatus(1) }),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it("sets a Pod's phase through updateStatus", async () => {
      const { store, namespace } = current();
      // The API server resets a Pod's status on create: the phase is written afterwards, as a kubelet does.
      const created = await store.create(pod(namespace, 'reviews-v1-0', 'reviews'));
      expect((created.status as { phase?: string } | undefined)?.phase).not.toBe('Running');
      const running = await store.updateStatus({
        ...created,
        status: { ...(created.status as object | undefined), phase: 'Running' },
      });
      expect(running.status).toMatchObject({ phase: 'Running' });
      expect(running.spec).toMatchObject({ containers: [{ name: 'reviews' }] });
      expect(await store.get('Pod', namespace, 'reviews-v1-0')).toMatchObject({
        status: { phase: 'Running' },
      });
    });

    it('applies: creates, then sets the spec, growing the generation only when it changed', async () => {
      const { store, namespace } = current();
      const manager = { fieldManager: 'governor', force: true };
      const first = await store.apply(
        {
          ...envoyFilter(namespace, 'reviews', 'one'),
          metadata: { name: 'reviews', namespace, labels: { a: '1' } },
        },
        manager,
      );
      expect(first.metadata.generation).toBe(1);
      expect(first.spec).toEqual(envoyFilterSpec('reviews', 'one'));
      expect(first.metadata.labels).toEqual({ a: '1' });

      const same = await store.apply(
        {
          ...envoyFilter(namespace, 'reviews', 'one'),
          metadata: { name: 'reviews', namespace, labels: { b: '2' } },
        },
        manager,
      );
      expect(same.metadata.generation).toBe(1);
      expect(same.metadata.uid).toBe(first.metadata.uid);
      expect(same.metadata.labels).toMatchObject({ b: '2' });

      const changed = await store.apply(envoyFilter(namespace, 'reviews', 'two'), manager);
      expect(changed.metadata.generation).toBe(2);
      expect(changed.spec).toEqual(envoyFilterSpec('reviews', 'two'));
      expect(await store.get('EnvoyFilter', namespace, 'reviews')).toEqual(changed);
    });

    it('applies without touching status where status is a subresource', async () => {
      const { store, namespace } = current();
      const manager = { fieldManager: 'governor', force: true };
      const created = await store.apply(
        { ...smartLimiter(namespace, 'reviews', 100), status: limiterStatus(1) },
        manager,
      );
      expect(created.status).toBeUndefined();
      const withStatus = await store.updateStatus({ ...created, status: limiterStatus(1) });
      const applied = await store.apply(
        { ...smartLimiter(namespace, 'reviews', 200), status: limiterStatus(5) },
        manager,
      );
      expect(applied.spec).toEqual(limiterSpec(200));
      expect(applied.status).toEqual(withStatus.status);
      expect(applied.metadata.generation).toBe(2);
    });

    it("watches from a list's resourceVersion: every later change in order, nothing from before", async () => {
      const { store, namespace } = current();
      await store.create(envoyFilter(namespace, 'before', 'one'));
      const { resourceVersion } = await store.list('EnvoyFilter', namespace);
      const watch = record('EnvoyFilter', resourceVersion);

      const created = await store.create(envoyFilter(namespace, 'reviews', 'one'));
      const updated = await store.update({ ...created, spec: envoyFilterSpec('reviews', 'two') });
      expect(await store.delete('EnvoyFilter', namespace, 'reviews')).toBe(true);

      await waitForEvents(watch, 3);
      expect(summary(watch)).toEqual(['ADDED reviews', 'MODIFIED reviews', 'DELETED reviews']);
      const [added, modified, deleted] = watch.events;
      expect(added?.object).toEqual(created);
      expect(modified?.object).toEqual(updated);
      expect(deleted?.object.metadata.uid).toBe(created.metadata.uid);
      expect(watch.ended).toBeUndefined();
    });

    it('resumes a watch from a later resourceVersion without repeating events', async () => {
      const { store, namespace } = current();
      const { resourceVersion } = await store.list('EnvoyFilter', namespace);
      const first = record('EnvoyFilter', resourceVersion);
      for (const name of ['a', 'b', 'c']) await store.create(envoyFilter(namespace, name, name));
      await waitForEvents(first, 3);
      first.stop();

      const resumeFrom = first.events[0]?.object.metadata.resourceVersion ?? '';
      await store.create(envoyFilter(namespace, 'd', 'd'));
      const resumed = record('EnvoyFilter', resumeFrom);
      await waitForEvents(resumed, 3);
      expect(summary(resumed)).toEqual(['ADDED b', 'ADDED c', 'ADDED d']);
      expect(summary(first)).toEqual(['ADDED a', 'ADDED b', 'ADDED c']);
    });

    it('delivers nothing after stop()', async () => {
      const { store, namespace } = current();
      const { resourceVersion } = await store.list('EnvoyFilter', namespace);
      const stopped = record('EnvoyFilter', resourceVersion);
      const running = record('EnvoyFilter', resourceVersion);
      stopped.stop();
      await store.create(envoyFilter(namespace, 'reviews', 'one'));
      await waitForEvents(running, 1);
      expect(stopped.events).toEqual([]);
    });

    it('does not write or emit an event for an update that changes nothing', async () => {
      const { store, namespace } = current();
      const created = await store.create(envoyFilter(namespace, 'reviews', 'one'));
      const watch = record('EnvoyFilter', created.metadata.resourceVersion ?? '');

      const unchanged = await store.update(created);
      expect(unchanged.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      expect(unchanged).toEqual(created);

      // Events arrive in order: had the no-op update emitted one, it would come before this one.
      const labelled = await store.update({
        ...created,
        metadata: { ...created.metadata, labels: { a: '1' } },
      });
      await waitForEvents(watch, 1);
      expect(summary(watch)).toEqual(['MODIFIED reviews']);
      expect(watch.events[0]?.object.metadata.resourceVersion).toBe(labelled.metadata.resourceVersion);
    });

    it('deletes with a resourceVersion precondition', async () => {
      const { store, namespace } = current();
      const created = await store.create(envoyFilter(namespace, 'reviews', 'one'));
      const updated = await store.update({ ...created, spec: envoyFilterSpec('reviews', 'two') });

      await expect(
        store.delete('EnvoyFilter', namespace, 'reviews', {
          resourceVersion: created.metadata.resourceVersion ?? '',
        }),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(await store.get('EnvoyFilter', namespace, 'reviews')).toEqual(updated);

      expect(
        await store.delete('EnvoyFilter', namespace, 'reviews', {
          resourceVersion: updated.metadata.resourceVersion ?? '',
        }),
      ).toBe(true);
      expect(await store.get('EnvoyFilter', namespace, 'reviews')).toBeNull();
      expect(await store.delete('EnvoyFilter', namespace, 'reviews')).toBe(false);
      expect(await store.delete('SmartLimiter', namespace, 'never-created')).toBe(false);
    });
  });
}

interface Recorder {
  readonly events: WatchEvent[];
  /** Set when the store ended the watch. */
  ended: { error: Error | undefined } | undefined;
  stop(): void;
}

/** Waits until at least `count` events arrived (or the watch ended, which the caller then sees). */
async function waitForEvents(recorder: Recorder, count: number): Promise<void> {
  await vi.waitFor(() => {
    if (recorder.ended !== undefined) {
      throw new Error(`the watch ended: ${recorder.ended.error?.message ?? 'closed by the store'}`);
    }
    expect(recorder.events.length).toBeGreaterThanOrEqual(count);
  }, WAIT);
}

const summary = (recorder: Recorder): string[] =>
  recorder.events.map((e) => `${e.type} ${e.object.metadata.name}`);

const namesOf = (items: readonly KubeObject[]): string[] => items.map((o) => o.metadata.name);

// Objects valid against the real schemas (Slime's SmartLimiter CRD, Istio's EnvoyFilter), so that a
// real API server neither prunes nor refuses them.

export const limiterSpec = (quota: number): Record<string, unknown> => ({
  sets: {
    _base: {
      descriptor: [
        {
          action: { fill_interval: { seconds: 60 }, quota: String(quota), strategy: 'single' },
          condition: 'true',
          target: { port: 9080 },
        },
      ],
    },
  },
});

export const limiterStatus = (pods: number): Record<string, unknown> => ({
  metricStatus: { '_base.pod': String(pods) },
});

export const smartLimiter = (namespace: string, name: string, quota: number): KubeObject => ({
  apiVersion: apiVersionOf('SmartLimiter'),
  kind: 'SmartLimiter',
  metadata: { name, namespace },
  spec: limiterSpec(quota),
});

export const envoyFilterSpec = (app: string, descriptor: string): Record<string, unknown> => ({
  workloadSelector: { labels: { app } },
  configPatches: [
    {
      applyTo: 'HTTP_ROUTE',
      match: {
        context: 'SIDECAR_INBOUND',
        routeConfiguration: { vhost: { name: 'inbound|http|9080', route: { action: 'ANY' } } },
      },
      patch: {
        operation: 'MERGE',
        value: { route: { rate_limits: [{ actions: [{ generic_key: { descriptor_value: descriptor } }] }] } },
      },
    },
  ],
});

export const envoyFilter = (namespace: string, name: string, descriptor: string): KubeObject => ({
  apiVersion: apiVersionOf('EnvoyFilter'),
  kind: 'EnvoyFilter',
  metadata: { name, namespace },
  spec: envoyFilterSpec(name, descriptor),
});

const service = (namespace: string, name: string): KubeObject => ({
  apiVersion: apiVersionOf('Service'),
  kind: 'Service',
  metadata: { name, namespace, labels: { app: name } },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] },
});

const pod = (namespace: string, name: string, app: string): KubeObject => ({
  apiVersion: apiVersionOf('Pod'),
  kind: 'Pod',
  metadata: { name, namespace, labels: { app } },
  spec: {
    // A scheduling gate keeps the Pod off every node: no scheduler or kubelet writes its status meanwhile.
    schedulingGates: [{ name: 'governor.io/contract' }],
    containers: [{ name: app, image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.20.2' }],
  },
  status: { phase: 'Running' },
});
