/**
 * The dashboard's addresses, one folder per module. `/policies` was the SmartLimiter pages' address before
 * there were modules: it redirects here (next.config.ts).
 */

/** The SmartLimiter list. */
export const LIMITER_LIST = '/limiter';

/** The SmartLimiter editor: a stored policy by name, or a new one (for a service, if given). */
export function limiterEditPath(
  target:
    { namespace: string; name: string } | { namespace: string; service?: string } | Record<string, never>,
): string {
  const query = new URLSearchParams(Object.entries(target).filter(([, v]) => v !== undefined));
  const q = query.toString();
  return q === '' ? `${LIMITER_LIST}/edit` : `${LIMITER_LIST}/edit?${q}`;
}

/** Addresses of earlier versions of the dashboard, moved for good; a query string goes along. */
export const MOVED = [
  { source: '/policies', destination: LIMITER_LIST },
  { source: '/policies/edit', destination: `${LIMITER_LIST}/edit` },
] as const;
