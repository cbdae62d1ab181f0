/**
 * Owned objects in other namespaces than their owner's, run against every cluster store: the framework
 * marks them (no owner reference can cross namespaces) and does for them all it does for referenced ones.
 *
 * The test module reconciles ConfigMaps labelled with the test's run id (other tests' leftovers on a
 * shared API server are not its own) into one EnvoyFilter in the ConfigMap's namespace and one of the
 * ConfigMap's name in each namespace its `exportTo` lists.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { testScope } from './test-scope';
import { Informer } from '../../src/cluster/informer';
import { registerKind, type ClusterStore, type Kind, type KubeObject } from '../../src/cluster/store';
import type { Module } from '../../src/framework/module';
import { ModuleController } from '../../src/framework/module-controller';
import {
  OWNER_KIND_LABEL,
  OWNER_NAME_ANNOTATION,
  OWNER_NAME_HASH_LABEL,
  OWNER_NAMESPACE_LABEL,
  OWNER_UID_ANNOTATION,
  ObjectWriter,
  ownerNameHash,
} from '../../src/framework/object-writer';
import { informerSnapshot } from '../../src/framework/snapshot';
import { countingStore } from './counting-store';

export interface CrossNamespaceSetup {
  readonly store: ClusterStore;
  /** The owner's namespace and two others, all existing. */
  readonly namespaces: readonly [string, string, string];
  cleanup(): Promise<void>;
}

registerKind('ConfigMap', { group: '', version: 'v1', plural: 'configmaps', hasStatus: false });

const RUN_LABEL = 'test.governor.io/run';
const WAIT = { timeout: 15_000, interval: 50 };
const TEST_TIMEOUT = 30_000;

interface Exporter {
  readonly name: string;
  readonly namespace: string;
  readonly exportTo: string[];
}

const envoyFilter = (name: string, namespace: string, owner: string): KubeObject => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'EnvoyFilter',
  // A label of the module's own, and one it owns: the marks must survive both.
  metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': owner } },
  spec: { configPatches: [{ applyTo: 'NETWORK_FILTER', patch: { operation: 'MERGE', value: { owner } } }] },
});

export const exporterModule = (run: string): Module<Exporter, null> => ({
  name: 'exporter',
  kind: 'ConfigMap',
  apiVersion: 'v1',
  watches: [],
  owns: ['EnvoyFilter'],
  ownedLabelKeys: ['istio.io/rev'],
  writesStatus: false,
  parse: (raw) =>
    raw.metadata.labels?.[RUN_LABEL] === run
      ? {
          ok: true,
          value: {
            name: raw.metadata.name,
            namespace: raw.metadata.namespace ?? 'default',
            exportTo: String((raw.data as Record<string, string> | undefined)?.exportTo ?? '')
              .split(',')
              .filter((n) => n !== ''),
          },
        }
      : { ok: false, problems: [{ message: 'not this run' }] },
  invalidStatus: () => ({}),
  plan: ({ object }) => ({
    desired: [
      envoyFilter(`${object.name}-local`, object.namespace, object.name),
      ...object.exportTo.map((ns) => envoyFilter(object.name, ns, object.name)),
    ],
    status: {},
    problems: [],
    engine: null,
  }),
});

export function describeCrossNamespaceOwnership(name: string, setup: () => Promise<CrossNamespaceSetup>) {
  describe(`owned objects in other namespaces on ${name}`, () => {
    const scope = testScope();

    async function begin(before?: (store: ClusterStore, namespaces: readonly string[]) => Promise<void>) {
      const ctx = await setup();
      scope.defer(() => ctx.cleanup());
      const [ns, a, b] = ctx.namespaces;
      await before?.(ctx.store, ctx.namespaces);
      const run = randomUUID();
      const { store, writes } = countingStore(ctx.store);
      // Every namespace: what it owns elsewhere must be seen to be found, repaired and collected.
      const informers = new Map<Kind, Informer>(
        (['ConfigMap', 'EnvoyFilter'] as const).map((k) => [
          k,
          new Informer(store, k, { resyncMs: 60_000, initialBackoffMs: 50 }),
        ]),
      );
      await Promise.all([...informers.values()].map((i) => i.start()));
      const errors: string[] = [];
      const controller = new ModuleController(exporterModule(run), {
        writer: new ObjectWriter(store),
        informers,
        snapshot: informerSnapshot(informers),
        tickMs: 0,
        metricTickMs: 0,
        recordEvents: false,
        queue: {
          initialBackoffMs: 20,
          maxBackoffMs: 200,
          onError: (_key, e) => errors.push(e instanceof Error ? e.message : String(e)),
        },
      });
      controller.start();
      scope.defer(() => {
        controller.stop();
        for (const i of informers.values()) i.stop();
      });
      const createOwner = (exportTo: string[]) =>
        store.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'exporter', namespace: ns, labels: { [RUN_LABEL]: run } },
          data: { exportTo: exportTo.join(',') },
        });
      return { store, ns, a, b, controller, writes, errors, createOwner };
    }

    const get = (store: ClusterStore, namespace: string, name: string) =>
      store.get('EnvoyFilter', namespace, name);

    it(
      'writes them marked, without an owner reference; in its own namespace with one; nothing when nothing changed',
      async () => {
        const { store, ns, a, b, controller, writes, createOwner } = await begin();
        const owner = await createOwner([a, b]);
        await vi.waitFor(async () => {
          for (const n of [a, b]) expect(await get(store, n, 'exporter')).not.toBeNull();
          expect(await get(store, ns, 'exporter-local')).not.toBeNull();
        }, WAIT);
        for (const n of [a, b]) {
          const ef = (await get(store, n, 'exporter'))!;
          expect(ef.metadata.ownerReferences ?? []).toEqual([]);
          expect(ef.metadata.labels).toEqual({
            'app.kubernetes.io/part-of': 'exporter',
            [OWNER_KIND_LABEL]: 'ConfigMap',
            [OWNER_NAMESPACE_LABEL]: ns,
            [OWNER_NAME_HASH_LABEL]: ownerNameHash('exporter'),
          });
          expect(ef.metadata.annotations).toMatchObject({
            [OWNER_NAME_ANNOTATION]: 'exporter',
            [OWNER_UID_ANNOTATION]: owner.metadata.uid,
          });
          expect(ef.spec).toEqual(envoyFilter('exporter', n, 'exporter').spec);
        }
        const local = (await get(store, ns, 'exporter-local'))!;
        expect(local.metadata.ownerReferences).toEqual([
          expect.objectContaining({ kind: 'ConfigMap', name: 'exporter', uid: owner.metadata.uid }),
        ]);
        expect(local.metadata.labels?.[OWNER_KIND_LABEL]).toBeUndefined();
        // Selectable by label across namespaces.
        const selected = (await store.list('EnvoyFilter')).items.filter(
          (o) =>
            o.metadata.labels?.[OWNER_NAMESPACE_LABEL] === ns &&
            o.metadata.labels[OWNER_NAME_HASH_LABEL] === ownerNameHash('exporter'),
        );
        expect(selected.map((o) => o.metadata.namespace).sort()).toEqual([a, b].sort());

        await controller.queue.idle();
        const before = writes();
        controller.queue.add(`${ns}/exporter`);
        await controller.queue.idle();
        expect(writes()).toBe(before);
      },
      TEST_TIMEOUT,
    );

    it(
      'puts one back after someone changes it, or its marks, or deletes it',
      async () => {
        const { store, a, createOwner } = await begin();
        await createOwner([a]);
        let good: KubeObject | null = null;
        await vi.waitFor(async () => {
          good = await get(store, a, 'exporter');
          expect(good).not.toBeNull();
        }, WAIT);
        const wanted = good!;

        const current = (await get(store, a, 'exporter'))!;
        await store.update({
          ...current,
          metadata: {
            ...current.metadata,
            labels: { ...current.metadata.labels, [OWNER_NAME_HASH_LABEL]: 'x' },
          },
          spec: { configPatches: [] },
        });
        await vi.waitFor(async () => {
          const now = (await get(store, a, 'exporter'))!;
          expect(now.spec).toEqual(wanted.spec);
          expect(now.metadata.labels?.[OWNER_NAME_HASH_LABEL]).toBe(ownerNameHash('exporter'));
        }, WAIT);

        await store.delete('EnvoyFilter', a, 'exporter');
        await vi.waitFor(async () => {
          const back = await get(store, a, 'exporter');
          expect(back?.spec).toEqual(wanted.spec);
          expect(back?.metadata.uid).not.toBe(wanted.metadata.uid);
        }, WAIT);
      },
      TEST_TIMEOUT,
    );

    it(
      'deletes one no longer wanted, and all of them with the owner',
      async () => {
        const { store, ns, a, b, createOwner } = await begin();
        await createOwner([a, b]);
        await vi.waitFor(async () => {
          for (const n of [a, b]) expect(await get(store, n, 'exporter')).not.toBeNull();
        }, WAIT);
        const owner = (await store.get('ConfigMap', ns, 'exporter'))!;
        await store.update({ ...owner, data: { exportTo: b } });
        await vi.waitFor(async () => expect(await get(store, a, 'exporter')).toBeNull(), WAIT);
        expect(await get(store, b, 'exporter')).not.toBeNull();

        await store.delete('ConfigMap', ns, 'exporter');
        await vi.waitFor(async () => {
          expect(await get(store, b, 'exporter')).toBeNull();
          expect(await get(store, ns, 'exporter-local')).toBeNull();
        }, WAIT);
      },
      TEST_TIMEOUT,
    );

    it(
      'collects at start what an owner gone while it was away left in other namespaces',
      async () => {
        const { store, a } = await begin(async (store, [ns, a]) => {
          const orphan = envoyFilter('exporter', a!, 'exporter');
          await store.create({
            ...orphan,
            metadata: {
              ...orphan.metadata,
              labels: {
                [OWNER_KIND_LABEL]: 'ConfigMap',
                [OWNER_NAMESPACE_LABEL]: ns!,
                [OWNER_NAME_HASH_LABEL]: ownerNameHash('gone'),
              },
              annotations: { [OWNER_NAME_ANNOTATION]: 'gone', [OWNER_UID_ANNOTATION]: randomUUID() },
            },
          });
        });
        await vi.waitFor(async () => expect(await get(store, a, 'exporter')).toBeNull(), WAIT);
      },
      TEST_TIMEOUT,
    );

    it(
      'never writes over an object there that is not its own, and writes once it is gone',
      async () => {
        const { store, ns, a, b, errors, createOwner } = await begin();
        // In a: someone's EnvoyFilter of the same name; in b: one another ConfigMap (not this run's) owns.
        await store.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'other', namespace: ns },
        });
        const unowned = await store.create(envoyFilter('exporter', a, 'someone'));
        const other = envoyFilter('exporter', b, 'other');
        const othersOwned = await store.create({
          ...other,
          metadata: {
            ...other.metadata,
            labels: {
              [OWNER_KIND_LABEL]: 'ConfigMap',
              [OWNER_NAMESPACE_LABEL]: ns,
              [OWNER_NAME_HASH_LABEL]: ownerNameHash('other'),
            },
            annotations: { [OWNER_NAME_ANNOTATION]: 'other', [OWNER_UID_ANNOTATION]: randomUUID() },
          },
        });
        await createOwner([a, b]);
        await vi.waitFor(
          () =>
            expect(errors).toContainEqual(
              expect.stringContaining(`EnvoyFilter ${a}/exporter exists and is not owned by ConfigMap`),
            ),
          WAIT,
        );
        // Nothing of the plan is written while any of it would take over someone's object.
        expect(await get(store, ns, 'exporter-local')).toBeNull();
        expect((await get(store, a, 'exporter'))?.metadata.resourceVersion).toBe(
          unowned.metadata.resourceVersion,
        );
        expect((await get(store, b, 'exporter'))?.metadata.resourceVersion).toBe(
          othersOwned.metadata.resourceVersion,
        );

        await store.delete('EnvoyFilter', a, 'exporter');
        await vi.waitFor(
          () =>
            expect(errors).toContainEqual(
              expect.stringContaining(`EnvoyFilter ${b}/exporter exists and is not owned by ConfigMap`),
            ),
          WAIT,
        );
        expect((await get(store, b, 'exporter'))?.metadata.resourceVersion).toBe(
          othersOwned.metadata.resourceVersion,
        );
        await store.delete('EnvoyFilter', b, 'exporter');
        await vi.waitFor(async () => {
          for (const n of [a, b])
            expect((await get(store, n, 'exporter'))?.metadata.annotations?.[OWNER_NAME_ANNOTATION]).toBe(
              'exporter',
            );
          expect(await get(store, ns, 'exporter-local')).not.toBeNull();
        }, WAIT);
      },
      TEST_TIMEOUT,
    );
  });
}
