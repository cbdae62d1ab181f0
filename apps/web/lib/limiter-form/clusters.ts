/**
 * Where a policy applies across a fleet: the `governor.io/clusters` annotation on a policy in the home
 * cluster, which the BFF's fan-out reads to copy the policy into those clusters.
 */

/** Cluster names, comma-separated, or `*` for every cluster. Absent: this cluster only. */
export const CLUSTERS_ANNOTATION = 'governor.io/clusters';

export type ClusterChoice =
  | { readonly mode: 'here' }
  | { readonly mode: 'all' }
  /** The clusters named, in the order written; none named fans out nowhere. */
  | { readonly mode: 'some'; readonly names: readonly string[] };

/**
 * The choice an annotation value makes, read as the fan-out reads it: blank entries ignored, duplicates
 * collapsed, `*` anywhere means every cluster. A value that is not text is not the fan-out's: this
 * cluster only.
 */
export function readClusters(value: unknown): ClusterChoice {
  if (typeof value !== 'string') return { mode: 'here' };
  const names = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  return names.includes('*') ? { mode: 'all' } : { mode: 'some', names };
}

/** The annotation value for a choice; undefined: no annotation. */
export function clustersValue(choice: ClusterChoice): string | undefined {
  switch (choice.mode) {
    case 'here':
      return undefined;
    case 'all':
      return '*';
    case 'some':
      return choice.names.join(',');
  }
}

/** Whether the policy is copied to `cluster` (the home cluster holds the source either way). */
export function choiceIncludes(choice: ClusterChoice, cluster: string): boolean {
  return choice.mode === 'all' || (choice.mode === 'some' && choice.names.includes(cluster));
}
