/**
 * Snapshots of the cluster for plans: one over the informers' caches (the control plane) and one over
 * objects in memory (the CLI, previews). Parsing is cached per object version: informers replace an object
 * when it changes, so an object seen again is the same version.
 */
import type { z } from 'zod';
import type { Informer } from '../cluster/informer';
import { isClusterScoped, isKnownKind, type Kind, type KubeObject } from '../cluster/store';
import type { Snapshot } from './module';

const parsedCache = new WeakMap<object, WeakMap<object, unknown>>();

/** Parses a cached object once per version and schema; null when it does not pass. */
export function parseCached<T>(schema: z.ZodType<T>, object: KubeObject): T | null {
  let bySchema = parsedCache.get(object);
  if (!bySchema) parsedCache.set(object, (bySchema = new WeakMap()));
  if (bySchema.has(schema)) return bySchema.get(schema) as T | null;
  const r = schema.safeParse(object);
  const value = r.success ? r.data : null;
  bySchema.set(schema, value);
  return value;
}

function parsedOf<T>(objects: readonly KubeObject[], schema: z.ZodType<T>): T[] {
  const out: T[] = [];
  for (const o of objects) {
    const v = parseCached(schema, o);
    if (v !== null) out.push(v);
  }
  return out;
}

/** The informers' caches as a snapshot; a kind without an informer reads as empty. */
export function informerSnapshot(informers: ReadonlyMap<Kind, Informer>): Snapshot {
  const list = (kind: Kind, namespace?: string) => informers.get(kind)?.list(namespace) ?? [];
  return {
    list,
    get: (kind, namespace, name) => informers.get(kind)?.get(namespace, name),
    parsed: (kind, schema, namespace) => parsedOf(list(kind, namespace), schema),
  };
}

/** Objects in memory as a snapshot. */
export function staticSnapshot(objects: readonly KubeObject[]): Snapshot {
  const byKind = new Map<string, KubeObject[]>();
  for (const o of objects) {
    const list = byKind.get(o.kind) ?? [];
    list.push(o);
    byKind.set(o.kind, list);
  }
  const scoped = (kind: string) => isKnownKind(kind) && isClusterScoped(kind);
  // A cluster-scoped object's namespace is '', as in the informers' caches.
  const nsOf = (o: KubeObject) => (scoped(o.kind) ? '' : (o.metadata.namespace ?? 'default'));
  const list = (kind: Kind, namespace?: string) =>
    (byKind.get(kind) ?? []).filter((o) => namespace === undefined || scoped(kind) || nsOf(o) === namespace);
  return {
    list,
    get: (kind, namespace, name) =>
      byKind.get(kind)?.find((o) => nsOf(o) === namespace && o.metadata.name === name),
    parsed: (kind, schema, namespace) => parsedOf(list(kind, namespace), schema),
  };
}
