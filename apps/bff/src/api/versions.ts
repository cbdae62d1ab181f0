/** An object's versions as the audit log keeps them, for the routers that edit objects. */
import { stringify } from 'yaml';
import type { AuditView } from '../audit/audit-log';
import type { KubeObject } from '../cluster/store';
import { diffLines, isUnchanged, type DiffLine } from '../lib/diff';

/** YAML with sorted keys, so that diffs show changes and not key order. */
export const toYaml = (v: unknown): string => stringify(v, { sortMapEntries: true, lineWidth: 0 });

/** The last 200 changes to `kind namespace/name`, newest first, each with its YAML and its diff. */
export function versionsOf(audit: AuditView, ref: { kind: string; namespace: string; name: string }) {
  return audit.list({ ...ref, limit: 200 }).map((r) => ({
    id: r.id,
    at: r.at,
    user: r.user,
    action: r.action,
    restoredFrom: r.restoredFrom ?? null,
    yaml: r.after ? toYaml(r.after) : null,
    diff: diffLines(r.before ? toYaml(r.before) : '', r.after ? toYaml(r.after) : ''),
  }));
}

/** How one object the plan writes compares with the cluster's copy (its spec, as YAML). */
export interface ObjectDiff {
  readonly name: string;
  readonly change: 'added' | 'changed' | 'removed' | 'unchanged';
  readonly lines: readonly DiffLine[];
}

/** The objects a plan wants against those that exist, matched by `keyOf` (default: the name), sorted. */
export function objectsDiff(
  existing: readonly KubeObject[],
  desired: readonly KubeObject[],
  keyOf: (o: KubeObject) => string = (o) => o.metadata.name,
): ObjectDiff[] {
  const before = new Map(existing.map((o) => [keyOf(o), o]));
  const after = new Map(desired.map((o) => [keyOf(o), o]));
  // Sorted by code unit, as kubectl lists names.
  return [...new Set([...before.keys(), ...after.keys()])].sort().map((name) => {
    const b = before.get(name);
    const a = after.get(name);
    const lines = diffLines(b ? toYaml(b.spec) : '', a ? toYaml(a.spec) : '');
    const change = !b ? 'added' : !a ? 'removed' : isUnchanged(lines) ? 'unchanged' : 'changed';
    return { name, change, lines };
  });
}
