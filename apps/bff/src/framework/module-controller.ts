/**
 * The controller of one module, the same for every module. Level-triggered: informer events only enqueue
 * `namespace/name` keys; a worker reads the latest objects from the informer caches, plans, and writes only
 * the difference (server-side apply, deletes of owned objects no longer wanted, a status write only when
 * the status changed). Conflicts fail the attempt and the work queue retries with backoff.
 *
 * A plan with problems, or one that holds, changes nothing in the cluster or the engine: the object keeps
 * its last good state everywhere, and its status says why.
 */
import { canonicalJson } from '../lib/canonical-json';
import type { Informer } from '../cluster/informer';
import { keyOf, type Kind, type KubeObject } from '../cluster/store';
import type { ControllerMetrics } from './controller-metrics';
import type { MetricInput, Module, ModuleEvent, Parsed, Plan, Snapshot } from './module';
import { NO_METRICS } from './module';
import type { ObjectWriter } from './object-writer';
import { isOwnedBy, markedOwnerKey, ownedObject, upToDate } from './object-writer';
import { WorkQueue, type WorkQueueOptions } from './work-queue';

export interface ControllerEvent {
  readonly module: string;
  /** `namespace/name` of the module's object. */
  readonly object: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly at: string;
}

export interface ModuleControllerOptions {
  readonly writer: ObjectWriter;
  /** The informer of every kind the module reconciles, watches and owns. */
  readonly informers: ReadonlyMap<Kind, Informer>;
  readonly snapshot: Snapshot;
  /**
   * The one namespace the informers watch, if they watch only one. An owned object outside it is never
   * written: nothing would show whether it is there, or whose it is.
   */
  readonly namespace?: string;
  /** Re-plan (and re-write the status of) every object this often. Default 5 s; 0 disables. */
  readonly tickMs?: number;
  /**
   * For modules with metrics: read them this often and re-reconcile at once each object whose enforced
   * state the new values change. The check plans in memory and writes nothing. Default 1 s; 0 disables.
   */
  readonly metricTickMs?: number;
  readonly queue?: WorkQueueOptions;
  readonly now?: () => Date;
  /** Record Kubernetes Events. Default true. */
  readonly recordEvents?: boolean;
  readonly metrics?: ControllerMetrics;
  /** The rules each object makes the engine enforce, after each change; null when the object is gone. */
  readonly onEngineRules?: (key: string, rules: unknown) => void;
  readonly onEvent?: (event: ControllerEvent) => void;
}

/** What a plan enforces, and whether its metrics were there: equal signatures, equal enforcement. */
const enforcedSignature = (plan: Plan<unknown>, metrics: MetricInput): string =>
  canonicalJson({
    available: metrics.health.available,
    problems: plan.problems.length,
    hold: plan.hold === true,
    desired: plan.desired,
  });

const inputSignature = (m: MetricInput): string =>
  canonicalJson({ values: m.values, available: m.health.available });

const splitKey = (key: string): [string, string] => {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
};

export class ModuleController<T = unknown, Rules = unknown> {
  readonly queue: WorkQueue;
  private readonly primary: Informer;
  private readonly now: () => Date;
  private readonly unsubscribers: (() => void)[] = [];
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private metricTimer: ReturnType<typeof setInterval> | null = null;
  /** The last plan of each object, valid or not (what the dashboard shows). */
  private readonly plans = new Map<string, Plan<Rules>>();
  /** What each object's last reconcile enforced, to tell whether new metric values change it. */
  private readonly enforced = new Map<string, string>();
  /** The metric values each object was last planned (or checked) with. */
  private readonly checkedInputs = new Map<string, string>();
  private running = false;
  /** Each object version parsed once: the metric tick looks at every object every second. */
  private readonly parsedObjects = new WeakMap<KubeObject, Parsed<T>>();
  /**
   * What each object (`kind/namespace/name`) looks like once this controller's own last write to it has
   * landed: the watch event of that write brings nothing new, so it is not queued again. Recorded before
   * the write, as its event may come before its answer. (The tick still re-plans everything.)
   */
  private readonly ownWrites = new Map<string, KubeObject>();

  constructor(
    readonly module: Module<T, Rules>,
    private readonly options: ModuleControllerOptions,
  ) {
    const primary = options.informers.get(module.kind);
    if (!primary) throw new Error(`no informer for ${module.kind}`);
    this.primary = primary;
    this.now = options.now ?? (() => new Date());
    this.queue = new WorkQueue(options.queue);
    options.metrics?.trackQueue(module.name, () => this.queue.stats().queued);
  }

  /** Wires informer events to the queue and starts the workers. The informers are started by the caller. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const { module } = this;
    const informers = this.options.informers;
    this.unsubscribers.push(
      this.primary.onChange((c) => {
        if (c.type !== 'DELETED' && this.isOwnWrite(module.kind, c.object)) return;
        this.queue.add(keyOf(c.object));
      }),
    );
    for (const kind of module.owns) {
      const informer = informers.get(kind);
      // Drift repair: a change to an owned object re-plans its owner, which puts it back.
      if (informer)
        this.unsubscribers.push(
          informer.onChange((c) => {
            if (c.type !== 'DELETED' && this.isOwnWrite(kind, c.object)) return;
            this.enqueueOwnerOf(c.object);
          }),
        );
    }
    for (const kind of module.watches) {
      const informer = informers.get(kind);
      if (informer) this.unsubscribers.push(informer.onChange((c) => this.enqueueAffected(c.object)));
    }
    this.queue.start((key) => this.reconcile(key));
    this.enqueueAll();
    // Owned objects whose owner went while Governor was away are collected too.
    for (const kind of module.owns) for (const o of informers.get(kind)?.list() ?? []) this.enqueueOwnerOf(o);
    const tick = this.options.tickMs ?? 5000;
    if (tick > 0) this.tickTimer = setInterval(() => this.enqueueAll(), tick);
    const metricTick = this.options.metricTickMs ?? 1000;
    if (metricTick > 0 && module.metrics)
      this.metricTimer = setInterval(() => this.enqueueChanged(), metricTick);
  }

  stop(): void {
    this.running = false;
    for (const u of this.unsubscribers.splice(0)) u();
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.metricTimer) clearInterval(this.metricTimer);
    this.tickTimer = null;
    this.metricTimer = null;
    this.queue.stop();
  }

  /** The last plan of each object, by `namespace/name`. */
  planned(): ReadonlyMap<string, Plan<Rules>> {
    return this.plans;
  }

  enqueueAll(): void {
    for (const o of this.primary.list()) this.queue.add(keyOf(o));
  }

  /** The informers replace an object when it changes, so a cached parse is of the version at hand. */
  private parse(raw: KubeObject): Parsed<T> {
    let parsed = this.parsedObjects.get(raw);
    if (!parsed) this.parsedObjects.set(raw, (parsed = this.module.parse(raw)));
    return parsed;
  }

  private writeKey = (kind: string, o: KubeObject): string =>
    `${kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

  /** The part of the object a user or the controller changes: all but what the server keeps. */
  private static content(o: KubeObject): string {
    const { labels, annotations, generation, deletionTimestamp } = o.metadata;
    return canonicalJson({ labels, annotations, generation, deletionTimestamp, status: o.status });
  }

  private isOwnWrite(kind: string, o: KubeObject): boolean {
    const expected = this.ownWrites.get(this.writeKey(kind, o));
    if (expected === undefined) return false;
    return kind === this.module.kind
      ? ModuleController.content(o) === ModuleController.content(expected)
      : upToDate(this.module, o, expected);
  }

  private enqueueOwnerOf(o: KubeObject): void {
    for (const r of o.metadata.ownerReferences ?? [])
      if (r.kind === this.module.kind) this.queue.add(`${o.metadata.namespace ?? 'default'}/${r.name}`);
    // An owned object in another namespace names its owner in its marks.
    const marked = markedOwnerKey(this.module, o);
    if (marked !== undefined) this.queue.add(marked);
  }

  private enqueueAffected(o: KubeObject): void {
    const keys = this.module.affectedBy?.(o, this.options.snapshot);
    if (keys) for (const k of keys) this.queue.add(k);
    else for (const p of this.primary.list(o.metadata.namespace ?? 'default')) this.queue.add(keyOf(p));
  }

  /**
   * Plans every object in memory with the metric values as they are now and enqueues those whose enforced
   * state would change. Returns the keys enqueued.
   */
  enqueueChanged(): string[] {
    const changed: string[] = [];
    const { module } = this;
    if (!module.metrics) return changed;
    for (const raw of this.primary.list()) {
      const key = keyOf(raw);
      const before = this.enforced.get(key);
      // Not reconciled yet (or being deleted): the queue has it or will.
      if (before === undefined || raw.metadata.deletionTimestamp) continue;
      const parsed = this.parse(raw);
      if (!parsed.ok) continue;
      // Same metric values as the last plan (or check): nothing can have moved. Cluster changes reach
      // the queue through the informers, not through here.
      const metrics = module.metrics(parsed.value, this.options.snapshot);
      const inputs = inputSignature(metrics);
      if (this.checkedInputs.get(key) === inputs) continue;
      const plan = this.plan(parsed.value, raw, metrics);
      if (enforcedSignature(plan, metrics) !== before) {
        changed.push(key);
        this.queue.add(key);
      } else this.checkedInputs.set(key, inputs);
    }
    return changed;
  }

  /** Plans one object against the caches and the current metrics, writing nothing. */
  plan(object: T, raw: KubeObject, metrics?: MetricInput): Plan<Rules> {
    const snapshot = this.options.snapshot;
    return this.module.plan({
      object,
      raw,
      snapshot,
      metrics: metrics ?? this.module.metrics?.(object, snapshot) ?? NO_METRICS,
      now: this.now(),
    });
  }

  /** One pass for one object. Throws to be retried (conflicts, API errors). */
  async reconcile(key: string): Promise<void> {
    const started = performance.now();
    try {
      await this.reconcileOnce(key);
      this.options.metrics?.observeReconcile(
        this.module.name,
        (performance.now() - started) / 1000,
        'success',
      );
    } catch (e) {
      this.options.metrics?.observeReconcile(this.module.name, (performance.now() - started) / 1000, 'error');
      throw e;
    }
  }

  /** What the object owns, in its own namespace and (through the marks) in any other. */
  private ownedBy(namespace: string, name: string): KubeObject[] {
    return this.module.owns.flatMap((kind) =>
      (this.options.informers.get(kind)?.list() ?? []).filter((o) =>
        isOwnedBy(this.module, o, name, namespace),
      ),
    );
  }

  /**
   * Refuses a plan that would write over an object in another namespace that is not its owner's: with no
   * owner reference there, nothing else stops it (the API server refuses a second controller reference in
   * the owner's namespace, which fails the attempt the same way). Checked before any write, so such a plan
   * writes nothing; the queue retries with backoff.
   */
  private checkOwnership(namespace: string, name: string, objects: readonly KubeObject[]): void {
    for (const o of objects) {
      const at = o.metadata.namespace ?? 'default';
      if (at === namespace) continue;
      const what = `${o.kind} ${at}/${o.metadata.name}`;
      if (this.options.namespace !== undefined && at !== this.options.namespace)
        throw new Error(`${what} is outside the namespace Governor watches (${this.options.namespace})`);
      const existing = this.options.informers.get(o.kind as Kind)?.get(at, o.metadata.name);
      if (existing && !isOwnedBy(this.module, existing, name, namespace))
        throw new Error(`${what} exists and is not owned by ${this.module.kind} ${namespace}/${name}`);
    }
  }

  private async reconcileOnce(key: string): Promise<void> {
    const { module, options } = this;
    const { writer } = options;
    const [namespace, name] = splitKey(key);
    const raw = this.primary.get(namespace, name);
    const owned = this.ownedBy(namespace, name);

    if (!raw || raw.metadata.deletionTimestamp) {
      // Deleted: remove what it owned ourselves rather than rely on the cluster's garbage collection.
      for (const o of owned) await writer.delete(module, o);
      const known = this.plans.has(key) || this.enforced.has(key);
      this.plans.delete(key);
      this.ownWrites.delete(this.writeKey(module.kind, { metadata: { name, namespace } } as KubeObject));
      for (const o of owned) this.ownWrites.delete(this.writeKey(o.kind, o));
      this.enforced.delete(key);
      this.checkedInputs.delete(key);
      if (known || owned.length > 0) options.onEngineRules?.(key, null);
      return;
    }

    const parsed = this.parse(raw);
    const writesStatus = module.writesStatus !== false;
    if (!parsed.ok) {
      if (!writesStatus) return;
      await writer.writeStatus(
        module,
        raw,
        module.invalidStatus(raw, parsed.problems, owned.length, this.now()),
      );
      return;
    }

    const metrics = module.metrics?.(parsed.value, options.snapshot) ?? NO_METRICS;
    const plan = this.plan(parsed.value, raw, metrics);

    if (plan.problems.length === 0 && !plan.hold) {
      const objects = plan.desired.map((d) => ownedObject(module, raw, d));
      this.checkOwnership(namespace, name, objects);
      const wanted = new Set<string>();
      for (const object of objects) {
        const key = this.writeKey(object.kind, object);
        wanted.add(key);
        const existing = options.informers
          .get(object.kind as Kind)
          ?.get(object.metadata.namespace ?? namespace, object.metadata.name);
        this.ownWrites.set(key, object);
        await writer.apply(module, object, existing);
      }
      // Garbage collection: what it owns and no longer wants.
      for (const o of owned) if (!wanted.has(this.writeKey(o.kind, o))) await writer.delete(module, o);
      options.onEngineRules?.(key, plan.engine);
    }

    const previousStatus = raw.status as Record<string, unknown> | undefined;
    if (writesStatus) {
      this.ownWrites.set(this.writeKey(module.kind, raw), { ...raw, status: plan.status });
      await writer.writeStatus(module, raw, plan.status);
    }
    this.emit(key, raw, module.events?.(previousStatus, plan) ?? []);
    this.plans.set(key, plan);
    this.enforced.set(key, enforcedSignature(plan, metrics));
    this.checkedInputs.set(key, inputSignature(metrics));
  }

  /** Events to listeners and, unless turned off, to the cluster. */
  private emit(key: string, raw: KubeObject, events: readonly ModuleEvent[]): void {
    const now = this.now();
    for (const e of events) {
      this.options.onEvent?.({ ...e, module: this.module.name, object: key, at: now.toISOString() });
      if (this.options.recordEvents !== false)
        void this.options.writer.recordEvent(this.module, raw, e, now).catch(() => undefined);
    }
  }
}
