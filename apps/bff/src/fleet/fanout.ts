/**
 * The policy fan-out: policy objects in the home cluster that name other clusters in
 * `governor.io/clusters` are copied into those clusters, kept equal to their source (a copy edited or
 * deleted there is put back), and removed where they are no longer wanted. Each member cluster's own
 * control plane reconciles its copy; this controller only writes copies and reports how each one stands.
 *
 * Level-triggered: a work item is (cluster, kind, namespace, name), and handling it compares what the
 * cluster holds with what the home cluster's source asks for now. A cluster that is down therefore has
 * nothing queued but a retry: when it comes back it gets the source as it is then, not a replay.
 *
 * The aggregate lives in this read model (`status`), not on the source: the source's status belongs to
 * the home cluster's control plane.
 */
import { Informer, type Change, type InformerOptions } from '../cluster/informer';
import type { ClusterRegistry } from '../cluster/registry';
import { registryMembers, type FleetMembers } from './members';
import {
  AlreadyExistsError,
  isKnownKind,
  keyOf,
  NotFoundError,
  type ClusterStore,
  type KubeObject,
} from '../cluster/store';
import { WorkQueue } from '../framework/work-queue';
import {
  CLUSTERS_ANNOTATION,
  awaitingReconcile,
  conditionsOf,
  copyAction,
  DEFAULT_FANOUT_KINDS,
  desiredCopy,
  FANOUT_SOURCE_LABEL,
  isCopyFrom,
  orphanAction,
  parseClusters,
} from './fanout-copy';

/** What the fan-out needs to know about a cluster's reachability (the registry's health record fits). */
export interface FanoutHealth {
  readonly reachable: boolean;
  readonly lastSuccessfulSync: string | null;
  readonly lastError?: string | null;
}

/** The clusters the fan-out writes to: a {@link ClusterRegistry}, or plain stores (tests, one process). */
export interface FanoutClusters {
  /** Every cluster's name, in a stable order. */
  names(): readonly string[];
  store(name: string): ClusterStore | undefined;
  /** Absent or undefined: assumed reachable (a failed write still counts). */
  health?(name: string): FanoutHealth | undefined;
  /** Told when clusters join, leave, are replaced or change health. */
  onChange?(listener: (cluster: string) => void): () => void;
}

/** The fleet's members as the fan-out sees them. */
export function fanoutClusters(members: FleetMembers): FanoutClusters {
  return {
    names: () => members.list().map((m) => m.name),
    store: (name) => members.get(name)?.store,
    health: (name) => members.get(name)?.health,
    onChange: (listener) => members.onChange((e) => listener(e.member.name)),
  };
}

/** The registry's clusters, following it. */
export const registryClusters = (registry: ClusterRegistry): FanoutClusters =>
  fanoutClusters(registryMembers(registry));

/** Fixed stores by name, with an optional health source (for tests and single-process setups). */
export function storeClusters(
  stores: ReadonlyMap<string, ClusterStore>,
  health?: (name: string) => FanoutHealth | undefined,
): FanoutClusters & { changed(cluster: string): void } {
  const listeners = new Set<(cluster: string) => void>();
  return {
    names: () => [...stores.keys()],
    store: (name) => stores.get(name),
    ...(health ? { health } : {}),
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    changed: (cluster) => {
      for (const l of [...listeners]) l(cluster);
    },
  };
}

export type CopyState = 'synced' | 'pending' | 'conflict' | 'unreachable';

export interface ClusterCopyStatus {
  readonly cluster: string;
  readonly state: CopyState;
  /** Why it is not synced (pending, conflict, unreachable). */
  readonly reason?: string;
  /** Since when it has been out of sync (ISO 8601). */
  readonly since?: string;
  /** The source generation the copy was last written or found equal at. */
  readonly generation?: number;
  /** `synced`: the copy's own status conditions, as its cluster's control plane wrote them. */
  readonly conditions?: readonly Record<string, unknown>[];
  /** `unreachable`: the registry's last successful sync with the cluster, and its age at read time. */
  readonly lastSuccessfulSync?: string | null;
  readonly lastSuccessfulSyncAgeMs?: number | null;
  /** The cluster should no longer hold a copy, and still does (a deletion is pending). */
  readonly deleting?: boolean;
}

export interface FanoutStatus {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly home: string;
  /** The source exists (false while copies of a deleted source are still being removed). */
  readonly sourceExists: boolean;
  readonly generation?: number;
  /** The worst of the clusters' states (`conflict` over `unreachable` over `pending` over `synced`). */
  readonly state: CopyState;
  readonly clusters: readonly ClusterCopyStatus[];
}

export interface FanoutEvent {
  readonly type: 'status';
  readonly status: FanoutStatus;
}

export interface FanoutOptions {
  /** The registry name of the cluster the sources live in. */
  readonly home: string;
  readonly clusters: FanoutClusters;
  /** The kinds fanned out; default {@link DEFAULT_FANOUT_KINDS}. Kinds no store knows are skipped. */
  readonly kinds?: readonly string[];
  /** Retry backoff per (cluster, object): first delay, doubled up to the max. Default 500 ms, 30 s. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Work items handled at once, so that one slow cluster does not hold up the others. Default 4. */
  readonly workers?: number;
  /** For the informers watching sources and copies. */
  readonly informer?: InformerOptions;
  readonly now?: () => Date;
}

interface Watched {
  readonly store: ClusterStore;
  readonly informers: Map<string, Informer>;
}

interface Recorded {
  state: CopyState;
  reason?: string;
  since?: string;
  generation?: number;
  conditions?: readonly Record<string, unknown>[];
  deleting?: boolean;
}

const SEP = '\u0000';
const workKey = (cluster: string, kind: string, namespace: string, name: string) =>
  [cluster, kind, namespace, name].join(SEP);
const sourceKey = (kind: string, namespace: string, name: string) => [kind, namespace, name].join(SEP);

/** A member cluster that is down: retried with backoff, shown `unreachable`. */
class Unreachable extends Error {}

export class FanoutController {
  readonly home: string;
  readonly kinds: readonly string[];
  /** Kinds of the option that no store knows (not registered by a module): not fanned out. */
  readonly skippedKinds: readonly string[];
  private readonly clusters: FanoutClusters;
  private readonly queue: WorkQueue;
  private readonly watched = new Map<string, Watched>();
  /** The clusters each source was last seen asking for, so that the ones it drops are cleaned up. */
  private readonly lastTargets = new Map<string, Set<string>>();
  /** source key → cluster → what the last attempt found. */
  private readonly records = new Map<string, Map<string, Recorded>>();
  private readonly listeners = new Set<(event: FanoutEvent) => void>();
  private readonly published = new Map<string, string>();
  private unsubscribe: (() => void) | undefined;
  private readonly now: () => Date;
  private running = false;

  constructor(private readonly options: FanoutOptions) {
    this.home = options.home;
    this.clusters = options.clusters;
    const kinds = options.kinds ?? DEFAULT_FANOUT_KINDS;
    this.kinds = kinds.filter((k) => isKnownKind(k));
    this.skippedKinds = kinds.filter((k) => !isKnownKind(k));
    this.now = options.now ?? (() => new Date());
    this.queue = new WorkQueue({
      workers: options.workers ?? 4,
      initialBackoffMs: options.initialBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
    });
  }

  /** Starts watching every cluster; resolves once the home cluster's sources are listed. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.clusters.onChange?.((cluster) => this.clusterChanged(cluster));
    this.queue.start((key) => this.reconcile(key));
    for (const name of this.clusters.names()) this.watch(name);
    const home = this.watched.get(this.home);
    if (home === undefined) throw new Error(`the home cluster "${this.home}" is not among the clusters`);
    await Promise.all([...home.informers.values()].map((i) => i.start()));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.queue.stop();
    for (const name of [...this.watched.keys()]) this.unwatch(name);
    await this.queue.idle();
  }

  /** Resolves when no work is queued or running (retries waiting for their backoff do not count). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  onChange(listener: (event: FanoutEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How the copies of one source stand, per cluster; undefined for an object that fans out nowhere. */
  status(kind: string, namespace: string, name: string): FanoutStatus | undefined {
    const key = sourceKey(kind, namespace, name);
    const records = this.records.get(key);
    const source = this.source(kind, namespace, name);
    if (records === undefined || records.size === 0) return undefined;
    const clusters = [...records.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, r]) => this.clusterStatus(cluster, r));
    const rank: Record<CopyState, number> = { synced: 0, pending: 1, unreachable: 2, conflict: 3 };
    const state = clusters.reduce<CopyState>((w, c) => (rank[c.state] > rank[w] ? c.state : w), 'synced');
    return {
      kind,
      namespace,
      name,
      home: this.home,
      sourceExists: source !== undefined,
      ...(source?.metadata.generation !== undefined ? { generation: source.metadata.generation } : {}),
      state,
      clusters,
    };
  }

  /** Every source that fans out somewhere (or whose copies are still being removed). */
  list(): FanoutStatus[] {
    const out: FanoutStatus[] = [];
    for (const key of this.records.keys()) {
      const [kind, namespace, name] = key.split(SEP) as [string, string, string];
      const s = this.status(kind, namespace, name);
      if (s) out.push(s);
    }
    return out;
  }

  private clusterStatus(cluster: string, r: Recorded): ClusterCopyStatus {
    const base = {
      cluster,
      state: r.state,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      ...(r.since !== undefined ? { since: r.since } : {}),
      ...(r.generation !== undefined ? { generation: r.generation } : {}),
      ...(r.deleting ? { deleting: true } : {}),
    };
    if (r.state === 'synced') return { ...base, conditions: r.conditions ?? [] };
    if (r.state !== 'unreachable') return base;
    const last = this.clusters.health?.(cluster)?.lastSuccessfulSync ?? null;
    return {
      ...base,
      lastSuccessfulSync: last,
      lastSuccessfulSyncAgeMs: last === null ? null : this.now().getTime() - Date.parse(last),
    };
  }

  private source(kind: string, namespace: string, name: string): KubeObject | undefined {
    return this.watched.get(this.home)?.informers.get(kind)?.get(namespace, name);
  }

  // --- watching ---------------------------------------------------------------------------------------

  private watch(cluster: string): void {
    const store = this.clusters.store(cluster);
    if (store === undefined || !this.running) return;
    const informers = new Map<string, Informer>();
    for (const kind of this.kinds) {
      const informer = new Informer(store, kind, this.options.informer);
      informer.onChange((change) =>
        cluster === this.home ? this.sourceChanged(kind, change) : this.copyChanged(cluster, kind, change),
      );
      informers.set(kind, informer);
      // An informer retries until its cluster answers; only `start` waits, for the home cluster's.
      void informer.start();
    }
    this.watched.set(cluster, { store, informers });
  }

  private unwatch(cluster: string): void {
    const w = this.watched.get(cluster);
    if (w === undefined) return;
    for (const i of w.informers.values()) i.stop();
    this.watched.delete(cluster);
  }

  /** A cluster joined, left, was replaced (a new store) or changed health: watch anew, look at it again. */
  private clusterChanged(cluster: string): void {
    if (!this.running) return;
    const store = this.clusters.store(cluster);
    const w = this.watched.get(cluster);
    if (w !== undefined && w.store !== store) this.unwatch(cluster);
    if (!this.watched.has(cluster)) this.watch(cluster);
    else if (this.clusters.health?.(cluster)?.reachable !== false)
      for (const informer of this.watched.get(cluster)!.informers.values()) informer.retryNow();
    // Every source may name it (`*`, or a name that was unknown until now).
    for (const [key] of this.allSources()) {
      const [kind, namespace, name] = key.split(SEP) as [string, string, string];
      this.queue.add(workKey(cluster, kind, namespace, name));
    }
    for (const key of this.records.keys()) {
      const [kind, namespace, name] = key.split(SEP) as [string, string, string];
      this.queue.add(workKey(cluster, kind, namespace, name));
    }
  }

  private *allSources(): Iterable<[string, KubeObject]> {
    for (const [kind, informer] of this.watched.get(this.home)?.informers ?? [])
      for (const o of informer.list())
        yield [sourceKey(kind, o.metadata.namespace ?? '', o.metadata.name), o];
  }

  private sourceChanged(kind: string, change: Change): void {
    const { namespace = '', name } = change.object.metadata;
    const key = sourceKey(kind, namespace, name);
    const targets = new Set<string>();
    if (change.type !== 'DELETED') {
      const { clusters, unknown } = parseClusters(
        change.object.metadata.annotations?.[CLUSTERS_ANNOTATION],
        this.clusters.names(),
      );
      for (const c of [...clusters, ...unknown]) targets.add(c);
    }
    const before = this.lastTargets.get(key) ?? new Set<string>();
    if (targets.size > 0) this.lastTargets.set(key, targets);
    else this.lastTargets.delete(key);
    const touched = new Set([...before, ...targets, ...(this.records.get(key)?.keys() ?? [])]);
    for (const cluster of touched) this.queue.add(workKey(cluster, kind, namespace, name));
  }

  private copyChanged(cluster: string, kind: string, change: Change): void {
    const { namespace = '', name } = change.object.metadata;
    const ours =
      isCopyFrom(change.object, this.home) || (change.previous && isCopyFrom(change.previous, this.home));
    // Our copies, and whatever holds a name a source asks for there (a conflict that may have gone).
    if (ours || this.records.get(sourceKey(kind, namespace, name))?.has(cluster))
      this.queue.add(workKey(cluster, kind, namespace, name));
  }

  // --- reconciling ------------------------------------------------------------------------------------

  private async reconcile(key: string): Promise<void> {
    const [cluster, kind, namespace, name] = key.split(SEP) as [string, string, string, string];
    const homeInformer = this.watched.get(this.home)?.informers.get(kind);
    // Until the sources are listed, no copy can be judged an orphan.
    if (homeInformer === undefined || !homeInformer.health().synced)
      throw new Error('the home cluster is not listed yet');
    const source = homeInformer.get(namespace, name);
    const { clusters, unknown } = parseClusters(
      source?.metadata.annotations?.[CLUSTERS_ANNOTATION],
      this.clusters.names(),
    );
    const wanted = source !== undefined && (clusters.includes(cluster) || unknown.includes(cluster));
    const generation = source?.metadata.generation;

    if (cluster === this.home) {
      // The source itself is the home cluster's object: nothing to write, only to report.
      if (!wanted) return this.forget(kind, namespace, name, cluster);
      const h = this.clusters.health?.(cluster);
      if (h && !h.reachable)
        return this.record(kind, namespace, name, cluster, {
          state: 'unreachable',
          reason: h.lastError ?? 'unreachable',
          ...gen(generation),
        });
      return this.record(kind, namespace, name, cluster, this.synced(source, cluster, generation));
    }

    const store = this.clusters.store(cluster);
    if (store === undefined) {
      if (wanted)
        this.record(kind, namespace, name, cluster, {
          state: 'pending',
          reason: `no cluster "${cluster}" in the registry`,
          ...gen(generation),
        });
      else this.forget(kind, namespace, name, cluster);
      return;
    }
    const health = this.clusters.health?.(cluster);
    const fail = (error: unknown, deleting: boolean): never => {
      const down = health !== undefined && !health.reachable;
      const reason = down
        ? (health.lastError ?? 'unreachable')
        : error instanceof Error
          ? error.message
          : String(error);
      this.record(kind, namespace, name, cluster, {
        state: down ? 'unreachable' : 'pending',
        reason,
        ...gen(generation),
        ...(deleting ? { deleting: true } : {}),
      });
      throw error instanceof Error ? error : new Error(reason);
    };
    if (health !== undefined && !health.reachable)
      fail(new Unreachable(health.lastError ?? 'unreachable'), !wanted);

    let live: KubeObject | null;
    try {
      live = await store.get(kind, namespace, name);
    } catch (e) {
      return fail(e, !wanted);
    }

    if (!wanted || source === undefined) {
      if (orphanAction(live, this.home) === 'delete') {
        try {
          await store.delete(kind, namespace, name, { resourceVersion: live!.metadata.resourceVersion! });
        } catch (e) {
          if (!(e instanceof NotFoundError)) return fail(e, true);
        }
      }
      return this.forget(kind, namespace, name, cluster);
    }

    const desired = desiredCopy(source, this.home);
    const action = copyAction(desired, live, this.home);
    try {
      if (action === 'conflict') {
        const owner = live!.metadata.labels?.[FANOUT_SOURCE_LABEL];
        return this.record(kind, namespace, name, cluster, {
          state: 'conflict',
          reason:
            owner !== undefined
              ? `${kind} ${keyOf(live!)} there is a copy from cluster "${owner}"`
              : `${kind} ${keyOf(live!)} there is not a copy made by the fan-out: it is left alone`,
          ...gen(generation),
        });
      }
      let written = live!;
      if (action === 'create') {
        await this.ensureNamespace(store, namespace);
        written = await store.create(desired);
      } else if (action === 'update') {
        written = await store.update({
          ...desired,
          metadata: { ...desired.metadata, resourceVersion: live!.metadata.resourceVersion! },
        });
      }
      this.record(
        kind,
        namespace,
        name,
        cluster,
        this.synced(action === 'in-sync' ? live! : written, cluster, generation),
      );
    } catch (e) {
      fail(e, false);
    }
  }

  /**
   * The record of an object that is as the source asks: synced with its conditions once its cluster's
   * control plane has reconciled it; until then pending, so that stale conditions are not shown as its.
   */
  private synced(o: KubeObject, cluster: string, generation: number | undefined): Recorded {
    const waiting = awaitingReconcile(o, cluster);
    return waiting !== null
      ? { state: 'pending', reason: waiting, ...gen(generation) }
      : { state: 'synced', conditions: conditionsOf(o), ...gen(generation) };
  }

  private async ensureNamespace(store: ClusterStore, namespace: string): Promise<void> {
    if (namespace === '' || (await store.get('Namespace', '', namespace)) !== null) return;
    try {
      await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }

  private record(kind: string, namespace: string, name: string, cluster: string, next: Recorded): void {
    const key = sourceKey(kind, namespace, name);
    let perCluster = this.records.get(key);
    if (perCluster === undefined) this.records.set(key, (perCluster = new Map()));
    const previous = perCluster.get(cluster);
    // "Since" is when it first fell out of sync, kept while it stays out.
    const since =
      next.state === 'synced'
        ? undefined
        : previous !== undefined && previous.state !== 'synced'
          ? previous.since
          : this.now().toISOString();
    perCluster.set(cluster, { ...next, ...(since !== undefined ? { since } : {}) });
    this.publish(kind, namespace, name);
  }

  private forget(kind: string, namespace: string, name: string, cluster: string): void {
    const key = sourceKey(kind, namespace, name);
    const perCluster = this.records.get(key);
    if (perCluster?.delete(cluster) !== true) return;
    if (perCluster.size === 0) this.records.delete(key);
    this.publish(kind, namespace, name);
  }

  /** Tells the listeners when a source's status changed (ages aside). */
  private publish(kind: string, namespace: string, name: string): void {
    const key = sourceKey(kind, namespace, name);
    const status = this.status(kind, namespace, name);
    const comparable = status && {
      ...status,
      clusters: status.clusters.map(({ lastSuccessfulSyncAgeMs: _age, ...c }) => c),
    };
    const json = JSON.stringify(comparable ?? null);
    if ((this.published.get(key) ?? 'null') === json) return;
    if (status === undefined) this.published.delete(key);
    else this.published.set(key, json);
    const event: FanoutEvent = {
      type: 'status',
      status: status ?? {
        kind,
        namespace,
        name,
        home: this.home,
        sourceExists: false,
        state: 'synced',
        clusters: [],
      },
    };
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // A listener's failure must not stop the fan-out.
      }
    }
  }
}

const gen = (generation: number | undefined) => (generation !== undefined ? { generation } : {});
