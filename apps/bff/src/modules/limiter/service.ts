/**
 * What the API and the product ask of the limiter module: its SmartLimiters and their EnvoyFilters as the
 * caches hold them, an in-memory render against the cluster and metrics as they are now (previews, the
 * what-if tool), and the Prometheus targets of its sets.
 */
import { parseSmartLimiter, type SmartLimiter } from '@governor/crd-types';
import { keyOf, type KubeObject } from '../../cluster/store';
import type { ControlPlane } from '../../framework/control-plane';
import type { ModuleController } from '../../framework/module-controller';
import { isOwnedBy } from '../../framework/object-writer';
import type { MetricTarget } from '../../sources/prometheus';
import { contextOf, type LimiterModule, type LimiterPlan } from './module';
import { metricSetsOf, type ClusterContext, type RenderResult } from './render';
import type { ModuleServices } from '../../framework/registry';

export class LimiterService {
  private readonly parsed = new WeakMap<object, ReturnType<typeof parseSmartLimiter>>();
  /** What-if replays running now (they share the BFF's one thread, so few at once). */
  replaysRunning = 0;

  constructor(
    private readonly plane: ControlPlane,
    readonly module: LimiterModule,
  ) {}

  get controller(): ModuleController {
    return this.plane.controller(this.module.name);
  }

  /** The SmartLimiters as the cache holds them. */
  list(namespace?: string): readonly KubeObject[] {
    return this.plane.snapshot.list('SmartLimiter', namespace);
  }

  contextFor(namespace?: string): ClusterContext {
    return contextOf(this.plane.snapshot, namespace);
  }

  /** Renders a SmartLimiter in memory against the cluster and the metric values as they are now. */
  render(limiter: SmartLimiter): RenderResult {
    const plan = this.controller.plan(limiter, limiter as unknown as KubeObject) as LimiterPlan;
    return plan.render;
  }

  /** The EnvoyFilters the SmartLimiter `namespace/name` owns, as the cache holds them. */
  ownedEnvoyFilters(namespace: string, name: string): KubeObject[] {
    return this.plane.snapshot
      .list('EnvoyFilter', namespace)
      .filter((ef) => isOwnedBy(this.module, ef, name));
  }

  /** Re-plans every SmartLimiter whose limits new metric values change. */
  enqueueChanged(): string[] {
    return this.controller.enqueueChanged();
  }

  /** The SmartLimiters and their sets' pods, for the Prometheus queries. */
  metricTargets(): MetricTarget[] {
    const targets: MetricTarget[] = [];
    const contexts = new Map<string, ClusterContext>();
    for (const raw of this.list()) {
      // The cache keeps an object until the cluster changes it: parse each version once, not every poll.
      let parsed = this.parsed.get(raw);
      if (parsed === undefined) this.parsed.set(raw, (parsed = parseSmartLimiter(raw)));
      if (!parsed.ok) continue;
      const [namespace = '', name = ''] = keyOf(raw).split('/');
      let context = contexts.get(namespace);
      if (!context) contexts.set(namespace, (context = this.contextFor(namespace)));
      targets.push({ namespace, name, sets: metricSetsOf(parsed.value, context) });
    }
    return targets;
  }
}

/** The limiter's service among the enabled modules' (throws when the module is not enabled). */
export const limiterOf = (modules: ModuleServices): LimiterService =>
  modules.service<LimiterService>('limiter');
