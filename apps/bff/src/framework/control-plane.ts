/**
 * The control plane over one cluster store: one informer per kind any module reconciles, watches or owns
 * (shared between modules), one controller per module, and leader election so that of several replicas
 * only one writes.
 */
import { hostname } from 'node:os';
import { Informer, type InformerHealth } from '../cluster/informer';
import { LeaderElector } from '../cluster/leader-election';
import type { ClusterStore, Kind } from '../cluster/store';
import type { ControllerMetrics } from './controller-metrics';
import { ModuleController, type ControllerEvent } from './module-controller';
import { withCompanions, type Module, type Snapshot } from './module';
import { ObjectWriter } from './object-writer';
import { informerSnapshot } from './snapshot';
import type { QueueStats } from './work-queue';

export interface ControlPlaneOptions {
  readonly store: ClusterStore;
  readonly modules: readonly Module[];
  /** Watch one namespace only; default all. */
  readonly namespace?: string;
  readonly tickMs?: number;
  readonly metricTickMs?: number;
  /**
   * Objects reconciled at once per module (each key is still never processed twice at a time). Default 64:
   * a reconcile mostly waits for the API server's answers, and it takes many writes at once.
   */
  readonly workers?: number;
  /** Where the leader election Lease lives. Default `governor-system`. */
  readonly leaseNamespace?: string;
  readonly identity?: string;
  readonly metrics?: ControllerMetrics;
  /** The rules each module's object makes the engine enforce; null when the object is gone. */
  readonly onEngineRules?: (module: string, key: string, rules: unknown) => void;
  readonly onEvent?: (event: ControllerEvent) => void;
  /** Told about each failed reconcile attempt (retried with backoff). */
  readonly onReconcileError?: (module: string, key: string, error: unknown, failures: number) => void;
}

export interface ControlPlaneHealth {
  readonly store: string;
  /** Why the store refuses writes, when it does. */
  readonly storeError?: string;
  readonly leader: boolean;
  /** Why this replica cannot take part in leader election, if it cannot. */
  readonly leaderElectionError?: string;
  readonly informers: readonly InformerHealth[];
  /** Every module's queue together. */
  readonly queue: QueueStats;
  readonly modules: readonly { readonly name: string; readonly kind: string; readonly queue: QueueStats }[];
}

export class ControlPlane {
  readonly informers: ReadonlyMap<Kind, Informer>;
  readonly snapshot: Snapshot;
  readonly controllers: ReadonlyMap<string, ModuleController>;
  private readonly elector: LeaderElector;
  /** Kinds only read when served: started, never waited for (their health says when they fail). */
  private readonly optionalKinds: ReadonlySet<Kind>;

  constructor(private readonly options: ControlPlaneOptions) {
    // A module's companions are controllers of their own.
    const modules = withCompanions(options.modules);
    const kinds = new Set<Kind>(modules.flatMap((m) => [m.kind, ...m.watches, ...m.owns]));
    this.optionalKinds = new Set(modules.flatMap((m) => m.reads ?? []).filter((k) => !kinds.has(k)));
    const scope = options.namespace !== undefined ? { namespace: options.namespace } : {};
    this.informers = new Map(
      [...kinds, ...this.optionalKinds].map((k) => [k, new Informer(options.store, k, scope)]),
    );
    this.snapshot = informerSnapshot(this.informers);
    const writer = new ObjectWriter(options.store, options.metrics);
    this.controllers = new Map(
      modules.map((m) => [
        m.name,
        new ModuleController(m, {
          writer,
          informers: this.informers,
          snapshot: this.snapshot,
          ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
          ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
          ...(options.metricTickMs !== undefined ? { metricTickMs: options.metricTickMs } : {}),
          ...(options.metrics ? { metrics: options.metrics } : {}),
          queue: {
            workers: options.workers ?? 64,
            ...(options.onReconcileError
              ? { onError: (key, error, failures) => options.onReconcileError!(m.name, key, error, failures) }
              : {}),
          },
          ...(options.onEngineRules
            ? { onEngineRules: (key, rules) => options.onEngineRules!(m.name, key, rules) }
            : {}),
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        }),
      ]),
    );
    this.elector = new LeaderElector({
      store: options.store,
      namespace: options.leaseNamespace ?? 'governor-system',
      name: 'governor-controller',
      identity: options.identity ?? `${hostname()}-${process.pid}`,
      // Only the leader writes; every replica keeps its caches warm to take over at once.
      onStartedLeading: () => this.controllers.forEach((c) => c.start()),
      onStoppedLeading: () => this.controllers.forEach((c) => c.stop()),
    });
  }

  /** The controller of a module, by name. */
  controller(name: string): ModuleController {
    const c = this.controllers.get(name);
    if (!c) throw new Error(`module ${name} is not enabled`);
    return c;
  }

  /** Starts the informers (resolving once all but the optional ones have listed) and competes for leadership. */
  async start(): Promise<void> {
    const required: Promise<void>[] = [];
    for (const [kind, informer] of this.informers) {
      const started = informer.start();
      if (!this.optionalKinds.has(kind)) required.push(started);
      else started.catch(() => undefined);
    }
    await Promise.all(required);
    this.elector.start();
  }

  /** The cluster is back: informers waiting out a backoff list and watch now. */
  reconnect(): void {
    for (const informer of this.informers.values()) informer.retryNow();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    this.controllers.forEach((c) => c.stop());
    for (const i of this.informers.values()) i.stop();
  }

  /** Resolves once every module's queue has nothing waiting or running. */
  async idle(): Promise<void> {
    await Promise.all([...this.controllers.values()].map((c) => c.queue.idle()));
  }

  health(): ControlPlaneHealth {
    const store = this.options.store;
    const modules = [...this.controllers.values()].map((c) => ({
      name: c.module.name,
      kind: c.module.kind,
      queue: c.queue.stats(),
    }));
    const sum = (f: keyof QueueStats) => modules.reduce((n, m) => n + m.queue[f], 0);
    const queue: QueueStats = {
      queued: sum('queued'),
      processing: sum('processing'),
      retrying: sum('retrying'),
      processed: sum('processed'),
      failed: sum('failed'),
    };
    return {
      store: store.description,
      ...(store.writeFailure?.() ? { storeError: store.writeFailure()! } : {}),
      leader: this.elector.isLeader(),
      ...(this.elector.lastError() ? { leaderElectionError: this.elector.lastError() } : {}),
      informers: [...this.informers.values()].map((i) => i.health()),
      queue,
      modules,
    };
  }
}
