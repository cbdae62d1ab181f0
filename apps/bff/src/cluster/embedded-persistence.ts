/**
 * The embedded store on disk: a file with the whole state, and a write-ahead log beside it (`<file>.log`,
 * one JSON line per change, fdatasync'd) that is folded into the file once it outgrows it. See
 * {@link EmbeddedStore} for the guarantees.
 */
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readIfExists, removeLeftoverTempFiles, syncDirectory, writeFileAtomic } from './durable-file';
import { byNamespaceAndName, compare, isRecord, objectProblem } from './embedded-objects';
import { keyOf, StoreError } from './store';
import type { Kind, KubeObject, WatchEventType } from './store';

const FILE_FORMAT = 'governor.embedded-store/v1';
/** The log is folded into the file once it is larger than the file and than this. */
const MIN_COMPACTION_BYTES = 1 << 20;

/** What the store file holds: every object and the resourceVersion counter. */
interface StoreFile {
  readonly format: typeof FILE_FORMAT;
  readonly resourceVersion: string;
  readonly objects: KubeObject[];
}

/** The state a store opens with. */
export interface LoadedState {
  readonly objects: KubeObject[];
  readonly revision: number;
}

export const emptyState = (): LoadedState => ({ objects: [], revision: 1 });

/** A change to save, as the log records it. */
export interface LoggedChange {
  readonly revision: number;
  readonly type: WatchEventType;
  readonly object: KubeObject;
}

/** The store being saved, as the saves read it. */
export interface SavedStore {
  /** The newest revision: what a save starting now holds. */
  revision(): number;
  readonly byKind: ReadonlyMap<Kind, ReadonlyMap<string, KubeObject>>;
  closed(): boolean;
}

export interface PersistenceOptions {
  readonly retryDelayMs: number;
  readonly onSaveError: (error: Error) => void;
}

/**
 * Reads `file` (a file that cannot be read as a store is an error, never an empty store) and replays its
 * log over it; removes temp files a crash left.
 */
export async function loadStore(file: string): Promise<LoadedState> {
  await mkdir(dirname(file), { recursive: true });
  await removeLeftoverTempFiles(file);
  const text = await readIfExists(file);
  const loaded = text === undefined ? emptyState() : parseStoreFile(file, text);
  const log = logFileOf(file);
  const logText = await readIfExists(log);
  return logText === undefined ? loaded : replayLog(log, logText, loaded);
}

/**
 * Saves a store's changes: a write is answered only once it is on disk. Writes are committed together
 * (group commit): those that arrive while a save is under way are all answered by the next one. After a
 * failed save, {@link failure} says why until a save succeeds again (retried every `retryDelayMs`, or by
 * the next {@link flush}).
 */
export class Persistence {
  /** The revision the file holds. */
  private savedRevision: number;
  /** The save under way and the revision it writes. */
  private saving: { readonly revision: number; readonly done: Promise<void> } | undefined;
  /** The save that starts when the one under way ends: every write made meanwhile waits for it. */
  private queued: Deferred | undefined;
  /** Why the last save failed, until one succeeds. */
  private lastFailure: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The changes made since the last save began, for the log. */
  private unsaved: LoggedChange[] = [];
  private log: FileHandle | undefined;
  private logBytes = 0;
  private fileBytes = 0;
  /** After a failed save the log's end is uncertain: the next save writes the whole file and a new log. */
  private rewriteNext = true;
  private completedSaves = 0;

  constructor(
    private readonly file: string,
    private readonly store: SavedStore,
    private readonly options: PersistenceOptions,
  ) {
    this.savedRevision = store.revision();
  }

  /** Starts from the file alone: the log folded in, an empty log opened. */
  async start(): Promise<void> {
    await this.rewrite(this.file);
  }

  get failure(): Error | undefined {
    return this.lastFailure;
  }

  /** How many saves (appends to the log, or rewrites of the file) have completed. */
  get saves(): number {
    return this.completedSaves;
  }

  /** A change made in memory, for the next save. */
  record(change: LoggedChange): void {
    this.unsaved.push(change);
  }

  /** Resolves once the file holds `revision`. */
  durable(revision: number): Promise<void> {
    if (revision <= this.savedRevision) return Promise.resolve();
    if (this.saving !== undefined && revision <= this.saving.revision) return this.saving.done;
    const queued = this.queued ?? deferred();
    this.queued = queued;
    if (this.saving === undefined) this.startSave(this.file);
    return queued.promise;
  }

  /** {@link durable}, after a failed save at once rather than on the retry timer. */
  flush(revision: number): Promise<void> {
    this.clearRetryTimer();
    return this.durable(revision);
  }

  /** Once flushed: leaves one file behind, as a restart would make it. */
  async close(): Promise<void> {
    if (this.log === undefined) return;
    if (this.logBytes > 0) await writeFileAtomic(this.file, this.serialize());
    await this.log.close();
    this.log = undefined;
    await unlink(logFileOf(this.file)).catch(() => undefined);
  }

  /** Writes the state as it is now; the writes queued so far are answered by this save. */
  private startSave(file: string): void {
    const waiting = this.queued;
    this.queued = undefined;
    const revision = this.store.revision();
    const changes = this.unsaved;
    this.unsaved = [];
    const rewrite = this.rewriteNext || this.logBytes > Math.max(MIN_COMPACTION_BYTES, this.fileBytes);
    const done = (rewrite ? this.rewrite(file) : this.append(file, changes))
      .then(
        () => {
          this.savedRevision = Math.max(this.savedRevision, revision);
          this.completedSaves += 1;
          this.lastFailure = undefined;
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
          this.lastFailure = failure;
          this.rewriteNext = true;
          this.options.onSaveError(failure);
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
  private async append(file: string, changes: readonly LoggedChange[]): Promise<void> {
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
    if (this.retryTimer !== undefined || this.store.closed()) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // A failure is reported through onSaveError and retried from there.
      this.durable(this.store.revision()).catch(() => undefined);
    }, this.options.retryDelayMs);
    this.retryTimer.unref();
  }

  private clearRetryTimer(): void {
    if (this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private serialize(): string {
    const objects = [...this.store.byKind.entries()]
      .sort(([a], [b]) => compare(a, b))
      .flatMap(([, objects]) => [...objects.values()].sort(byNamespaceAndName));
    const data: StoreFile = {
      format: FILE_FORMAT,
      resourceVersion: String(this.store.revision()),
      objects,
    };
    return `${JSON.stringify(data, null, 1)}\n`;
  }
}

function parseStoreFile(file: string, text: string): LoadedState {
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
    const where = `${o.kind} ${keyOf(o)}`;
    if (typeof uid !== 'string' || uid === '') throw corrupt(`${where} has no uid`);
    if (typeof rv !== 'string' || !/^\d+$/.test(rv) || Number(rv) > revision) {
      throw corrupt(`${where} has resourceVersion "${String(rv)}"`);
    }
    if (typeof generation !== 'number') throw corrupt(`${where} has no generation`);
    const key = kindKeyOf(o);
    if (seen.has(key) || seen.has(uid)) throw corrupt(`${where} appears twice`);
    seen.add(key).add(uid);
    result.push(o);
  }
  return { objects: result, revision };
}

export const logFileOf = (file: string): string => `${file}.log`;

/** An object's identity across kinds: `<kind>/<namespace>/<name>`. */
const kindKeyOf = (o: KubeObject): string => `${o.kind}/${keyOf(o)}`;

/**
 * The state after the log's changes newer than `base`. Lines after the last whole change that are not
 * changes are the torn end of a save that never finished (and so was never answered); a bad line with
 * whole changes after it is corruption.
 */
function replayLog(log: string, text: string, base: LoadedState): LoadedState {
  const corrupt = (line: number, reason: string): Error =>
    new Error(
      `The embedded store log ${log} is corrupt (line ${line}: ${reason}); move it aside to start from the file alone`,
    );
  const objects = new Map(base.objects.map((o) => [kindKeyOf(o), o]));
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
    const key = kindKeyOf(change.object);
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
