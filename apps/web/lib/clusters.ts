/**
 * Clusters in the dashboard: an object is known by `cluster/namespace/name`; a cluster's last sync is told
 * as an age that keeps ticking between two polls.
 */

/** An object in one cluster. */
export interface ClusterObject {
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
}

/** How the dashboard names an object, and selects it in the URL: `cluster/namespace/name`. */
export const objectKey = (o: ClusterObject): string => `${o.cluster}/${o.namespace}/${o.name}`;

/**
 * The row a selection key names. A key of three parts is `cluster/namespace/name`; one of two parts
 * (`namespace/name`, as links made before clusters say) picks the object in `preferred` if there is one
 * there, else the first of that name.
 */
export function findByKey<T extends ClusterObject>(
  rows: readonly T[] | undefined,
  key: string | null,
  preferred?: string | null,
): T | undefined {
  if (!rows || !key) return undefined;
  const parts = key.split('/');
  if (parts.length === 3) return rows.find((r) => objectKey(r) === key);
  if (parts.length !== 2) return undefined;
  const named = rows.filter((r) => r.namespace === parts[0] && r.name === parts[1]);
  return named.find((r) => r.cluster === preferred) ?? named[0];
}

/** An age in words: `just now`, `12 s ago`, `2 min ago`, `3 h ago`, `2 days ago`. */
export function formatAge(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/**
 * How long ago a cluster last synced, now: the age the BFF reported plus the time since it reported it.
 * Null when it never has.
 */
export function syncAgeNow(ageMs: number | null, reportedAt: number, now: number): number | null {
  return ageMs === null ? null : ageMs + Math.max(0, now - reportedAt);
}

/** The sentence the dashboard uses for a cluster's last sync. */
export function lastSyncedText(ageMs: number | null): string {
  return ageMs === null ? 'never synced' : `last synced ${formatAge(ageMs)}`;
}
