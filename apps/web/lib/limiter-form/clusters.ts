/**
 * Where a policy applies across a fleet: the `governor.io/clusters` annotation on a policy in the home
 * cluster, which the BFF's fan-out reads to copy the policy into those clusters.
 */
import { CLUSTERS_ANNOTATION, FANOUT_SOURCE_LABEL, namedClusters } from '@governor/crd-types';

export { CLUSTERS_ANNOTATION };

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
  const { all, names } = namedClusters(value);
  return all ? { mode: 'all' } : { mode: 'some', names };
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

/** The home cluster a policy was copied from, if it is a fan-out copy. */
export function fanoutSource(written: unknown): string | undefined {
  const metadata = isObject(written) ? written.metadata : undefined;
  const labels = isObject(metadata) ? metadata.labels : undefined;
  const source = isObject(labels) ? labels[FANOUT_SOURCE_LABEL] : undefined;
  return typeof source === 'string' && source !== '' ? source : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The choice with `cluster` chosen or not; a name never chosen is added at the end, as written. */
export function toggleCluster(choice: ClusterChoice, cluster: string, chosen: boolean): ClusterChoice {
  const names = choice.mode === 'some' ? choice.names : [];
  if (chosen) return { mode: 'some', names: names.includes(cluster) ? names : [...names, cluster] };
  return { mode: 'some', names: names.filter((n) => n !== cluster) };
}
