import { randomUUID } from 'node:crypto';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { readIfExists, removeLeftoverTempFiles, syncDirectory, writeFileAtomic } from './durable-file';
import {
  AlreadyExistsError,
  apiVersionOf,
  ConflictError,
  GoneError,
  InvalidError,
  KINDS,
  NotFoundError,
  StoreError,
} from './store';
import type {
  ApplyOptions,
  ClusterStore,
  DeleteOptions,
  Kind,
  KubeObject,
  ListResult,
  ObjectMetadata,
  WatchEvent,
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

const FILE_FORMAT = 'governor.embedded-store/v1';
const DEFAULT_HISTORY_LIMIT = 10_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;
/** The log is folded into the file once it is larger than the file and than this. */
const MIN_COMPACTION_BYTES = 1 << 20;

/** What the store file holds: every object and the resourceVersion counter. */
interface StoreFile {
  readonly format: typeof FILE_FORMAT;
  readonly resourceVersion: string;
  readonly objects: KubeObject[];
}

interface HistoryEntry {
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
  private readonly history: HistoryEntry[] = [];
  /** Every change after this revision is in `history`. */
  private historyStart: number;
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  private readonly historyLimit: number;
  private readonly retryDelayMs: number;
  private readonly now: () => Date;
  private readonly onSaveError: (error: Error) => void;
  /** The revision the file holds. */
  private savedRevision: number;
  /** The save under way and the revision it writes. */
  private saving: { readonly revision: number; readonly done: Promise<void> } | undefined;
  /** The save that starts when the one under way ends: every write made meanwhile waits for it. */
  private queued: Deferred | undefined;
  /** Why the last save failed, until one succeeds. */
  private failure: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The changes made since the last save began, for the log. */
  private unsaved: HistoryEntry[] = [];
  private log: FileHandle | undefined;
  private logBytes = 0;
  private fileBytes = 0;
  /** After a failed save the log's end is uncertain: the next save writes the whole file and a new log. */
  private rewriteNext = true;
  private completedSaves = 0;

  writeFailure(): string | null {
    return this.failure ? `saving to disk failed: ${this.failure.message}` : null;
  }

  private constructor(
    private readonly file: string | undefined,
    options: EmbeddedStoreOptions,
    loaded: { objects: KubeObject[]; revision: number },
  ) {
    this.description = file === undefined ? 'embedded (in memory)' : `embedded (${file})`;
    this.historyLimit = positiveInteger(options.historyLimit ?? DEFAULT_HISTORY_LIMIT, 'historyLimit');
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    if (!(this.retryDelayMs >= 0)) throw new RangeError('retryDelayMs must not be negative');
    this.now = options.now ?? (() => new Date());
    this.onSaveError = options.onSaveError ?? ((error) => process.emitWarning(error.message));
    for (const object of loaded.objects) this.put(object.kind as Kind, object);
    this.revision = loaded.revision;
    this.historyStart = loaded.revision;
    this.savedRevision = loaded.revision;
  }

  /**
   * Opens a store: loads `file` when it exists (a file that cannot be read as a store is an error, never
   * an empty store), replays its log, writes the result to `file` and removes temp files a crash left.
   */
  static async open(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    if (options.file === undefined)
      return new EmbeddedStore(undefined, options, { objects: [], revision: 1 });
    const file = resolve(options.file);
    await mkdir(dirname(file), { recursive: true });
    await removeLeftoverTempFiles(file);
    const text = await readIfExists(file);
    const loaded = text === undefined ? { objects: [], revision: 1 } : parseStoreFile(file, text);
    const log = logFileOf(file);
    const logText = await readIfExists(log);
    const store = new EmbeddedStore(
      file,
      options,
      logText === undefined ? loaded : replayLog(log, logText, loaded),
    );
    // Start from the file alone: the log folded in, an empty log opened.
    await store.rewrite(file);
    return store;
  }

  async list(kind: Kind, namespace?: string): Promise<ListResult> {
    this.assertOpen();
    const items = [...this.objectsOf(kind).values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
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
    if (this.objectsOf(kind).has(objectKey(input))) {
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
    if (KINDS[kind].hasStatus) setStatus(next, stored.status);
    return this.saved(this.replace(kind, stored, next));
  }

  async updateStatus(object: KubeObject): Promise<KubeObject> {
    this.assertWritable();
    const { kind, input } = validated(object);
    if (!KINDS[kind].hasStatus) {
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
    const stored = this.objectsOf(kind).get(objectKey(input));
    if (stored === undefined) return this.saved(this.insert(kind, input));
    // Like the API server, an applied configuration that names a resourceVersion or uid is a precondition.
    checkPreconditions(kind, stored, input.metadata);
    const hasStatus = KINDS[kind].hasStatus;
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
    await this.durable(this.revision);
    return true;
  }

  watch(kind: Kind, options: WatchOptions): WatchHandle {
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
    const refused = this.watchRefusal(kind, options.resourceVersion);
    if (refused !== undefined) {
      this.endWatch(watcher, refused);
      return handle;
    }
    if (options.resourceVersion === '' || options.resourceVersion === '0') {
      // "Any" resourceVersion: the API server starts with synthetic ADDED events for the current objects.
      for (const object of [...this.objectsOf(kind).values()].sort(byNamespaceAndName)) {
        const namespace = object.metadata.namespace ?? '';
        const entry: HistoryEntry = { revision: this.revision, kind, namespace, type: 'ADDED', object };
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

  /** How many saves (appends to the log, or rewrites of the file) have completed since the store opened. */
  get saves(): number {
    return this.completedSaves;
  }

  /**
   * Resolves once the disk holds every write made so far; rejects when that save fails. After a failed
   * save this tries again at once.
   */
  async flush(): Promise<void> {
    if (this.file === undefined) return;
    this.clearRetryTimer();
    await this.durable(this.revision);
  }

  /**
   * Ends every watch (`onEnd(undefined)`) and saves pending writes; other calls fail afterwards. When the
   * save fails, calling close again retries it.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const watcher of this.watchers) this.endWatch(watcher, undefined);
    }
    await this.flush();
    if (this.file === undefined || this.log === undefined) return;
    // Leave one file behind, as a restart would make it.
    if (this.logBytes > 0) await writeFileAtomic(this.file, this.serialize());
    await this.log.close();
    this.log = undefined;
    await unlink(logFileOf(this.file)).catch(() => undefined);
  }

  // Writes. Each runs synchronously from validation to commit, so writes are atomic with respect to
  // each other and watch events come out in resourceVersion order.

  private insert(kind: Kind, input: KubeObject): KubeObject {
    const { namespace, name } = input.metadata;
    const metadata: ObjectMetadata = {
      ...userMetadata(input.metadata),
      name,
      namespace,
      uid: randomUUID(),
      generation: 1,
      // RFC 3339 with whole seconds, as the API server writes timestamps.
      creationTimestamp: this.now()
        .toISOString()
        .replace(/\.\d+Z$/, 'Z'),
    };
    const object: KubeObject = { apiVersion: input.apiVersion, kind, metadata, ...withoutEnvelope(input) };
    // The API server resets status on create when there is a status subresource.
    if (KINDS[kind].hasStatus) delete object.status;
    return this.commit(kind, 'ADDED', object);
  }

  /** Stores `next` in place of `stored`, unless nothing changed (then no event, no new resourceVersion). */
  private replace(kind: Kind, stored: KubeObject, next: KubeObject): KubeObject {
    if (!sameContent(stored, next, KINDS[kind].hasStatus)) {
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
    this.history.push(entry);
    if (this.file !== undefined) this.unsaved.push(entry);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped !== undefined) this.historyStart = dropped.revision;
    }
    for (const watcher of this.watchers) {
      if (!matches(watcher, entry)) continue;
      watcher.queue.push(entry);
      this.scheduleDrain(watcher);
    }
    return object;
  }

  private put(kind: Kind, object: KubeObject): void {
    this.objectsOf(kind).set(objectKey(object), object);
    const uid = object.metadata.uid;
    if (uid !== undefined) this.byUid.set(uid, { kind, key: objectKey(object) });
  }

  private unput(kind: Kind, object: KubeObject): void {
    this.objectsOf(kind).delete(objectKey(object));
    if (object.metadata.uid !== undefined) this.byUid.delete(object.metadata.uid);
  }

  private objectsOf(kind: Kind): Map<string, KubeObject> {
    if (!Object.hasOwn(KINDS, kind)) throw new InvalidError(`unknown kind "${String(kind)}"`);
    let objects = this.byKind.get(kind);
    if (objects === undefined) {
      objects = new Map();
      this.byKind.set(kind, objects);
    }
    return objects;
  }

  private existing(kind: Kind, input: KubeObject): KubeObject {
    const stored = this.objectsOf(kind).get(objectKey(input));
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
    if (this.failure !== undefined) {
      throw new StoreError(
        `${this.failure.message}; writes are refused until a save succeeds`,
        503,
        'ServiceUnavailable',
      );
    }
  }

  /** The caller's copy of a written object, once the file holds it (at once in memory). */
  private saved(object: KubeObject): KubeObject | Promise<KubeObject> {
    const result = copy(object);
    if (this.file === undefined) return result;
    return this.durable(this.revision).then(() => result);
  }

  // Watches.

  private watchRefusal(kind: Kind, resourceVersion: string): Error | undefined {
    if (this.closed) return new Error(`${this.description} is closed`);
    if (!Object.hasOwn(KINDS, kind)) return new InvalidError(`unknown kind "${String(kind)}"`);
    if (resourceVersion === '' || resourceVersion === '0') return undefined;
    if (!/^\d+$/.test(resourceVersion)) {
      return new StoreError(`invalid resourceVersion "${resourceVersion}"`, 400, 'BadRequest');
    }
    const from = Number(resourceVersion);
    if (from < this.historyStart) {
      return new GoneError(`too old resource version: ${resourceVersion} (${this.historyStart})`);
    }
    if (from > this.revision) {
      return new GoneError(
        `resource version ${resourceVersion} is newer than the store's (${this.revision})`,
      );
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

  // Persistence.

  /** Resolves once the file holds `revision`. */
  private durable(revision: number): Promise<void> {
    if (this.file === undefined || revision <= this.savedRevision) return Promise.resolve();
    if (this.saving !== undefined && revision <= this.saving.revision) return this.saving.done;
    const queued = this.queued ?? deferred();
    this.queued = queued;
    if (this.saving === undefined) this.startSave(this.file);
    return queued.promise;
  }

  /** Writes the state as it is now; the writes queued so far are answered by this save. */
  private startSave(file: string): void {
    const waiting = this.queued;
    this.queued = undefined;
    const revision = this.revision;
    const changes = this.unsaved;
    this.unsaved = [];
    const rewrite = this.rewriteNext || this.logBytes > Math.max(MIN_COMPACTION_BYTES, this.fileBytes);
    const done = (rewrite ? this.rewrite(file) : this.append(file, changes))
      .then(
        () => {
          this.savedRevision = Math.max(this.savedRevision, revision);
          this.completedSaves += 1;
          this.failure = undefined;
          this.clearRetryTimer();
        },
        (error: unknown) => {
          const cause = error instanceof Error ? error : new Error(String(error));
          const failure = new StoreError(
            `the embedded store could not save ${file}: ${cause.message}`,
            500,
            'InternalError',
          );
          failure.cause = cause;
          this.failure = failure;
          this.rewriteNext = true;
          this.onSaveError(failure);
          this.scheduleRetry();
          throw failure;
        },
      )
      .finally(() => {
        this.saving = undefined;
        if (this.queued !== undefined) this.startSave(file);
      });
    this.saving = { revision, done };
    if (waiting !== undefined) done.then(waiting.resolve, waiting.reject);
    // The writes awaiting it see the failure; nothing else needs to.
    done.catch(() => undefined);
  }

  /** Appends the changes to the log and waits until they are on disk. */
  private async append(file: string, changes: readonly HistoryEntry[]): Promise<void> {
    const log = this.log;
    if (log === undefined) throw new Error(`${logFileOf(file)} is not open`);
    const text = changes
      .map(
        (e) => `${JSON.stringify({ resourceVersion: String(e.revision), type: e.type, object: e.object })}\n`,
      )
      .join('');
    const bytes = Buffer.from(text, 'utf8');
    for (let done = 0; done < bytes.length;) {
      const { bytesWritten } = await log.write(bytes, done, bytes.length - done, this.logBytes + done);
      done += bytesWritten;
    }
    await log.datasync();
    // Writes to a log someone deleted (with its directory, say) would be on no disk a restart can read.
    if ((await log.stat()).nlink === 0) throw new Error(`${logFileOf(file)} was deleted`);
    this.logBytes += bytes.length;
  }

  /** Writes the whole state to the file, then starts a new, empty log. */
  private async rewrite(file: string): Promise<void> {
    const text = this.serialize();
    await writeFileAtomic(file, text);
    this.fileBytes = Buffer.byteLength(text, 'utf8');
    // The file now holds everything the old log did: a crash from here on replays nothing twice, since
    // replay skips changes the file already has.
    const old = this.log;
    this.log = undefined;
    await old?.close().catch(() => undefined);
    this.log = await open(logFileOf(file), 'w', 0o600);
    this.logBytes = 0;
    await syncDirectory(dirname(file));
    this.rewriteNext = false;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // A failure is reported through onSaveError and retried from there.
      this.durable(this.revision).catch(() => undefined);
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private clearRetryTimer(): void {
    if (this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private serialize(): string {
    const objects = [...this.byKind.entries()]
      .sort(([a], [b]) => compare(a, b))
      .flatMap(([, objects]) => [...objects.values()].sort(byNamespaceAndName));
    const data: StoreFile = { format: FILE_FORMAT, resourceVersion: String(this.revision), objects };
    return `${JSON.stringify(data, null, 1)}\n`;
  }
}

// Objects.

const SYSTEM_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
] as const;

/** The metadata a client may set: everything but the fields the server owns. */
function userMetadata(metadata: ObjectMetadata): ObjectMetadata {
  const result: ObjectMetadata = { ...metadata };
  for (const field of SYSTEM_METADATA) delete result[field];
  return result;
}

function systemMetadata(metadata: ObjectMetadata): Partial<ObjectMetadata> {
  const result: Record<string, unknown> = {};
  for (const field of SYSTEM_METADATA) {
    if (metadata[field] !== undefined) result[field] = metadata[field];
  }
  return result as Partial<ObjectMetadata>;
}

/** The object's fields other than apiVersion, kind and metadata. */
function withoutEnvelope(object: KubeObject): Record<string, unknown> {
  const { apiVersion: _apiVersion, kind: _kind, metadata: _metadata, ...rest } = object;
  return rest;
}

function setStatus(object: KubeObject, status: unknown): void {
  if (status === undefined) delete object.status;
  else object.status = status;
}

/**
 * Whether two versions have the same content for `metadata.generation`: everything but metadata, and
 * but status where status is a subresource (the CustomResource rule; Kubernetes kinds follow it for spec).
 */
function sameContent(a: KubeObject, b: KubeObject, hasStatus: boolean): boolean {
  const contentOf = (o: KubeObject): Record<string, unknown> => {
    const { status: _status, ...rest } = withoutEnvelope(o);
    return hasStatus ? rest : withoutEnvelope(o);
  };
  return jsonEqual(contentOf(a), contentOf(b));
}

function checkPreconditions(kind: Kind, stored: KubeObject, given: ObjectMetadata): void {
  const { resourceVersion, uid } = given;
  if (
    resourceVersion !== undefined &&
    resourceVersion !== '' &&
    resourceVersion !== stored.metadata.resourceVersion
  ) {
    throw conflict(kind, given.name);
  }
  if (uid !== undefined && uid !== '' && uid !== stored.metadata.uid) {
    throw new ConflictError(
      `Precondition failed for ${resourceOf(kind)} "${given.name}": UID in precondition: ${uid}, UID in object meta: ${stored.metadata.uid ?? ''}`,
    );
  }
}

const conflict = (kind: Kind, name: string): ConflictError =>
  new ConflictError(
    `Operation cannot be fulfilled on ${resourceOf(kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );

/** `smartlimiters.microservice.slime.io`, `pods`: how the API server names a resource in messages. */
function resourceOf(kind: Kind): string {
  const { group, plural } = KINDS[kind];
  return group === '' ? plural : `${plural}.${group}`;
}

const keyFor = (namespace: string, name: string): string => `${namespace}/${name}`;
const objectKey = (o: KubeObject): string => keyFor(o.metadata.namespace ?? '', o.metadata.name);

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byNamespaceAndName = (a: KubeObject, b: KubeObject): number =>
  compare(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
  compare(a.metadata.name, b.metadata.name);

const matches = (watcher: Watcher, entry: HistoryEntry): boolean =>
  entry.kind === watcher.kind && (watcher.namespace === undefined || entry.namespace === watcher.namespace);

/** Stored objects are plain JSON; callers get their own copy. */
const copy = (object: KubeObject): KubeObject => structuredClone(object);

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra).filter((k) => ra[k] !== undefined);
  if (keys.length !== Object.keys(rb).filter((k) => rb[k] !== undefined).length) return false;
  return keys.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

// Validation, as the API server does it for the fields the store relies on.

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A JSON copy of the object (as if it had crossed the wire), checked. */
function validated(object: KubeObject): { kind: Kind; input: KubeObject } {
  let input: unknown;
  try {
    input = JSON.parse(JSON.stringify(object)) as unknown;
  } catch (error) {
    throw new InvalidError(
      `the object is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const problem = objectProblem(input);
  if (problem !== undefined) throw new InvalidError(problem);
  const checked = input as KubeObject;
  return { kind: checked.kind as Kind, input: checked };
}

/** What is wrong with a (JSON) object, or undefined. */
function objectProblem(object: unknown): string | undefined {
  if (!isRecord(object)) return 'an object must be a JSON object';
  const { kind, apiVersion, metadata } = object;
  if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) return `unknown kind "${String(kind)}"`;
  const expected = apiVersionOf(kind as Kind);
  if (apiVersion !== expected)
    return `${kind}: apiVersion must be "${expected}", not "${String(apiVersion)}"`;
  if (!isRecord(metadata)) return `${kind}: metadata is required`;
  const { name, namespace, labels, annotations, ownerReferences } = metadata;
  if (typeof name !== 'string' || name === '') return `${kind}: metadata.name is required`;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return `${kind} "${name}": metadata.name must be a lowercase RFC 1123 subdomain`;
  }
  if (typeof namespace !== 'string' || namespace === '')
    return `${kind} "${name}": metadata.namespace is required`;
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
    return `${kind} "${name}": metadata.namespace must be a lowercase RFC 1123 label`;
  }
  for (const [field, value] of [
    ['labels', labels],
    ['annotations', annotations],
  ] as const) {
    if (value === undefined) continue;
    if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
      return `${kind} "${name}": metadata.${field} must map strings to strings`;
    }
  }
  if (ownerReferences !== undefined) {
    const valid =
      Array.isArray(ownerReferences) &&
      ownerReferences.every(
        (r) =>
          isRecord(r) &&
          ['apiVersion', 'kind', 'name', 'uid'].every((f) => typeof r[f] === 'string' && r[f] !== ''),
      );
    if (!valid) return `${kind} "${name}": each ownerReference needs apiVersion, kind, name and uid`;
  }
  return undefined;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

// The file.

function parseStoreFile(file: string, text: string): { objects: KubeObject[]; revision: number } {
  const corrupt = (reason: string, cause?: unknown): Error =>
    new Error(`The embedded store file ${file} is corrupt (${reason}); move it aside to start afresh`, {
      cause,
    });
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (error) {
    throw corrupt(error instanceof Error ? error.message : 'not JSON', error);
  }
  if (!isRecord(data) || data.format !== FILE_FORMAT) throw corrupt(`not a ${FILE_FORMAT} file`);
  const { resourceVersion, objects } = data;
  if (typeof resourceVersion !== 'string' || !/^\d+$/.test(resourceVersion)) {
    throw corrupt('no resourceVersion');
  }
  if (!Array.isArray(objects)) throw corrupt('no objects');
  const revision = Number(resourceVersion);
  const seen = new Set<string>();
  const result: KubeObject[] = [];
  for (const object of objects) {
    const problem = objectProblem(object);
    if (problem !== undefined) throw corrupt(problem);
    const o = object as KubeObject;
    const { uid, resourceVersion: rv, generation } = o.metadata;
    const where = `${o.kind} ${objectKey(o)}`;
    if (typeof uid !== 'string' || uid === '') throw corrupt(`${where} has no uid`);
    if (typeof rv !== 'string' || !/^\d+$/.test(rv) || Number(rv) > revision) {
      throw corrupt(`${where} has resourceVersion "${String(rv)}"`);
    }
    if (typeof generation !== 'number') throw corrupt(`${where} has no generation`);
    const key = `${o.kind}/${objectKey(o)}`;
    if (seen.has(key) || seen.has(uid)) throw corrupt(`${where} appears twice`);
    seen.add(key).add(uid);
    result.push(o);
  }
  return { objects: result, revision };
}

const logFileOf = (file: string): string => `${file}.log`;

/**
 * The state after the log's changes newer than `base`. Lines after the last whole change that are not
 * changes are the torn end of a save that never finished (and so was never answered); a bad line with
 * whole changes after it is corruption.
 */
function replayLog(
  log: string,
  text: string,
  base: { objects: KubeObject[]; revision: number },
): { objects: KubeObject[]; revision: number } {
  const corrupt = (line: number, reason: string): Error =>
    new Error(
      `The embedded store log ${log} is corrupt (line ${line}: ${reason}); move it aside to start from the file alone`,
    );
  const objects = new Map(base.objects.map((o) => [`${o.kind}/${objectKey(o)}`, o]));
  let revision = base.revision;
  let bad: number | undefined;
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line === '' && i === lines.length - 1) break;
    const change = parseChange(line);
    if (change === undefined) {
      bad ??= i + 1;
      continue;
    }
    if (bad !== undefined) throw corrupt(bad, 'not a change, and changes follow it');
    const rv = Number(change.resourceVersion);
    if (rv <= base.revision) continue;
    if (rv <= revision) throw corrupt(i + 1, `resourceVersion ${change.resourceVersion} after ${revision}`);
    revision = rv;
    const key = `${change.object.kind}/${objectKey(change.object)}`;
    if (change.type === 'DELETED') objects.delete(key);
    else objects.set(key, change.object);
  }
  return { objects: [...objects.values()], revision };
}

function parseChange(
  line: string,
): { resourceVersion: string; type: WatchEventType; object: KubeObject } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { resourceVersion, type, object } = value;
  if (typeof resourceVersion !== 'string' || !/^\d+$/.test(resourceVersion)) return undefined;
  if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return undefined;
  if (objectProblem(object) !== undefined) return undefined;
  const o = object as KubeObject;
  if (typeof o.metadata.uid !== 'string' || o.metadata.resourceVersion !== resourceVersion) return undefined;
  return { resourceVersion, type, object: o };
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
