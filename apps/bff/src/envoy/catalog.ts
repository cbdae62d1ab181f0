/**
 * Envoy's HTTP filters, read from Envoy's own protos as `@grpc/grpc-js-xds` ships them: every
 * `envoy.extensions.filters.http.<x>.v3` package, its filter's well-known name, the type URL of its
 * config message and of its per-route config when it has one, and a settings schema for each (see
 * `schema.ts` for the schema's shape). Loaded once, on first use.
 *
 * `validateFilterSettings` checks what a user writes as a filter's settings (an EnvoyPlugin's `settings`,
 * an EnvoyFilter's `typed_config`) against the message: unknown fields with the closest known one, wrong
 * types, unknown enum values, a oneof set twice, an unknown filter with the closest filters. The
 * protoc-gen-validate rules of the protos (`(validate.rules)`: minimums, required fields, string
 * patterns) are out of scope: Envoy's own code checks those.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeKeys } from '@governor/crd-types';
import type { Namespace, Type } from 'protobufjs';
import {
  envoyProtoRoots,
  grpcJsXdsPackageJson,
  loadProtoRoot,
  protobufjs,
  protobufjsProtoRoot,
} from './proto-roots';
import { fullNameOf, SchemaBuilder, type SettingsSchema } from './schema';
import { SettingsValidator, type SettingsIssue } from './validate';

export type { SettingsIssue } from './validate';
export type { MessageSchema, PropertySchema, SchemaNode, SettingsSchema } from './schema';

export interface HttpFilter {
  /** Envoy's well-known name, `envoy.filters.http.fault`. */
  readonly name: string;
  /** `envoy.extensions.filters.http.fault.v3`. */
  readonly package: string;
  /** The config message, `envoy.extensions.filters.http.fault.v3.HTTPFault`. */
  readonly message: string;
  readonly typeUrl: string;
  /** The message a route's `typed_per_filter_config` takes for this filter, or null. */
  readonly perRoute: { readonly message: string; readonly typeUrl: string } | null;
}

export interface EnvoyCatalog {
  readonly filters: readonly HttpFilter[];
  /** Packages whose config message could not be told. */
  readonly unresolved: readonly { readonly package: string; readonly reason: string }[];
  /** Where the protos come from: `@grpc/grpc-js-xds@1.14.1`. */
  readonly source: string;
  readonly loadMs: number;
}

const TYPE_URL_PREFIX = 'type.googleapis.com/';
const HTTP_PACKAGE = 'envoy.extensions.filters.http';

/**
 * Filters whose well-known name is not `envoy.filters.http.<package>`. None in the protos shipped now;
 * the catalog test compares every name with the `[#extension: …]` line of its proto, so a new exception
 * shows up there.
 */
const NAME_EXCEPTIONS: Readonly<Record<string, string>> = {};

/**
 * The config message where a package holds more than one top-level message no other message uses
 * (Envoy's docs name them).
 */
const CONFIG_MESSAGE: Readonly<Record<string, string>> = {
  composite: 'Composite',
  compressor: 'Compressor',
  cors: 'Cors',
  ext_authz: 'ExtAuthz',
  ext_proc: 'ExternalProcessor',
  gcp_authn: 'GcpAuthnFilterConfig',
  grpc_json_transcoder: 'GrpcJsonTranscoder',
  grpc_stats: 'FilterConfig',
  header_mutation: 'HeaderMutation',
  rate_limit_quota: 'RateLimitQuotaFilterConfig',
  ratelimit: 'RateLimit',
};

/**
 * Per-route config not named `*PerRoute*`: these filters take a message of their own per route, or
 * their config message itself.
 */
const PER_ROUTE_MESSAGE: Readonly<Record<string, string>> = {
  bandwidth_limit: 'BandwidthLimit',
  cors: 'CorsPolicy',
  csrf: 'CsrfPolicy',
  custom_response: 'CustomResponse',
  fault: 'HTTPFault',
  local_ratelimit: 'LocalRateLimit',
  rate_limit_quota: 'RateLimitQuotaOverride',
};

/** Names Envoy once used (removed since): not accepted, but pointed to their filter. */
const LEGACY_NAMES: Readonly<Record<string, string>> = {
  'envoy.buffer': 'buffer',
  'envoy.cors': 'cors',
  'envoy.csrf': 'csrf',
  'envoy.ext_authz': 'ext_authz',
  'envoy.fault': 'fault',
  'envoy.grpc_http1_bridge': 'grpc_http1_bridge',
  'envoy.grpc_json_transcoder': 'grpc_json_transcoder',
  'envoy.grpc_web': 'grpc_web',
  'envoy.gzip': 'gzip',
  'envoy.health_check': 'health_check',
  'envoy.ip_tagging': 'ip_tagging',
  'envoy.lua': 'lua',
  'envoy.rate_limit': 'ratelimit',
  'envoy.router': 'router',
};

/** Where Envoy's protos and their imports live: `@grpc/grpc-js-xds`'s copies, then protobufjs's own. */
const protoRoots = (): string[] => [...envoyProtoRoots(), protobufjsProtoRoot()];

/** The proto files of the HTTP filters, relative to their root. */
function httpFilterProtos(roots: readonly string[]): string[] {
  const files: string[] = [];
  for (const root of roots) {
    const dir = join(root, 'envoy/extensions/filters/http');
    if (!existsSync(dir)) continue;
    for (const pkg of readdirSync(dir).sort()) {
      const v3 = join(dir, pkg, 'v3');
      if (!existsSync(v3)) continue;
      for (const file of readdirSync(v3).sort())
        if (file.endsWith('.proto')) files.push(`envoy/extensions/filters/http/${pkg}/v3/${file}`);
    }
  }
  return files;
}

interface Loaded {
  readonly catalog: EnvoyCatalog;
  readonly schemas: SchemaBuilder;
  /** By name, type URL and per-route type URL (the last two map to the message they name). */
  readonly byKey: ReadonlyMap<string, { filter: HttpFilter; message: string }>;
  readonly files: readonly { path: string; root: string }[];
}

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  const started = performance.now();
  const roots = protoRoots();
  const files = httpFilterProtos(roots);
  const root = loadProtoRoot(roots, files);
  const { Namespace } = protobufjs();

  const filters: HttpFilter[] = [];
  const unresolved: { package: string; reason: string }[] = [];
  const http = root.lookup(HTTP_PACKAGE);
  for (const ns of http instanceof Namespace ? http.nestedArray : []) {
    const v3 = ns instanceof Namespace ? ns.nested?.['v3'] : undefined;
    const pkg = `${HTTP_PACKAGE}.${ns.name}.v3`;
    if (!(v3 instanceof Namespace)) {
      unresolved.push({ package: pkg, reason: 'no v3 package' });
      continue;
    }
    const found = configOf(ns.name, v3);
    if (typeof found === 'string') {
      unresolved.push({ package: pkg, reason: found });
      continue;
    }
    filters.push({
      name: NAME_EXCEPTIONS[ns.name] ?? `envoy.filters.http.${ns.name}`,
      package: pkg,
      message: found.config,
      typeUrl: TYPE_URL_PREFIX + found.config,
      perRoute: found.perRoute
        ? { message: found.perRoute, typeUrl: TYPE_URL_PREFIX + found.perRoute }
        : null,
    });
  }
  filters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byKey = new Map<string, { filter: HttpFilter; message: string }>();
  for (const f of filters) {
    byKey.set(f.name, { filter: f, message: f.message });
    byKey.set(f.typeUrl, { filter: f, message: f.message });
    if (f.perRoute && !byKey.has(f.perRoute.typeUrl))
      byKey.set(f.perRoute.typeUrl, { filter: f, message: f.perRoute.message });
  }
  const source = `@grpc/grpc-js-xds@${
    (
      JSON.parse(readFileSync(grpcJsXdsPackageJson(), 'utf8')) as {
        version: string;
      }
    ).version
  }`;
  loaded = {
    catalog: { filters, unresolved, source, loadMs: Math.round(performance.now() - started) },
    schemas: new SchemaBuilder(root),
    byKey,
    files: files.map((path) => ({ path, root: roots.find((r) => existsSync(join(r, path)))! })),
  };
  return loaded;
}

/** A package's config and per-route messages (full names), or why they cannot be told. */
function configOf(pkg: string, v3: Namespace): { config: string; perRoute: string | null } | string {
  const { Type } = protobufjs();
  const types = v3.nestedArray.filter((n): n is Type => n instanceof Type);
  const isPerRoute = (t: Type) => /PerRoute/.test(t.name);
  // Messages that other (non-per-route) messages of the package hold are parts of a config, not one.
  const parts = new Set<string>();
  const walk = (t: Type) => {
    for (const f of t.fieldsArray) if (f.resolvedType instanceof Type) parts.add(fullNameOf(f.resolvedType));
    for (const n of t.nestedArray) if (n instanceof Type) walk(n);
  };
  for (const t of types) if (!isPerRoute(t)) walk(t);
  const pick = (name: string | undefined) => (name ? types.find((t) => t.name === name) : undefined);
  const explicit = CONFIG_MESSAGE[pkg];
  const candidates = explicit
    ? [pick(explicit)]
    : types.filter((t) => !isPerRoute(t) && !parts.has(fullNameOf(t)));
  if (candidates.length !== 1 || !candidates[0])
    return explicit
      ? `no message ${explicit}`
      : `${candidates.length} candidate config messages: ${candidates.map((t) => t?.name).join(', ')}`;
  const perRouteExplicit = PER_ROUTE_MESSAGE[pkg];
  const perRoutes = perRouteExplicit ? [pick(perRouteExplicit)] : types.filter(isPerRoute);
  if (perRoutes.length > 1 || (perRoutes.length === 1 && !perRoutes[0]))
    return `per-route message unclear: ${perRouteExplicit ?? perRoutes.map((t) => t?.name).join(', ')}`;
  return { config: fullNameOf(candidates[0]), perRoute: perRoutes[0] ? fullNameOf(perRoutes[0]) : null };
}

/** The catalog: every HTTP filter of the shipped protos (loads them on first call). */
export function envoyCatalog(): EnvoyCatalog {
  return load().catalog;
}

/** A filter by its name, its type URL or its per-route config's type URL. */
export function findFilter(filter: string): HttpFilter | undefined {
  return load().byKey.get(filter)?.filter;
}

/**
 * The settings schema of a filter's config (by name or type URL), or of its per-route config (by that
 * type URL, or `perRoute`). Undefined for an unknown filter, or `perRoute` where it has none.
 */
export function filterSchema(filter: string, opts: { perRoute?: boolean } = {}): SettingsSchema | undefined {
  const { schemas, byKey } = load();
  const hit = byKey.get(filter);
  if (!hit) return undefined;
  const message = opts.perRoute ? hit.filter.perRoute?.message : hit.message;
  const type = message ? schemas.type(message) : undefined;
  return type ? schemas.settingsSchema(type) : undefined;
}

/** Up to three known filters close to an unknown name or type URL. */
export function closestFilters(filter: string): string[] {
  const { catalog, byKey } = load();
  const legacy = LEGACY_NAMES[filter];
  if (legacy) {
    const hit = catalog.filters.find((f) => f.package === `${HTTP_PACKAGE}.${legacy}.v3`);
    if (hit) return [hit.name];
  }
  const out = closeKeys(filter, [...byKey.keys()], 3);
  // `envoy.filters.http.fautl`, `fault`, `envoy.fault`: compare the last part with each package.
  const last = filter.slice(filter.lastIndexOf('.') + 1).toLowerCase();
  for (const p of closeKeys(
    last,
    catalog.filters.map((f) => f.name.slice('envoy.filters.http.'.length)),
    3,
  )) {
    const name = `envoy.filters.http.${p}`;
    if (!out.includes(name)) out.push(name);
  }
  return out.slice(0, 3);
}

/**
 * Problems of `settings` as the config of `filter` (its name, its type URL or its per-route type URL),
 * each with its path; empty when Envoy's parser would accept them (protoc-gen-validate rules aside).
 */
export function validateFilterSettings(
  filter: string,
  settings: unknown,
): { path: string; message: string; suggestion?: string }[] {
  const { byKey, schemas } = load();
  const hit = byKey.get(filter);
  if (!hit) {
    const [suggestion, ...more] = closestFilters(filter);
    return [
      {
        path: '',
        message:
          `unknown HTTP filter ${JSON.stringify(filter)}` +
          (suggestion ? `: closest ${[suggestion, ...more].join(', ')}` : ''),
        ...(suggestion ? { suggestion } : {}),
      },
    ];
  }
  const v = new SettingsValidator(schemas);
  v.message(settings ?? {}, hit.message, '');
  return v.issues.map((i: SettingsIssue) => ({ ...i }));
}

/** The proto files the catalog is read from, for tests that compare it with the protos' own comments. */
export function catalogProtoFiles(): readonly { path: string; root: string }[] {
  return load().files;
}
