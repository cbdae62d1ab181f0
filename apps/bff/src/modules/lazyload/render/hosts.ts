/** Host names as a ServiceFence writes them: FQDNs, short names, `ns/*`, and Slime's metric keys. */

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const HOST = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$`);
const NAMESPACE = new RegExp(`^${LABEL}$`);

export const CLUSTER_DOMAIN = 'svc.cluster.local';

export const serviceHost = (name: string, namespace: string): string =>
  `${name}.${namespace}.${CLUSTER_DOMAIN}`;

/** `ns/*`: every service of a namespace. */
export const isNamespaceKey = (key: string): boolean => key.endsWith('/*');

/** A `spec.host` key as a domain: a short name is a Service of the fence's namespace; null when invalid. */
export function normalizeHostKey(key: string, namespace: string): string | null {
  if (isNamespaceKey(key)) return NAMESPACE.test(key.slice(0, -2)) ? key : null;
  if (!HOST.test(key)) return null;
  return key.includes('.') ? key : serviceHost(key, namespace);
}

/**
 * Hosts Slime leaves out of a fence: its global sidecar, a host with a port left in, `unknown` (what Istio
 * reports when it could not tell the destination).
 */
export const isFenceableHost = (h: string): boolean =>
  !h.includes('global-sidecar') && !h.includes(':') && !h.includes('unknown');

/** Slime's metric key for calls to a host, as its Prometheus query's labels print. */
export const metricKey = (host: string): string => `{destination_service="${host}"}`;

/** The host in a metric key (`{destination_service="h:80"}` or `request_host`), port dropped; else null. */
export function hostOfMetricKey(key: string): string | null {
  const inner = key.replace(/^\{/, '').replace(/\}$/, '');
  if (!inner.startsWith('destination_service') && !inner.startsWith('request_host')) return null;
  const parts = inner.split('"');
  if (parts.length !== 3) return null;
  return parts[1]!.split(':')[0]!;
}

/** A VirtualService host as an FQDN: short names are relative to the VirtualService's namespace. */
export const qualify = (host: string, namespace: string): string =>
  host.includes('.') || host.includes('*') ? host : serviceHost(host, namespace);
