/**
 * Plain-JSON requests to a Kubernetes API server over @kubernetes/client-node's transport (its KubeConfig
 * authentication, TLS and middleware), answering with the server's JSON as it is.
 *
 * `KubernetesObjectApi`'s own create/replace/patch/read/list run every body and answer through the
 * library's generated models: fields the models do not know (newer than the library, or keys such as a
 * CRD schema's `x-kubernetes-preserve-unknown-fields` given in their JSON spelling) are dropped without a
 * word, and timestamps become `Date`s. A store that hands objects back to the server must not lose
 * fields, so this class keeps that transport and skips the models.
 */
import {
  HttpMethod,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  type ResponseContext,
} from '@kubernetes/client-node';
import {
  AlreadyExistsError,
  ConflictError,
  GoneError,
  InvalidError,
  NotFoundError,
  StoreError,
  type Kind,
  isKnownKind,
  kindInfo,
} from './store';

export interface JsonRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. `/apis/networking.istio.io/v1alpha3/namespaces/default/envoyfilters`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** Default `application/json`; patches name their kind (`application/apply-patch+yaml`, ...). */
  readonly contentType?: string;
}

interface DiscoveredResources {
  readonly resources: readonly {
    readonly name: string;
    readonly kind: string;
    readonly namespaced: boolean;
  }[];
}

/** Where a kind's objects live. */
export interface ResourceLocation {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export class KubernetesJsonApi extends KubernetesObjectApi {
  static fromKubeConfig(kc: KubeConfig): KubernetesJsonApi {
    return kc.makeApiClient(KubernetesJsonApi);
  }

  /** Sends one request. Non-2xx answers reject with the {@link StoreError} for their status. */
  async send<T>(request: JsonRequest): Promise<T> {
    const context = this.configuration.baseServer.makeRequestContext(
      request.path,
      HttpMethod[request.method],
    );
    context.setHeaderParam('Accept', 'application/json');
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) context.setQueryParam(name, String(value));
    }
    if (request.body !== undefined) {
      context.setHeaderParam('Content-Type', request.contentType ?? 'application/json');
      context.setBody(JSON.stringify(request.body));
    }
    // requestPromise applies the KubeConfig's authentication and TLS settings, then processResponse below.
    return (await this.requestPromise(context)) as unknown as T;
  }

  /**
   * The path of a collection or of one object: Governor's kinds from {@link kindInfo}, any other kind through
   * the server's discovery document (cached per apiVersion).
   */
  async pathOf(target: {
    apiVersion: string;
    kind: string;
    namespace?: string | undefined;
    name?: string | undefined;
  }): Promise<string> {
    const location = await this.locate(target.apiVersion, target.kind);
    return resourcePath(location, target.namespace, target.name);
  }

  async locate(apiVersion: string, kind: string): Promise<ResourceLocation> {
    const known = knownKind(apiVersion, kind);
    if (known !== undefined)
      return { ...kindInfo(known), namespaced: kindInfo(known).clusterScoped !== true };
    const [group = '', version = ''] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const find = (list: DiscoveredResources | undefined) =>
      // Subresources (`deployments/status`) carry their parent's kind: skip them.
      list?.resources.find((r) => r.kind === kind && !r.name.includes('/'));
    let resource = find(this.discovered.get(apiVersion));
    if (resource === undefined) {
      // Fetched again when the kind is missing: a CRD may have been installed since.
      const list = await this.send<DiscoveredResources>({
        method: 'GET',
        path: group === '' ? `/api/${version}` : `/apis/${group}/${version}`,
      });
      this.discovered.set(apiVersion, list);
      resource = find(list);
    }
    if (resource === undefined) throw new NotFoundError(`the server serves no ${kind} in ${apiVersion}`);
    return { group, version, plural: resource.name, namespaced: resource.namespaced };
  }

  private readonly discovered = new Map<string, DiscoveredResources>();

  /** The server's JSON as it is; a Status for every failure. */
  protected override async processResponse<T extends KubernetesObject>(
    response: ResponseContext,
  ): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      return (text === '' ? {} : JSON.parse(text)) as T;
    }
    throw errorFromStatus(response.httpStatusCode, parseStatus(text));
  }
}

/** The API path of a collection (no name) or of one object. */
export function resourcePath(location: ResourceLocation, namespace?: string, name?: string): string {
  const parts = [
    location.group === '' ? `/api/${location.version}` : `/apis/${location.group}/${location.version}`,
  ];
  if (location.namespaced && namespace !== undefined) parts.push('namespaces', encodeURIComponent(namespace));
  parts.push(location.plural);
  if (name !== undefined) parts.push(encodeURIComponent(name));
  return parts.join('/');
}

function knownKind(apiVersion: string, kind: string): Kind | undefined {
  if (!isKnownKind(kind)) return undefined;
  const k = kind as Kind;
  const { group, version } = kindInfo(k);
  return apiVersion === (group === '' ? version : `${group}/${version}`) ? k : undefined;
}

/** What the server says about a failure (`kind: Status`), as far as the answer has one. */
export interface ApiStatus {
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

function parseStatus(text: string): ApiStatus {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const { message, reason, code } = parsed as Record<string, unknown>;
      return {
        ...(typeof message === 'string' ? { message } : {}),
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof code === 'number' ? { code } : {}),
      };
    }
  } catch {
    // Not JSON (a proxy's error page, say): the text itself is the message.
  }
  return text.trim() === '' ? {} : { message: text.trim().slice(0, 500) };
}

/**
 * The store error for an HTTP status, as the API conventions define them. 409 is two errors: the Status
 * `reason` tells "already exists" (create) from "the object has been modified" (a stale resourceVersion).
 */
export function errorFromStatus(httpStatus: number, status: ApiStatus): StoreError {
  const message = status.message ?? `HTTP ${httpStatus}`;
  switch (httpStatus) {
    case 404:
      return new NotFoundError(message);
    case 409:
      return status.reason === 'AlreadyExists' ? new AlreadyExistsError(message) : new ConflictError(message);
    case 410:
      return new GoneError(message);
    case 422:
      return new InvalidError(message);
    default:
      return new StoreError(message, httpStatus, status.reason ?? 'Unknown');
  }
}
