import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../cluster/embedded-store';
import { Informer } from '../cluster/informer';
import type { Kind } from '../cluster/store';
import { describeCrossNamespaceOwnership, exporterModule } from '../../test/support/cross-namespace-suite';
import { ModuleController } from './module-controller';
import { ObjectWriter } from './object-writer';
import { informerSnapshot } from './snapshot';

let n = 0;
describeCrossNamespaceOwnership('the embedded store', async () => {
  const store = await EmbeddedStore.open({});
  const id = ++n;
  return {
    store,
    namespaces: [`owner-${id}`, `root-${id}`, `exported-${id}`],
    cleanup: () => store.close(),
  };
});

describe('a controller whose informers watch one namespace', () => {
  it('writes nothing of a plan that wants an object outside it', async () => {
    const store = await EmbeddedStore.open({});
    const namespace = 'only';
    const informers = new Map<Kind, Informer>(
      (['ConfigMap', 'EnvoyFilter'] as const).map((k) => [k, new Informer(store, k, { namespace })]),
    );
    try {
      await store.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'exporter', namespace, labels: { 'test.governor.io/run': 'scoped' } },
        data: { exportTo: 'istio-system' },
      });
      await Promise.all([...informers.values()].map((i) => i.start()));
      const controller = new ModuleController(exporterModule('scoped'), {
        writer: new ObjectWriter(store),
        informers,
        snapshot: informerSnapshot(informers),
        namespace,
        tickMs: 0,
        metricTickMs: 0,
      });
      await expect(controller.reconcile(`${namespace}/exporter`)).rejects.toThrow(
        'EnvoyFilter istio-system/exporter is outside the namespace Governor watches (only)',
      );
      expect((await store.list('EnvoyFilter')).items).toEqual([]);
    } finally {
      for (const i of informers.values()) i.stop();
      await store.close();
    }
  });
});
