/**
 * The framework's contract, checked for every registered module against a cluster store: owned objects
 * written with a controller reference, no write when nothing changed, drift repaired, owned objects
 * collected when their owner goes (also while Governor was away), and an invalid edit keeping the last good
 * state everywhere while the status says why. Run on the embedded store and on a real kube-apiserver.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { testScope } from './test-scope';
import { canonicalJson } from '../../src/lib/canonical-json';
import { keyOf, type ClusterStore, type Kind, type KubeObject } from '../../src/cluster/store';
import { ControlPlane } from '../../src/framework/control-plane';
import type { Module } from '../../src/framework/module';
import { defaultSettings, type ModuleDefinition } from '../../src/framework/registry';
import { staticSnapshot } from '../../src/framework/snapshot';
import { MODULES } from '../../src/modules';
import { noMetrics } from '../../src/sources/metric-source';
import type { ControllerSuiteSetup } from './controller-suite';
import { countingStore as counting } from './counting-store';

const WAIT = { timeout: 20_000, interval: 50 };
const TEST_TIMEOUT = 60_000;

const ownedBy = (module: Module, owner: KubeObject) => (o: KubeObject) =>
  (o.metadata.ownerReferences ?? []).some(
    (r) => r.kind === module.kind && r.controller === true && r.uid === owner.metadata.uid,
  );

async function listOwned(store: ClusterStore, module: Module, owner: KubeObject): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const kind of module.owns)
    out.push(...(await store.list(kind, owner.metadata.namespace)).items.filter(ownedBy(module, owner)));
  return out;
}

const hasFalseCondition = (o: KubeObject | null): boolean =>
  ((o?.status as { conditions?: { status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.status === 'False',
  );

export function describeModuleContract(name: string, setup: () => Promise<ControllerSuiteSetup>): void {
  for (const definition of MODULES as readonly ModuleDefinition[]) {
    describe(`the ${definition.name} module on ${name}: the framework's contract`, () => {
      const scope = testScope();

      const createModule = () =>
        definition.create({
          settings: defaultSettings(definition.settings),
          metrics: noMetrics,
          options: {},
        });
      // A module whose own kind owns nothing (its companions own the objects: metarouter) is held to the
      // status half of the contract; the ownership half runs for every module that owns.
      const ownsObjects = createModule().owns.length > 0;
      const whenOwning = ownsObjects ? it : () => undefined;

      /** The example's cluster objects in a fresh namespace, and a running control plane over them. */
      async function begin(before?: (store: ClusterStore, ns: string) => Promise<void>) {
        const ctx = await setup();
        scope.defer(() => ctx.cleanup());
        const ns = ctx.namespace;
        const examples = definition.examples(ns);
        for (const o of examples.cluster) {
          const { status, ...rest } = o;
          const created = await ctx.store.create(rest as KubeObject);
          if (status) await ctx.store.updateStatus({ ...created, status });
        }
        await before?.(ctx.store, ns);
        const { store, writes } = counting(ctx.store);
        const module = createModule();
        const rules: { key: string; rules: unknown }[] = [];
        const plane = new ControlPlane({
          store,
          modules: [module],
          namespace: ns,
          leaseNamespace: ns,
          identity: `contract-${randomUUID()}`,
          tickMs: 0,
          metricTickMs: 0,
          // The module's own rules: its companions' controllers report theirs too.
          onEngineRules: (m, key, r) => {
            if (m === module.name) rules.push({ key, rules: r });
          },
        });
        scope.defer(() => plane.stop());
        await plane.start();
        const object = await store.create(examples.object);
        let owned: KubeObject[] = [];
        await vi.waitFor(async () => {
          owned = await listOwned(store, module, object);
          if (ownsObjects) expect(owned.length).toBeGreaterThan(0);
          expect((await store.get(module.kind, ns, object.metadata.name))?.status).toBeTruthy();
        }, WAIT);
        await plane.idle();
        return { store, ns, module, plane, object, owned, rules, writes, examples };
      }

      it(
        'writes owned objects with a controller reference and the status; nothing when nothing changed',
        async () => {
          const { module, plane, object, owned, writes } = await begin();
          for (const o of owned)
            expect(o.metadata.ownerReferences).toEqual([
              expect.objectContaining({
                kind: module.kind,
                name: object.metadata.name,
                uid: object.metadata.uid,
                controller: true,
              }),
            ]);
          const before = writes();
          plane.controller(module.name).queue.add(keyOf(object));
          await plane.idle();
          expect(writes()).toBe(before);
        },
        TEST_TIMEOUT,
      );

      whenOwning(
        'puts back an owned object someone changed',
        async () => {
          const { store, owned } = await begin();
          const target = owned[0]!;
          const wanted = canonicalJson(target.spec);
          const current = (await store.get(
            target.kind as Kind,
            target.metadata.namespace!,
            target.metadata.name,
          ))!;
          await store.update({ ...current, spec: {} });
          await vi.waitFor(async () => {
            const now = await store.get(
              target.kind as Kind,
              target.metadata.namespace!,
              target.metadata.name,
            );
            expect(canonicalJson(now?.spec)).toBe(wanted);
          }, WAIT);
        },
        TEST_TIMEOUT,
      );

      whenOwning(
        'deletes what an object owned when it goes, and tells the engine',
        async () => {
          const { store, ns, module, object, rules } = await begin();
          await store.delete(module.kind, ns, object.metadata.name);
          await vi.waitFor(async () => {
            expect(await listOwned(store, module, object)).toEqual([]);
            expect(rules.at(-1)).toEqual({ key: keyOf(object), rules: null });
          }, WAIT);
        },
        TEST_TIMEOUT,
      );

      it(
        'keeps the last good state when an edit makes the plan invalid, and says why in the status',
        async () => {
          const { store, ns, module, plane, object, owned, rules, examples } = await begin();
          const delivered = rules.length;
          const current = (await store.get(module.kind, ns, object.metadata.name))!;
          await store.update(examples.invalidate(current));
          await vi.waitFor(async () => {
            expect(hasFalseCondition(await store.get(module.kind, ns, object.metadata.name))).toBe(true);
          }, WAIT);
          await plane.idle();
          const after = await listOwned(store, module, object);
          expect(after.map((o) => canonicalJson(o.spec))).toEqual(owned.map((o) => canonicalJson(o.spec)));
          expect(rules.length).toBe(delivered);
        },
        TEST_TIMEOUT,
      );

      whenOwning(
        'collects, when it starts, owned objects whose owner went while it was away',
        async () => {
          let orphan: KubeObject | undefined;
          const { store, ns } = await begin(async (store, ns) => {
            // What the module would own for an object that is gone: planned from the example, then renamed.
            const examples = definition.examples(ns);
            const module = createModule();
            const parsed = module.parse(examples.object);
            if (!parsed.ok) throw new Error(`the ${definition.name} example does not parse`);
            const snapshot = staticSnapshot(examples.cluster);
            const plan = module.plan({
              object: parsed.value,
              raw: examples.object,
              snapshot,
              metrics: module.metrics?.(parsed.value, snapshot) ?? {
                values: {},
                health: { available: true },
              },
              now: new Date(),
            });
            const first = plan.desired[0]!;
            orphan = await store.create({
              ...first,
              metadata: {
                ...first.metadata,
                name: `${first.metadata.name}-orphan`,
                namespace: ns,
                ownerReferences: [
                  {
                    apiVersion: module.apiVersion,
                    kind: module.kind,
                    name: 'gone',
                    uid: randomUUID(),
                    controller: true,
                  },
                ],
              },
            });
          });
          await vi.waitFor(async () => {
            await expect(
              store.get(orphan!.kind as Kind, ns, orphan!.metadata.name).then((o) => o === null),
            ).resolves.toBe(true);
          }, WAIT);
        },
        TEST_TIMEOUT,
      );
    });
  }
}
