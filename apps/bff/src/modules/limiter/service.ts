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
import { explainEnvoyFilters } from '../../istio/explain';
import { EXPLAIN_INPUT_KINDS, type ProxyExplanation } from '../../istio/explain-types';

/** Where a policy's EnvoyFilters land: the Pods they select, and the explanation for one of them. */
export interface Placement {
  /** `namespace/name` of the Pods the EnvoyFilters select, sorted (at most {@link MAX_PLACEMENT_PODS}). */
  readonly pods: readonly string[];
  /** More Pods are selected than `pods` lists. */
  readonly truncated: boolean;
  /** The Pod explained: the one asked for, else the first selected; null when none is selected. */
  readonly proxy: string | null;
  readonly explanation: ProxyExplanation | null;
}

export const MAX_PLACEMENT_PODS = 200;

const isSubset = (want: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.entries(want ?? {}).every(([k, v]) => labels?.[k] === v);

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

  /**
   * Where istiod would apply the EnvoyFilters' patches, on `proxy` (`namespace/name`) or the first Pod they
   * select, from the cluster as the caches hold it.
   */
  placement(envoyFilters: readonly KubeObject[], proxy?: string): Placement {
    const selected = new Set<string>();
    for (const ef of envoyFilters) {
      const namespace = ef.metadata.namespace ?? 'default';
      const selector = (ef.spec as { workloadSelector?: { labels?: Record<string, string> } } | undefined)
        ?.workloadSelector?.labels;
      for (const pod of this.plane.snapshot.list('Pod', namespace))
        if (isSubset(selector, pod.metadata.labels)) selected.add(`${namespace}/${pod.metadata.name}`);
    }
    const pods = [...selected].sort();
    const chosen = proxy ?? pods[0] ?? null;
    const [namespace = '', name = ''] = chosen?.split('/') ?? [];
    const explanation =
      chosen === null || !this.plane.snapshot.get('Pod', namespace, name)
        ? null
        : explainEnvoyFilters({
            objects: EXPLAIN_INPUT_KINDS.flatMap((k) => this.plane.snapshot.list(k)),
            envoyFilters: envoyFilters as never,
            proxy: { namespace, name },
          });
    return {
      pods: pods.slice(0, MAX_PLACEMENT_PODS),
      truncated: pods.length > MAX_PLACEMENT_PODS,
      proxy: explanation ? chosen : null,
      explanation,
    };
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
