/**
 * The cluster store over a real Kubernetes API server, through @kubernetes/client-node: its KubeConfig
 * (authentication, TLS), its request transport and its `Watch`. Objects go to and come from the server as
 * plain JSON (see {@link KubernetesJsonApi}); the paths come from {@link kindInfo}.
 */
import { KubeConfig, PatchStrategy, Watch } from '@kubernetes/client-node';
import { KubernetesJsonApi, errorFromStatus, resourcePath, type ApiStatus } from './kubernetes-json-api';
import {
  ConflictError,
  InvalidError,
  NotFoundError,
  apiVersionOf,
  type ApplyOptions,
  type ClusterStore,
  type DeleteOptions,
  type Kind,
  type KubeObject,
  type ListResult,
  type WatchEventType,
  type WatchHandle,
  type WatchOptions,
  isKnownKind,
  isClusterScoped,
  kindInfo,
} from './store';

export interface KubernetesStoreEnvironment {
  /** A context of the kubeconfig other than its current one. */
  readonly context?: string;
}

/** Objects per list request; the pages of one list share its resourceVersion. */
const LIST_PAGE_SIZE = 500;
/**
 * The server ends each watch request after this long. The client aborts a watch that is silent for 30 s,
 * so the server must close first; with `allowWatchBookmarks` it sends a bookmark 2 s before it does, which
 * keeps the resourceVersion to resume from fresh on a kind that does not change.
 */
const WATCH_TIMEOUT_SECONDS = 25;
/** A write without a resourceVersion is unconditional: it is retried this often on a conflict. */
const UNCONDITIONAL_ATTEMPTS = 5;

export class KubernetesStore implements ClusterStore {
  readonly description: string;
  /** The API server's JSON API, for calls beyond the store's kinds (Governor's own Secret). */
  readonly api: KubernetesJsonApi;
  private readonly watcher: Watch;
  private readonly watches = new Set<WatchHandle>();
  private closed = false;

  private constructor(kc: KubeConfig) {
    this.description = `kubernetes (${kc.getCurrentContext()})`;
    this.api = KubernetesJsonApi.fromKubeConfig(kc);
    this.watcher = new Watch(kc);
  }

  static fromKubeConfig(kc: KubeConfig): KubernetesStore {
    if (kc.getCurrentCluster() === null) {
      throw new Error(`the kubeconfig's context "${kc.getCurrentContext()}" names no cluster`);
    }
    return new KubernetesStore(kc);
  }

  /** The cluster KUBECONFIG names (else ~/.kube/config, else the Pod's service account), in its current or the given context. */
  static fromEnvironment({ context }: KubernetesStoreEnvironment = {}): KubernetesStore {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    if (context !== undefined) {
      if (kc.getContextObject(context) === null) {
        const known = kc.getContexts().map((c) => c.name);
        throw new Error(`the kubeconfig has no context "${context}" (it has: ${known.join(', ') || 'none'})`);
      }
      kc.setCurrentContext(context);
    }
    return KubernetesStore.fromKubeConfig(kc);
  }

  async list(kind: Kind, namespace?: string): Promise<ListResult> {
    this.assertOpen();
    const items: KubeObject[] = [];
    let resourceVersion: string | undefined;
    let continueToken: string | undefined;
    do {
      const page = await this.api.send<KubeList>({
        method: 'GET',
        path: collectionPath(kind, namespace),
        query: { limit: LIST_PAGE_SIZE, continue: continueToken },
      });
      // Every page of one list is read at the first page's resourceVersion.
      resourceVersion ??= page.metadata?.resourceVersion;
      for (const item of page.items ?? []) items.push(withType(kind, item));
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    return { items, resourceVersion: resourceVersion ?? '' };
  }

  async get(kind: Kind, namespace: string, name: string): Promise<KubeObject | null> {
    this.assertOpen();
    try {
      return withType(
        kind,
        await this.api.send<KubeObject>({ method: 'GET', path: objectPath(kind, namespace, name) }),
      );
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  async create(object: KubeObject): Promise<KubeObject> {
    this.assertOpen();
    const { kind, namespace } = target(object);
    const created = await this.api.send<KubeObject>({
      method: 'POST',
      path: collectionPath(kind, namespace),
      body: object,
    });
    return withType(kind, created);
  }

  async update(object: KubeObject): Promise<KubeObject> {
    this.assertOpen();
    return this.replace(object, '');
  }

  async updateStatus(object: KubeObject): Promise<KubeObject> {
    this.assertOpen();
    return this.replace(object, '/status');
  }

  async apply(object: KubeObject, { fieldManager, force }: ApplyOptions): Promise<KubeObject> {
    this.assertOpen();
    const { kind, namespace, name } = target(object);
    // managedFields may not be sent with an apply; status is not the main resource's to set.
    const { managedFields: _managedFields, ...metadata } = object.metadata;
    const { status: _status, ...withoutStatus } = object;
    const body = { ...(kindInfo(kind).hasStatus ? withoutStatus : object), metadata };
    const applied = await this.api.send<KubeObject>({
      method: 'PATCH',
      path: objectPath(kind, namespace, name),
      query: { fieldManager, force },
      body,
      contentType: PatchStrategy.ServerSideApply,
    });
    return withType(kind, applied);
  }

  async delete(kind: Kind, namespace: string, name: string, options: DeleteOptions = {}): Promise<boolean> {
    this.assertOpen();
    try {
      await this.api.send({
        method: 'DELETE',
        path: objectPath(kind, namespace, name),
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: 'Background',
          ...(options.resourceVersion !== undefined
            ? { preconditions: { resourceVersion: options.resourceVersion } }
            : {}),
        },
      });
      return true;
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
  }

  watch(kind: Kind, options: WatchOptions): WatchHandle {
    this.assertOpen();
    const handle = new KubernetesWatch(this.watcher, kind, options, () => this.watches.delete(handle));
    this.watches.add(handle);
    handle.start();
    return handle;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const handle of [...this.watches]) handle.stop();
  }

  /**
   * PUT to the object or its `/status`. With a resourceVersion the server checks it (a stale one is a
   * {@link ConflictError}); without one the write is unconditional, which the server refuses for custom
   * resources, so the current resourceVersion is read and the write retried if the object moves meanwhile.
   */
  private async replace(object: KubeObject, subresource: '' | '/status'): Promise<KubeObject> {
    const { kind, namespace, name } = target(object);
    const path = objectPath(kind, namespace, name) + subresource;
    const put = async (body: KubeObject) =>
      withType(kind, await this.api.send<KubeObject>({ method: 'PUT', path, body }));
    if (object.metadata.resourceVersion !== undefined) return put(object);
    for (let attempt = 1; ; attempt++) {
      const current = await this.api.send<KubeObject>({
        method: 'GET',
        path: objectPath(kind, namespace, name),
      });
      try {
        return await put({
          ...object,
          metadata: { ...object.metadata, resourceVersion: current.metadata.resourceVersion },
        });
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= UNCONDITIONAL_ATTEMPTS) throw error;
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.description} is closed`);
  }
}

/** One `store.watch`: a chain of watch requests, each resuming where the previous one ended. */
class KubernetesWatch implements WatchHandle {
  private stopped = false;
  private ended = false;
  private resourceVersion: string;
  /** The request under way; its AbortController arrives once the server has answered. */
  private current: { abort?: AbortController } = {};

  constructor(
    private readonly watcher: Watch,
    private readonly kind: Kind,
    private readonly options: WatchOptions,
    private readonly onStopped: () => void,
  ) {
    this.resourceVersion = options.resourceVersion;
  }

  start(): void {
    const startedAt = Date.now();
    let delivered = false;
    const mine: { abort?: AbortController } = {};
    this.current = mine;
    const request = this.watcher.watch(
      collectionPath(this.kind, this.options.namespace),
      {
        // An empty resourceVersion would mean "replay every object as ADDED": leave it out instead.
        resourceVersion: this.resourceVersion === '' ? undefined : this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: WATCH_TIMEOUT_SECONDS,
      },
      (type: string, object: unknown) => {
        if (this.stopped || this.ended) return;
        delivered = true;
        this.receive(type, object);
      },
      (error: unknown) => {
        if (this.stopped || this.ended) return;
        if (error !== null && error !== undefined) {
          this.end(watchError(error));
        } else if (delivered || Date.now() - startedAt >= 1_000) {
          // The server ended this request (its timeout, or a graceful shutdown): resume from the last
          // resourceVersion seen, bookmarks included. A dead server fails the next request instead.
          this.start();
        } else {
          // Closed at once with nothing said: let the caller decide rather than spin here.
          this.end(undefined);
        }
      },
    );
    request.then(
      (abort) => {
        if (this.stopped || this.ended || this.current !== mine) abort.abort();
        else mine.abort = abort;
      },
      (error: unknown) => {
        if (!this.stopped) this.end(watchError(error));
      },
    );
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.current.abort?.abort();
    this.onStopped();
  }

  private receive(type: string, object: unknown): void {
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const event = { type: type as WatchEventType, object: withType(this.kind, object as KubeObject) };
        this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
        this.options.onEvent(event);
        return;
      }
      case 'BOOKMARK': {
        const rv = (object as Partial<KubeObject> | null)?.metadata?.resourceVersion;
        if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
        return;
      }
      case 'ERROR': {
        // The server reports a resourceVersion too old to resume from as an ERROR event carrying a
        // Status with code 410 (Expired), after answering the request itself with 200.
        const status = (object ?? {}) as ApiStatus;
        this.end(errorFromStatus(status.code ?? 500, status));
        return;
      }
      default:
        return;
    }
  }

  private end(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.current.abort?.abort();
    this.onStopped();
    this.options.onEnd(error);
  }
}

interface KubeList {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: KubeObject[];
}

// A cluster-scoped kind's path has no namespace, whatever namespace the caller scopes to.
function collectionPath(kind: Kind, namespace?: string): string {
  return resourcePath({ ...kindInfo(kind), namespaced: !isClusterScoped(kind) }, namespace);
}

function objectPath(kind: Kind, namespace: string, name: string): string {
  return resourcePath({ ...kindInfo(kind), namespaced: !isClusterScoped(kind) }, namespace, name);
}

/** The kind, namespace and name an object is written to; '' for a cluster-scoped kind. */
function target(object: KubeObject): { kind: Kind; namespace: string; name: string } {
  const kind = object.kind;
  if (!isKnownKind(kind) || apiVersionOf(kind as Kind) !== object.apiVersion) {
    throw new InvalidError(`${object.apiVersion} ${kind} is not a kind this store handles`);
  }
  const { namespace, name } = object.metadata;
  if (isClusterScoped(kind as Kind)) return { kind: kind as Kind, namespace: '', name };
  if (namespace === undefined || namespace === '') {
    throw new InvalidError(`${kind} ${name} has no metadata.namespace`);
  }
  return { kind: kind as Kind, namespace, name };
}

/** The server leaves apiVersion and kind out of a built-in list's items: put them back. */
function withType(kind: Kind, object: KubeObject): KubeObject {
  return { ...object, apiVersion: apiVersionOf(kind), kind };
}

/** A watch request that failed: an HTTP 410 becomes a GoneError, as a 410 Status event does. */
function watchError(error: unknown): Error {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number') return errorFromStatus(status, { message: `watch: HTTP ${status}` });
  return error instanceof Error ? error : new Error(String(error));
}
