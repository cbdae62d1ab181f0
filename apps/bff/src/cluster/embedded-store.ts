import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  byNamespaceAndName,
  checkPreconditions,
  conflict,
  copy,
  jsonEqual,
  keyFor,
  resourceOf,
  sameContent,
  setStatus,
  systemMetadata,
  userMetadata,
  validated,
  withoutEnvelope,
} from './embedded-objects';
import { emptyState, loadStore, Persistence, type LoadedState } from './embedded-persistence';
import { WatchHub, type HistoryEntry } from './embedded-watches';
import {
  AlreadyExistsError,
  InvalidError,
  keyOf,
  NotFoundError,
  StoreError,
  isClusterScoped,
  isKnownKind,
  kindInfo,
} from './store';
import type {
  ApplyOptions,
  ClusterStore,
  DeleteOptions,
  Kind,
  KubeObject,
  ListResult,
  ObjectMetadata,
  WatchEventType,
  WatchHandle,
  WatchOptions,
} from './store';

export interface EmbeddedStoreOptions {
  /** The file the store is kept in (created on the first write); absent: in memory only. */
  readonly file?: string;
  /**
   * How many recent watch events are kept for watches to resume from (default 10,000). A watch from an
   * older resourceVersion ends with {@link GoneError}, as the API server does once etcd has compacted.
   */
  readonly historyLimit?: number;
  /** After a failed save, how long until it is tried again (default 1 s). */
  readonly retryDelayMs?: number;
  /** The clock for `creationTimestamp`. */
  readonly now?: () => Date;
  /** A save failed (the writes it carried are rejected with the same error). Default: a process warning. */
  readonly onSaveError?: (error: Error) => void;
}

const DEFAULT_HISTORY_LIMIT = 10_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;

/**
 * The cluster store used when no cluster is configured: Kubernetes API semantics (uid, resourceVersion,
 * generation, status subresource, optimistic concurrency, ordered resumable watches, owner cascade),
 * in-process, optionally persisted to a file so the demo mesh survives a restart.
 *
 * Differences from a real API server, on purpose:
 * - `apply` is a simplified server-side apply: one owner for every field. It replaces each top-level field
 *   it is given (`spec`, or `data` and the like), merges the labels and annotations it is given, and
 *   replaces `ownerReferences` when given. Fields it is not given are kept, even when the same manager set
 *   them before; `force` has nothing to take over. The API server tracks ownership per field and removes
 *   fields a manager stops applying.
 * - Deleting an owner removes its dependents at once, in the same call (each with its own DELETED event),
 *   rather than later through the garbage collector. As the collector does, a dependent that still has
 *   another existing owner is kept and loses only the reference to the deleted owner. Dependents whose
 *   owners never existed are left alone. Finalizers are not run.
 * - Core kinds get no defaulting: a Pod created here has no status until `updateStatus` sets one.
 * - A watch from a resourceVersion newer than the store's ends with {@link GoneError} (the store was
 *   reset) instead of waiting for it. A watch from `""` or `"0"` starts, as on the API server, with an
 *   ADDED event for each current object.
 *
 * With a file, a write is answered only once it is on disk, so a crash never loses an acknowledged
 * write. Changes are appended to a log beside the file (`<file>.log`, one JSON line per change) and
 * fdatasync'd; once the log outgrows the file, the whole state is written to the file atomically (temp
 * file, fsync, rename, fsync of the directory) and the log starts afresh. Opening replays the log over the
 * file (a torn last line is a write that was never answered, and is ignored) and folds it in; after a
 * clean close the file alone holds the state. Writes are committed together (group commit): those that
 * arrive while a save is under way are all answered by the next one. Watches of this process see a change as soon as it
 * is made, before it is saved: they are derived state, rebuilt from disk after a restart.
 *
 * When a save fails, the writes it carried are rejected with the error, but they stay in memory (they
 * were made, and watchers have seen them): like a timeout from the API server, such an error means the
 * write may or may not be kept. Until a save succeeds again (retried every
 * {@link EmbeddedStoreOptions.retryDelayMs}, or by the next `flush()`), new writes are refused at once
 * and change nothing; reads go on. One process at a time may use a file (the BFF locks its data directory).
 */
export class EmbeddedStore implements ClusterStore {
  readonly description: string;

  private readonly byKind = new Map<Kind, Map<string, KubeObject>>();
  /** uid → the stored object's kind and key, for owner lookups. */
  private readonly byUid = new Map<string, { kind: Kind; key: string }>();
  private revision: number;
  private readonly watches: WatchHub;
  private closed = false;
  private readonly now: () => Date;
  /** Saves to the file; absent in memory. */
  private readonly persistence: Persistence | undefined;

  writeFailure(): string | null {
    const failure = this.persistence?.failure;
    return failure ? `saving to disk failed: ${failure.message}` : null;
  }

  private constructor(file: string | undefined, options: EmbeddedStoreOptions, loaded: LoadedState) {
    this.description = file === undefined ? 'embedded (in memory)' : `embedded (${file})`;
    const historyLimit = positiveInteger(options.historyLimit ?? DEFAULT_HISTORY_LIMIT, 'historyLimit');
    const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    if (!(retryDelayMs >= 0)) throw new RangeError('retryDelayMs must not be negative');
    this.now = options.now ?? (() => new Date());
    for (const object of loaded.objects) this.put(object.kind as Kind, object);
    this.revision = loaded.revision;
    this.watches = new WatchHub(historyLimit, loaded.revision);
    this.persistence =
      file === undefined
        ? undefined
        : new Persistence(
            file,
            { revision: () => this.revision, byKind: this.byKind, closed: () => this.closed },
            {
              retryDelayMs,
              onSaveError: options.onSaveError ?? ((error) => process.emitWarning(error.message)),
            },
          );
  }

  /**
   * Opens a store: loads `file` when it exists (a file that cannot be read as a store is an error, never
   * an empty store), replays its log, writes the result to `file` and removes temp files a crash left.
   */
  static async open(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    if (options.file === undefined) return new EmbeddedStore(undefined, options, emptyState());
    const file = resolve(options.file);
    const store = new EmbeddedStore(file, options, await loadStore(file));
    await store.persistence?.start();
    return store;
  }

  async list(kind: Kind, namespace?: string): Promise<ListResult> {
    this.assertOpen();
    const items = [...this.objectsOf(kind).values()]
      .filter((o) => namespace === undefined || isClusterScoped(kind) || o.metadata.namespace === namespace)
      .sort(byNamespaceAndName)
      .map(copy);
    return { items, resourceVersion: String(this.revision) };
  }

  async get(kind: Kind, namespace: string, name: string): Promise<KubeObject | null> {
    this.assertOpen();
    const stored = this.objectsOf(kind).get(keyFor(namespace, name));
    return stored === undefined ? null : copy(stored);
  }

  async create(object: KubeObject): Promise<KubeObject> {
    this.assertWritable();
    const { kind, input } = validated(object);
    if (this.objectsOf(kind).has(keyOf(input))) {
      throw new AlreadyExistsError(`${resourceOf(kind)} "${input.metadata.name}" already exists`);
    }
    return this.saved(this.insert(kind, input));
  }

  async update(object: KubeObject): Promise<KubeObject> {
    this.assertWritable();
    const { kind, input } = validated(object);
    const stored = this.existing(kind, input);
    checkPreconditions(kind, stored, input.metadata);
    const next: KubeObject = {
      ...withoutEnvelope(input),
      apiVersion: stored.apiVersion,
      kind: stored.kind,
      metadata: { ...userMetadata(input.metadata), ...systemMetadata(stored.metadata) },
    };
    if (kindInfo(kind).hasStatus) setStatus(next, stored.status);
    return this.saved(this.replace(kind, stored, next));
  }

  async updateStatus(object: KubeObject): Promise<KubeObject> {
    this.assertWritable();
    const { kind, input } = validated(object);
    if (!kindInfo(kind).hasStatus) {
      // The API server has no /status endpoint for such kinds and answers 404.
      throw new NotFoundError(`${resourceOf(kind)} has no status subresource`);
    }
    const stored = this.existing(kind, input);
    checkPreconditions(kind, stored, input.metadata);
    const next: KubeObject = { ...stored, metadata: { ...stored.metadata } };
    setStatus(next, input.status);
    return this.saved(this.replace(kind, stored, next));
  }

  async apply(object: KubeObject, options: ApplyOptions): Promise<KubeObject> {
    this.assertWritable();
    if (options.fieldManager.trim() === '') throw new InvalidError('apply needs a fieldManager');
    const { kind, input } = validated(object);
    const stored = this.objectsOf(kind).get(keyOf(input));
    if (stored === undefined) return this.saved(this.insert(kind, input));
    // Like the API server, an applied configuration that names a resourceVersion or uid is a precondition.
    checkPreconditions(kind, stored, input.metadata);
    const hasStatus = kindInfo(kind).hasStatus;
    const next: KubeObject = { ...stored, metadata: { ...stored.metadata } };
    for (const [field, value] of Object.entries(withoutEnvelope(input))) {
      if (field === 'status' && hasStatus) continue;
      next[field] = value;
    }
    const { labels, annotations, ownerReferences } = input.metadata;
    if (labels !== undefined) next.metadata.labels = { ...stored.metadata.labels, ...labels };
    if (annotations !== undefined) {
      next.metadata.annotations = { ...stored.metadata.annotations, ...annotations };
    }
    if (ownerReferences !== undefined) next.metadata.ownerReferences = ownerReferences;
    return this.saved(this.replace(kind, stored, next));
  }

  async delete(kind: Kind, namespace: string, name: string, options: DeleteOptions = {}): Promise<boolean> {
    this.assertWritable();
    const stored = this.objectsOf(kind).get(keyFor(namespace, name));
    if (stored === undefined) return false;
    if (
      options.resourceVersion !== undefined &&
      options.resourceVersion !== stored.metadata.resourceVersion
    ) {
      throw conflict(kind, name);
    }
    this.remove(kind, stored);
    this.collectDependents(stored);
    await this.persistence?.durable(this.revision);
    return true;
  }

  watch(kind: Kind, options: WatchOptions): WatchHandle {
    return this.watches.watch(
      kind,
      options,
      this.revision,
      () => this.objectsOf(kind).values(),
      this.closed ? new Error(`${this.description} is closed`) : undefined,
    );
  }

  /** How many saves (appends to the log, or rewrites of the file) have completed since the store opened. */
  get saves(): number {
    return this.persistence?.saves ?? 0;
  }

  /**
   * Resolves once the disk holds every write made so far; rejects when that save fails. After a failed
   * save this tries again at once.
   */
  async flush(): Promise<void> {
    if (this.persistence === undefined) return;
    await this.persistence.flush(this.revision);
  }

  /**
   * Ends every watch (`onEnd(undefined)`) and saves pending writes; other calls fail afterwards. When the
   * save fails, calling close again retries it.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.watches.endAll();
    }
    await this.flush();
    await this.persistence?.close();
  }

  // Writes. Each runs synchronously from validation to commit, so writes are atomic with respect to
  // each other and watch events come out in resourceVersion order.

  private insert(kind: Kind, input: KubeObject): KubeObject {
    const { namespace, name } = input.metadata;
    const metadata: ObjectMetadata = {
      ...userMetadata(input.metadata),
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      uid: randomUUID(),
      generation: 1,
      // RFC 3339 with whole seconds, as the API server writes timestamps.
      creationTimestamp: this.now()
        .toISOString()
        .replace(/\.\d+Z$/, 'Z'),
    };
    const object: KubeObject = { apiVersion: input.apiVersion, kind, metadata, ...withoutEnvelope(input) };
    // The API server resets status on create when there is a status subresource.
    if (kindInfo(kind).hasStatus) delete object.status;
    return this.commit(kind, 'ADDED', object);
  }

  /** Stores `next` in place of `stored`, unless nothing changed (then no event, no new resourceVersion). */
  private replace(kind: Kind, stored: KubeObject, next: KubeObject): KubeObject {
    if (!sameContent(stored, next, kindInfo(kind).hasStatus)) {
      next.metadata.generation = (stored.metadata.generation ?? 0) + 1;
    }
    next.metadata.resourceVersion = stored.metadata.resourceVersion;
    if (jsonEqual(stored, next)) return stored;
    return this.commit(kind, 'MODIFIED', next);
  }

  private remove(kind: Kind, stored: KubeObject): void {
    // The DELETED event carries the resourceVersion of the deletion, as the API server's watch does.
    this.commit(kind, 'DELETED', { ...stored, metadata: { ...stored.metadata } });
  }

  /**
   * The garbage collector's background propagation, done at once: dependents of a deleted owner go too
   * (recursively) unless another owner of theirs still exists; those lose the dangling reference.
   */
  private collectDependents(deleted: KubeObject): void {
    const pending = [deleted.metadata.uid];
    for (let uid = pending.shift(); uid !== undefined; uid = pending.shift()) {
      for (const [kind, objects] of this.byKind) {
        for (const dependent of [...objects.values()]) {
          const references = dependent.metadata.ownerReferences ?? [];
          if (!references.some((r) => r.uid === uid)) continue;
          const remaining = references.filter((r) => r.uid !== uid);
          if (remaining.some((r) => this.byUid.has(r.uid))) {
            const next: KubeObject = { ...dependent, metadata: { ...dependent.metadata } };
            next.metadata.ownerReferences = remaining;
            this.replace(kind, dependent, next);
          } else {
            this.remove(kind, dependent);
            pending.push(dependent.metadata.uid);
          }
        }
      }
    }
  }

  private commit(kind: Kind, type: WatchEventType, object: KubeObject): KubeObject {
    this.revision += 1;
    object.metadata.resourceVersion = String(this.revision);
    if (type === 'DELETED') this.unput(kind, object);
    else this.put(kind, object);
    const entry: HistoryEntry = {
      revision: this.revision,
      kind,
      namespace: object.metadata.namespace ?? '',
      type,
      object,
    };
    this.persistence?.record(entry);
    this.watches.publish(entry);
    return object;
  }

  private put(kind: Kind, object: KubeObject): void {
    this.objectsOf(kind).set(keyOf(object), object);
    const uid = object.metadata.uid;
    if (uid !== undefined) this.byUid.set(uid, { kind, key: keyOf(object) });
  }

  private unput(kind: Kind, object: KubeObject): void {
    this.objectsOf(kind).delete(keyOf(object));
    if (object.metadata.uid !== undefined) this.byUid.delete(object.metadata.uid);
  }

  private objectsOf(kind: Kind): Map<string, KubeObject> {
    if (!isKnownKind(kind)) throw new InvalidError(`unknown kind "${String(kind)}"`);
    let objects = this.byKind.get(kind);
    if (objects === undefined) {
      objects = new Map();
      this.byKind.set(kind, objects);
    }
    return objects;
  }

  private existing(kind: Kind, input: KubeObject): KubeObject {
    const stored = this.objectsOf(kind).get(keyOf(input));
    if (stored === undefined)
      throw new NotFoundError(`${resourceOf(kind)} "${input.metadata.name}" not found`);
    return stored;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.description} is closed`);
  }

  /** A write is refused, before it changes anything, while the store cannot save. */
  private assertWritable(): void {
    this.assertOpen();
    const failure = this.persistence?.failure;
    if (failure !== undefined) {
      throw new StoreError(
        `${failure.message}; writes are refused until a save succeeds`,
        503,
        'ServiceUnavailable',
      );
    }
  }

  /** The caller's copy of a written object, once the file holds it (at once in memory). */
  private saved(object: KubeObject): KubeObject | Promise<KubeObject> {
    const result = copy(object);
    if (this.persistence === undefined) return result;
    return this.persistence.durable(this.revision).then(() => result);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
