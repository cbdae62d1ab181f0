/**
 * Every write the framework makes for modules, in one place: server-side apply of owned objects (only when
 * they differ from what the informer holds), deletes, status writes (only when the status changed) and
 * Events. Each write is counted per module and kind.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json';
import { NotFoundError, apiVersionOf, type ClusterStore, type Kind, type KubeObject } from '../cluster/store';
import type { ControllerMetrics } from './controller-metrics';
import type { Module, ModuleEvent } from './module';

export const FIELD_MANAGER = 'governor';

type OwnerReference = NonNullable<KubeObject['metadata']['ownerReferences']>[number];

export const ownerReferenceTo = (module: Module, owner: KubeObject): OwnerReference => ({
  apiVersion: module.apiVersion,
  kind: module.kind,
  name: owner.metadata.name,
  uid: owner.metadata.uid ?? '',
  controller: true,
  blockOwnerDeletion: true,
});

/**
 * Ownership across namespaces. An ownerReference names an owner in the dependent's own namespace (the
 * cluster's garbage collector deletes a dependent whose reference points elsewhere), so an owned object in
 * another namespace than its owner's carries these marks instead, and the framework does itself what the
 * references give: finding what an owner owns, drift repair, garbage collection, deletion with the owner.
 *
 * Label values are at most 63 characters: kinds and namespaces (DNS labels) always fit, an object name (up
 * to 253) does not, so the labels carry a hash of the name, to select by (`kubectl get -A -l ...`), and the
 * annotations the name itself and the owner's uid. The annotation name is what identifies the owner.
 */
export const OWNER_KIND_LABEL = 'governor.io/owner-kind';
export const OWNER_NAMESPACE_LABEL = 'governor.io/owner-namespace';
export const OWNER_NAME_HASH_LABEL = 'governor.io/owner-name-hash';
export const OWNER_NAME_ANNOTATION = 'governor.io/owner-name';
export const OWNER_UID_ANNOTATION = 'governor.io/owner-uid';

/** The label value for an owner's name: 40 hex digits of its SHA-256. */
export const ownerNameHash = (name: string): string =>
  createHash('sha256').update(name).digest('hex').slice(0, 40);

/** The labels and annotations that mark an object in another namespace as owned by `owner`. */
export function ownerMarks(
  module: Module,
  owner: KubeObject,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const { name, namespace = 'default', uid = '' } = owner.metadata;
  return {
    labels: {
      [OWNER_KIND_LABEL]: module.kind,
      [OWNER_NAMESPACE_LABEL]: namespace,
      [OWNER_NAME_HASH_LABEL]: ownerNameHash(name),
    },
    annotations: { [OWNER_NAME_ANNOTATION]: name, [OWNER_UID_ANNOTATION]: uid },
  };
}

/**
 * The `namespace/name` of the module's object that owns `o` through the marks, when `o` is in another
 * namespace than that owner (marks in the owner's own namespace mean nothing: there the reference rules).
 */
export function markedOwnerKey(module: Module, o: KubeObject): string | undefined {
  const labels = o.metadata.labels ?? {};
  const namespace = labels[OWNER_NAMESPACE_LABEL];
  const name = o.metadata.annotations?.[OWNER_NAME_ANNOTATION];
  if (labels[OWNER_KIND_LABEL] !== module.kind || !namespace || !name) return undefined;
  if (namespace === (o.metadata.namespace ?? 'default')) return undefined;
  return `${namespace}/${name}`;
}

/**
 * Whether `o` is owned by the module's object `name` (in `ownerNamespace`): in the owner's namespace
 * through a controller reference, in another through the marks. Without `ownerNamespace`, `o` is taken to
 * be in its owner's namespace.
 */
export const isOwnedBy = (module: Module, o: KubeObject, name: string, ownerNamespace?: string): boolean =>
  ownerNamespace === undefined || (o.metadata.namespace ?? 'default') === ownerNamespace
    ? (o.metadata.ownerReferences ?? []).some(
        (r) => r.kind === module.kind && r.controller === true && r.name === name,
      )
    : markedOwnerKey(module, o) === `${ownerNamespace}/${name}`;

/**
 * A desired object as the framework writes it: in the owner's namespace unless the plan names another,
 * with a controller reference to the owner there, and with the marks (and no reference) elsewhere. The
 * marks are set last, so a module's own labels cannot override them.
 */
export function ownedObject(module: Module, owner: KubeObject, desired: KubeObject): KubeObject {
  const ownerNamespace = owner.metadata.namespace ?? 'default';
  const namespace = desired.metadata.namespace ?? ownerNamespace;
  if (namespace === ownerNamespace)
    return {
      ...desired,
      metadata: { ...desired.metadata, namespace, ownerReferences: [ownerReferenceTo(module, owner)] },
    };
  const { ownerReferences: _references, ...metadata } = desired.metadata;
  const marks = ownerMarks(module, owner);
  return {
    ...desired,
    metadata: {
      ...metadata,
      namespace,
      labels: { ...metadata.labels, ...marks.labels },
      annotations: { ...metadata.annotations, ...marks.annotations },
    },
  };
}

/** Everything but the envelope: the fields a module wants, compared with what the cluster has. */
function body(o: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = o;
  return rest;
}

function subset(
  wanted: Record<string, string> | undefined,
  actual: Record<string, string> | undefined,
  alsoAbsent: readonly string[] = [],
): boolean {
  for (const [k, v] of Object.entries(wanted ?? {})) if (actual?.[k] !== v) return false;
  for (const k of alsoAbsent) if (wanted?.[k] === undefined && actual?.[k] !== undefined) return false;
  return true;
}

/**
 * Whether the cluster's copy already is what a module wants (owner included: the controller reference, or
 * for an object in another namespace the marks, which are among the labels and annotations compared).
 */
export function upToDate(module: Module, existing: KubeObject, wanted: KubeObject): boolean {
  const owner = wanted.metadata.ownerReferences?.[0];
  const owned =
    owner === undefined
      ? wanted.metadata.labels?.[OWNER_KIND_LABEL] !== undefined
      : (existing.metadata.ownerReferences ?? []).some(
          (r) => r.kind === owner.kind && r.controller === true && r.uid === owner.uid,
        );
  return (
    owned &&
    subset(wanted.metadata.labels, existing.metadata.labels, module.ownedLabelKeys) &&
    subset(wanted.metadata.annotations, existing.metadata.annotations) &&
    canonicalJson(body(existing)) === canonicalJson(body(wanted))
  );
}

export class ObjectWriter {
  constructor(
    private readonly store: ClusterStore,
    private readonly metrics?: ControllerMetrics,
  ) {}

  /** Applies `wanted` unless `existing` already matches it. Returns the object as stored when it wrote. */
  async apply(
    module: Module,
    wanted: KubeObject,
    existing: KubeObject | undefined,
  ): Promise<KubeObject | null> {
    if (existing && upToDate(module, existing, wanted)) return null;
    const stored = await this.store.apply(wanted, { fieldManager: FIELD_MANAGER, force: true });
    this.metrics?.countWrite(module.name, wanted.kind, 'apply');
    return stored;
  }

  /** Deletes an owned object; one already gone is fine. */
  async delete(module: Module, o: KubeObject): Promise<void> {
    const { namespace = 'default', name, resourceVersion } = o.metadata;
    try {
      await this.store.delete(
        o.kind as Kind,
        namespace,
        name,
        resourceVersion ? { resourceVersion } : undefined,
      );
      this.metrics?.countWrite(module.name, o.kind, 'delete');
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  /**
   * Writes the status only when it changed; a conflict throws, to be retried from the newer object. Returns
   * the object as stored when it wrote.
   */
  async writeStatus(
    module: Module,
    raw: KubeObject,
    status: Record<string, unknown>,
  ): Promise<KubeObject | null> {
    if (canonicalJson(raw.status ?? {}) === canonicalJson(status)) return null;
    try {
      const stored = await this.store.updateStatus({
        apiVersion: module.apiVersion,
        kind: module.kind,
        metadata: {
          name: raw.metadata.name,
          namespace: raw.metadata.namespace ?? 'default',
          ...(raw.metadata.resourceVersion ? { resourceVersion: raw.metadata.resourceVersion } : {}),
        },
        status,
      });
      this.metrics?.countWrite(module.name, module.kind, 'status');
      return stored;
    } catch (e) {
      // Deleted meanwhile: nothing to report.
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /** A Kubernetes Event about a module's object. */
  async recordEvent(module: Module, involved: KubeObject, e: ModuleEvent, now: Date): Promise<void> {
    const { name, namespace = 'default', uid } = involved.metadata;
    const at = now.toISOString();
    await this.store.create({
      apiVersion: apiVersionOf('Event'),
      kind: 'Event',
      metadata: {
        name: `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
        namespace,
      },
      involvedObject: {
        apiVersion: module.apiVersion,
        kind: module.kind,
        name,
        namespace,
        ...(uid ? { uid } : {}),
      },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: 'governor' },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    });
    this.metrics?.countWrite(module.name, 'Event', 'event');
  }
}
