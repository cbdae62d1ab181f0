/**
 * A list/watch cache of one kind, over any {@link ClusterStore}. Unlike @kubernetes/client-node's informer,
 * which stops for good on an error other than 410, this one never gives up: it resumes the watch from the
 * last resourceVersion it saw, relists on 410 Gone, backs off on repeated failures, relists on a timer so
 * that nothing stalls forever, and reports its health. Handlers receive every change exactly once per
 * resourceVersion; a relist reports what changed while the watch was down.
 */
import {
  GoneError,
  keyOf,
  StoreError,
  type ClusterStore,
  type KubeObject,
  type Kind,
  type WatchHandle,
} from './store';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly type: ChangeType;
  readonly object: KubeObject;
  /** The cached object before a MODIFIED change. */
  readonly previous?: KubeObject;
}

export interface InformerHealth {
  readonly kind: Kind;
  /** A watch is open. */
  readonly connected: boolean;
  /** The first list completed: the cache holds every object. */
  readonly synced: boolean;
  readonly objects: number;
  readonly lastSyncAt?: string;
  readonly lastError?: string;
  /** Watches started after the first one (resumes and relists). */
  readonly restarts: number;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

/**
 * After an HTTP 429 (Too Many Requests). An API server that has just started answers watches with 429 and
 * `Retry-After: 1` until its watch cache is filled: the server is back, so this is not one more failure
 * of the outage's backoff, which by then may be at its maximum.
 */
export const TOO_MANY_REQUESTS_RETRY_MS = 1_000;

export interface InformerOptions {
  readonly namespace?: string;
  /** Relist this often even when the watch looks healthy. Default 5 minutes. */
  readonly resyncMs?: number;
  /** First retry delay after a failure, doubled up to maxBackoffMs. Default 200 ms. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly timers?: Timers;
}

/** Applies a watch event to a cache keyed by namespace/name; returns the change it made, if any. */
export function applyWatchEvent(
  cache: Map<string, KubeObject>,
  type: ChangeType,
  object: KubeObject,
): Change | null {
  const key = keyOf(object);
  const previous = cache.get(key);
  if (type === 'DELETED') {
    if (!previous) return null;
    cache.delete(key);
    return { type, object };
  }
  if (previous && previous.metadata.resourceVersion === object.metadata.resourceVersion) return null;
  cache.set(key, object);
  return previous ? { type: 'MODIFIED', object, previous } : { type: 'ADDED', object };
}

/** The changes that turn `cache` into the listed state (a relist after a gap). */
export function diffList(cache: Map<string, KubeObject>, items: readonly KubeObject[]): Change[] {
  const changes: Change[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    seen.add(keyOf(item));
    const c = applyWatchEvent(cache, 'MODIFIED', item);
    if (c) changes.push(c);
  }
  for (const [key, object] of [...cache]) {
    if (!seen.has(key)) {
      cache.delete(key);
      changes.push({ type: 'DELETED', object });
    }
  }
  return changes;
}

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly handlers: ((change: Change) => void)[] = [];
  private readonly timers: Timers;
  private watch: WatchHandle | null = null;
  private resourceVersion = '';
  private running = false;
  private synced = false;
  private connected = false;
  private restarts = 0;
  private failures = 0;
  private lastSyncAt: string | undefined;
  private lastError: string | undefined;
  private retryTimer: unknown = null;
  /** What the pending retry will do (list or watch again). */
  private pendingRetry: (() => void) | null = null;
  private resyncTimer: unknown = null;
  private generation = 0;
  private firstSync: Promise<void> | null = null;

  constructor(
    private readonly store: ClusterStore,
    readonly kind: Kind,
    private readonly options: InformerOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(handler: (change: Change) => void): () => void {
    this.handlers.push(handler);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Starts listing and watching; resolves once the cache holds every object (retrying until it does). */
  start(): Promise<void> {
    if (this.running && this.firstSync) return this.firstSync;
    this.running = true;
    this.firstSync = new Promise<void>((resolve) => {
      const unsubscribe = this.onSynced(() => {
        unsubscribe();
        resolve();
      });
    });
    void this.relist();
    return this.firstSync;
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.watch?.stop();
    this.watch = null;
    this.connected = false;
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    if (this.resyncTimer !== null) this.timers.clearTimeout(this.resyncTimer);
    this.retryTimer = null;
    this.pendingRetry = null;
    this.resyncTimer = null;
  }

  list(namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.cache.values())
      if (namespace === undefined || o.metadata.namespace === namespace) out.push(o);
    return out;
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  health(): InformerHealth {
    return {
      kind: this.kind,
      connected: this.connected,
      synced: this.synced,
      objects: this.cache.size,
      ...(this.lastSyncAt ? { lastSyncAt: this.lastSyncAt } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      restarts: this.restarts,
    };
  }

  /** Relists now (also what the resync timer does). */
  async relist(): Promise<void> {
    if (!this.running) return;
    const generation = ++this.generation;
    this.watch?.stop();
    this.watch = null;
    this.connected = false;
    try {
      const { items, resourceVersion } = await this.store.list(this.kind, this.options.namespace);
      if (generation !== this.generation || !this.running) return;
      const changes = diffList(this.cache, items);
      this.resourceVersion = resourceVersion;
      this.synced = true;
      this.failures = 0;
      this.lastSyncAt = new Date(this.timers.now()).toISOString();
      this.lastError = undefined;
      for (const c of changes) this.emit(c);
      this.emitSynced();
      this.startWatch(generation);
      this.scheduleResync();
    } catch (e) {
      if (generation !== this.generation) return;
      this.fail(e, () => void this.relist());
    }
  }

  private syncedListeners: (() => void)[] = [];

  private onSynced(fn: () => void): () => void {
    this.syncedListeners.push(fn);
    if (this.synced) queueMicrotask(fn);
    return () => {
      this.syncedListeners = this.syncedListeners.filter((f) => f !== fn);
    };
  }

  private emitSynced(): void {
    for (const fn of [...this.syncedListeners]) fn();
  }

  private startWatch(generation: number): void {
    if (!this.running || generation !== this.generation) return;
    this.connected = true;
    let ended = false;
    this.watch = this.store.watch(this.kind, {
      ...(this.options.namespace !== undefined ? { namespace: this.options.namespace } : {}),
      resourceVersion: this.resourceVersion,
      onEvent: (event) => {
        if (ended || generation !== this.generation) return;
        const rv = event.object.metadata.resourceVersion;
        if (rv) this.resourceVersion = rv;
        const c = applyWatchEvent(this.cache, event.type, event.object);
        this.failures = 0;
        if (c) this.emit(c);
      },
      onEnd: (error) => {
        if (ended || generation !== this.generation) return;
        ended = true;
        this.connected = false;
        this.watch = null;
        if (!this.running) return;
        this.restarts++;
        if (error instanceof GoneError) {
          // The resourceVersion is too old to resume from: list again.
          void this.relist();
        } else if (error === undefined) {
          // The server closed the watch (a timeout): resume where it left off.
          this.startWatch(generation);
        } else {
          this.fail(error, () => this.startWatch(generation));
        }
      },
    });
  }

  private fail(error: unknown, retry: () => void): void {
    this.connected = false;
    this.lastError = error instanceof Error ? error.message : String(error);
    const initial = this.options.initialBackoffMs ?? 200;
    const max = this.options.maxBackoffMs ?? 30_000;
    let delay: number;
    if (error instanceof StoreError && error.status === 429) {
      delay = Math.min(max, TOO_MANY_REQUESTS_RETRY_MS);
    } else {
      this.failures++;
      delay = Math.min(max, initial * 2 ** Math.min(this.failures - 1, 20));
    }
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.pendingRetry = retry;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.pendingRetry = null;
      if (this.running) retry();
    }, delay);
  }

  /**
   * A retry waiting out its backoff is made now, and the backoff starts over: for when the cluster is
   * known to be back (its health probe answered), which may be long before an outage's backoff ends.
   */
  retryNow(): void {
    const retry = this.pendingRetry;
    if (this.retryTimer === null || retry === null) return;
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.pendingRetry = null;
    this.failures = 0;
    if (this.running) retry();
  }

  private scheduleResync(): void {
    if (this.resyncTimer !== null) this.timers.clearTimeout(this.resyncTimer);
    const ms = this.options.resyncMs ?? 5 * 60_000;
    this.resyncTimer = this.timers.setTimeout(() => {
      this.resyncTimer = null;
      void this.relist();
    }, ms);
  }

  private emit(change: Change): void {
    for (const h of [...this.handlers]) {
      try {
        h(change);
      } catch {
        // A handler's failure must not stop the informer; handlers only enqueue keys.
      }
    }
  }
}
