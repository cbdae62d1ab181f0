/**
 * Every write the framework makes for modules, in one place: server-side apply of owned objects (only when
 * they differ from what the informer holds), deletes, status writes (only when the status changed) and
 * Events. Each write is counted per module and kind.
 */
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

/** Whether `o` is owned (through a controller reference) by the module's object `name`. */
export const isOwnedBy = (module: Module, o: KubeObject, name: string): boolean =>
  (o.metadata.ownerReferences ?? []).some(
    (r) => r.kind === module.kind && r.controller === true && r.name === name,
  );

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

/** Whether the cluster's copy already is what a module wants (owner included). */
export function upToDate(module: Module, existing: KubeObject, wanted: KubeObject): boolean {
  const owner = wanted.metadata.ownerReferences?.[0];
  const owned = (existing.metadata.ownerReferences ?? []).some(
    (r) => r.kind === owner?.kind && r.controller === true && r.uid === owner.uid,
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
