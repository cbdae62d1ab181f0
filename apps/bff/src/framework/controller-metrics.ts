/**
 * The controller's own metrics in Prometheus' text format: reconciles (count, errors, duration), objects
 * written, work-queue depth, and the rate-limit decisions made by the engines (the simulated mesh's sidecars
 * and the rate-limit service). Served at the BFF's `GET /metrics`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type ReconcileOutcome = 'success' | 'error';
export type WriteOperation = 'apply' | 'delete' | 'status' | 'event';
/** Which engine decided: the simulated mesh's sidecars, or the rate-limit service for Envoy. */
export type DecisionSource = 'mesh' | 'rls';

/** Seconds, from 1 ms (a reconcile with nothing to write) to 10 s (a slow API server or store). */
export const RECONCILE_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

type Labels = 'module' | 'cluster';

/** The metric families, shared by a BFF's metrics and its clusters' views of them. */
class Families {
  /** Its own registry, not prom-client's global one: two BFFs in one process (tests) count apart. */
  readonly registry = new Registry();
  readonly reconciles: Counter<Labels | 'result'>;
  readonly reconcileErrors: Counter<Labels>;
  readonly reconcileDuration: Histogram<Labels>;
  readonly writes: Counter<Labels | 'kind' | 'operation'>;
  /** Queue depths by cluster and module. */
  readonly queues = new Map<string, { labels: Partial<Record<Labels, string>>; depth: () => number }>();
  /**
   * Decisions are counted on the request path (every RLS call, every simulated request): a plain add here,
   * copied into the counter when scraped, rather than prom-client's label hashing per decision.
   */
  readonly decisions: Record<DecisionSource, Map<string, number>> = { mesh: new Map(), rls: new Map() };
  readonly seen = new Set<string>();

  constructor() {
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: 'governor_controller_reconciles_total',
      help: 'Reconciles of a module, by result (success or error).',
      labelNames: ['module', 'cluster', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'governor_controller_reconcile_errors_total',
      help: 'Reconciles of a module that failed.',
      labelNames: ['module', 'cluster'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'governor_controller_reconcile_duration_seconds',
      help: 'How long one reconcile of a module took, in seconds.',
      labelNames: ['module', 'cluster'],
      buckets: [...RECONCILE_DURATION_BUCKETS],
      registers,
    });
    this.writes = new Counter({
      name: 'governor_controller_objects_written_total',
      help: 'Objects the controller wrote to the cluster, by kind and operation (apply, delete, status, event).',
      labelNames: ['module', 'cluster', 'kind', 'operation'],
      registers,
    });
    const queues = this.queues;
    new Gauge({
      name: 'governor_controller_queue_depth',
      help: 'Keys waiting in a module controller work queue.',
      labelNames: ['module', 'cluster'],
      registers,
      collect() {
        this.reset();
        for (const { labels, depth } of queues.values()) {
          let value: number;
          try {
            value = depth();
          } catch {
            // One queue that cannot say its depth must not cost the whole scrape.
            continue;
          }
          if (Number.isFinite(value)) this.set(labels, value);
        }
      },
    });
    const decisions = this.decisions;
    new Counter({
      name: 'governor_engine_decisions_total',
      help: 'Rate-limit decisions made, by engine (mesh: the simulated sidecars; rls: the rate-limit service) and outcome.',
      labelNames: ['source', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const source of ['mesh', 'rls'] as const)
          for (const [outcome, n] of decisions[source]) this.inc({ source, outcome }, n);
      },
    });
  }
}

export class ControllerMetrics {
  private readonly families: Families;

  /** The `Content-Type` of {@link text}'s answer. */
  readonly contentType: string;

  /** `shared`: counting into another's metrics, the controllers' series labelled with `cluster`. */
  constructor(
    shared?: ControllerMetrics,
    private readonly cluster?: string,
  ) {
    this.families = shared?.families ?? new Families();
    this.contentType = this.families.registry.contentType;
  }

  /** The same metrics, with the controllers' series labelled `cluster` (one view per cluster's control plane). */
  forCluster(cluster: string): ControllerMetrics {
    return new ControllerMetrics(this, cluster);
  }

  private labels(module: string): Partial<Record<Labels, string>> {
    return this.cluster === undefined ? { module } : { module, cluster: this.cluster };
  }

  /** One reconcile of `module` that took `seconds` and ended in `outcome`. */
  observeReconcile(module: string, seconds: number, outcome: ReconcileOutcome): void {
    const f = this.families;
    const labels = this.labels(module);
    const key = `${this.cluster ?? ''}\u0000${module}`;
    if (!f.seen.has(key)) {
      f.seen.add(key);
      // Both results and the error count exist from the first reconcile on, so that rate() and ratios of
      // them are defined before the first failure.
      f.reconciles.inc({ ...labels, result: 'success' }, 0);
      f.reconciles.inc({ ...labels, result: 'error' }, 0);
      f.reconcileErrors.inc(labels, 0);
    }
    f.reconciles.inc({ ...labels, result: outcome });
    if (outcome === 'error') f.reconcileErrors.inc(labels);
    // A clock that stepped back would give a negative time; it is counted as no time rather than refused.
    if (Number.isFinite(seconds)) f.reconcileDuration.observe(labels, Math.max(0, seconds));
  }

  /** One object of `kind` written by `module`'s controller. */
  countWrite(module: string, kind: string, operation: WriteOperation): void {
    this.families.writes.inc({ ...this.labels(module), kind, operation });
  }

  /** Reports `depth()` as `module`'s queue depth at every scrape (a later call for the same module replaces it). */
  trackQueue(module: string, depth: () => number): void {
    this.families.queues.set(`${this.cluster ?? ''}\u0000${module}`, { labels: this.labels(module), depth });
  }

  /** One rate-limit decision of `source` with the engine's `outcome` (allowed, limited, shadow). */
  countDecision(source: DecisionSource, outcome: string): void {
    const counts = this.families.decisions[source];
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }

  /** The exposition, in Prometheus' text format 0.0.4 (ends with a newline). */
  text(): Promise<string> {
    return this.families.registry.metrics();
  }
}

/**
 * Expositions served as one: each part ends with a newline, so that the next one's first line is not joined
 * to its last. The parts must not share metric names (Prometheus refuses a second `# TYPE` of a name).
 */
export function joinExpositions(parts: readonly string[]): string {
  return parts.map((p) => (p === '' || p.endsWith('\n') ? p : `${p}\n`)).join('');
}
