/** Seeds an empty store with the demo mesh, so that a first start shows something working. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { isKnownKind, type ClusterStore, type KubeObject } from '../cluster/store';

export function demoObjects(): KubeObject[] {
  const text = readFileSync(new URL('./bookinfo.yaml', import.meta.url), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
}

/** Creates the demo objects when the store has no SmartLimiter and no Service yet. Returns how many. */
export async function seedDemoMesh(store: ClusterStore): Promise<number> {
  const [limiters, services] = await Promise.all([store.list('SmartLimiter'), store.list('Service')]);
  if (limiters.items.length > 0 || services.items.length > 0) return 0;
  let n = 0;
  for (const o of demoObjects()) {
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
