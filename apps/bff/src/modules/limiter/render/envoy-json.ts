/**
 * Envoy configuration fragments in proto3 JSON, shaped as Slime writes them so that existing dashboards and
 * Envoy configs keep working: route `rate_limits` in proto field names (snake_case), typed configs
 * converted as protojson does (lowerCamel, durations as "60s", zero values left out).
 */
import { TYPED_STRUCT } from '@governor/crd-types';
import type {
  EnvoyConfigObjectMatch,
  EnvoyConfigObjectPatch,
  JsonValue,
  PatchContext,
} from '@governor/crd-types';

export const LOCAL_RATELIMIT_FILTER = 'envoy.filters.http.local_ratelimit';
export const RATELIMIT_FILTER = 'envoy.filters.http.ratelimit';
export const HTTP_CONNECTION_MANAGER = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export { TYPED_STRUCT };
export const LOCAL_RATELIMIT_TYPE =
  'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
export const RATELIMIT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';
export const LOCAL_STAT_PREFIX = 'http_local_rate_limiter';
/** Slime's permissive default bucket: requests that match no descriptor are limited only by this. */
export const DEFAULT_BUCKET = { maxTokens: 100000, tokensPerFill: 100000, fillIntervalSeconds: 1 } as const;

export type JsonObject = { [key: string]: JsonValue };

/**
 * A duration as protojson prints google.protobuf.Duration: whole seconds as "60s", fractions with 3, 6 or
 * 9 digits ("0.500s", "1.000001s").
 */
export function formatDuration(seconds: number, nanos: number): string {
  if (nanos === 0) return `${seconds}s`;
  const digits = nanos % 1_000_000 === 0 ? 3 : nanos % 1000 === 0 ? 6 : 9;
  const frac = String(nanos).padStart(9, '0').slice(0, digits);
  return `${seconds}.${frac}s`;
}

export function tokenBucket(maxTokens: number, tokensPerFill: number, fillInterval: string): JsonObject {
  return { fillInterval, maxTokens, tokensPerFill };
}

export function runtimePercent(runtimeKey: string, numerator: number): JsonObject {
  // Denominator HUNDRED is the enum's zero value, which protojson leaves out.
  return { defaultValue: { numerator }, runtimeKey };
}

/** The match of a route-level patch: a vhost (by name, or any when empty) and optionally one route in it. */
export function routeMatch(
  context: PatchContext,
  vhost: string,
  route: string | undefined,
): EnvoyConfigObjectMatch {
  return {
    context,
    routeConfiguration: {
      vhost: {
        ...(vhost !== '' ? { name: vhost } : {}),
        ...(route !== undefined ? { route: { name: route } } : {}),
      },
    },
  };
}

/** The match of an HTTP_FILTER patch: the HTTP connection manager's router filter, to insert before it. */
export function routerFilterMatch(context: PatchContext): EnvoyConfigObjectMatch {
  return {
    context,
    listener: {
      filterChain: { filter: { name: HTTP_CONNECTION_MANAGER, subFilter: { name: ROUTER_FILTER } } },
    },
  };
}

/** A MERGE into one route, or into the whole virtual host when no route is named. */
export function routePatch(
  placement: { readonly context: PatchContext; readonly vhost: string; readonly route?: string },
  value: JsonObject,
): EnvoyConfigObjectPatch {
  return {
    applyTo: placement.route === undefined ? 'VIRTUAL_HOST' : 'HTTP_ROUTE',
    match: routeMatch(placement.context, placement.vhost, placement.route),
    patch: { operation: 'MERGE', value },
  };
}

/** An HTTP filter inserted before the router, so that it sees every request the router would route. */
export function insertBeforeRouter(context: PatchContext, filter: JsonObject): EnvoyConfigObjectPatch {
  return {
    applyTo: 'HTTP_FILTER',
    match: routerFilterMatch(context),
    patch: { operation: 'INSERT_BEFORE', value: filter },
  };
}

export function typedStruct(typeUrl: string, value: JsonObject): JsonObject {
  return { '@type': TYPED_STRUCT, type_url: typeUrl, value };
}

/** The local_ratelimit filter itself, inserted before the router; its buckets are per route. */
export function localRateLimitFilter(): JsonObject {
  return {
    name: LOCAL_RATELIMIT_FILTER,
    typed_config: typedStruct(LOCAL_RATELIMIT_TYPE, { statPrefix: LOCAL_STAT_PREFIX }),
  };
}

export interface GlobalFilterOptions {
  readonly domain: string;
  readonly clusterName: string;
  /** Deny requests when the rate-limit service cannot be reached (`governor.io/fail-mode: closed`). */
  readonly failureModeDeny: boolean;
}

/** The ratelimit filter that asks the rate-limit service (Envoy's RLS gRPC API) about global descriptors. */
export function globalRateLimitFilter(opts: GlobalFilterOptions): JsonObject {
  const value: JsonObject = {
    domain: opts.domain,
    rate_limit_service: {
      grpcService: { envoyGrpc: { clusterName: opts.clusterName } },
      transportApiVersion: 'V3',
    },
  };
  if (opts.failureModeDeny) value.failure_mode_deny = true;
  return { name: RATELIMIT_FILTER, typed_config: typedStruct(RATELIMIT_TYPE, value) };
}

/** Sorts object keys at every level: the rendered YAML is byte-identical for identical input. */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeysDeep) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    return out as T;
  }
  return value;
}
