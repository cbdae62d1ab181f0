/** What the simulated mesh reads of every Istio object it compiles (Sidecars, EnvoyFilters). */

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const stringRecord = (v: unknown): Record<string, string> | undefined =>
  isRecord(v) && Object.values(v).every((x) => typeof x === 'string')
    ? (v as Record<string, string>)
    : undefined;

export interface IstioObjectMeta {
  readonly name: string;
  readonly namespace: string;
  /** `creationTimestamp`, or '' without one. */
  readonly created: string;
  /** The workload selector's labels; undefined without any: every workload of the namespace. */
  readonly selector: Readonly<Record<string, string>> | undefined;
}

/** An object of that kind with a name: its metadata and its spec ({} without one); undefined otherwise. */
export function istioObjectOf(
  raw: unknown,
  kind: string,
): { meta: IstioObjectMeta; spec: Record<string, unknown> } | undefined {
  if (!isRecord(raw) || raw['kind'] !== kind || !isRecord(raw['metadata'])) return undefined;
  const metadata = raw['metadata'];
  if (typeof metadata['name'] !== 'string') return undefined;
  const spec = isRecord(raw['spec']) ? raw['spec'] : {};
  const labels = isRecord(spec['workloadSelector'])
    ? stringRecord(spec['workloadSelector']['labels'])
    : undefined;
  return {
    meta: {
      name: metadata['name'],
      namespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default',
      created: typeof metadata['creationTimestamp'] === 'string' ? metadata['creationTimestamp'] : '',
      selector: labels && Object.keys(labels).length > 0 ? labels : undefined,
    },
    spec,
  };
}

/** Oldest first, then by name: how istiod orders objects that apply alike. */
export const byAge = (a: IstioObjectMeta, b: IstioObjectMeta): number =>
  a.created.localeCompare(b.created) || a.name.localeCompare(b.name);

/** The objects that compile, in order. */
export function compileAll<T>(
  objects: readonly unknown[],
  compile: (raw: unknown) => T | undefined,
  order: (a: T, b: T) => number,
): T[] {
  return objects
    .map((o) => compile(o))
    .filter((c): c is T => c !== undefined)
    .sort(order);
}
