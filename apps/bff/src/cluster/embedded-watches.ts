/**
 * The embedded store's watches: the recent changes a watch can resume from, and their delivery to each
 * watch in resourceVersion order, outside the write that made them.
 */
import { byNamespaceAndName, copy } from './embedded-objects';
import { GoneError, InvalidError, StoreError, isClusterScoped, isKnownKind } from './store';
import type { Kind, KubeObject, WatchEvent, WatchEventType, WatchHandle, WatchOptions } from './store';

/** A change, as watches see it. */
export interface HistoryEntry {
  readonly revision: number;
  readonly kind: Kind;
  readonly namespace: string;
  readonly type: WatchEventType;
  /** The stored object; stored objects are never mutated, so the entry can share it. */
  readonly object: KubeObject;
}

interface Watcher {
  readonly kind: Kind;
  readonly namespace: string | undefined;
  readonly options: WatchOptions;
  readonly queue: HistoryEntry[];
  draining: boolean;
  active: boolean;
}

// A watch scoped to a namespace still sees a cluster-scoped kind whole, as on the API server.
const matches = (watcher: Watcher, entry: HistoryEntry): boolean =>
  entry.kind === watcher.kind &&
  (watcher.namespace === undefined || isClusterScoped(entry.kind) || entry.namespace === watcher.namespace);

export class WatchHub {
  private readonly history: HistoryEntry[] = [];
  /** Every change after this revision is in `history`. */
  private historyStart: number;
  private readonly watchers = new Set<Watcher>();

  /** Keeps the last `historyLimit` changes after `revision`, the store's revision when it opened. */
  constructor(
    private readonly historyLimit: number,
    revision: number,
  ) {
    this.historyStart = revision;
  }

  /** Keeps a change for watches to resume from, and queues it for the watches it concerns. */
  publish(entry: HistoryEntry): void {
    this.history.push(entry);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped !== undefined) this.historyStart = dropped.revision;
    }
    for (const watcher of this.watchers) {
      if (!matches(watcher, entry)) continue;
      watcher.queue.push(entry);
      this.scheduleDrain(watcher);
    }
  }

  /**
   * Starts a watch of `kind` in a store at `revision`, whose objects of that kind are `current()`. A
   * `refused` error (the store is closed, say) ends the watch at once, as does a resourceVersion the
   * history cannot resume from.
   */
  watch(
    kind: Kind,
    options: WatchOptions,
    revision: number,
    current: () => Iterable<KubeObject>,
    refused: Error | undefined,
  ): WatchHandle {
    const watcher: Watcher = {
      kind,
      namespace: options.namespace,
      options,
      queue: [],
      draining: false,
      active: true,
    };
    const handle: WatchHandle = {
      stop: () => {
        watcher.active = false;
        this.watchers.delete(watcher);
      },
    };
    const refusal = refused ?? this.refusal(kind, options.resourceVersion, revision);
    if (refusal !== undefined) {
      this.endWatch(watcher, refusal);
      return handle;
    }
    if (options.resourceVersion === '' || options.resourceVersion === '0') {
      // "Any" resourceVersion: the API server starts with synthetic ADDED events for the current objects.
      for (const object of [...current()].sort(byNamespaceAndName)) {
        const namespace = object.metadata.namespace ?? '';
        const entry: HistoryEntry = { revision, kind, namespace, type: 'ADDED', object };
        if (matches(watcher, entry)) watcher.queue.push(entry);
      }
    } else {
      const from = Number(options.resourceVersion);
      for (let i = this.firstHistoryIndexAfter(from); i < this.history.length; i++) {
        const entry = this.history[i];
        if (entry !== undefined && matches(watcher, entry)) watcher.queue.push(entry);
      }
    }
    this.watchers.add(watcher);
    if (watcher.queue.length > 0) this.scheduleDrain(watcher);
    return handle;
  }

  /** Ends every watch (`onEnd(undefined)`). */
  endAll(): void {
    for (const watcher of this.watchers) this.endWatch(watcher, undefined);
  }

  private refusal(kind: Kind, resourceVersion: string, revision: number): Error | undefined {
    if (!isKnownKind(kind)) return new InvalidError(`unknown kind "${String(kind)}"`);
    if (resourceVersion === '' || resourceVersion === '0') return undefined;
    if (!/^\d+$/.test(resourceVersion)) {
      return new StoreError(`invalid resourceVersion "${resourceVersion}"`, 400, 'BadRequest');
    }
    const from = Number(resourceVersion);
    if (from < this.historyStart) {
      return new GoneError(`too old resource version: ${resourceVersion} (${this.historyStart})`);
    }
    if (from > revision) {
      return new GoneError(`resource version ${resourceVersion} is newer than the store's (${revision})`);
    }
    return undefined;
  }

  private firstHistoryIndexAfter(revision: number): number {
    let low = 0;
    let high = this.history.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.history[mid]?.revision ?? Infinity) <= revision) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Events are delivered in a later microtask, never inside the write that caused them. */
  private scheduleDrain(watcher: Watcher): void {
    if (watcher.draining) return;
    watcher.draining = true;
    queueMicrotask(() => {
      try {
        for (let entry = watcher.queue.shift(); entry !== undefined; entry = watcher.queue.shift()) {
          if (!watcher.active) return;
          const event: WatchEvent = { type: entry.type, object: copy(entry.object) };
          try {
            watcher.options.onEvent(event);
          } catch (error) {
            // A handler that throws ends its watch; the owner resumes or relists as after any failure.
            this.endWatch(watcher, error instanceof Error ? error : new Error(String(error)));
            return;
          }
        }
      } finally {
        watcher.draining = false;
      }
    });
  }

  private endWatch(watcher: Watcher, error: Error | undefined): void {
    this.watchers.delete(watcher);
    watcher.queue.length = 0;
    queueMicrotask(() => {
      if (!watcher.active) return;
      watcher.active = false;
      watcher.options.onEnd(error);
    });
  }
}
