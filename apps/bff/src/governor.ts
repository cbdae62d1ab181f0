/**
 * The product's running parts over one cluster store: the control plane (informers, controller, leader
 * election), the metric sources (pushed values, Prometheus or the embedded mesh's own) and, on the embedded
 * default, the simulated mesh whose sidecars enforce what the controller renders. The composition root
 * (main.ts), the integration tests and the benchmarks start the same thing.
 */
import { hostname } from 'node:os';
import type { ClusterStore } from './cluster/store';
import { keyOf } from './cluster/store';
import { parseSmartLimiter } from '@governor/crd-types';
import { ControlPlane } from './framework/control-plane';
import type { ControllerMetrics } from './framework/controller-metrics';
import { metricSetsOf, type RateLimitServiceOptions, type RenderResult } from './modules/limiter/render';
import type { ControllerEvent, MetricSource } from './framework/module-controller';
import type { MetricsConfig } from './server/config';
import { EmbeddedMesh, type SimulatorOptions } from './simulator';
import { combineMetricSources, PushedMetrics } from './sources/metric-push';
import {
  defaultQueries,
  PrometheusMetricSource,
  PrometheusPoller,
  type MetricTarget,
  type NamedQuery,
} from './sources/prometheus';

export interface GovernorOptions {
  readonly store: ClusterStore;
  readonly metrics: MetricsConfig;
  /** Run the simulated mesh (the embedded default). */
  readonly simulate: boolean;
  readonly simulator?: Omit<SimulatorOptions, 'context' | 'rules'>;
  /** Prometheus queries instead of the defaults. */
  readonly prometheusQueries?: readonly NamedQuery[];
  readonly namespace?: string;
  readonly leaseNamespace?: string;
  readonly identity?: string;
  readonly rateLimitService?: RateLimitServiceOptions;
  readonly workers?: number;
  readonly onRendered?: (key: string, result: RenderResult | null) => void;
  readonly onEvent?: (event: ControllerEvent) => void;
  readonly onReconcileError?: (key: string, error: unknown, failures: number) => void;
  /** Told when the Prometheus source goes down or comes back. */
  readonly onMetricsHealth?: (health: { available: boolean; message?: string }) => void;
  /** Where the controllers count their reconciles, writes and queue depths (served at `GET /metrics`). */
  readonly controllerMetrics?: ControllerMetrics;
}

export class Governor {
  readonly controlPlane: ControlPlane;
  private metricsAvailable = true;
  readonly pushed = new PushedMetrics();
  readonly mesh: EmbeddedMesh | undefined;
  readonly prometheus:
    | {
        readonly source: PrometheusMetricSource;
        readonly poller: PrometheusPoller;
        readonly url: string;
        readonly queries: readonly NamedQuery[];
      }
    | undefined;

  private readonly parsedLimiters = new WeakMap<object, ReturnType<typeof parseSmartLimiter>>();

  constructor(private readonly options: GovernorOptions) {
    const { metrics } = options;
    let mesh: EmbeddedMesh | undefined;
    let prometheus: Governor['prometheus'];
    const sources: MetricSource[] = [];
    if (metrics.prometheusUrl !== undefined) {
      const queries = options.prometheusQueries ?? defaultQueries(metrics.prometheusRateWindow);
      const source = new PrometheusMetricSource({
        url: metrics.prometheusUrl,
        timeoutMs: Math.max(1000, Math.min(5000, metrics.prometheusIntervalMs * 2)),
        retries: 1,
        staleAfterMs: Math.max(10_000, metrics.prometheusIntervalMs * 5),
        queries,
      });
      const poller = new PrometheusPoller({
        source,
        targets: () => this.metricTargets(),
        intervalMs: metrics.prometheusIntervalMs,
        // New values are looked at at once, not at the next metric tick.
        onRefresh: (changed) => {
          if (changed.length > 0) this.controlPlane.controller.enqueueChanged();
          const health = source.health();
          if (health.available !== this.metricsAvailable) {
            this.metricsAvailable = health.available;
            options.onMetricsHealth?.(health);
          }
        },
      });
      prometheus = { source, poller, url: metrics.prometheusUrl, queries };
      sources.push(source);
    }
    this.controlPlane = new ControlPlane({
      store: options.store,
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      metrics: {
        // Resolved lazily: the mesh needs the control plane's informers.
        metricsFor: (limiter) => combined.metricsFor(limiter),
      },
      ...(options.rateLimitService ? { rateLimitService: options.rateLimitService } : {}),
      tickMs: metrics.tickMs,
      metricTickMs: metrics.metricTickMs,
      metricsUnavailable: metrics.metricsUnavailable,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      leaseNamespace: options.leaseNamespace ?? 'governor-system',
      identity: options.identity ?? `${hostname()}-${process.pid}`,
      onRendered: (key, result) => {
        this.mesh?.onRendered(key, result);
        options.onRendered?.(key, result);
      },
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.onReconcileError ? { onReconcileError: options.onReconcileError } : {}),
    });
    if (options.simulate) {
      const inf = this.controlPlane.informers;
      mesh = new EmbeddedMesh({
        context: (namespace) => this.controlPlane.controller.contextFor(namespace),
        onClusterChange: (handler) => {
          const offs = [inf.services, inf.pods, inf.destinationRules].map((i) => i.onChange(handler));
          return () => offs.forEach((off) => off());
        },
        ...(options.simulator ? { simulator: options.simulator } : {}),
      });
      // Without Prometheus, the simulated mesh's own values are the metrics.
      if (!prometheus) sources.push(mesh.metrics);
    }
    // Pushed values come last: they win over a source's value of the same name.
    const combined = combineMetricSources(...sources, this.pushed);
    this.mesh = mesh;
    this.prometheus = prometheus;
  }

  /** Starts the control plane (resolving once its caches are filled), the mesh and the metric polling. */
  async start(): Promise<void> {
    await this.controlPlane.start();
    if (this.mesh) {
      this.mesh.simulator.setContext(this.controlPlane.controller.contextFor());
      this.mesh.start();
    }
    this.prometheus?.poller.start();
  }

  async stop(): Promise<void> {
    await this.prometheus?.poller.stop();
    this.mesh?.stop();
    await this.controlPlane.stop();
  }

  /** The SmartLimiters and their sets' pods, for the Prometheus queries. */
  metricTargets(): MetricTarget[] {
    const controller = this.controlPlane.controller;
    const targets: MetricTarget[] = [];
    for (const raw of this.controlPlane.informers.smartLimiters.list()) {
      // The informer keeps an object until the cluster changes it: parse each version once, not every poll.
      let parsed = this.parsedLimiters.get(raw);
      if (parsed === undefined) {
        parsed = parseSmartLimiter(raw);
        this.parsedLimiters.set(raw, parsed);
      }
      if (!parsed.ok) continue;
      const limiter = parsed.value;
      const [namespace = '', name = ''] = keyOf(raw).split('/');
      targets.push({ namespace, name, sets: metricSetsOf(limiter, controller.contextFor(namespace)) });
    }
    return targets;
  }
}
