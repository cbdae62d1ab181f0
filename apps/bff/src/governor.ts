/**
 * The product's running parts over one cluster store: the control plane (informers, one controller per
 * enabled module, leader election), the metric sources (pushed values, Prometheus or the embedded mesh's
 * own) and, on the embedded default, the simulated mesh whose sidecars enforce what the limiter plans. The
 * composition root (main.ts), the integration tests and the benchmarks start the same thing.
 */
import type { Pod } from '@governor/crd-types';
import type { ClusterStore } from './cluster/store';
import { ControlPlane, type ControlPlaneOptions } from './framework/control-plane';
import type { ControllerMetrics } from './framework/controller-metrics';
import type { Module } from './framework/module';
import { defaultSettings, type ModuleDefinition, type ModuleSettings } from './framework/registry';
import { contextOf } from './modules/limiter/module';
import type { ClusterContext, RateLimitServiceOptions, RenderedRule } from './modules/limiter/render';
import type { LimiterService } from './modules/limiter/service';
import type { MetricsConfig } from './runtime';
import { EmbeddedMesh, type SimulatorOptions } from './simulator';
import type { MetricSource } from './sources/metric-source';
import { combineMetricSources, PushedMetrics } from './sources/metric-push';
import { ObservedCalls } from './sources/observed-calls';
import { RouteStatusBoard, type SubscriptionRow } from './sources/route-status';
import { NO_METHOD_TRAFFIC, type MethodTrafficSource } from './sources/method-traffic';
import type { MetaRouterService } from './modules/metarouter/service';
import type { RouteServer, RouteSubscription } from './xds/route-server';
import { RouteClients } from './xds/route-clients';
import { PrometheusCalls } from './sources/prometheus-calls';
import {
  defaultQueries,
  PrometheusMetricSource,
  PrometheusPoller,
  type NamedQuery,
} from './sources/prometheus';

/** The control plane's own options pass through as they are declared there, defaults included. */
type ControlPlanePassThrough = Pick<
  ControlPlaneOptions,
  'namespace' | 'leaseNamespace' | 'identity' | 'workers' | 'onEvent' | 'onReconcileError'
>;

export interface GovernorOptions extends ControlPlanePassThrough {
  readonly store: ClusterStore;
  readonly metrics: MetricsConfig;
  /** Run the simulated mesh (the embedded default). */
  readonly simulate: boolean;
  readonly simulator?: Omit<SimulatorOptions, 'context' | 'rules'>;
  /** The modules Governor has (the composition root passes `modules/`'s registry). */
  readonly modules: readonly ModuleDefinition[];
  /** Settings per module name (the module configuration): those not enabled do not run. Default: all run. */
  readonly moduleSettings?: Readonly<Record<string, ModuleSettings>>;
  /** Prometheus queries instead of the defaults. */
  readonly prometheusQueries?: readonly NamedQuery[];
  readonly rateLimitService?: RateLimitServiceOptions;
  /** The controller metrics to count into (served at `/metrics`). */
  readonly controllerMetrics?: ControllerMetrics;
  /** The limiter's rules for one SmartLimiter after each change that is enforced; null when it is gone. */
  readonly onLimiterRules?: (key: string, rules: readonly RenderedRule[] | null) => void;
  /** Told when the Prometheus source goes down or comes back. */
  readonly onMetricsHealth?: (health: { available: boolean; message?: string }) => void;
}

interface PrometheusParts {
  readonly source: PrometheusMetricSource;
  readonly poller: PrometheusPoller;
  readonly url: string;
  readonly queries: readonly NamedQuery[];
}

export class Governor {
  readonly controlPlane: ControlPlane;
  readonly pushed = new PushedMetrics();
  /** The services each workload calls, as every call source records them (the lazyload module reads them). */
  readonly observedCalls = new ObservedCalls();
  readonly mesh: EmbeddedMesh | undefined;
  readonly prometheus: PrometheusParts | undefined;
  /** The fenced workloads' calls from Prometheus, when lazyload runs and learns from it. */
  readonly prometheusCalls: PrometheusCalls | undefined;
  /** The enabled modules' definitions, by name. */
  readonly modules: ReadonlyMap<string, ModuleDefinition>;
  private readonly services = new Map<string, unknown>();
  private metricsAvailable = true;
  /** What MetaProtocol proxies did with the routes served them (the route server writes it). */
  readonly routeStatus = new RouteStatusBoard();
  /** Calls of MetaProtocol services by method: the embedded mesh's, when it runs. */
  private methodTrafficSource: MethodTrafficSource = NO_METHOD_TRAFFIC;
  readonly methodTraffic: MethodTrafficSource = { rows: (host) => this.methodTrafficSource.rows(host) };

  constructor(options: GovernorOptions) {
    const { metrics } = options;
    const sources: MetricSource[] = [];
    this.prometheus = metrics.prometheusUrl !== undefined ? this.startPrometheus(options) : undefined;
    if (this.prometheus) sources.push(this.prometheus.source);
    // Resolved lazily: the mesh's values need the control plane's informers.
    const metricSource: MetricSource = { metricsFor: (limiter) => combined.metricsFor(limiter) };
    const definitions = options.modules.filter((d) => options.moduleSettings?.[d.name]?.enable ?? true);
    this.modules = new Map(definitions.map((d) => [d.name, d]));
    const moduleOptions = {
      ...(options.rateLimitService ? { rateLimitService: options.rateLimitService } : {}),
      metricsUnavailable: metrics.metricsUnavailable,
      ...(options.leaseNamespace ? { governorNamespace: options.leaseNamespace } : {}),
    };
    const settingsOf = (d: ModuleDefinition) =>
      options.moduleSettings?.[d.name] ?? defaultSettings(d.settings);
    const modules: Module[] = definitions.map((d) =>
      d.create({
        settings: settingsOf(d),
        metrics: metricSource,
        options: moduleOptions,
        observedCalls: this.observedCalls,
        routeStatus: this.routeStatus,
        methodTraffic: this.methodTraffic,
      }),
    );
    const { namespace, leaseNamespace, identity, workers, onEvent, onReconcileError } = options;
    const passed: ControlPlanePassThrough = {
      namespace,
      leaseNamespace,
      identity,
      workers,
      onEvent,
      onReconcileError,
    };
    this.controlPlane = new ControlPlane({
      ...(Object.fromEntries(
        Object.entries(passed).filter(([, v]) => v !== undefined),
      ) as ControlPlanePassThrough),
      store: options.store,
      modules,
      tickMs: metrics.tickMs,
      metricTickMs: metrics.metricTickMs,
      ...(options.controllerMetrics ? { metrics: options.controllerMetrics } : {}),
      onEngineRules: (module, key, rules) => {
        if (module !== 'limiter') return;
        const limiterRules = rules as readonly RenderedRule[] | null;
        this.mesh?.onRules(key, limiterRules);
        options.onLimiterRules?.(key, limiterRules);
      },
    });
    definitions.forEach((d, i) => {
      if (d.service) this.services.set(d.name, d.service(this.controlPlane, modules[i]!));
    });
    // A workload's first call to a service re-plans its fence (named after it) now, not at the next
    // metric tick: the call went through the fallback, and the Sidecar should learn it at once.
    const lazyloadController = this.controlPlane.controllers.get('lazyload');
    if (lazyloadController)
      this.observedCalls.onNewCall((call) =>
        lazyloadController.queue.add(`${call.source.namespace}/${call.source.app}`),
      );
    // A proxy accepting or refusing routes shows in the MetaRouters' status at once.
    const metaRouterController = this.controlPlane.controllers.get('metarouter');
    if (metaRouterController)
      this.routeStatus.onChange((names) => {
        const metarouter = this.optionalService<MetaRouterService>('metarouter');
        for (const key of metarouter?.routersOf(names) ?? []) metaRouterController.queue.add(key);
      });
    if (options.simulate) {
      const inf = this.controlPlane.informers;
      this.mesh = new EmbeddedMesh({
        context: (namespace) => this.contextFor(namespace),
        onClusterChange: (handler) => {
          const offs = (['Service', 'Pod', 'DestinationRule', 'WorkloadEntry'] as const).map(
            (k) => inf.get(k)?.onChange(handler) ?? (() => undefined),
          );
          return () => offs.forEach((off) => off());
        },
        // Fenced workloads' calls outside their Sidecar take the fallback; every call is observed.
        snapshot: () => this.controlPlane.snapshot,
        simulator: { ...options.simulator, observedCalls: this.observedCalls },
      });
      // Without Prometheus, the simulated mesh's own values are the metrics.
      if (!this.prometheus) sources.push(this.mesh.metrics);
      this.setMethodTraffic(this.mesh.methodTraffic);
    }
    const lazyload = this.modules.get('lazyload');
    this.prometheusCalls = lazyload ? this.startPrometheusCalls(settingsOf(lazyload), metrics) : undefined;
    // Pushed values come last: they win over a source's value of the same name.
    const combined = combineMetricSources(...sources, this.pushed);
  }

  private startPrometheus(options: GovernorOptions): PrometheusParts {
    const { metrics } = options;
    const url = metrics.prometheusUrl!;
    const queries = options.prometheusQueries ?? defaultQueries(metrics.prometheusRateWindow);
    const source = new PrometheusMetricSource({
      url,
      timeoutMs: Math.max(1000, Math.min(5000, metrics.prometheusIntervalMs * 2)),
      retries: 1,
      staleAfterMs: Math.max(10_000, metrics.prometheusIntervalMs * 5),
      queries,
    });
    const poller = new PrometheusPoller({
      source,
      targets: () => this.optionalService<LimiterService>('limiter')?.metricTargets() ?? [],
      intervalMs: metrics.prometheusIntervalMs,
      // New values are looked at at once, not at the next metric tick.
      onRefresh: (changed) => {
        if (changed.length > 0) this.metricsChanged();
        const health = source.health();
        if (health.available !== this.metricsAvailable) {
          this.metricsAvailable = health.available;
          options.onMetricsHealth?.(health);
        }
      },
    });
    return { source, poller, url, queries };
  }

  /**
   * Lazyload's observed calls from Prometheus (Slime's `metricSourceType: prometheus`, the default): its
   * own `metric.prometheus` address, else Governor's Prometheus; its `destination` query, else Slime's.
   */
  private startPrometheusCalls(
    settings: ModuleSettings,
    metrics: MetricsConfig,
  ): PrometheusCalls | undefined {
    if ((settings.general.metricSourceType ?? 'prometheus') !== 'prometheus') return undefined;
    const prometheusUrl = settings.metric.prometheusUrl ?? metrics.prometheusUrl;
    if (prometheusUrl === undefined) return undefined;
    const query = settings.metric.prometheusQueries.find((q) => q.name === 'destination')?.query;
    return new PrometheusCalls({
      calls: this.observedCalls,
      prometheusUrl,
      ...(query !== undefined ? { query } : {}),
      intervalMs: metrics.prometheusIntervalMs,
      workloads: () =>
        this.controlPlane.snapshot
          .list('ServiceFence')
          .filter((f) => (f.spec as { enable?: unknown } | undefined)?.enable === true)
          .map((f) => ({ namespace: f.metadata.namespace ?? 'default', app: f.metadata.name })),
    });
  }

  /** A module's service; throws when the module is not enabled. */
  service<S>(name: string): S {
    if (!this.services.has(name)) throw new Error(`module ${name} is not enabled`);
    return this.services.get(name) as S;
  }

  /** A module's service, or undefined when the module is not enabled. */
  optionalService<S>(name: string): S | undefined {
    return this.services.get(name) as S | undefined;
  }

  /** The Services, Pods, DestinationRules and ServiceEntries of a namespace (all without one), cached. */
  contextFor(namespace?: string): ClusterContext {
    return contextOf(this.controlPlane.snapshot, namespace);
  }

  /** New metric values: every module with metrics re-plans what they change. */
  metricsChanged(): void {
    for (const c of this.controlPlane.controllers.values()) c.enqueueChanged();
  }

  /** The embedded mesh (or any observer of MetaProtocol calls) supplies the per-method traffic. */
  setMethodTraffic(source: MethodTrafficSource): void {
    this.methodTrafficSource = source;
  }

  /**
   * Serves the metarouter module's route configurations from `server`, now and after every change of a
   * MetaRouter, Service, ServiceEntry, DestinationRule or ApplicationProtocol (coalesced into one push per
   * turn of the event loop), and records what the proxies did with them. Returns a function that stops.
   */
  serveRoutes(server: Pick<RouteServer, 'setRoutes' | 'subscriptions' | 'onStatus'>): () => void {
    const metarouter = this.optionalService<MetaRouterService>('metarouter');
    if (!metarouter) return () => undefined;
    let scheduled = false;
    const push = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        server.setRoutes(metarouter.routes().configs);
      });
    };
    server.setRoutes(metarouter.routes().configs);
    const offRoutes = metarouter.onRoutesChange(push);
    // ACKs arrive by the hundred after a push: the board is brought up to date once per turn.
    let statusScheduled = false;
    const offStatus = server.onStatus(() => {
      if (statusScheduled) return;
      statusScheduled = true;
      setImmediate(() => {
        statusScheduled = false;
        this.routeStatus.replaceAll(subscriptionRows(server.subscriptions()));
      });
    });
    return () => {
      offRoutes();
      offStatus();
    };
  }

  /**
   * The embedded mesh's proxies subscribe to the route server at `address` over gRPC, as real MetaProtocol
   * proxies do, and route their calls with what they receive (kept in step with the mesh's pods once a
   * second). Returns a function that closes them; nothing without the embedded mesh.
   */
  connectMeshProxies(address: string): () => void {
    const mesh = this.mesh;
    if (!mesh) return () => undefined;
    const clients = new RouteClients(address);
    const nodeOf = (pod: Pod) => {
      const ns = pod.metadata.namespace ?? 'default';
      return `sidecar~${pod.status?.podIP ?? '0.0.0.0'}~${pod.metadata.name}.${ns}~${ns}.svc.cluster.local`;
    };
    const sync = () => {
      const { pods, names } = mesh.simulator.metaProtocolSubscribers();
      clients.sync(
        names.length === 0
          ? []
          : pods.map((pod) => ({
              node: nodeOf(pod),
              cluster: `${pod.metadata.labels?.app ?? pod.metadata.name}.${pod.metadata.namespace ?? 'default'}`,
              names,
            })),
      );
    };
    mesh.simulator.setMetaProtocolRouteSource((caller, name) =>
      caller ? clients.routes(nodeOf(caller), name) : undefined,
    );
    sync();
    const timer = setInterval(sync, 1000);
    timer.unref();
    return () => {
      clearInterval(timer);
      mesh.simulator.setMetaProtocolRouteSource(null);
      clients.close();
    };
  }

  /** Starts the control plane (resolving once its caches are filled), the mesh and the metric polling. */
  async start(): Promise<void> {
    await this.controlPlane.start();
    if (this.mesh) {
      this.mesh.simulator.setContext(this.contextFor());
      this.mesh.start();
    }
    this.prometheus?.poller.start();
    this.prometheusCalls?.start();
  }

  /** The cluster is back after an outage: reconnect at once rather than when a backoff ends. */
  reconnect(): void {
    this.controlPlane.reconnect();
  }

  async stop(): Promise<void> {
    await this.prometheusCalls?.stop();
    await this.prometheus?.poller.stop();
    this.mesh?.stop();
    await this.controlPlane.stop();
  }
}

/** The route server's subscriptions as the status board lists them. */
export function subscriptionRows(subs: readonly RouteSubscription[]): SubscriptionRow[] {
  return subs.map((s) => ({
    node: s.nodeId,
    routeConfig: s.resourceName,
    ...(s.cluster ? { cluster: s.cluster } : {}),
    version: s.versionSent ?? '',
    acked: s.versionSent !== null && s.versionAcked === s.versionSent,
    ...(s.nacked ? { error: s.nacked.message } : {}),
    ...(s.versionAcked !== null ? { ackedVersion: s.versionAcked } : {}),
    connectedAt: new Date(s.connectedAt).toISOString(),
    ...(s.lastAckAt !== null ? { lastAckAt: new Date(s.lastAckAt).toISOString() } : {}),
  }));
}
