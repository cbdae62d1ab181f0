/**
 * Where a policy applies across clusters: the marks Governor's fan-out reads on a source and writes on its
 * copies. The BFF's fan-out and the dashboard's editor read the annotation by this one function.
 */

/** On a source object: cluster names to copy it to, comma-separated; `*` for every cluster. */
export const CLUSTERS_ANNOTATION = 'governor.io/clusters';
/** On a copy: the name of the cluster its source lives in. What makes an object a copy. */
export const FANOUT_SOURCE_LABEL = 'governor.io/fanout-source';
/** On a copy: the source's `metadata.generation` it was made from. */
export const FANOUT_GENERATION_ANNOTATION = 'governor.io/fanout-generation';

/**
 * The clusters an annotation value names: blank entries ignored, duplicates collapsed, in the order
 * written; `all` when `*` is anywhere in the list.
 */
export function namedClusters(value: string): { readonly all: boolean; readonly names: readonly string[] } {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  return names.includes('*') ? { all: true, names: [] } : { all: false, names };
}
