/**
 * A client of Envoy's rate-limit service API (`ShouldRateLimit`, a real gRPC client from Envoy's own
 * rls.proto), and the request an Envoy sidecar would send for a route of a rendered EnvoyFilter.
 */
import * as grpc from '@grpc/grpc-js';
import type { KubeObject } from '../../src/cluster/store';
import { rlsClientConstructor } from '../../src/rls/rls-server';

export interface RlsEntry {
  readonly key: string;
  readonly value: string;
}

export interface RlsClientRequest {
  readonly domain: string;
  readonly descriptors: readonly { readonly entries: readonly RlsEntry[] }[];
  /** 0 (or absent) counts one hit, as Envoy means it. */
  readonly hits_addend?: number;
}

export interface RlsClientStatus {
  code: string;
  current_limit?: { requests_per_unit: number; unit: string; name: string };
  limit_remaining?: number;
  duration_until_reset?: { seconds: number; nanos: number };
}

export interface RlsClientResponse {
  overall_code: string;
  statuses: RlsClientStatus[];
}

export interface RlsClient {
  shouldRateLimit(request: RlsClientRequest): Promise<RlsClientResponse>;
  close(): void;
}

type ShouldRateLimit = (
  request: RlsClientRequest,
  callback: (error: grpc.ServiceError | null, response: RlsClientResponse) => void,
) => void;

/** A client of the rate-limit service at `127.0.0.1:<port>` (or `host:port`), over cleartext HTTP/2. */
export function rlsClient(address: number | string): RlsClient {
  const Client = rlsClientConstructor();
  const target = typeof address === 'number' ? `127.0.0.1:${address}` : address;
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ShouldRateLimit: ShouldRateLimit;
  };
  return {
    shouldRateLimit: (request) =>
      new Promise((resolve, reject) =>
        client.ShouldRateLimit(request, (error, response) => (error ? reject(error) : resolve(response))),
      ),
    close: () => client.close(),
  };
}

interface ConfigPatch {
  applyTo?: string;
  patch?: { value?: Record<string, unknown> };
}

/**
 * The `ShouldRateLimit` request Envoy's ratelimit filter sends for a request on the routes an EnvoyFilter
 * patches: its domain, from the `envoy.filters.http.ratelimit` filter it inserts, and one descriptor per
 * route `rate_limits` entry whose actions all produce fixed values (`generic_key`). Entries that need the
 * request itself (headers, the remote address) are left out. Null when the filter asks no rate-limit service.
 */
export function envoyRlsRequest(envoyFilter: KubeObject): RlsClientRequest | null {
  const patches = ((envoyFilter.spec as { configPatches?: ConfigPatch[] } | undefined)?.configPatches ??
    []) as ConfigPatch[];
  let domain: string | undefined;
  const descriptors: { entries: RlsEntry[] }[] = [];
  for (const p of patches) {
    const value = p.patch?.value;
    if (value === undefined) continue;
    if (p.applyTo === 'HTTP_FILTER' && value.name === 'envoy.filters.http.ratelimit') {
      const typed = value.typed_config as { value?: { domain?: string } } | undefined;
      domain = typed?.value?.domain ?? domain;
    }
    if (p.applyTo === 'HTTP_ROUTE' || p.applyTo === 'VIRTUAL_HOST') {
      const holder = (p.applyTo === 'HTTP_ROUTE' ? value.route : value) as
        { rate_limits?: { actions: Record<string, { descriptor_value?: string }>[] }[] } | undefined;
      for (const limit of holder?.rate_limits ?? []) {
        const entries = limit.actions.map((action) =>
          action.generic_key?.descriptor_value !== undefined
            ? { key: 'generic_key', value: action.generic_key.descriptor_value }
            : null,
        );
        if (entries.every((e) => e !== null)) descriptors.push({ entries: entries as RlsEntry[] });
      }
    }
  }
  return domain === undefined ? null : { domain, descriptors };
}
