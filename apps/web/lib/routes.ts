/**
 * The dashboard's addresses, one folder per module. `/policies` was the SmartLimiter pages' address before
 * there were modules: it redirects here (next.config.ts).
 *
 * `?cluster=` is the cluster filter (absent: every cluster) and, on a page about one object, the cluster the
 * object lives in (absent: the home cluster). Links keep it, so the filter follows the user around.
 */

/** The query parameter naming a cluster. */
export const CLUSTER_PARAM = 'cluster';

/** The SmartLimiter list. */
export const LIMITER_LIST = '/limiter';

/** The clusters Governor manages, their health and versions. */
export const CLUSTERS = '/clusters';

/** `href` with `?cluster=` set to `cluster` (replacing one it has); none: `href` without it. */
export function withCluster(href: string, cluster: string | null | undefined): string {
  const hash = href.indexOf('#');
  const fragment = hash === -1 ? '' : href.slice(hash);
  const rest = hash === -1 ? href : href.slice(0, hash);
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
  query.delete(CLUSTER_PARAM);
  if (cluster) query.set(CLUSTER_PARAM, cluster);
  const s = query.toString();
  return `${path}${s === '' ? '' : `?${s}`}${fragment}`;
}

/** A service's page; `cluster` names the cluster it lives in (none: the home cluster). */
export function servicePath(s: { namespace: string; name: string; cluster?: string | null }): string {
  return withCluster(`/services/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`, s.cluster);
}

/**
 * The SmartLimiter editor: a stored policy by name, or a new one (for a service, if given); in `cluster`
 * (none: the home cluster).
 */
export function limiterEditPath(
  target: (
    { namespace: string; name: string } | { namespace: string; service?: string } | { namespace?: undefined }
  ) & { cluster?: string | null },
): string {
  const { cluster, ...rest } = target;
  const query = new URLSearchParams(
    Object.entries(rest).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  if (cluster) query.set(CLUSTER_PARAM, cluster);
  const q = query.toString();
  return q === '' ? `${LIMITER_LIST}/edit` : `${LIMITER_LIST}/edit?${q}`;
}

/** Addresses of earlier versions of the dashboard, moved for good; a query string goes along. */
export const MOVED = [
  { source: '/policies', destination: LIMITER_LIST },
  { source: '/policies/edit', destination: `${LIMITER_LIST}/edit` },
] as const;
