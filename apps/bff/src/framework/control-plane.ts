/**
 * The control plane over one cluster store: an informer per kind the SmartLimiter module watches, the
 * controller, and leader election so that of several replicas only one writes.
 */
import { hostname } from 'node:os';
import { Informer, type InformerHealth } from '../cluster/informer';
import { LeaderElector } from '../cluster/leader-election';
import type { ClusterStore, Kind } from '../cluster/store';
import type { RateLimitServiceOptions, RenderResult } from '../modules/limiter/render';
import {
  SmartLimiterController,
  type ControllerEvent,
  type ControllerInformers,
  type MetricSource,
} from './module-controller';

export interface ControlPlaneOptions {
  readonly store: ClusterStore;
  /** Watch one namespace only; default all. */
  readonly namespace?: string;
  readonly metrics?: MetricSource;
  readonly rateLimitService?: RateLimitServiceOptions;
  readonly tickMs?: number;
  readonly metricTickMs?: number;
  readonly metricsUnavailable?: 'keep' | 'open';
  /** SmartLimiters reconciled at once (each key is still never processed twice at a time). Default 4. */
  readonly workers?: number;
  /** Where the leader election Lease lives. Default `governor-system`. */
  readonly leaseNamespace?: string;
  readonly identity?: string;
  readonly onRendered?: (key: string, result: RenderResult | null) => void;
  readonly onEvent?: (event: ControllerEvent) => void;
  /** Told about each failed reconcile attempt (retried with backoff). */
  readonly onReconcileError?: (key: string, error: unknown, failures: number) => void;
}

export interface ControlPlaneHealth {
  readonly store: string;
  /** Why the store refuses writes, when it does. */
  readonly storeError?: string;
  readonly leader: boolean;
  /** Why this replica cannot take part in leader election, if it cannot. */
  readonly leaderElectionError?: string;
  readonly informers: readonly InformerHealth[];
  readonly queue: ReturnType<SmartLimiterController['queue']['stats']>;
}

export class ControlPlane {
  readonly informers: ControllerInformers;
  readonly controller: SmartLimiterController;
  private readonly elector: LeaderElector;

  constructor(private readonly options: ControlPlaneOptions) {
    const make = (kind: Kind) =>
      new Informer(
        options.store,
        kind,
        options.namespace !== undefined ? { namespace: options.namespace } : {},
      );
    this.informers = {
      smartLimiters: make('SmartLimiter'),
      services: make('Service'),
      pods: make('Pod'),
      destinationRules: make('DestinationRule'),
      serviceEntries: make('ServiceEntry'),
      envoyFilters: make('EnvoyFilter'),
    };
    this.controller = new SmartLimiterController({
      store: options.store,
      informers: this.informers,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.rateLimitService ? { rateLimitService: options.rateLimitService } : {}),
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
      ...(options.metricTickMs !== undefined ? { metricTickMs: options.metricTickMs } : {}),
      ...(options.metricsUnavailable ? { metricsUnavailable: options.metricsUnavailable } : {}),
      queue: {
        workers: options.workers ?? 4,
        ...(options.onReconcileError ? { onError: options.onReconcileError } : {}),
      },
      ...(options.onRendered ? { onRendered: options.onRendered } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
    this.elector = new LeaderElector({
      store: options.store,
      namespace: options.leaseNamespace ?? 'governor-system',
      name: 'governor-controller',
      identity: options.identity ?? `${hostname()}-${process.pid}`,
      // Only the leader writes; every replica keeps its caches warm to take over at once.
      onStartedLeading: () => this.controller.start(),
      onStoppedLeading: () => this.controller.stop(),
    });
  }

  /** Starts the informers (resolving once all have listed) and competes for leadership. */
  async start(): Promise<void> {
    await Promise.all(Object.values(this.informers).map((i: Informer) => i.start()));
    this.elector.start();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    this.controller.stop();
    for (const i of Object.values(this.informers) as Informer[]) i.stop();
  }

  health(): ControlPlaneHealth {
    return {
      store: this.options.store.description,
      ...(this.options.store.writeFailure?.() ? { storeError: this.options.store.writeFailure()! } : {}),
      leader: this.elector.isLeader(),
      ...(this.elector.lastError() ? { leaderElectionError: this.elector.lastError() } : {}),
      informers: (Object.values(this.informers) as Informer[]).map((i) => i.health()),
      queue: this.controller.queue.stats(),
    };
  }
}
