/**
 * The pure parts of the policy fan-out: which clusters a source names, the copy a member cluster should
 * hold, and what to do about the object a member cluster holds now.
 */
import {
  CLUSTERS_ANNOTATION,
  FANOUT_GENERATION_ANNOTATION,
  FANOUT_SOURCE_LABEL,
  namedClusters,
} from '@governor/crd-types';
import type { KubeObject } from '../cluster/store';

export { CLUSTERS_ANNOTATION, FANOUT_GENERATION_ANNOTATION, FANOUT_SOURCE_LABEL };

/** Governor's policy kinds (those the modules register); the fan-out's default. */
export const DEFAULT_FANOUT_KINDS: readonly string[] = [
  'SmartLimiter',
  'ServiceFence',
  'PluginManager',
  'EnvoyPlugin',
  'MetaRouter',
];

export interface ClusterSelection {
  /** The clusters named (or all, for `*`) that the registry has, in the registry's order for `*`. */
  readonly clusters: readonly string[];
  /** Names that are not in the registry (yet): kept pending until a cluster of that name joins. */
  readonly unknown: readonly string[];
}

/**
 * Reads the clusters annotation against the registry's names. Blank entries are ignored, duplicates
 * collapse, and `*` anywhere in the list means every cluster.
 */
export function parseClusters(value: string | undefined, known: readonly string[]): ClusterSelection {
  if (value === undefined) return { clusters: [], unknown: [] };
  const { all, names } = namedClusters(value);
  if (all) return { clusters: [...known], unknown: [] };
  const knownSet = new Set(known);
  return {
    clusters: names.filter((n) => knownSet.has(n)),
    unknown: names.filter((n) => !knownSet.has(n)),
  };
}

const dropKey = (record: Record<string, string> | undefined, key: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record ?? {})) if (k !== key) out[k] = v;
  return out;
};

/**
 * The copy of `source` a member cluster should hold: same kind, namespace, name, spec, labels and
 * annotations, without the clusters annotation (a copy fans out nowhere), marked with the home cluster and
 * the source's generation. No status: the member's own control plane writes it.
 */
export function desiredCopy(source: KubeObject, home: string): KubeObject {
  const { metadata } = source;
  const copy: KubeObject = {
    apiVersion: source.apiVersion,
    kind: source.kind,
    metadata: {
      name: metadata.name,
      ...(metadata.namespace !== undefined ? { namespace: metadata.namespace } : {}),
      labels: { ...dropKey(metadata.labels, FANOUT_SOURCE_LABEL), [FANOUT_SOURCE_LABEL]: home },
      annotations: {
        ...dropKey(dropKey(metadata.annotations, CLUSTERS_ANNOTATION), FANOUT_GENERATION_ANNOTATION),
        [FANOUT_GENERATION_ANNOTATION]: String(metadata.generation ?? 0),
      },
    },
  };
  // Everything but the envelope and status is the object's content (spec, or data for kinds without one).
  for (const [k, v] of Object.entries(source))
    if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata' && k !== 'status')
      copy[k] = structuredClone(v);
  return copy;
}

/** The object is a copy made from `home`'s source. */
export const isCopyFrom = (o: KubeObject, home: string): boolean =>
  o.metadata.labels?.[FANOUT_SOURCE_LABEL] === home;

export type CopyAction =
  /** Nothing there: create it. */
  | 'create'
  /** Our copy, but it differs (the source changed, or someone edited the copy): replace it. */
  | 'update'
  /** Our copy, equal to the source. */
  | 'in-sync'
  /** Something that is not our copy holds the name: leave it alone. */
  | 'conflict';

/** What to do in a member cluster that should hold `desired` and holds `live`. */
export function copyAction(desired: KubeObject, live: KubeObject | null, home: string): CopyAction {
  if (live === null) return 'create';
  if (!isCopyFrom(live, home)) return 'conflict';
  return sameCopy(desired, live) ? 'in-sync' : 'update';
}

export type OrphanAction = 'delete' | 'none';

/** What to do in a member cluster that should hold no copy and holds `live`. */
export function orphanAction(live: KubeObject | null, home: string): OrphanAction {
  if (live === null) return 'none';
  // Someone else's object under the same name is not ours to delete, and it is no conflict either.
  return isCopyFrom(live, home) ? 'delete' : 'none';
}

/** The copy's content, labels and annotations equal the desired ones (server-set fields aside). */
export function sameCopy(desired: KubeObject, live: KubeObject): boolean {
  if (!jsonEqual(desired.metadata.labels ?? {}, live.metadata.labels ?? {})) return false;
  if (!jsonEqual(desired.metadata.annotations ?? {}, live.metadata.annotations ?? {})) return false;
  const keys = new Set([...Object.keys(desired), ...Object.keys(live)]);
  for (const k of keys) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata' || k === 'status') continue;
    if (!jsonEqual(desired[k], live[k])) return false;
  }
  return true;
}

/** Deep equality of JSON values, whatever the key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => jsonEqual(ra[k], rb[k]));
}

/** `status.conditions` of an object, as it carries them (empty when none). */
export function conditionsOf(o: KubeObject | null | undefined): readonly Record<string, unknown>[] {
  const conditions = (o?.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions) ? (conditions as Record<string, unknown>[]) : [];
}

/**
 * Why an object's status is not yet about its spec: its control plane wrote `status.observedGeneration`
 * for an earlier generation (its conditions are stale). Null when the status is current or says nothing.
 */
export function awaitingReconcile(o: KubeObject, cluster: string): string | null {
  const observed = (o.status as { observedGeneration?: unknown } | undefined)?.observedGeneration;
  const generation = o.metadata.generation;
  if (typeof observed !== 'number' || generation === undefined || observed >= generation) return null;
  return `${cluster}'s control plane has not reconciled generation ${generation} yet (its status is of generation ${observed})`;
}
