/**
 * Aeraki MetaProtocol's messages (Governor's own `.proto` files under `apps/bff/proto/aeraki/`, same
 * packages, names and field numbers as the proxy's), loaded with the Envoy protos they import from
 * `@grpc/grpc-js-xds`, the way `catalog.ts` loads Envoy's filters. Loaded once, on first use.
 *
 * - `verifyMetaProtocolValue`: a MetaProtocolProxy, LocalRateLimit, RateLimit, IstioStats or route
 *   configuration in proto3 JSON (snake_case or lowerCamel, as an EnvoyFilter's TypedStruct carries it)
 *   checked against its message, with readable errors (protoc-gen-validate rules aside, as for Envoy's
 *   filters: the proxy checks those).
 * - `encodeProto3Json` / `decodeProto3Json`: proto3 JSON to wire bytes and back, for any loaded message.
 * - `encodeRouteResource` / `decodeRouteResource`: a route configuration as either RDS type URL carries it.
 */
import { fileURLToPath } from 'node:url';
import { closeKeys } from '@governor/crd-types';
import type { Field, Root, Type } from 'protobufjs';
import {
  fromHttpRouteConfiguration,
  META_ROUTE_TYPE_URL,
  ROUTE_TYPE_URL,
  toHttpRouteConfiguration,
  type HttpRoute,
  type MetaRouteConfiguration,
} from './metaprotocol-route';
import { envoyProtoRoots, loadProtoRoot, protobufjs, protobufjsProtoRoot } from './proto-roots';
import { fullNameOf, jsonNameOf, SchemaBuilder } from './schema';
import { SettingsValidator } from './validate';

/** The messages others verify, by what they configure. */
export const META_PROTOCOL_MESSAGES = Object.freeze({
  proxy: 'aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy',
  localRateLimit: 'aeraki.meta_protocol_proxy.filters.local_ratelimit.v1alpha.LocalRateLimit',
  rateLimit: 'aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit',
  istioStats: 'aeraki.meta_protocol_proxy.filters.istio_stats.v1alpha.IstioStats',
  routeConfiguration: 'aeraki.meta_protocol_proxy.config.route.v1alpha.RouteConfiguration',
});

const META_PACKAGE = 'aeraki.meta_protocol_proxy.';

const PROTO_FILES = [
  'aeraki/meta_protocol_proxy/config/route/v1alpha/route.proto',
  'aeraki/meta_protocol_proxy/v1alpha/meta_protocol_proxy.proto',
  'aeraki/meta_protocol_proxy/filters/local_ratelimit/v1alpha/local_ratelimit.proto',
  'aeraki/meta_protocol_proxy/filters/global_ratelimit/v1alpha/global_ratelimit.proto',
  'aeraki/meta_protocol_proxy/filters/istio_stats/v1alpha/istio_stats.proto',
  // The carrier of RDS, and the wrapper types its JSON may name in an Any.
  'envoy/config/route/v3/route.proto',
];

/** Governor's protos first, then Envoy's and their imports (`@grpc/grpc-js-xds`), then protobufjs's own. */
export function metaProtocolProtoRoots(): string[] {
  return [
    fileURLToPath(new URL('../../proto', import.meta.url)),
    ...envoyProtoRoots(),
    protobufjsProtoRoot(),
  ];
}

export interface MetaProtocolProtos {
  /** Loaded with `keepCase: true`: fields by their proto (snake_case) names. */
  readonly root: Root;
  readonly schemas: SchemaBuilder;
  /** Every MetaProtocol message's full name, for suggestions. */
  readonly messages: readonly string[];
}

let loaded: MetaProtocolProtos | undefined;

/** The loaded protos (loads them on first call). */
export function metaProtocolProtos(): MetaProtocolProtos {
  if (loaded) return loaded;
  const root = loadProtoRoot(metaProtocolProtoRoots(), PROTO_FILES);
  const messages: string[] = [];
  const walk = (ns: { nestedArray: readonly unknown[] }) => {
    for (const n of ns.nestedArray) {
      if (n instanceof protobufjs().Type) messages.push(fullNameOf(n));
      if (n && typeof n === 'object' && 'nestedArray' in n) walk(n as { nestedArray: readonly unknown[] });
    }
  };
  walk(root);
  loaded = {
    root,
    schemas: new SchemaBuilder(root),
    messages: messages.filter((m) => m.startsWith(META_PACKAGE)).sort(),
  };
  return loaded;
}

const messageName = (typeUrlOrName: string): string =>
  typeUrlOrName.slice(typeUrlOrName.lastIndexOf('/') + 1);

function lookup(typeUrlOrName: string): Type {
  const name = messageName(typeUrlOrName);
  const type = metaProtocolProtos().schemas.type(name);
  if (!type) throw new Error(`unknown message ${JSON.stringify(name)}`);
  return type;
}

/**
 * Problems of `json` (proto3 JSON) as a MetaProtocol message, by type URL or full message name; each
 * `path: message`, the path empty for the value itself. `[]` when the proxy's parser would accept it.
 */
export function verifyMetaProtocolValue(typeUrl: string, json: unknown): string[] {
  const { schemas, messages } = metaProtocolProtos();
  const name = messageName(typeUrl);
  if (!name.startsWith(META_PACKAGE) || !schemas.type(name)) {
    const close = closeKeys(name, [...messages], 3);
    return [
      `unknown MetaProtocol message ${JSON.stringify(name)}` +
        (close.length > 0 ? `: closest ${close.join(', ')}` : ''),
    ];
  }
  const v = new SettingsValidator(schemas);
  v.message(json ?? {}, name, '');
  return v.issues.map(
    (i) =>
      `${i.path === '' ? '' : `${i.path}: `}${i.message}${i.suggestion ? ` (did you mean ${i.suggestion}?)` : ''}`,
  );
}

// ---- proto3 JSON <-> protobufjs objects ----

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (n) => `google.protobuf.${n}Value`,
  ),
);

function fieldByJsonKey(type: Type, key: string): Field | undefined {
  return type.fields[key] ?? type.fieldsArray.find((f) => jsonNameOf(f.name) === key);
}

function durationObject(value: unknown): { seconds: number; nanos: number } {
  const m = typeof value === 'string' ? /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!m) throw new Error(`expected a duration such as "1.5s", got ${JSON.stringify(value)}`);
  const sign = m[1] === '-' ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
}

function structValue(value: unknown): object {
  if (value === null) return { null_value: 'NULL_VALUE' };
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (Array.isArray(value)) return { list_value: { values: value.map(structValue) } };
  return { struct_value: structObject(value) };
}
const structObject = (value: unknown): object => ({
  fields: Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, structValue(v)])),
});

/** Proto3 JSON of a message of `type` as the plain object protobufjs's `fromObject` takes. */
function toPlain(type: Type, json: unknown): unknown {
  const name = fullNameOf(type);
  if (WRAPPERS.has(name)) return { value: json };
  switch (name) {
    case 'google.protobuf.Duration':
      return durationObject(json);
    case 'google.protobuf.Struct':
      return structObject(json);
    case 'google.protobuf.Value':
      return structValue(json);
    case 'google.protobuf.ListValue':
      return { values: (json as unknown[]).map(structValue) };
    case 'google.protobuf.Any': {
      const { '@type': url, ...rest } = json as Record<string, unknown>;
      if (typeof url !== 'string') throw new Error('an Any needs @type');
      const inner = lookup(url);
      const wellKnown = fullNameOf(inner).startsWith('google.protobuf.') && 'value' in rest;
      return { type_url: url, value: encodeProto3Json(fullNameOf(inner), wellKnown ? rest['value'] : rest) };
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`expected an object for ${name}`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (value === null) continue;
    const field = fieldByJsonKey(type, key);
    if (!field) throw new Error(`${name} has no field ${JSON.stringify(key)}`);
    const convert = (v: unknown) =>
      field.resolvedType instanceof protobufjs().Type ? toPlain(field.resolvedType, v) : v;
    out[field.name] = field.map
      ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, convert(v)]))
      : field.repeated
        ? (value as unknown[]).map(convert)
        : convert(value);
  }
  return out;
}

/** A protobufjs plain object (`toObject`) of `type` as proto3 JSON, lowerCamel. */
function toJson(type: Type, plain: unknown): unknown {
  const name = fullNameOf(type);
  const o = plain as Record<string, unknown>;
  if (WRAPPERS.has(name)) return o['value'];
  switch (name) {
    case 'google.protobuf.Duration': {
      const seconds = Number(o['seconds'] ?? 0);
      const nanos = Number(o['nanos'] ?? 0);
      const frac = nanos === 0 ? '' : `.${String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '')}`;
      return `${seconds === 0 && nanos < 0 ? '-' : ''}${seconds}${frac}s`;
    }
    case 'google.protobuf.Any': {
      const url = String(o['type_url'] ?? '');
      const inner = lookup(url);
      const raw = o['value'] ?? '';
      // The plain object holds bytes as base64, proto3 JSON's spelling of them.
      const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : (raw as Uint8Array);
      const value = decodeProto3Json(fullNameOf(inner), bytes);
      return fullNameOf(inner).startsWith('google.protobuf.')
        ? { '@type': url, value }
        : { '@type': url, ...(value as object) };
    }
  }
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = o[field.name];
    if (value === undefined || value === null) continue;
    const convert = (v: unknown) =>
      field.resolvedType instanceof protobufjs().Type ? toJson(field.resolvedType, v) : v;
    out[jsonNameOf(field.name)] = field.map
      ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, convert(v)]))
      : field.repeated
        ? (value as unknown[]).map(convert)
        : convert(value);
  }
  return out;
}

/** Wire bytes of `json` (proto3 JSON, either field spelling) as a message of `typeUrlOrName`; throws on JSON that does not fit. */
export function encodeProto3Json(typeUrlOrName: string, json: unknown): Uint8Array {
  const type = lookup(typeUrlOrName);
  return type.encode(type.fromObject(toPlain(type, json) as Record<string, unknown>)).finish();
}

/** Proto3 JSON (lowerCamel; enums by name, 64-bit integers as numbers) of wire bytes of `typeUrlOrName`. */
export function decodeProto3Json(typeUrlOrName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookup(typeUrlOrName);
  const plain = type.toObject(type.decode(bytes), { enums: String, longs: Number, bytes: String });
  return toJson(type, plain) as Record<string, unknown>;
}

/** A route configuration as the resource of `typeUrl` (Envoy's carrier or Aeraki's own message). */
export function encodeRouteResource(config: MetaRouteConfiguration, typeUrl: string): Uint8Array {
  if (typeUrl === ROUTE_TYPE_URL) return encodeProto3Json(typeUrl, toHttpRouteConfiguration(config));
  if (typeUrl === META_ROUTE_TYPE_URL) return encodeProto3Json(typeUrl, config);
  throw new Error(`not a route type URL: ${typeUrl}`);
}

/** A route configuration back from the resource of `typeUrl`, as the proxy reads it. */
export function decodeRouteResource(typeUrl: string, bytes: Uint8Array): MetaRouteConfiguration {
  if (typeUrl === ROUTE_TYPE_URL)
    return fromHttpRouteConfiguration(
      decodeProto3Json(typeUrl, bytes) as { name?: string; virtualHosts?: { routes?: HttpRoute[] }[] },
    );
  if (typeUrl === META_ROUTE_TYPE_URL) {
    const json = decodeProto3Json(typeUrl, bytes) as Partial<MetaRouteConfiguration>;
    return { name: json.name ?? '', routes: json.routes ?? [] };
  }
  throw new Error(`not a route type URL: ${typeUrl}`);
}
