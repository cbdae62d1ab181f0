/** Seeds an empty store with the demo mesh, so that a first start shows something working. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { isKnownKind, type ClusterStore, type KubeObject } from '../cluster/store';

const objectsOf = (file: URL): KubeObject[] =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject);

// Each file's URL a string literal beside import.meta.url: the build finds it and ships the file with its bundle.
export function demoObjects(): KubeObject[] {
  return objectsOf(new URL('./bookinfo.yaml', import.meta.url));
}

/** The embedded default's clusters: east (the home cluster) with all of Bookinfo, west with a copy of part. */
export const DEMO_CLUSTERS = { home: 'east', other: 'west' } as const;

/** The demo's objects of one of {@link DEMO_CLUSTERS}. */
export function demoClusterObjects(cluster: 'east' | 'west'): KubeObject[] {
  if (cluster === 'west') return objectsOf(new URL('./bookinfo-west.yaml', import.meta.url));
  // Home also holds a SlimeBoot of the limiter's default settings: module configuration from the cluster.
  const slimeBoot = objectsOf(new URL('./slimeboot.yaml', import.meta.url));
  // reviews runs in both clusters: its limit is the home cluster's policy, fanned out to both.
  const bookinfo = demoObjects().map((o) =>
    o.kind === 'SmartLimiter' && o.metadata.name === 'reviews'
      ? {
          ...o,
          metadata: {
            ...o.metadata,
            annotations: { ...o.metadata.annotations, 'governor.io/clusters': 'east,west' },
          },
        }
      : o,
  );
  return [...bookinfo, ...slimeBoot];
}

/**
 * Creates the demo objects (default: Bookinfo's) when the store has no SmartLimiter and no Service yet.
 * Returns how many.
 */
export async function seedDemoMesh(store: ClusterStore, objects = demoObjects()): Promise<number> {
  const [limiters, services] = await Promise.all([store.list('SmartLimiter'), store.list('Service')]);
  if (limiters.items.length > 0 || services.items.length > 0) return 0;
  let n = 0;
  for (const o of objects) {
    // Objects of a module that is not in this build (its kind unregistered) stay out of the store.
    if (!isKnownKind(o.kind)) continue;
    const { status, ...rest } = o;
    const created = await store.create(rest as KubeObject);
    // Status belongs to the status subresource, as on an API server.
    if (status && o.kind === 'Pod') await store.updateStatus({ ...created, status });
    n++;
  }
  return n;
}
