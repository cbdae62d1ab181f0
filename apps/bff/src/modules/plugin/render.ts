/**
 * Slime's plugin rendering rules. A PluginManager becomes one EnvoyFilter of HTTP_FILTER patches inserted
 * before the router of each matching listener's connection manager; an EnvoyPlugin becomes one
 * EnvoyFilter of MERGE patches on route configurations, virtual hosts or routes. Wasm and Rider code is
 * loaded through extension config discovery with a default configuration, so a module that cannot be
 * fetched leaves a working filter chain that fails open or closed as the plugin says.
 */
import {
  ENVOYFILTER_API_VERSION,
  type EnvoyPlugin,
  type EnvoyPluginListener,
  type JsonValue,
  type Plugin,
  type PluginManager,
  TYPED_STRUCT,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';

export const ISTIO_REV_LABEL = 'istio.io/rev';

export { TYPED_STRUCT };
export const WASM_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm';
export const RIDER_TYPE_URL = 'type.googleapis.com/proxy.filters.http.rider.v3alpha1.FilterConfig';
export const RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const STRING_VALUE = 'type.googleapis.com/google.protobuf.StringValue';
const HCM = 'envoy.filters.network.http_connection_manager';
const ROUTER = 'envoy.filters.http.router';
const RIDER_PACKAGE_PATH = '/usr/local/lib/rider/?/init.lua;/usr/local/lib/rider/?.lua;';
const WASM_SECRET_ENV = 'ISTIO_META_WASM_IMAGE_PULL_SECRET';
const RIDER_ENV_KEY = 'ISTIO_RIDER_ENV';

/** Filters whose settings Slime merges as they are (rate limits and CORS live on the route or vhost itself). */
export const DIRECT_PATCH_FILTERS = [
  'envoy.filters.http.ratelimit',
  'envoy.filters.http.cors',
  'envoy.ratelimit',
];

type Json = { [key: string]: JsonValue };

export interface RenderOptions {
  /** `general.proxyVersion`: only proxies whose version matches this RE2 expression. */
  readonly proxyVersion?: string;
  /** `general.configDiscoveryDefaultConfig`: the default configuration of a discovered filter, by type URL. */
  readonly defaultConfigs?: Readonly<Record<string, unknown>>;
}

export interface Rendered {
  readonly envoyFilter: KubeObject;
  /** Remarks: plugins left out and why, settings that are ignored. */
  readonly warnings: readonly string[];
}

const CONTEXT = { Outbound: 'SIDECAR_OUTBOUND', Inbound: 'SIDECAR_INBOUND', Gateway: 'GATEWAY' } as const;
const contextOf = (p: Plugin): string => CONTEXT[p.listenerType ?? 'Outbound'];

const typedStruct = (typeUrl: string, value: unknown): Json => ({
  '@type': TYPED_STRUCT,
  type_url: typeUrl,
  value: (value ?? {}) as JsonValue,
});

/** Which of inline, wasm and rider a plugin sets: Slime's oneof `plugin_settings`. */
export const settingsKinds = (p: Plugin): ('inline' | 'wasm' | 'rider')[] =>
  (['inline', 'wasm', 'rider'] as const).filter((k) => p[k] !== undefined);

/** The name an extension-config filter has: `<namespace>.<name>`. */
export const discoveredName = (namespace: string, p: Plugin): string =>
  `${namespace}.${p.name ?? ''}${p.rider && !p.wasm ? '.rider' : ''}`;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch: what Slime applies `rawPatch` with. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v) as JsonValue;
  }
  return out;
}

/** Wasm's `configuration`: the settings as a JSON string, or `_string` alone as it is. */
function wasmConfiguration(settings: unknown): Json {
  const s = isObject(settings) ? settings : undefined;
  const only = s && Object.keys(s).length === 1 && typeof s._string === 'string' ? s._string : undefined;
  return { '@type': STRING_VALUE, value: only ?? JSON.stringify(s ?? {}) };
}

/** Where the code is: a file on the proxy, else fetched (by the agent) from a URL, OCI by default. */
function dataSource(url: string, sha256: string | undefined): Json {
  if (url.startsWith('file://')) return { local: { filename: url.slice('file://'.length) } };
  const uri = /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : `oci://${url}`;
  return { remote: { http_uri: { uri, timeout: '30s', cluster: '_' }, sha256: sha256 || 'nil' } };
}

/**
 * The configuration a discovered filter has until its code loads, or when it cannot: the module's setting
 * for the type URL if there is one, else Envoy's RBAC filter allowing everything (FAIL_OPEN) or nothing
 * (FAIL_CLOSE, the default, as Istio's WasmPlugin does).
 */
export function defaultConfig(typeUrl: string, p: Plugin, options: RenderOptions): Json {
  const configured = options.defaultConfigs?.[typeUrl];
  if (isObject(configured)) return configured;
  const failOpen = (p.wasm ?? p.rider)?.failStrategy === 'FAIL_OPEN';
  return failOpen ? { '@type': RBAC_TYPE_URL } : { '@type': RBAC_TYPE_URL, rules: {} };
}

/** The type a default configuration is of: a TypedStruct's inner one. */
function typeOf(config: Json): string | undefined {
  const t = config['@type'];
  if (t === TYPED_STRUCT && typeof config.type_url === 'string') return config.type_url;
  return typeof t === 'string' ? t : undefined;
}

function discoveredFilter(name: string, typeUrl: string, p: Plugin, options: RenderOptions): Json {
  const fallback = defaultConfig(typeUrl, p, options);
  const fallbackType = typeOf(fallback);
  return {
    name,
    config_discovery: {
      config_source: { ads: {} },
      type_urls: fallbackType && fallbackType !== typeUrl ? [typeUrl, fallbackType] : [typeUrl],
      default_config: fallback,
      // The listener takes the default at once instead of waiting for the code: never a chain held back.
      apply_default_config_without_warming: true,
    },
  };
}

function wasmFilterConfig(name: string, p: Plugin): Json {
  const w = p.wasm!;
  const code = dataSource(w.url ?? '', w.sha256);
  const secret = 'remote' in code ? w.imagePullSecretContent : undefined;
  return {
    config: {
      name,
      root_id: w.pluginName ?? '',
      vm_config: {
        runtime: 'envoy.wasm.runtime.v8',
        code,
        ...(secret ? { environment_variables: { key_values: { [WASM_SECRET_ENV]: secret } } } : {}),
      },
      configuration: wasmConfiguration(w.settings),
    },
  };
}

function riderFilterConfig(p: Plugin): Json {
  const r = p.rider!;
  const code = dataSource(r.url ?? '', r.sha256);
  const secret = 'remote' in code ? r.imagePullSecretContent : undefined;
  let config = isObject(r.settings) ? { ...r.settings } : undefined;
  if (secret) {
    config ??= {};
    const env = isObject(config[RIDER_ENV_KEY]) ? config[RIDER_ENV_KEY] : {};
    config[RIDER_ENV_KEY] = { ...env, [WASM_SECRET_ENV]: secret };
  }
  return {
    plugin: {
      name: r.pluginName ?? '',
      vm_config: { package_path: RIDER_PACKAGE_PATH },
      code,
      ...(config ? { config } : {}),
    },
  };
}

const proxyMatch = (options: RenderOptions): Json =>
  options.proxyVersion ? { proxy: { proxyVersion: options.proxyVersion } } : {};

function withRawPatch(patch: Json, p: Plugin): Json {
  return isObject(p.rawPatch) ? (mergePatch(patch, p.rawPatch) as Json) : patch;
}

function envoyFilter(
  object: PluginManager | EnvoyPlugin,
  spec: { workloadSelector?: Json; priority?: number },
  configPatches: Json[],
): KubeObject {
  const { name, namespace, labels } = object.metadata;
  const revision = labels?.[ISTIO_REV_LABEL];
  return {
    apiVersion: ENVOYFILTER_API_VERSION,
    kind: 'EnvoyFilter',
    metadata: {
      name,
      namespace,
      ...(revision !== undefined ? { labels: { [ISTIO_REV_LABEL]: revision } } : {}),
    },
    spec: {
      ...(spec.workloadSelector ? { workloadSelector: spec.workloadSelector } : {}),
      ...(spec.priority ? { priority: spec.priority } : {}),
      configPatches,
    },
  };
}

/** The patches of one PluginManager plugin: the HTTP filter, after its extension config if it has one. */
export function pluginManagerPatches(namespace: string, p: Plugin, options: RenderOptions): Json[] {
  const listener: Json = {
    ...(p.port ? { portNumber: p.port } : {}),
    filterChain: { filter: { name: HCM, subFilter: { name: ROUTER } } },
  };
  const value: Json = p.disableOnFilterLevel ? { disabled: true } : {};
  const patches: Json[] = [];
  if (p.wasm || p.rider) {
    const typeUrl = p.wasm ? WASM_TYPE_URL : RIDER_TYPE_URL;
    const name = discoveredName(namespace, p);
    Object.assign(value, discoveredFilter(name, typeUrl, p, options));
    const config = p.wasm ? wasmFilterConfig(name, p) : riderFilterConfig(p);
    patches.push({
      applyTo: 'EXTENSION_CONFIG',
      patch: { operation: 'ADD', value: { name, typed_config: typedStruct(typeUrl, config) } },
    });
  } else {
    value.name = p.name ?? '';
    // No settings and no type URL: Envoy finds the filter's configuration type by its name.
    if (p.inline || p.typeUrl) value.typed_config = typedStruct(p.typeUrl ?? '', p.inline?.settings);
  }
  patches.push({
    applyTo: 'HTTP_FILTER',
    match: { context: contextOf(p), listener, ...proxyMatch(options) },
    patch: { operation: 'INSERT_BEFORE', value },
  });
  return patches.map((patch) => withRawPatch(patch, p));
}

/** A PluginManager's EnvoyFilter: its enabled HTTP plugins in order. */
export function renderPluginManager(pm: PluginManager, options: RenderOptions): Rendered {
  const warnings: string[] = [];
  const patches: Json[] = [];
  (pm.spec.plugin ?? []).forEach((p, i) => {
    if (!p.enable) return;
    if ((p.protocol ?? 'HTTP') !== 'HTTP') {
      warnings.push(`spec.plugin[${i}].protocol: ${p.protocol} filters need Slime's own Istio; left out`);
      return;
    }
    patches.push(...pluginManagerPatches(pm.metadata.namespace, p, options));
  });
  return {
    envoyFilter: envoyFilter(
      pm,
      {
        workloadSelector: pm.spec.workloadLabels ? { labels: pm.spec.workloadLabels } : {},
        priority: pm.spec.priority ?? 0,
      },
      patches,
    ),
    warnings,
  };
}

/** Where an EnvoyPlugin's patch goes: a route configuration, a virtual host, or a route. */
export interface Target {
  readonly level: 'ROUTE_CONFIGURATION' | 'VIRTUAL_HOST' | 'HTTP_ROUTE';
  readonly routeConfiguration?: string;
  readonly virtualHost?: string;
  readonly route?: string;
}

/** The route configuration names of a listener: `<port>` or `<host>:<port>` on a sidecar, `http.<port>[.<bind>]` on a gateway. */
export function routeConfigurationNames(l: EnvoyPluginListener): string[] {
  const port = l.port ?? 0;
  if (port === 0) return [l.bind ?? ''];
  if (l.sidecar) {
    const hosts = (l.hosts ?? []).filter((h) => h !== '').map((h) => `${h}:${port}`);
    return hosts.length > 0 ? hosts : [String(port)];
  }
  const portName = l.portName ?? '';
  const items: string[] = [];
  if (portName.startsWith('http')) items.push('http', String(port));
  else if (portName.startsWith('generic')) items.push('generic', portName.split('-')[1] ?? '', String(port));
  if (l.bind) items.push(l.bind);
  return [items.join('.')];
}

export function targetsOf(ep: EnvoyPlugin): Target[] {
  const out: Target[] = [];
  for (const l of ep.spec.listener ?? [])
    for (const rc of routeConfigurationNames(l))
      if (rc !== '') out.push({ level: 'ROUTE_CONFIGURATION', routeConfiguration: rc });
  for (const h of ep.spec.host ?? []) out.push({ level: 'VIRTUAL_HOST', virtualHost: h });
  for (const full of ep.spec.route ?? []) {
    const slash = full.indexOf('/');
    out.push(
      slash >= 0
        ? { level: 'HTTP_ROUTE', virtualHost: full.slice(0, slash), route: full.slice(slash + 1) }
        : { level: 'HTTP_ROUTE', route: full },
    );
  }
  return out;
}

/** The settings an EnvoyPlugin plugin merges, and the filter name they are under. */
function perFilterSettings(
  namespace: string,
  p: Plugin,
): { name: string; inline: NonNullable<Plugin['inline']> } {
  if (p.wasm)
    return {
      name: discoveredName(namespace, p),
      inline: { settings: { configuration: wasmConfiguration(p.wasm.settings) } },
    };
  if (p.rider)
    return {
      name: discoveredName(namespace, p),
      inline: {
        settings: { plugins: [{ config: (p.rider.settings ?? {}) as JsonValue, name: p.name ?? '' }] },
      },
    };
  return { name: p.name ?? '', inline: p.inline ?? {} };
}

function envoyPluginPatch(t: Target, p: Plugin, namespace: string, options: RenderOptions): Json {
  // A virtual host Slime names `inbound|...` is matched in any context, as it always was.
  const context = t.virtualHost?.startsWith('inbound|') ? 'ANY' : contextOf(p);
  let vhost = t.virtualHost;
  // Outbound and gateway virtual hosts are named <host>:<port>: without a port, every port.
  if (vhost && !vhost.includes(':') && (context === 'SIDECAR_OUTBOUND' || context === 'GATEWAY'))
    vhost += ':*';
  const rc: Json = {
    ...(t.routeConfiguration ? { name: t.routeConfiguration } : {}),
    ...(vhost || t.route
      ? { vhost: { ...(vhost ? { name: vhost } : {}), ...(t.route ? { route: { name: t.route } } : {}) } }
      : {}),
  };
  const { name, inline } = perFilterSettings(namespace, p);
  const settings = (inline.settings ?? {}) as JsonValue;
  let value: Json | undefined;
  if (DIRECT_PATCH_FILTERS.includes(name))
    value = t.level === 'VIRTUAL_HOST' ? (settings as Json) : { route: settings };
  else if (inline.directPatch) {
    const to = inline.fieldPatchTo === 'ROOT' ? '' : (inline.fieldPatchTo ?? '');
    value = to ? { [to]: settings } : (settings as Json);
  } else value = { typedPerFilterConfig: { [name]: typedStruct(p.typeUrl ?? '', inline.settings) } };
  return withRawPatch(
    {
      applyTo: t.level,
      match: { context, routeConfiguration: rc, ...proxyMatch(options) },
      patch: { operation: 'MERGE', value },
    },
    p,
  );
}

/** An EnvoyPlugin's EnvoyFilter: every enabled plugin at every target. */
export function renderEnvoyPlugin(ep: EnvoyPlugin, options: RenderOptions): Rendered {
  const warnings: string[] = [];
  const plugins = ep.spec.plugins ?? [];
  plugins.forEach((p, i) => {
    if (p.enable && settingsKinds(p).length === 0)
      warnings.push(`spec.plugins[${i}]: none of inline, wasm or rider; left out`);
    if (p.enable && (p.protocol ?? 'HTTP') !== 'HTTP')
      warnings.push(`spec.plugins[${i}].protocol: ${p.protocol} filters need Slime's own Istio; left out`);
  });
  const patches: Json[] = [];
  for (const t of targetsOf(ep))
    for (const p of plugins)
      if (p.enable && settingsKinds(p).length > 0 && (p.protocol ?? 'HTTP') === 'HTTP')
        patches.push(envoyPluginPatch(t, p, ep.metadata.namespace, options));
  const selector = ep.spec.workloadSelector;
  return {
    envoyFilter: envoyFilter(
      ep,
      {
        ...(selector ? { workloadSelector: { labels: selector.labels ?? {} } } : {}),
        priority: ep.spec.priority ?? 0,
      },
      patches,
    ),
    warnings,
  };
}
