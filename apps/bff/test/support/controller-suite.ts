/**
 * The SmartLimiter controller's behavioural suite, run against every cluster store: the embedded one and a
 * real kube-apiserver. Each test gets a fresh namespace holding Istio's Bookinfo objects.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { SmartLimiter } from '@governor/crd-types';
import { Informer } from '../../src/cluster/informer';
import { ConflictError, type ClusterStore, type Kind, type KubeObject } from '../../src/cluster/store';
import { ModuleController, type ModuleControllerOptions } from '../../src/framework/module-controller';
import { ObjectWriter } from '../../src/framework/object-writer';
import { informerSnapshot } from '../../src/framework/snapshot';
import { limiterModule, type LimiterModuleOptions } from '../../src/modules/limiter/module';
import type { MetricSource } from '../../src/sources/metric-source';
import { fixturePath } from './fixtures';

export interface ControllerSuiteSetup {
  readonly store: ClusterStore;
  readonly namespace: string;
  cleanup(): Promise<void>;
}

const yamlObjects = (file: string): KubeObject[] =>
  parseAllDocuments(readFileSync(fixturePath(file), 'utf8')).map((d) => d.toJS() as KubeObject);

/** Bookinfo's Services, Pods (Running) and DestinationRule, and the gateway's pod, moved into `namespace`. */
export async function seedBookinfo(store: ClusterStore, namespace: string): Promise<void> {
  for (const o of yamlObjects('context-bookinfo.yaml')) {
    const { status, ...rest } = o;
    // A fully qualified host names the namespace too.
    const spec = JSON.parse(
      JSON.stringify(rest.spec ?? {}).replaceAll(
        '.default.svc.cluster.local',
        `.${namespace}.svc.cluster.local`,
      ),
    ) as unknown;
    const created = await store.create({ ...rest, spec, metadata: { ...o.metadata, namespace } });
    if (o.kind === 'Pod' && status) await store.updateStatus({ ...created, status });
  }
}

export function limiterFrom(file: string, namespace: string): KubeObject {
  const [o] = yamlObjects(file);
  if (!o) throw new Error(`no object in ${file}`);
  return { ...o, metadata: { ...o.metadata, namespace } };
}

/** A metric source whose values the test sets: a seam, not a stand-in for a real system. */
export class StaticMetrics implements MetricSource {
  values: Record<string, number> = {};
  health: { available: boolean; message?: string } = { available: true };
  metricsFor() {
    return { values: this.values, health: this.health };
  }
}

export interface Running {
  readonly controller: ModuleController;
  readonly informers: ReadonlyMap<Kind, Informer>;
  readonly metrics: StaticMetrics;
  stop(): void;
}

export type ControllerOptions = Partial<Omit<ModuleControllerOptions, 'writer' | 'informers' | 'snapshot'>> &
  Pick<LimiterModuleOptions, 'metricsUnavailable'>;

/** The framework's controller of the limiter module over `namespace`, as the control plane starts it. */
export async function startController(
  store: ClusterStore,
  namespace: string,
  options: ControllerOptions = {},
): Promise<Running> {
  const metrics = new StaticMetrics();
  const { metricsUnavailable, ...controllerOptions } = options;
  const module = limiterModule({ metrics, ...(metricsUnavailable ? { metricsUnavailable } : {}) });
  const kinds = [module.kind, ...module.watches, ...module.owns];
  const informers = new Map<Kind, Informer>(
    kinds.map((k) => [k, new Informer(store, k, { namespace, resyncMs: 60_000, initialBackoffMs: 50 })]),
  );
  await Promise.all([...informers.values()].map((i) => i.start()));
  const controller = new ModuleController(module, {
    writer: new ObjectWriter(store),
    informers,
    snapshot: informerSnapshot(informers),
    tickMs: 0,
    metricTickMs: 0,
    queue: { initialBackoffMs: 20, maxBackoffMs: 500 },
    ...controllerOptions,
  });
  controller.start();
  return {
    controller,
    informers,
    metrics,
    stop: () => {
      controller.stop();
      for (const i of informers.values()) i.stop();
    },
  };
}

/**
 * A user's edit of a SmartLimiter's spec: read, change, write with the resourceVersion read, and read again
 * on a conflict (the controller writes the status meanwhile, which changes the resourceVersion).
 */
async function updateSpec(store: ClusterStore, ns: string, name: string, spec: unknown): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = (await store.get('SmartLimiter', ns, name)) as KubeObject;
    try {
      await store.update({ ...current, spec });
      return;
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= 10) throw e;
    }
  }
}

const WAIT = { timeout: 15_000, interval: 50 };
const TEST_TIMEOUT = 30_000;

const conditionOf = (o: KubeObject | null, type: string) =>
  ((o?.status as SmartLimiter['status'])?.conditions ?? []).find((c) => c.type === type);

const descriptorIdsOf = (ef: KubeObject | null): string[] =>
  JSON.stringify(ef?.spec ?? {}).match(/Service\[[^\]]+\]-Id\[\d+\]/g) ?? [];

export function describeControllerBehaviour(name: string, setup: () => Promise<ControllerSuiteSetup>): void {
  describe(`SmartLimiter controller on ${name}`, () => {
    let ctx: ControllerSuiteSetup;
    let running: Running | undefined;
    const begin = async (options: ControllerOptions = {}) => {
      ctx = await setup();
      await seedBookinfo(ctx.store, ctx.namespace);
      running = await startController(ctx.store, ctx.namespace, options);
      return { store: ctx.store, ns: ctx.namespace, running };
    };
    afterEach(async () => {
      running?.stop();
      running = undefined;
      await ctx?.cleanup();
    });

    const docs: [string, string[], Record<string, number>][] = [
      ['doc-a-single-inbound.yaml', ['reviews.NS.ratelimit'], {}],
      ['doc-b-outbound-route.yaml', ['productpage.NS.ratelimit'], {}],
      ['doc-c-header-match.yaml', ['productpage.NS.ratelimit'], {}],
      ['doc-d-average.yaml', ['productpage.NS.ratelimit'], {}],
      ['doc-e-global.yaml', ['productpage.NS.ratelimit'], {}],
      ['doc-f-gateway-route.yaml', ['prod-gateway-1.NS.ratelimit'], {}],
      ['doc-g-gateway-host.yaml', ['prod-gateway-2.NS.ratelimit'], {}],
      ['doc-h-adaptive-cpu.yaml', ['review.NS.ratelimit'], { '_base.cpu.sum': 85 }],
      ['doc-i-subset-v2.yaml', ['reviews.NS.v2.ratelimit'], { 'v2.cpu.sum': 85 }],
      ['doc-j-source-ip-headers-to-add.yaml', ['details.NS.ratelimit'], {}],
    ];

    it.each(docs)(
      '%s: the EnvoyFilters appear, owned by the SmartLimiter, and it is Ready',
      async (file, names, metrics) => {
        const { store, ns, running: r } = await begin();
        r.metrics.values = metrics;
        const created = await store.create(limiterFrom(file, ns));
        await vi.waitFor(async () => {
          const sl = await store.get('SmartLimiter', ns, created.metadata.name);
          expect(conditionOf(sl, 'Ready')?.status).toBe('True');
          for (const n of names) {
            const ef = await store.get('EnvoyFilter', ns, n.replace('NS', ns));
            expect(ef?.metadata.ownerReferences?.[0]).toMatchObject({
              kind: 'SmartLimiter',
              name: created.metadata.name,
              uid: created.metadata.uid,
              controller: true,
            });
          }
        }, WAIT);
        const efs = (await store.list('EnvoyFilter', ns)).items.map((e) => e.metadata.name).sort();
        expect(efs).toEqual(names.map((n) => n.replace('NS', ns)).sort());
      },
      TEST_TIMEOUT,
    );

    it(
      'updates the EnvoyFilter in place when the quota changes, keeping the descriptor id; deleting the SmartLimiter deletes it',
      async () => {
        const { store, ns } = await begin();
        const created = await store.create(limiterFrom('doc-a-single-inbound.yaml', ns));
        const efName = `reviews.${ns}.ratelimit`;
        let first: KubeObject | null = null;
        await vi.waitFor(async () => {
          first = await store.get('EnvoyFilter', ns, efName);
          expect(JSON.stringify(first?.spec)).toContain('"maxTokens":100');
        }, WAIT);
        const sl = (await store.get('SmartLimiter', ns, 'reviews')) as KubeObject;
        const spec = JSON.parse(JSON.stringify(sl.spec)) as {
          sets: { _base: { descriptor: { action: { quota: string } }[] } };
        };
        const d0 = spec.sets._base.descriptor[0];
        if (d0) d0.action.quota = '42';
        await updateSpec(store, ns, 'reviews', spec);
        await vi.waitFor(async () => {
          const ef = await store.get('EnvoyFilter', ns, efName);
          expect(JSON.stringify(ef?.spec)).toContain('"maxTokens":42');
          expect(ef?.metadata.uid).toBe(first?.metadata.uid);
          expect(descriptorIdsOf(ef)).toEqual(descriptorIdsOf(first));
        }, WAIT);
        await store.delete('SmartLimiter', ns, created.metadata.name);
        await vi.waitFor(async () => expect(await store.get('EnvoyFilter', ns, efName)).toBeNull(), WAIT);
      },
      TEST_TIMEOUT,
    );

    it(
      'changes an average quota when a Pod is added',
      async () => {
        const { store, ns } = await begin();
        await store.create({
          ...limiterFrom('doc-d-average.yaml', ns),
          spec: {
            sets: {
              _base: {
                descriptor: [
                  {
                    action: { fill_interval: { seconds: 60 }, quota: '100', strategy: 'average' },
                    condition: 'true',
                    target: { port: 9080 },
                  },
                ],
              },
            },
          },
        });
        const efName = `productpage.${ns}.ratelimit`;
        await vi.waitFor(
          async () =>
            expect(JSON.stringify((await store.get('EnvoyFilter', ns, efName))?.spec)).toContain(
              '"maxTokens":100',
            ),
          WAIT,
        );
        const pod = await store.create({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: 'productpage-v1-second',
            namespace: ns,
            labels: { app: 'productpage', version: 'v1' },
          },
          spec: { containers: [{ name: 'productpage', image: 'bookinfo/productpage:1.18' }] },
        });
        await store.updateStatus({ ...pod, status: { phase: 'Running' } });
        // The EnvoyFilter is written before the status: wait for both.
        await vi.waitFor(async () => {
          expect(JSON.stringify((await store.get('EnvoyFilter', ns, efName))?.spec)).toContain(
            '"maxTokens":50',
          );
          const sl = await store.get('SmartLimiter', ns, 'productpage');
          expect((sl?.status as SmartLimiter['status'])?.metricStatus?.['_base.pod']).toBe('2');
        }, WAIT);
      },
      TEST_TIMEOUT,
    );

    it(
      'reports an unknown metric key as Valid=False naming the key, writes no EnvoyFilter, and recovers when fixed',
      async () => {
        const { store, ns } = await begin();
        const bad = limiterFrom('doc-a-single-inbound.yaml', ns);
        const spec = JSON.parse(JSON.stringify(bad.spec)) as {
          sets: { _base: { descriptor: { condition: string }[] } };
        };
        const d0 = spec.sets._base.descriptor[0];
        if (d0) d0.condition = '{{.base.cpu.sum}}>10';
        await store.create({ ...bad, spec });
        await vi.waitFor(async () => {
          const valid = conditionOf(await store.get('SmartLimiter', ns, 'reviews'), 'Valid');
          expect(valid?.status).toBe('False');
          expect(valid?.message).toContain('unknown metric "base.cpu.sum"');
        }, WAIT);
        expect((await store.list('EnvoyFilter', ns)).items).toEqual([]);
        if (d0) d0.condition = 'true';
        await updateSpec(store, ns, 'reviews', spec);
        await vi.waitFor(async () => {
          const after = await store.get('SmartLimiter', ns, 'reviews');
          expect(conditionOf(after, 'Valid')?.status).toBe('True');
          expect(conditionOf(after, 'Ready')?.status).toBe('True');
          expect(await store.get('EnvoyFilter', ns, `reviews.${ns}.ratelimit`)).not.toBeNull();
        }, WAIT);
      },
      TEST_TIMEOUT,
    );

    it(
      'restores an EnvoyFilter another writer changed, without a hot loop',
      async () => {
        const { store, ns, running: r } = await begin();
        await store.create(limiterFrom('doc-c-header-match.yaml', ns));
        const efName = `productpage.${ns}.ratelimit`;
        let good: KubeObject | null = null;
        await vi.waitFor(async () => {
          good = await store.get('EnvoyFilter', ns, efName);
          expect(good).not.toBeNull();
        }, WAIT);
        await r.controller.queue.idle();
        const tampered = JSON.parse(JSON.stringify(good)) as KubeObject;
        (tampered.spec as { configPatches: unknown[] }).configPatches = [];
        await store.update(tampered);
        await vi.waitFor(async () => {
          const ef = await store.get('EnvoyFilter', ns, efName);
          expect(ef?.spec).toEqual((good as KubeObject | null)?.spec);
        }, WAIT);
        await r.controller.queue.idle();
        const processed = r.controller.queue.stats().processed;
        const rv = (await store.get('EnvoyFilter', ns, efName))?.metadata.resourceVersion;
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(r.controller.queue.stats().processed - processed).toBeLessThanOrEqual(1);
        expect((await store.get('EnvoyFilter', ns, efName))?.metadata.resourceVersion).toBe(rv);
      },
      TEST_TIMEOUT,
    );

    it.each([
      ['keep', 'keeps'],
      ['open', 'lifts'],
    ] as const)(
      'follows metric changes between ticks; metricsUnavailable=%s: while metrics are down it %s the limits; recovers',
      async (mode, _does) => {
        const { store, ns, running: r } = await begin({ metricTickMs: 100, metricsUnavailable: mode });
        r.metrics.values = { '_base.cpu.sum': 5 };
        await store.create(limiterFrom('doc-h-adaptive-cpu.yaml', ns));
        const efName = `review.${ns}.ratelimit`;
        await vi.waitFor(async () => {
          expect(conditionOf(await store.get('SmartLimiter', ns, 'review'), 'Ready')?.status).toBe('True');
        }, WAIT);
        expect(await store.get('EnvoyFilter', ns, efName)).toBeNull();

        // No full tick runs (tickMs 0): the metric tick alone notices the crossing.
        r.metrics.values = { '_base.cpu.sum': 50 };
        await vi.waitFor(async () => expect(await store.get('EnvoyFilter', ns, efName)).not.toBeNull(), WAIT);

        r.metrics.health = { available: false, message: 'Prometheus at http://p:9090 did not answer' };
        await vi.waitFor(async () => {
          const sl = await store.get('SmartLimiter', ns, 'review');
          expect(conditionOf(sl, 'MetricsAvailable')).toMatchObject({
            status: 'False',
            message: expect.stringContaining('did not answer') as unknown as string,
          });
        }, WAIT);
        await r.controller.queue.idle();
        if (mode === 'keep') expect(await store.get('EnvoyFilter', ns, efName)).not.toBeNull();
        else
          await vi.waitFor(async () => expect(await store.get('EnvoyFilter', ns, efName)).toBeNull(), WAIT);

        r.metrics.health = { available: true };
        await vi.waitFor(async () => {
          const sl = await store.get('SmartLimiter', ns, 'review');
          expect(conditionOf(sl, 'MetricsAvailable')?.status).toBe('True');
          expect(conditionOf(sl, 'Ready')?.status).toBe('True');
          expect(await store.get('EnvoyFilter', ns, efName)).not.toBeNull();
        }, WAIT);
        r.metrics.values = { '_base.cpu.sum': 5 };
        await vi.waitFor(async () => expect(await store.get('EnvoyFilter', ns, efName)).toBeNull(), WAIT);
      },
      TEST_TIMEOUT,
    );
  });
}
