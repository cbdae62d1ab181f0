/**
 * Envoy's fault filter (`envoy.filters.http.fault`) as the simulated mesh reads it from the EnvoyFilters in
 * the cluster: which workloads' inbound HTTP connection managers get the filter, and with which settings
 * (inline in the filter, or per route through `typed_per_filter_config` on the inbound route). A workload
 * with settings aborts or delays that fraction of its inbound requests.
 */
import type { Pod } from '@governor/crd-types';
import { labelsMatch, namespaceOf } from '../modules/limiter/render';
import { DEFAULT_ROOT_NAMESPACE } from './fences';
import { byAge, compileAll, isRecord, istioObjectOf, type IstioObjectMeta } from './istio-objects';

export const FAULT_FILTER = 'envoy.filters.http.fault';
/** The name Envoy still accepts for it. */
const LEGACY_FAULT_FILTER = 'envoy.fault';
const HCM = 'envoy.filters.network.http_connection_manager';

/** An abort or delay of a fraction of requests. */
export interface FaultAbort {
  /** The HTTP status answered; for a gRPC abort 200, with {@link grpcStatus}. */
  readonly httpStatus: number;
  readonly grpcStatus?: number;
  /** Of 1. */
  readonly fraction: number;
}

export interface FaultDelay {
  readonly delayMs: number;
  readonly fraction: number;
}

/** The fault filter's settings for a workload's inbound requests on one port. */
export interface FaultSettings {
  readonly abort?: FaultAbort;
  readonly delay?: FaultDelay;
}

/** Reads a field by its proto name or its JSON (camelCase) name. */
function field(o: Record<string, unknown>, snake: string): unknown {
  if (snake in o) return o[snake];
  return o[snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
}

const DENOMINATORS: Readonly<Record<string, number>> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
};

/** A `FractionalPercent` as a fraction of 1 (numerator 0 without one, denominator HUNDRED by default). */
export function fractionOf(percentage: unknown): number {
  if (!isRecord(percentage)) return 0;
  const numerator = Number(percentage['numerator'] ?? 0);
  const d = percentage['denominator'];
  const denominator =
    typeof d === 'number' ? [100, 10_000, 1_000_000][d] : DENOMINATORS[typeof d === 'string' ? d : 'HUNDRED'];
  if (!Number.isFinite(numerator) || numerator <= 0 || denominator === undefined) return 0;
  return Math.min(1, numerator / denominator);
}

/** A protobuf `Duration` as JSON (`"0.5s"`) or as an object (`{seconds, nanos}`), in ms. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)s$/.exec(v.trim());
    return m ? Number(m[1]) * 1000 : undefined;
  }
  if (isRecord(v)) {
    const ms = Number(v['seconds'] ?? 0) * 1000 + Number(v['nanos'] ?? 0) / 1e6;
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  }
  return undefined;
}

/** The fault filter's settings from an `HTTPFault` message (proto or JSON names); undefined without any. */
export function faultSettingsOf(message: unknown): FaultSettings | undefined {
  if (!isRecord(message)) return undefined;
  let abort: FaultAbort | undefined;
  const a = message['abort'];
  if (isRecord(a)) {
    const http = field(a, 'http_status');
    const grpc = field(a, 'grpc_status');
    const fraction = fractionOf(a['percentage']);
    // A header-controlled abort takes its status from a header the simulated clients never send.
    if (typeof http === 'number' && http >= 200 && http < 600) abort = { httpStatus: http, fraction };
    else if (typeof grpc === 'number' && grpc > 0) abort = { httpStatus: 200, grpcStatus: grpc, fraction };
  }
  let delay: FaultDelay | undefined;
  const d = message['delay'];
  if (isRecord(d)) {
    const ms = durationMs(field(d, 'fixed_delay'));
    if (ms !== undefined) delay = { delayMs: ms, fraction: fractionOf(d['percentage']) };
  }
  return { ...(abort ? { abort } : {}), ...(delay ? { delay } : {}) };
}

/**
 * The settings a `typed_config` (or a `typed_per_filter_config` entry) carries: a `TypedStruct` (`type_url`
 * and `value`), the `HTTPFault` message itself with `@type`, or a route's `FilterConfig` wrapping either.
 */
export function typedFaultSettings(typed: unknown): FaultSettings | undefined {
  if (!isRecord(typed)) return undefined;
  const type = typeof typed['@type'] === 'string' ? typed['@type'] : '';
  if (type.endsWith('.TypedStruct')) return faultSettingsOf(typed['value'] ?? {});
  if (type.endsWith('envoy.config.route.v3.FilterConfig')) return typedFaultSettings(typed['config']);
  return faultSettingsOf(typed);
}

type RouteLevel = 'ROUTE_CONFIGURATION' | 'VIRTUAL_HOST' | 'HTTP_ROUTE';
const ROUTE_LEVELS: readonly RouteLevel[] = ['ROUTE_CONFIGURATION', 'VIRTUAL_HOST', 'HTTP_ROUTE'];

interface FilterPatch {
  readonly kind: 'filter';
  readonly port: number | undefined;
  /** `insert` adds the filter with its settings (undefined: none inline); `remove` takes it out again. */
  readonly op: 'insert' | 'remove';
  readonly disabled: boolean;
  readonly settings: FaultSettings | undefined;
}

interface RoutePatch {
  readonly kind: 'route';
  readonly level: RouteLevel;
  readonly port: number | undefined;
  readonly routeConfiguration: string | undefined;
  readonly virtualHost: string | undefined;
  readonly route: string | undefined;
  readonly settings: FaultSettings;
}

type Patch = FilterPatch | RoutePatch;

interface CompiledFilter extends IstioObjectMeta {
  readonly patches: readonly Patch[];
}

const appliesInbound = (match: Record<string, unknown>): boolean => {
  const context = match['context'];
  return context === undefined || context === 'ANY' || context === 'SIDECAR_INBOUND';
};

const portOf = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function filterPatch(
  match: Record<string, unknown>,
  patch: Record<string, unknown>,
): FilterPatch | undefined {
  const listener = isRecord(match['listener']) ? match['listener'] : {};
  const chain = isRecord(listener['filterChain']) ? listener['filterChain'] : {};
  const filter = isRecord(chain['filter']) ? chain['filter'] : {};
  if (filter['name'] !== undefined && filter['name'] !== HCM) return undefined;
  const subFilter = isRecord(filter['subFilter']) ? filter['subFilter']['name'] : undefined;
  const port = portOf(listener['portNumber']);
  const operation = patch['operation'];
  const value = isRecord(patch['value']) ? patch['value'] : {};
  const isFault = (n: unknown) => n === FAULT_FILTER || n === LEGACY_FAULT_FILTER;
  if (operation === 'REMOVE')
    return isFault(subFilter)
      ? { kind: 'filter', port, op: 'remove', disabled: false, settings: undefined }
      : undefined;
  if (!['INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'ADD'].includes(String(operation))) return undefined;
  if (!isFault(value['name'])) return undefined;
  return {
    kind: 'filter',
    port,
    op: 'insert',
    disabled: value['disabled'] === true,
    settings: typedFaultSettings(field(value, 'typed_config')),
  };
}

function routePatch(
  level: RouteLevel,
  match: Record<string, unknown>,
  patch: Record<string, unknown>,
): RoutePatch | undefined {
  if (patch['operation'] !== 'MERGE' || !isRecord(patch['value'])) return undefined;
  const perFilter = field(patch['value'], 'typed_per_filter_config');
  if (!isRecord(perFilter)) return undefined;
  const settings = typedFaultSettings(perFilter[FAULT_FILTER] ?? perFilter[LEGACY_FAULT_FILTER]);
  if (!settings) return undefined;
  const rc = isRecord(match['routeConfiguration']) ? match['routeConfiguration'] : {};
  const vhost = isRecord(rc['vhost']) ? rc['vhost'] : {};
  const route = isRecord(vhost['route']) ? vhost['route'] : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    kind: 'route',
    level,
    port: portOf(rc['portNumber']),
    routeConfiguration: str(rc['name']),
    virtualHost: str(vhost['name']),
    route: str(route['name']),
    settings,
  };
}

/** An EnvoyFilter as far as the fault filter goes on inbound listeners; undefined for anything else. */
export function compileEnvoyFilter(raw: unknown): CompiledFilter | undefined {
  const object = istioObjectOf(raw, 'EnvoyFilter');
  if (!object) return undefined;
  const { spec } = object;
  const patches: Patch[] = [];
  for (const p of Array.isArray(spec['configPatches']) ? spec['configPatches'] : []) {
    if (!isRecord(p) || !isRecord(p['patch'])) continue;
    const match = isRecord(p['match']) ? p['match'] : {};
    if (!appliesInbound(match)) continue;
    const applyTo = p['applyTo'];
    const compiled =
      applyTo === 'HTTP_FILTER'
        ? filterPatch(match, p['patch'])
        : ROUTE_LEVELS.includes(applyTo as RouteLevel)
          ? routePatch(applyTo as RouteLevel, match, p['patch'])
          : undefined;
    if (compiled) patches.push(compiled);
  }
  return patches.length === 0 ? undefined : { ...object.meta, patches };
}

/** The inbound listener of a port as Istio names its parts (see istio/proxy-model.ts). */
interface InboundPort {
  /** The listener's (and the route configuration's) port: the Service's target port. */
  readonly target: number;
  /** The Service port, which names the virtual host. */
  readonly service: number;
}

const routeMatches = (p: RoutePatch, at: InboundPort): boolean =>
  (p.port === undefined || p.port === at.target) &&
  (p.routeConfiguration === undefined || p.routeConfiguration === `inbound|${at.target}||`) &&
  (p.virtualHost === undefined || p.virtualHost === `inbound|http|${at.service}`) &&
  (p.route === undefined || p.route === 'default');

/** The EnvoyFilters of the mesh, compiled once per object version. */
export class Faults {
  private readonly filters: readonly CompiledFilter[];
  private readonly byPod = new WeakMap<Pod, Map<string, FaultSettings | null>>();

  constructor(
    envoyFilters: readonly unknown[],
    private readonly rootNamespace = DEFAULT_ROOT_NAMESPACE,
  ) {
    // As istiod applies them: the root namespace's first, then by creation time and name.
    this.filters = compileAll(
      envoyFilters,
      compiled,
      (a, b) => Number(b.namespace === rootNamespace) - Number(a.namespace === rootNamespace) || byAge(a, b),
    );
  }

  get size(): number {
    return this.filters.length;
  }

  /**
   * The fault settings of the pod's inbound requests on a port: the route's own (per-route config, the
   * most specific level winning) when the filter is in its connection manager and enabled, else the
   * filter's inline ones; undefined when the filter is not there or has no settings.
   */
  faultOf(pod: Pod, targetPort: number, servicePort = targetPort): FaultSettings | undefined {
    let byPort = this.byPod.get(pod);
    if (!byPort) this.byPod.set(pod, (byPort = new Map()));
    const key = `${targetPort}/${servicePort}`;
    if (!byPort.has(key))
      byPort.set(key, this.resolve(pod, { target: targetPort, service: servicePort }) ?? null);
    return byPort.get(key) ?? undefined;
  }

  private resolve(pod: Pod, at: InboundPort): FaultSettings | undefined {
    const ns = namespaceOf(pod);
    const labels = pod.metadata.labels ?? {};
    let inserted = false;
    let enabled = false;
    let inline: FaultSettings | undefined;
    const perRoute = new Map<RouteLevel, FaultSettings>();
    for (const f of this.filters) {
      if (f.namespace !== ns && f.namespace !== this.rootNamespace) continue;
      if (f.selector && !labelsMatch(f.selector, labels)) continue;
      for (const p of f.patches) {
        if (p.kind === 'route') {
          // A later MERGE of the same entry replaces the earlier one.
          if (routeMatches(p, at)) perRoute.set(p.level, p.settings);
          continue;
        }
        if (p.port !== undefined && p.port !== at.target) continue;
        if (p.op === 'remove') {
          inserted = enabled = false;
          inline = undefined;
        } else if (!p.disabled) {
          inserted = enabled = true;
          if (p.settings) inline = p.settings;
        } else inserted = true;
      }
    }
    // A filter disabled by default stays off on this route: the mesh reads no per-route enabling.
    if (!inserted || !enabled) return undefined;
    const settings =
      perRoute.get('HTTP_ROUTE') ??
      perRoute.get('VIRTUAL_HOST') ??
      perRoute.get('ROUTE_CONFIGURATION') ??
      inline;
    return settings && (settings.abort || settings.delay) ? settings : undefined;
  }
}

/**
 * Whether the next request of a run fires, by exact fractional accounting: `fraction` of every run of
 * requests, spread evenly and without randomness. Returns the new carry and the outcome.
 */
export function nextFires(carry: number, fraction: number): { carry: number; fires: boolean } {
  if (fraction <= 0) return { carry, fires: false };
  const next = carry + fraction;
  // The epsilon absorbs the rounding of fractions such as 0.1 summed ten times.
  return next >= 1 - 1e-9 ? { carry: next - 1, fires: true } : { carry: next, fires: false };
}

// Informers replace an object when it changes: cached by object, and by resourceVersion for copies.
const compiledCache = new WeakMap<object, CompiledFilter | null>();
const byVersion = new Map<string, CompiledFilter | null>();

function compiled(raw: unknown): CompiledFilter | undefined {
  if (!isRecord(raw)) return undefined;
  const cached = compiledCache.get(raw);
  if (cached !== undefined) return cached ?? undefined;
  const metadata = isRecord(raw['metadata']) ? raw['metadata'] : {};
  const rv = metadata['resourceVersion'];
  const key =
    typeof rv === 'string' && rv !== ''
      ? `${String(metadata['uid'] ?? '')}/${String(metadata['namespace'])}/${String(metadata['name'])}@${rv}`
      : undefined;
  let c = key !== undefined ? byVersion.get(key) : undefined;
  if (c === undefined) {
    c = compileEnvoyFilter(raw) ?? null;
    if (key !== undefined) {
      // Bounded: versions of objects long gone are not kept forever.
      if (byVersion.size > 10_000) byVersion.clear();
      byVersion.set(key, c);
    }
  }
  compiledCache.set(raw, c);
  return c ?? undefined;
}
