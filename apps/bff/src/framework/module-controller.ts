/**
 * The SmartLimiter controller: keeps each SmartLimiter's EnvoyFilters and status what rendering says they
 * should be. Level-triggered: informer events only enqueue `namespace/name` keys; a worker reads the
 * latest objects from the informer caches, renders, and applies only the difference (server-side apply
 * with field manager `governor`, deletes of EnvoyFilters no longer wanted, a status write only when the
 * status changed). Conflicts fail the attempt and the work queue retries with backoff.
 */
import {
  destinationRuleSchema,
  parseSmartLimiter,
  podSchema,
  smartLimiterSchema,
  serviceEntrySchema,
  serviceSchema,
  SMARTLIMITER_API_VERSION,
  SMARTLIMITER_KIND,
  type Condition,
  type SmartLimiter,
  type SmartLimiterStatus,
} from '@governor/crd-types';
import type { z } from 'zod';
import type { MetricMap } from '../modules/limiter/expression';
import { canonicalJson } from '../modules/limiter/render/descriptor-id';
import {
  DEFAULT_RATE_LIMIT_SERVICE,
  renderSmartLimiter,
  type ClusterContext,
  type MetricSourceHealth,
  type RateLimitServiceOptions,
  type RenderResult,
} from '../modules/limiter/render';
import { buildConditions } from '../modules/limiter/render/status';
import { WorkQueue, type WorkQueueOptions } from './work-queue';
import type { Informer } from '../cluster/informer';
import { NotFoundError, apiVersionOf, keyOf, type ClusterStore, type KubeObject } from '../cluster/store';

export const FIELD_MANAGER = 'governor';

/** Metric values for a SmartLimiter (beyond the pod counts rendering computes) and the sources' health. */
export interface MetricSource {
  metricsFor(limiter: SmartLimiter): { values: MetricMap; health: MetricSourceHealth };
}

export const noMetrics: MetricSource = { metricsFor: () => ({ values: {}, health: { available: true } }) };

export interface ControllerInformers {
  readonly smartLimiters: Informer;
  readonly services: Informer;
  readonly pods: Informer;
  readonly destinationRules: Informer;
  readonly serviceEntries: Informer;
  readonly envoyFilters: Informer;
}

export interface ControllerEvent {
  readonly limiter: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly at: string;
}

export interface SmartLimiterControllerOptions {
  readonly store: ClusterStore;
  readonly informers: ControllerInformers;
  readonly metrics?: MetricSource;
  readonly rateLimitService?: RateLimitServiceOptions;
  /** Re-evaluate (and re-write the status of) every SmartLimiter this often. Default 5 s; 0 disables. */
  readonly tickMs?: number;
  /**
   * Read the metric sources this often and re-reconcile at once each SmartLimiter whose limits the new
   * values change (a condition crossing its threshold, a quota moving, a source going down or back). The
   * check renders in memory and writes nothing, so it can run far more often than {@link tickMs}.
   * Default 1 s; 0 disables.
   */
  readonly metricTickMs?: number;
  /**
   * What a SmartLimiter whose metric source is unavailable enforces: `keep` (default) its last good limits,
   * `open` none (its EnvoyFilters are removed until the metrics are back).
   */
  readonly metricsUnavailable?: 'keep' | 'open';
  readonly queue?: WorkQueueOptions;
  readonly now?: () => Date;
  /** Record Kubernetes Events for failures and quota changes. Default true. */
  readonly recordEvents?: boolean;
  /** Called after each successful reconcile with what was rendered (the engine and the dashboard listen). */
  readonly onRendered?: (key: string, result: RenderResult | null) => void;
  readonly onEvent?: (event: ControllerEvent) => void;
}

const parsedCache = new WeakMap<object, unknown>();

/** Parses a cached object once per version (informer caches replace objects when they change). */
function parseCached<T>(schema: z.ZodType<T>, object: KubeObject): T | null {
  if (parsedCache.has(object)) return parsedCache.get(object) as T | null;
  const r = schema.safeParse(object);
  const value = r.success ? r.data : null;
  parsedCache.set(object, value);
  return value;
}

const isOwnedBy = (o: KubeObject, limiter: string): boolean =>
  (o.metadata.ownerReferences ?? []).some(
    (r) =>
      r.kind === SMARTLIMITER_KIND && r.apiVersion.startsWith('microservice.slime.io/') && r.name === limiter,
  );

/** Our fields of an EnvoyFilter, for comparing what is there with what is wanted. */
function essentials(o: KubeObject, ownerUid: string | undefined) {
  const labels = o.metadata.labels ?? {};
  return {
    spec: o.spec ?? null,
    rev: labels['istio.io/rev'] ?? null,
    owned: (o.metadata.ownerReferences ?? []).some(
      (r) =>
        r.kind === SMARTLIMITER_KIND &&
        r.controller === true &&
        (ownerUid === undefined || r.uid === ownerUid),
    ),
  };
}

const inputSignature = (m: { values: MetricMap; health: MetricSourceHealth }): string =>
  canonicalJson({ values: m.values, available: m.health.available });

export class SmartLimiterController {
  readonly queue: WorkQueue;
  private readonly store: ClusterStore;
  private readonly informers: ControllerInformers;
  private readonly metrics: MetricSource;
  private readonly now: () => Date;
  private readonly unsubscribers: (() => void)[] = [];
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private metricTimer: ReturnType<typeof setInterval> | null = null;
  private readonly results = new Map<string, RenderResult>();
  /** What each SmartLimiter's last reconcile enforced, to tell whether new metric values change it. */
  private readonly enforced = new Map<string, string>();
  /** The metric values each SmartLimiter was last rendered (or checked) with. */
  private readonly checkedInputs = new Map<string, string>();
  private running = false;

  constructor(private readonly options: SmartLimiterControllerOptions) {
    this.store = options.store;
    this.informers = options.informers;
    this.metrics = options.metrics ?? noMetrics;
    this.now = options.now ?? (() => new Date());
    this.queue = new WorkQueue(options.queue);
  }

  /** Wires informer events to the queue and starts the worker. The informers are started by the caller. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const inf = this.informers;
    this.unsubscribers.push(
      inf.smartLimiters.onChange((c) => this.queue.add(keyOf(c.object))),
      inf.envoyFilters.onChange((c) => {
        for (const r of c.object.metadata.ownerReferences ?? []) {
          if (r.kind === SMARTLIMITER_KIND) this.queue.add(`${c.object.metadata.namespace ?? ''}/${r.name}`);
        }
      }),
      ...[inf.services, inf.pods, inf.destinationRules, inf.serviceEntries].map((i) =>
        i.onChange((c) => this.enqueueNamespace(c.object.metadata.namespace ?? '')),
      ),
    );
    this.queue.start((key) => this.reconcile(key));
    this.enqueueAll();
    const tick = this.options.tickMs ?? 5000;
    if (tick > 0) this.tickTimer = setInterval(() => this.enqueueAll(), tick);
    const metricTick = this.options.metricTickMs ?? 1000;
    if (metricTick > 0) this.metricTimer = setInterval(() => this.enqueueChanged(), metricTick);
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

  /** The last render of each SmartLimiter, by `namespace/name`. */
  rendered(): ReadonlyMap<string, RenderResult> {
    return this.results;
  }

  enqueueAll(): void {
    for (const o of this.informers.smartLimiters.list()) this.queue.add(keyOf(o));
  }

  /**
   * Renders every SmartLimiter in memory with the metric values as they are now and enqueues those whose
   * enforced limits would change. Returns the keys enqueued.
   */
  enqueueChanged(): string[] {
    const changed: string[] = [];
    const contexts = new Map<string, ClusterContext>();
    for (const raw of this.informers.smartLimiters.list()) {
      const key = keyOf(raw);
      const before = this.enforced.get(key);
      // Not reconciled yet (or being deleted): the queue has it or will.
      if (before === undefined || raw.metadata.deletionTimestamp) continue;
      const parsed = parseCached(smartLimiterSchema, raw);
      if (parsed === null) continue;
      // Same metric values as the last render (or check): nothing can have moved. Cluster changes reach
      // the queue through the informers, not through here.
      const metrics = this.metrics.metricsFor(parsed);
      const inputs = inputSignature(metrics);
      if (this.checkedInputs.get(key) === inputs) continue;
      const namespace = raw.metadata.namespace ?? 'default';
      let context = contexts.get(namespace);
      if (!context) contexts.set(namespace, (context = this.contextFor(namespace)));
      const { result, health } = this.render(parsed, context, metrics);
      if (this.enforcedSignature(result, health) !== before) {
        changed.push(key);
        this.queue.add(key);
      } else this.checkedInputs.set(key, inputs);
    }
    return changed;
  }

  /** Renders a SmartLimiter in memory against the cluster as the caches see it and the current metrics. */
  render(
    limiter: SmartLimiter,
    context: ClusterContext,
    { values, health } = this.metrics.metricsFor(limiter),
  ) {
    const previousStatus = limiter.status;
    const result = renderSmartLimiter({
      limiter,
      context,
      metrics: values,
      options: {
        rateLimitService: this.options.rateLimitService ?? DEFAULT_RATE_LIMIT_SERVICE,
        now: this.now(),
        ...(previousStatus ? { previousStatus } : {}),
        metricSource: health,
      },
    });
    return { result, health, values };
  }

  /** What a render makes Envoy and the engine enforce, plus whether the metrics were there. */
  private enforcedSignature(result: RenderResult, health: MetricSourceHealth): string {
    return canonicalJson({
      available: health.available,
      problems: result.problems.length,
      envoyFilters: result.envoyFilters,
    });
  }

  private enqueueNamespace(namespace: string): void {
    for (const o of this.informers.smartLimiters.list(namespace)) this.queue.add(keyOf(o));
  }

  /** The Services, Pods, DestinationRules and ServiceEntries of a namespace (all namespaces without one), from the caches. */
  contextFor(namespace?: string): ClusterContext {
    const inf = this.informers;
    const parseAll = <T>(informer: Informer, schema: z.ZodType<T>): T[] =>
      informer
        .list(namespace)
        .map((o) => parseCached(schema, o))
        .filter((v): v is NonNullable<typeof v> => v !== null);
    return {
      services: parseAll(inf.services, serviceSchema),
      pods: parseAll(inf.pods, podSchema),
      destinationRules: parseAll(inf.destinationRules, destinationRuleSchema),
      serviceEntries: parseAll(inf.serviceEntries, serviceEntrySchema),
    };
  }

  /** One pass for one SmartLimiter. Throws to be retried (conflicts, API errors). */
  async reconcile(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const raw = this.informers.smartLimiters.get(namespace, name);
    const owned = this.informers.envoyFilters.list(namespace).filter((ef) => isOwnedBy(ef, name));

    if (!raw || raw.metadata.deletionTimestamp) {
      // Deleted: remove its EnvoyFilters ourselves rather than rely on garbage collection.
      for (const ef of owned) await this.deleteIgnoringMissing(namespace, ef.metadata.name);
      this.results.delete(key);
      this.enforced.delete(key);
      this.checkedInputs.delete(key);
      this.options.onRendered?.(key, null);
      return;
    }

    const parsed = parseSmartLimiter(raw);
    if (!parsed.ok) {
      const problems = parsed.issues.map((i) => ({
        kind: 'spec' as const,
        path: i.path,
        message: i.message,
      }));
      const previous = (raw.status as SmartLimiterStatus | undefined)?.conditions;
      const status: SmartLimiterStatus = {
        ...((raw.status as SmartLimiterStatus | undefined) ?? {}),
        conditions: buildConditions({
          problems,
          envoyFilterCount: owned.length,
          ruleCount: 0,
          now: this.now(),
          ...(previous ? { previous } : {}),
        }),
        ...(raw.metadata.generation !== undefined ? { observedGeneration: raw.metadata.generation } : {}),
      };
      await this.writeStatus(raw, status);
      return;
    }

    const limiter = parsed.value;
    const previousStatus = limiter.status;
    const { result: rendered, health, values } = this.render(limiter, this.contextFor(namespace));
    // Fail-open: without metrics, a limiter enforces nothing until they are back.
    const liftLimits = !health.available && this.options.metricsUnavailable === 'open';
    const result: RenderResult = liftLimits
      ? { ...rendered, envoyFilters: [], rules: [], globalDescriptors: [] }
      : rendered;

    // Only a valid render with live metrics changes what Envoy enforces; otherwise the last good
    // EnvoyFilters stay, and the status says why.
    if (result.problems.length === 0 && (health.available || liftLimits)) {
      const uid = raw.metadata.uid;
      const wanted = new Set<string>();
      for (const ef of result.envoyFilters) {
        wanted.add(ef.metadata.name);
        const object: KubeObject = {
          ...(ef as unknown as KubeObject),
          metadata: {
            ...ef.metadata,
            ownerReferences: (ef.metadata.ownerReferences ?? []).map((r) => ({ ...r, uid: uid ?? '' })),
          },
        };
        const existing = this.informers.envoyFilters.get(namespace, ef.metadata.name);
        if (existing && canonicalJson(essentials(existing, uid)) === canonicalJson(essentials(object, uid)))
          continue;
        await this.store.apply(object, { fieldManager: FIELD_MANAGER, force: true });
      }
      for (const ef of owned) {
        if (!wanted.has(ef.metadata.name)) {
          await this.deleteIgnoringMissing(namespace, ef.metadata.name, ef.metadata.resourceVersion);
        }
      }
    }

    await this.writeStatus(raw, result.status);
    this.recordChanges(key, previousStatus, result);
    this.results.set(key, result);
    this.enforced.set(key, this.enforcedSignature(rendered, health));
    this.checkedInputs.set(key, inputSignature({ values, health }));
    this.options.onRendered?.(key, result);
  }

  private async deleteIgnoringMissing(
    namespace: string,
    name: string,
    resourceVersion?: string,
  ): Promise<void> {
    try {
      await this.store.delete(
        'EnvoyFilter',
        namespace,
        name,
        resourceVersion ? { resourceVersion } : undefined,
      );
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  /** Writes the status only when it changed; a conflict is retried from the newer object. */
  private async writeStatus(raw: KubeObject, status: SmartLimiterStatus): Promise<void> {
    if (canonicalJson(raw.status ?? {}) === canonicalJson(status)) return;
    try {
      await this.store.updateStatus({
        apiVersion: SMARTLIMITER_API_VERSION,
        kind: SMARTLIMITER_KIND,
        metadata: {
          name: raw.metadata.name,
          namespace: raw.metadata.namespace ?? 'default',
          ...(raw.metadata.resourceVersion ? { resourceVersion: raw.metadata.resourceVersion } : {}),
        },
        status,
      });
    } catch (e) {
      // Deleted meanwhile: nothing to report. A conflict is retried by the queue from the newer object.
      if (e instanceof NotFoundError) return;
      throw e;
    }
  }

  /** Events for failures that appear and quota changes, to the cluster and to listeners. */
  private recordChanges(key: string, previous: SmartLimiterStatus | undefined, result: RenderResult): void {
    const [namespace = '', name = ''] = key.split('/');
    const events: Omit<ControllerEvent, 'limiter' | 'at'>[] = [];
    const cond = (conditions: readonly Condition[] | undefined, type: string) =>
      conditions?.find((c) => c.type === type);
    const wasValid = cond(previous?.conditions, 'Valid');
    const isValid = cond(result.status.conditions, 'Valid');
    if (isValid?.status === 'False' && wasValid?.status !== 'False') {
      events.push({ type: 'Warning', reason: isValid.reason ?? 'Invalid', message: isValid.message ?? '' });
    }
    const quotas = (s: SmartLimiterStatus | undefined): Map<string, string> => {
      const out = new Map<string, string>();
      for (const [set, v] of Object.entries(s?.ratelimitStatus ?? {})) {
        const descriptors = (v as { descriptor?: { action?: { quota?: string } }[] }).descriptor ?? [];
        descriptors.forEach((d, i) => out.set(`${set}[${i}]`, d.action?.quota ?? ''));
      }
      return out;
    };
    if (previous?.ratelimitStatus) {
      const before = quotas(previous);
      const after = quotas(result.status);
      const changed = [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v);
      if (changed.length > 0) {
        const metrics = Object.entries(result.metrics)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
        events.push({
          type: 'Normal',
          reason: 'QuotaChanged',
          message: `${changed.map(([k, v]) => `${k} quota ${before.get(k)} → ${v}`).join('; ')} (metrics: ${metrics})`,
        });
      }
    }
    const at = this.now().toISOString();
    for (const e of events) {
      const event = { ...e, limiter: key, at };
      this.options.onEvent?.(event);
      if (this.options.recordEvents !== false)
        void this.createEvent(namespace, name, e).catch(() => undefined);
    }
  }

  private async createEvent(
    namespace: string,
    name: string,
    e: { type: string; reason: string; message: string },
  ): Promise<void> {
    const raw = this.informers.smartLimiters.get(namespace, name);
    const now = this.now().toISOString();
    await this.store.create({
      apiVersion: apiVersionOf('Event'),
      kind: 'Event',
      metadata: {
        name: `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
        namespace,
      },
      involvedObject: {
        apiVersion: SMARTLIMITER_API_VERSION,
        kind: SMARTLIMITER_KIND,
        name,
        namespace,
        ...(raw?.metadata.uid ? { uid: raw.metadata.uid } : {}),
      },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: 'governor' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }
}
