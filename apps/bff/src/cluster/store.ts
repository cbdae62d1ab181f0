/**
 * The cluster store seam: the raw Kubernetes API operations Governor uses, implemented by a real API
 * server (`KubernetesStore`, through @kubernetes/client-node) and by the embedded store (`EmbeddedStore`,
 * same semantics, in-process, persisted to a file). Informers, the work queue and the reconcilers are
 * written once against this interface.
 *
 * Semantics both implementations keep (Kubernetes API conventions):
 * - `resourceVersion` is opaque: compare for equality only. Every write returns the object as stored.
 * - `update` and `updateStatus` with a `metadata.resourceVersion` that is not the stored one fail with
 *   {@link ConflictError} (409); without one they write unconditionally.
 * - For kinds with a status subresource (`hasStatus`), `create`/`update`/`apply` ignore `status` and
 *   `updateStatus` changes only `status`. `metadata.generation` starts at 1 and grows when `spec` changes.
 * - `apply` is server-side apply with a field manager: it creates the object or sets the fields it is given
 *   (spec as a whole, the labels and annotations given, ownerReferences), without a resourceVersion.
 * - `watch` delivers every change after `resourceVersion`, in order. A resourceVersion too old to resume
 *   from ends the watch with {@link GoneError} (410): the caller relists.
 * - Deleting an object deletes the objects whose ownerReferences name its uid (no finalizers).
 */

/** Where a kind lives in the API, and whether it has a status subresource. */
export interface KindInfo {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly hasStatus: boolean;
  /** Objects of the kind have no namespace (Namespace, for one); default: namespaced. */
  readonly clusterScoped?: boolean;
}

/** Whether a known kind's objects have no namespace. */
export const isClusterScoped = (kind: Kind): boolean => kindInfo(kind).clusterScoped === true;

/** API coordinates of the kinds every part of Governor reads and writes; modules register their own. */
export const CORE_KINDS = {
  SmartLimiter: {
    group: 'microservice.slime.io',
    version: 'v1alpha2',
    plural: 'smartlimiters',
    hasStatus: true,
  },
  EnvoyFilter: {
    group: 'networking.istio.io',
    version: 'v1alpha3',
    plural: 'envoyfilters',
    hasStatus: false,
  },
  DestinationRule: {
    group: 'networking.istio.io',
    version: 'v1beta1',
    plural: 'destinationrules',
    hasStatus: false,
  },
  ServiceEntry: {
    group: 'networking.istio.io',
    version: 'v1beta1',
    plural: 'serviceentries',
    hasStatus: false,
  },
  WorkloadEntry: {
    group: 'networking.istio.io',
    version: 'v1beta1',
    plural: 'workloadentries',
    hasStatus: false,
  },
  VirtualService: {
    group: 'networking.istio.io',
    version: 'v1beta1',
    plural: 'virtualservices',
    hasStatus: false,
  },
  Gateway: { group: 'networking.istio.io', version: 'v1beta1', plural: 'gateways', hasStatus: false },
  Service: { group: '', version: 'v1', plural: 'services', hasStatus: true },
  Pod: { group: '', version: 'v1', plural: 'pods', hasStatus: true },
  Namespace: { group: '', version: 'v1', plural: 'namespaces', hasStatus: true, clusterScoped: true },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', hasStatus: false },
  Event: { group: '', version: 'v1', plural: 'events', hasStatus: false },
  // Slime's module configuration, read as Governor's (server/slimeboot-modules.ts); known to every store, so
  // that an embedded store file holding one opens in any process.
  SlimeBoot: { group: 'config.netease.com', version: 'v1alpha1', plural: 'slimeboots', hasStatus: false },
} as const satisfies Record<string, KindInfo>;

/** A kind's name: a core kind, or one a module registered (see {@link registerKind}). */
export type Kind = keyof typeof CORE_KINDS | (string & Record<never, never>);

const kinds = new Map<string, KindInfo>(Object.entries(CORE_KINDS));

/**
 * Teaches the stores a module's kind. The same kind registered again with the same coordinates is fine;
 * other coordinates for a known kind are a programming error.
 */
export function registerKind(kind: string, info: KindInfo): void {
  const known = kinds.get(kind);
  if (known && JSON.stringify(known) !== JSON.stringify(info))
    throw new Error(`kind ${kind} is registered already with other coordinates`);
  kinds.set(kind, info);
}

export const isKnownKind = (kind: unknown): kind is Kind => typeof kind === 'string' && kinds.has(kind);

/** A known kind's coordinates; throws for a kind no one registered. */
export function kindInfo(kind: Kind): KindInfo {
  const info = kinds.get(kind);
  if (!info) throw new Error(`unknown kind "${kind}"`);
  return info;
}

export const apiVersionOf = (kind: Kind): string => {
  const { group, version } = kindInfo(kind);
  return group === '' ? version : `${group}/${version}`;
};

export interface ObjectMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
  [key: string]: unknown;
}

/** Any Kubernetes object, as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMetadata;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: KubeObject;
}

export interface ListResult {
  readonly items: KubeObject[];
  /** The list's resourceVersion: watch from here to miss nothing. */
  readonly resourceVersion: string;
}

export interface WatchHandle {
  /** Ends the watch; no event is delivered after it returns. */
  stop(): void;
}

export interface WatchOptions {
  readonly namespace?: string;
  readonly resourceVersion: string;
  /** Every change after resourceVersion, in order. */
  readonly onEvent: (event: WatchEvent) => void;
  /**
   * The watch ended: a {@link GoneError} (resourceVersion too old: relist), a connection loss, or the
   * server closing it (`undefined`: resume from the last resourceVersion seen). Called at most once.
   */
  readonly onEnd: (error: Error | undefined) => void;
}

export interface ApplyOptions {
  readonly fieldManager: string;
  /** Take over fields another manager owns (a controller re-asserting what it renders). */
  readonly force?: boolean;
}

export interface DeleteOptions {
  /** Delete only while the object still has this resourceVersion; otherwise {@link ConflictError}. */
  readonly resourceVersion?: string;
}

export interface ClusterStore {
  /** A short description for health reports: `embedded (/path/store.json)` or `kubernetes (context)`. */
  readonly description: string;
  /** Why writes are refused now (the embedded store's last save to disk failed); null when they are not. */
  writeFailure?(): string | null;
  /** Objects of a kind, in one namespace or all. */
  list(kind: Kind, namespace?: string): Promise<ListResult>;
  /** The object, or null when it does not exist. */
  get(kind: Kind, namespace: string, name: string): Promise<KubeObject | null>;
  watch(kind: Kind, options: WatchOptions): WatchHandle;
  /** Fails with {@link AlreadyExistsError} when it exists. */
  create(object: KubeObject): Promise<KubeObject>;
  /** Replaces the object (not its status where there is a status subresource). {@link NotFoundError}, {@link ConflictError}. */
  update(object: KubeObject): Promise<KubeObject>;
  apply(object: KubeObject, options: ApplyOptions): Promise<KubeObject>;
  /** Writes `status` only. {@link NotFoundError}, {@link ConflictError}. */
  updateStatus(object: KubeObject): Promise<KubeObject>;
  /** Resolves false when there was nothing to delete. */
  delete(kind: Kind, namespace: string, name: string, options?: DeleteOptions): Promise<boolean>;
  close(): Promise<void>;
}

/** An API error with its HTTP status, as Kubernetes reports them. */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** The error class of one status and reason, so that callers tell them apart with `instanceof`. */
const errorOf = (status: number, reason: string) =>
  class extends StoreError {
    constructor(message: string) {
      super(message, status, reason);
    }
  };
export class NotFoundError extends errorOf(404, 'NotFound') {}
export class AlreadyExistsError extends errorOf(409, 'AlreadyExists') {}
export class ConflictError extends errorOf(409, 'Conflict') {}
export class GoneError extends errorOf(410, 'Expired') {}
export class InvalidError extends errorOf(422, 'Invalid') {}

export const keyOf = (o: { metadata: { namespace?: string | undefined; name: string } }): string =>
  `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
