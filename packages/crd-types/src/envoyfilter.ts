/** Istio's EnvoyFilter, `networking.istio.io/v1alpha3`: what Governor writes for Envoy to enforce. */
import { z } from 'zod';
import { objectMetaSchema, type OwnerReference } from './meta';

export const ENVOYFILTER_API_VERSION = 'networking.istio.io/v1alpha3';
export const ENVOYFILTER_KIND = 'EnvoyFilter';
/** The wrapper EnvoyFilters carry typed configuration in (`type_url` and a JSON `value`). */
export const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';

export const APPLY_TO = [
  'INVALID',
  'LISTENER',
  'FILTER_CHAIN',
  'NETWORK_FILTER',
  'HTTP_FILTER',
  'ROUTE_CONFIGURATION',
  'VIRTUAL_HOST',
  'HTTP_ROUTE',
  'CLUSTER',
  'EXTENSION_CONFIG',
  'BOOTSTRAP',
  'LISTENER_FILTER',
] as const;
export type ApplyTo = (typeof APPLY_TO)[number];

export const PATCH_CONTEXTS = ['ANY', 'SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'GATEWAY'] as const;
export type PatchContext = (typeof PATCH_CONTEXTS)[number];

export const PATCH_OPERATIONS = [
  'INVALID',
  'MERGE',
  'ADD',
  'REMOVE',
  'INSERT_BEFORE',
  'INSERT_AFTER',
  'INSERT_FIRST',
  'REPLACE',
] as const;
export type PatchOperation = (typeof PATCH_OPERATIONS)[number];

/** A JSON value as it appears in a patch: Envoy's proto3 JSON (a google.protobuf.Struct). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface RouteConfigurationMatch {
  portNumber?: number;
  portName?: string;
  gateway?: string;
  name?: string;
  vhost?: { name?: string; route?: { name?: string; action?: string } };
}

export interface ListenerMatch {
  portNumber?: number;
  name?: string;
  filterChain?: {
    name?: string;
    sni?: string;
    filter?: { name?: string; subFilter?: { name?: string } };
  };
}

export interface EnvoyConfigObjectMatch {
  context?: PatchContext;
  proxy?: { proxyVersion?: string; metadata?: Record<string, string> };
  listener?: ListenerMatch;
  routeConfiguration?: RouteConfigurationMatch;
}

export interface EnvoyConfigObjectPatch {
  applyTo: ApplyTo;
  match?: EnvoyConfigObjectMatch;
  patch: { operation: PatchOperation; value?: { [key: string]: JsonValue } };
}

export interface EnvoyFilterSpec {
  workloadSelector?: { labels: Record<string, string> };
  configPatches: EnvoyConfigObjectPatch[];
  priority?: number;
}

export interface EnvoyFilter {
  apiVersion: typeof ENVOYFILTER_API_VERSION;
  kind: typeof ENVOYFILTER_KIND;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    resourceVersion?: string;
    uid?: string;
  };
  spec: EnvoyFilterSpec;
}

/** Reads an EnvoyFilter that exists in a cluster; patches are kept as they are. */
export const envoyFilterSchema = z.looseObject({
  apiVersion: z.string().regex(/^networking\.istio\.io\//),
  kind: z.literal(ENVOYFILTER_KIND),
  metadata: objectMetaSchema.and(z.object({ name: z.string(), namespace: z.string().default('default') })),
  spec: z.looseObject({
    workloadSelector: z.looseObject({ labels: z.record(z.string(), z.string()) }).optional(),
    configPatches: z
      .array(
        z.looseObject({
          applyTo: z.enum(APPLY_TO),
          match: z.looseObject({}).optional(),
          patch: z.looseObject({ operation: z.enum(PATCH_OPERATIONS), value: z.unknown().optional() }),
        }),
      )
      .default([]),
    priority: z.number().int().optional(),
  }),
});
