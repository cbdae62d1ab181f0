import { describe, expect, it, vi } from 'vitest';
import { Informer } from '../cluster/informer';
import type { Kind } from '../cluster/store';
import type { Module } from './module';
import { ModuleController } from './module-controller';
import { ObjectWriter } from './object-writer';
import { informerSnapshot } from './snapshot';
import { EmbeddedStore } from '../cluster/embedded-store';
import { describeControllerBehaviour } from '../../test/support/controller-suite';

let n = 0;
describeControllerBehaviour('the embedded store', async () => {
  const store = await EmbeddedStore.open({});
  return { store, namespace: `test-${++n}`, cleanup: () => store.close() };
});

describe('a module that writes no status', () => {
  const serviceModule = (): Module<{ name: string }, null> => ({
    name: 'service-owner',
    kind: 'Service',
    apiVersion: 'v1',
    watches: [],
    owns: ['EnvoyFilter'],
    writesStatus: false,
    parse: (raw) =>
      raw.metadata.labels?.broken === 'yes'
        ? { ok: false, problems: [{ message: 'broken' }] }
        : { ok: true, value: { name: raw.metadata.name } },
    invalidStatus: () => ({ invalid: true }),
    plan: ({ object }) => ({
      desired: [
        {
          apiVersion: 'networking.istio.io/v1alpha3',
          kind: 'EnvoyFilter',
          metadata: { name: object.name },
          spec: { configPatches: [] },
        },
      ],
      status: { planned: true },
      problems: [],
      engine: null,
    }),
  });

  it('writes the owned objects and never the status of its objects, valid or not', async () => {
    const store = await EmbeddedStore.open({});
    const namespace = 'no-status';
    const informers = new Map<Kind, Informer>(
      (['Service', 'EnvoyFilter'] as const).map((k) => [k, new Informer(store, k, { namespace })]),
    );
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reviews', namespace },
      spec: { selector: { app: 'reviews' } },
    });
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'broken', namespace, labels: { broken: 'yes' } },
      spec: {},
    });
    await Promise.all([...informers.values()].map((i) => i.start()));
    const updateStatus = vi.spyOn(store, 'updateStatus');
    const controller = new ModuleController(serviceModule(), {
      writer: new ObjectWriter(store),
      informers,
      snapshot: informerSnapshot(informers),
      tickMs: 0,
      metricTickMs: 0,
    });
    try {
      await controller.reconcile(`${namespace}/reviews`);
      await controller.reconcile(`${namespace}/broken`);
      const ef = await store.get('EnvoyFilter', namespace, 'reviews');
      expect(ef?.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Service', name: 'reviews', controller: true }),
      ]);
      expect(updateStatus).not.toHaveBeenCalled();
      expect((await store.get('Service', namespace, 'reviews'))?.status).toBeUndefined();
      expect((await store.get('Service', namespace, 'broken'))?.status).toBeUndefined();
    } finally {
      controller.stop();
      for (const i of informers.values()) i.stop();
      await store.close();
    }
  });
});
