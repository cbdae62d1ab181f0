/**
 * Reading the Envoy configuration the Istio harness prints for one proxy: its HTTP connection managers by
 * where traffic enters them, their route tables (inline or by RDS name), and the typed configs of filters.
 */
import { inboundHttpConnectionManagers, type EnvoyJson, type IstioDump } from './istio-harness';

const HCM = 'envoy.filters.network.http_connection_manager';

/**
 * Where a connection manager sits: a sidecar's inbound chains for a port (in `virtualInbound`), or the
 * listener of a port, which is a sidecar's outbound listener or a gateway's listener.
 */
export type HcmPlace = { inbound: number } | { listenerPort: number };

/** The HTTP connection managers at `place`; fails when there are none. */
export function httpConnectionManagers(dump: IstioDump, place: HcmPlace): EnvoyJson[] {
  const managers =
    'inbound' in place
      ? inboundHttpConnectionManagers(dump, place.inbound)
      : listenerHcms(dump, place.listenerPort);
  if (managers.length === 0) throw new Error(`no HTTP connection manager at ${JSON.stringify(place)}`);
  return managers;
}

function listenerHcms(dump: IstioDump, port: number): EnvoyJson[] {
  const listener = dump.listeners.find((l) => l.name === `0.0.0.0_${port}`);
  if (listener === undefined)
    throw new Error(`no listener 0.0.0.0_${port} in ${JSON.stringify(dump.listeners.map((l) => l.name))}`);
  return ((listener.filterChains ?? []) as EnvoyJson[]).flatMap((chain) =>
    ((chain.filters ?? []) as EnvoyJson[])
      .filter((f) => f.name === HCM)
      .map((f) => f.typedConfig as EnvoyJson),
  );
}

/** The names of the connection manager's HTTP filters, in order. */
export const httpFilterNames = (hcm: EnvoyJson): string[] =>
  ((hcm.httpFilters ?? []) as EnvoyJson[]).map((f) => f.name as string);

/** The typed config of the connection manager's HTTP filter `name`; fails when it has none. */
export function httpFilterConfig(hcm: EnvoyJson, name: string): EnvoyJson {
  const filter = ((hcm.httpFilters ?? []) as EnvoyJson[]).find((f) => f.name === name);
  if (filter === undefined) throw new Error(`no HTTP filter ${name} in ${httpFilterNames(hcm).join(', ')}`);
  return filter.typedConfig as EnvoyJson;
}

interface RouteTable {
  name?: string;
  virtualHosts?: VirtualHost[];
}
export interface VirtualHost extends EnvoyJson {
  name: string;
  routes?: EnvoyJson[];
}

/** The connection manager's route table: inline (sidecar inbound) or the RDS one the dump holds. */
export function routeTable(dump: IstioDump, hcm: EnvoyJson): RouteTable {
  if (hcm.routeConfig !== undefined) return hcm.routeConfig as RouteTable;
  const name = (hcm.rds as { routeConfigName?: string } | undefined)?.routeConfigName;
  const table = dump.routes.find((r) => r.name === name) as RouteTable | undefined;
  if (table === undefined)
    throw new Error(`no route configuration ${String(name)} for the connection manager`);
  return table;
}

/** A virtual host of the table, by name. */
export function virtualHost(table: RouteTable, name: string): VirtualHost {
  const host = table.virtualHosts?.find((v) => v.name === name);
  if (host === undefined)
    throw new Error(
      `no virtual host ${name} in ${table.name ?? '(inline)'}: ${JSON.stringify(table.virtualHosts?.map((v) => v.name))}`,
    );
  return host;
}

/** A route of the table, by virtual host and route name. */
export function route(table: RouteTable, vhost: string, name: string): EnvoyJson {
  const host = virtualHost(table, vhost);
  const found = host.routes?.find((r) => r.name === name);
  if (found === undefined)
    throw new Error(`no route ${name} in ${vhost}: ${JSON.stringify(host.routes?.map((r) => r.name))}`);
  return found;
}

/** The per-filter config of a route or virtual host for the HTTP filter `filter`, if any. */
export const perFilterConfig = (at: EnvoyJson, filter: string): EnvoyJson | undefined =>
  (at.typedPerFilterConfig as Record<string, EnvoyJson> | undefined)?.[filter];

/** A cluster of the dump by name, if any. */
export const cluster = (dump: IstioDump, name: string): EnvoyJson | undefined =>
  dump.clusters.find((c) => c.name === name);

export const LOCAL_RATELIMIT = 'envoy.filters.http.local_ratelimit';
export const GLOBAL_RATELIMIT = 'envoy.filters.http.ratelimit';
export const ROUTER = 'envoy.filters.http.router';
export const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
export const LOCAL_RATELIMIT_TYPE =
  'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
export const GLOBAL_RATELIMIT_TYPE =
  'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';

/** A token bucket as protojson prints it. */
export const tokenBucket = (fillInterval: string, tokens: number) => ({
  fillInterval,
  maxTokens: tokens,
  tokensPerFill: tokens,
});

/** Istio's warning on every EnvoyFilter; any other warning is worth a look. */
export const ENVOY_FILTER_WARNING =
  'EnvoyFilter exposes internal implementation details that may change at any time. Prefer other APIs ' +
  'if possible, and exercise extreme caution, especially around upgrades.';
