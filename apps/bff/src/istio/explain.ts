/**
 * Where istiod applies each EnvoyFilter patch on one proxy, by istiod's own matching rules
 * (pilot/pkg/networking/core/envoyfilter: listener_patch.go, rc_patch.go, cluster_patch.go; selection in
 * pilot/pkg/model) run over the proxy model. Pure: the same objects give the same explanation.
 */
import { editDistance } from '@governor/crd-types';
import type { PatchExplanation, PatchPlace, ProxyExplanation, ProxyRef } from './explain-types';
import {
  buildProxyModel,
  byCode,
  selects,
  type KubeObject,
  type ModelCluster,
  type ModelFilterChain,
  type ModelListener,
  type ModelNetworkFilter,
  type ModelRouteConfiguration,
  type ModelVirtualHost,
  type PatchContextName,
  type ProxyModel,
} from './proxy-model';

export interface ExplainInput {
  /** The cluster's objects: Services, Pods, ServiceEntries, VirtualServices, Gateways; others are ignored. */
  objects: readonly KubeObject[];
  envoyFilters: readonly KubeObject[];
  proxy: ProxyRef;
  /** Force the proxy's type; by default a gateway when a Gateway selects the Pod. */
  gateway?: boolean;
  rootNamespace?: string;
  /** The proxy's Istio version, for `match.proxy.proxyVersion`. */
  proxyVersion?: string;
}

const HCM = 'envoy.filters.network.http_connection_manager';
const VIRTUAL_LISTENERS = new Set(['virtualInbound', 'virtualOutbound']);
const MERGES = new Set(['MERGE', 'MERGE_AND_REPLACE_LIST']);

interface FilterChainMatch {
  name?: string;
  sni?: string;
  transportProtocol?: string;
  applicationProtocols?: string;
  destinationPort?: number;
  filter?: { name?: string; subFilter?: { name?: string } };
}
interface ListenerMatch {
  portNumber?: number;
  name?: string;
  filterChain?: FilterChainMatch;
  listenerFilter?: string;
}
interface RouteConfigurationMatch {
  portNumber?: number;
  portName?: string;
  gateway?: string;
  name?: string;
  vhost?: { name?: string; domainName?: string; route?: { name?: string; action?: string } };
}
interface ClusterMatch {
  portNumber?: number;
  service?: string;
  subset?: string;
  name?: string;
}
interface Match {
  context: string;
  proxy?: { proxyVersion?: string; metadata?: Record<string, string> };
  listener?: ListenerMatch;
  routeConfiguration?: RouteConfigurationMatch;
  cluster?: ClusterMatch;
}
interface Patch {
  envoyFilter: string;
  index: number;
  applyTo: string;
  /** As istiod stores it: INSERT_* become ADD for kinds that have no order. */
  operation: string;
  declaredOperation: string;
  match: Match;
  value: Record<string, unknown>;
}

const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const efName = (o: KubeObject): string => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;

function patchesOf(ef: KubeObject): Patch[] {
  const spec = rec(ef.spec);
  const list = Array.isArray(spec.configPatches) ? spec.configPatches : [];
  return list.flatMap((raw, index) => {
    const cp = rec(raw);
    if (cp.patch === undefined) return [];
    const applyTo = str(cp.applyTo) ?? 'INVALID';
    const declared = str(rec(cp.patch).operation) ?? 'INVALID';
    const ordered = ['HTTP_FILTER', 'NETWORK_FILTER', 'HTTP_ROUTE', 'LISTENER_FILTER'].includes(applyTo);
    const operation = !ordered && declared.startsWith('INSERT_') ? 'ADD' : declared;
    const match = (
      cp.match === undefined ? { context: 'ANY' } : { context: 'ANY', ...rec(cp.match) }
    ) as Match;
    return [
      {
        envoyFilter: efName(ef),
        index,
        applyTo,
        operation,
        declaredOperation: declared,
        match,
        value: rec(rec(cp.patch).value),
      },
    ];
  });
}

/** `match.context` against the context istiod patches a resource in. */
const contextMatches = (p: Patch, context: PatchContextName): boolean =>
  p.match.context === context || p.match.context === 'ANY';

function proxyMatches(p: Patch, version: string): boolean {
  const m = p.match.proxy;
  if (m === undefined) return true;
  if (m.metadata !== undefined && Object.keys(m.metadata).length > 0) return false;
  if (m.proxyVersion === undefined || m.proxyVersion === '') return true;
  try {
    return new RegExp(m.proxyVersion).test(version);
  } catch {
    return true;
  }
}

// listener_patch.go: listenerMatch, filterChainMatch, networkFilterMatch, httpFilterMatch.
function listenerMatches(l: ModelListener, p: Patch): boolean {
  const m = p.match.listener;
  if (m === undefined) return true;
  if (m.name && m.name !== l.name) return false;
  if (p.applyTo !== 'LISTENER' && VIRTUAL_LISTENERS.has(l.name)) return true;
  return !m.portNumber || m.portNumber === l.port;
}

function chainMatches(l: ModelListener, fc: ModelFilterChain, p: Patch): boolean {
  const m = p.match.listener;
  if (m === undefined) return true;
  if (VIRTUAL_LISTENERS.has(l.name) && m.portNumber && fc.match.destinationPort !== m.portNumber)
    return false;
  const c = m.filterChain;
  if (c === undefined) return true;
  if (c.name && c.name !== fc.name) return false;
  if (c.sni && !(fc.match.serverNames ?? []).includes(c.sni)) return false;
  if (c.transportProtocol && fc.match.transportProtocol !== c.transportProtocol) return false;
  if (
    c.applicationProtocols &&
    !c.applicationProtocols.split(',').every((a) => (fc.match.applicationProtocols ?? []).includes(a))
  )
    return false;
  if (c.destinationPort && fc.match.destinationPort !== c.destinationPort) return false;
  return true;
}

const networkFilterName = (p: Patch): string | undefined =>
  p.match.listener?.filterChain?.filter === undefined
    ? undefined
    : (p.match.listener.filterChain.filter.name ?? '');
const httpFilterName = (p: Patch): string | undefined =>
  networkFilterName(p) === undefined || p.match.listener?.filterChain?.filter?.subFilter === undefined
    ? undefined
    : (p.match.listener.filterChain.filter.subFilter.name ?? '');

/** Applies an ordered insert, replace or remove to a list as istiod does, by name; whether it changed. */
function applyOrdered<T>(
  list: T[],
  op: string,
  target: string | undefined,
  added: T,
  nameOf: (item: T) => string,
): boolean {
  const at = target === undefined ? -1 : list.findIndex((item) => nameOf(item) === target);
  switch (op) {
    case 'ADD':
      list.push(added);
      return true;
    case 'INSERT_FIRST':
      list.unshift(added);
      return true;
    case 'INSERT_BEFORE':
      if (target === undefined) return list.unshift(added) > 0;
      if (at < 0) return false;
      list.splice(at, 0, added);
      return true;
    case 'INSERT_AFTER':
      if (target === undefined) return list.push(added) > 0;
      if (at < 0) return false;
      list.splice(at + 1, 0, added);
      return true;
    case 'REPLACE':
      if (at < 0) return false;
      list[at] = added;
      return true;
    case 'REMOVE': {
      if (at < 0) return false;
      const kept = list.filter((item) => nameOf(item) !== target);
      list.splice(0, list.length, ...kept);
      return true;
    }
    default:
      return false;
  }
}

const byName = (name: string): string => name;

/**
 * Whether a MERGE into a filter changes it: it renames the filter, or its typed_config carries a field
 * (a typed_config of only `@type` merges nothing into a filter of that type).
 */
function mergeChanges(p: Patch, current: string): boolean {
  const config = rec(p.value.typed_config ?? p.value.typedConfig);
  const renames = str(p.value.name) !== undefined && str(p.value.name) !== current;
  return renames || Object.keys(config).some((k) => k !== '@type');
}

type Places = Map<Patch, PatchPlace[]>;

/** The EnvoyFilter patch that put an HTTP filter in a connection manager. */
export interface HttpFilterOrigin {
  /** `namespace/name` of the EnvoyFilter. */
  envoyFilter: string;
  /** The patch's index in `spec.configPatches`. */
  patch: number;
}
/** Per patched connection manager, who put each of its HTTP filters there (null: istiod). */
type Origins = Map<ModelNetworkFilter, (HttpFilterOrigin | null)[]>;
const add = (places: Places, p: Patch, place: PatchPlace): void => {
  places.set(p, [...(places.get(p) ?? []), place]);
};

function patchListeners(model: ProxyModel, patches: Patch[], places: Places, origins: Origins): void {
  const of = (kind: string) => patches.filter((p) => p.applyTo === kind);
  for (const l of model.listeners) {
    let removed = false;
    for (const p of of('LISTENER')) {
      if (!contextMatches(p, l.context) || !listenerMatches(l, p)) continue;
      if (p.operation === 'REMOVE') {
        add(places, p, { listener: l.name });
        removed = true;
        break;
      }
      if (MERGES.has(p.operation)) add(places, p, { listener: l.name });
    }
    if (removed) continue;
    for (const p of of('LISTENER_FILTER')) {
      if (!contextMatches(p, l.context) || !listenerMatches(l, p)) continue;
      const target = p.match.listener?.listenerFilter || undefined;
      const name = str(p.value.name) ?? '';
      const changed =
        p.operation === 'MERGE'
          ? target !== undefined && l.listenerFilters.includes(target)
          : target === undefined && ['REPLACE', 'REMOVE'].includes(p.operation)
            ? false
            : applyOrdered(l.listenerFilters, p.operation, target, name, byName);
      if (changed) add(places, p, { listener: l.name });
    }
    const chains = [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])];
    for (const fc of chains) patchChain(l, fc, patches, places, origins);
    for (const p of of('FILTER_CHAIN'))
      if (p.operation === 'ADD' && contextMatches(p, l.context) && listenerMatches(l, p))
        add(places, p, { listener: l.name, filterChain: str(p.value.name) ?? '' });
  }
  // Added listeners: once per context that adds them; ANY adds none among inbound listeners.
  for (const p of of('LISTENER'))
    if (p.operation === 'ADD' && addsIn(model, p)) add(places, p, { listener: str(p.value.name) ?? '' });
}

/** Whether an ADD of a listener or cluster adds it: ANY adds to outbound and gateway ones only. */
const addsIn = (model: ProxyModel, p: Patch): boolean =>
  contextsOf(model).some(
    (c) => contextMatches(p, c) && !(p.match.context === 'ANY' && c === 'SIDECAR_INBOUND'),
  );

/** A chain's name in a place: its name, else `#N` by position, or `#default` for the default chain. */
export function chainId(l: ModelListener, fc: ModelFilterChain): string {
  if (fc.name !== '') return fc.name;
  return fc === l.defaultFilterChain ? '#default' : `#${l.filterChains.indexOf(fc)}`;
}

const chainPlace = (l: ModelListener, fc: ModelFilterChain): PatchPlace => ({
  listener: l.name,
  filterChain: chainId(l, fc),
});

function patchChain(
  l: ModelListener,
  fc: ModelFilterChain,
  patches: Patch[],
  places: Places,
  origins: Origins,
): void {
  const at = chainPlace(l, fc);
  const matching = (kind: string) =>
    patches.filter(
      (p) =>
        p.applyTo === kind && contextMatches(p, l.context) && listenerMatches(l, p) && chainMatches(l, fc, p),
    );
  for (const p of matching('FILTER_CHAIN')) {
    if (p.operation === 'REMOVE') {
      add(places, p, at);
      return;
    }
    if (MERGES.has(p.operation)) add(places, p, at);
  }
  const names = fc.filters.map((f) => f.name);
  const networkPatches = matching('NETWORK_FILTER');
  for (const p of networkPatches) {
    if (p.operation === 'MERGE') continue;
    const target = networkFilterName(p);
    if ((p.operation === 'REPLACE' || p.operation === 'REMOVE') && target === undefined) continue;
    const before = [...names];
    if (applyOrdered(names, p.operation, target, str(p.value.name) ?? '', byName)) {
      add(places, p, at);
      syncFilters(fc, before, names);
    }
  }
  for (const filter of fc.filters) {
    mergeInto(filter, networkPatches, networkFilterName, places, at);
    if (filter.name === HCM) patchHttpFilters(l, fc, filter, matching('HTTP_FILTER'), places, origins);
  }
}

/** The MERGE patches onto one filter: each that names it, or names none, changes it and may rename it. */
function mergeInto(
  filter: { name: string },
  patches: readonly Patch[],
  targetOf: (p: Patch) => string | undefined,
  places: Places,
  at: PatchPlace,
): void {
  for (const p of patches) {
    if (p.operation !== 'MERGE') continue;
    const target = targetOf(p);
    if (target !== undefined && target !== filter.name) continue;
    if (mergeChanges(p, filter.name)) add(places, p, at);
    if (str(p.value.name)) filter.name = str(p.value.name)!;
  }
}

/** Keeps the chain's filters (and their connection managers) in step with an edited list of names. */
function syncFilters(fc: ModelFilterChain, before: string[], after: string[]): void {
  const pool = [...fc.filters];
  fc.filters = after.map((name) => {
    const i = pool.findIndex((f) => f.name === name);
    if (i >= 0 && before.includes(name)) return pool.splice(i, 1)[0]!;
    return { name };
  });
}

function patchHttpFilters(
  l: ModelListener,
  fc: ModelFilterChain,
  filter: ModelNetworkFilter,
  patches: Patch[],
  places: Places,
  origins: Origins,
): void {
  const at = chainPlace(l, fc);
  const relevant = patches.filter((p) => {
    const nf = networkFilterName(p);
    return nf === undefined || nf === filter.name;
  });
  const list = (filter.httpFilters ??= []);
  const known = origins.get(filter);
  // Each filter travels with the patch that put it there (null: istiod's own), through every edit.
  const entries = list.map((name, i) => ({ name, by: known?.[i] ?? null }));
  for (const p of relevant) {
    if (p.operation === 'MERGE') continue;
    const target = httpFilterName(p);
    if ((p.operation === 'REPLACE' || p.operation === 'REMOVE') && target === undefined) continue;
    const added = { name: str(p.value.name) ?? '', by: { envoyFilter: p.envoyFilter, patch: p.index } };
    if (applyOrdered(entries, p.operation, target, added, (e) => e.name)) add(places, p, at);
  }
  for (const entry of entries) mergeInto(entry, relevant, httpFilterName, places, at);
  list.splice(0, list.length, ...entries.map((e) => e.name));
  origins.set(
    filter,
    entries.map((e) => e.by),
  );
}

// rc_patch.go: routeConfigurationMatch, virtualHostMatch, routeMatch.
function listenerPortOfRouteName(name: string): number {
  if (name.startsWith('inbound')) return Number(name.split('|')[1]) || 0;
  return /^\d+$/.test(name) ? Number(name) : 0;
}

function gatewayRouteName(name: string): { port: number; portName: string; gateway: string } {
  if (name.startsWith('http.')) return { port: Number(name.slice(5)) || 0, portName: '', gateway: '' };
  const parts = name.split('.');
  if (name.startsWith('https.') && parts.length === 5)
    return { port: Number(parts[1]) || 0, portName: parts[2]!, gateway: `${parts[4]}/${parts[3]}` };
  return { port: 0, portName: '', gateway: '' };
}

function routeConfigurationMatches(model: ProxyModel, rc: ModelRouteConfiguration, p: Patch): boolean {
  const m = p.match.routeConfiguration;
  if (m === undefined) return true;
  if (m.name && m.name !== rc.name) return false;
  if (rc.context !== 'GATEWAY') return !m.portNumber || m.portNumber === listenerPortOfRouteName(rc.name);
  const parsed = gatewayRouteName(rc.name);
  if (m.portName && m.portName !== parsed.portName) return false;
  if (m.gateway && m.gateway !== parsed.gateway) return false;
  if (m.portNumber) {
    const mapped = model.gatewayPortMap.get(parsed.port);
    return mapped === undefined ? parsed.port === m.portNumber : mapped.has(m.portNumber);
  }
  return true;
}

function virtualHostMatches(vh: ModelVirtualHost, p: Patch): boolean {
  const m = p.match.routeConfiguration?.vhost;
  if (m === undefined) return true;
  return (!m.name || m.name === vh.name) && (!m.domainName || vh.domains.includes(m.domainName));
}

function routeMatches(route: { name: string; action: string }, p: Patch): boolean {
  const m = p.match.routeConfiguration?.vhost?.route;
  if (m === undefined) return true;
  if (m.name && m.name !== route.name) return false;
  return !m.action || m.action === 'ANY' || m.action === route.action;
}

const hasRouteMatch = (p: Patch): boolean => p.match.routeConfiguration?.vhost?.route !== undefined;

/** Route ids: the name, or `#N` for the Nth unnamed route. */
function routeIds(routes: { name: string }[]): string[] {
  let unnamed = 0;
  return routes.map((r) => (r.name === '' ? `#${unnamed++}` : r.name));
}

function patchRoutes(model: ProxyModel, patches: Patch[], places: Places): void {
  const of = (kind: string) => patches.filter((p) => p.applyTo === kind);
  for (const rc of model.routeConfigurations) {
    const applies = (p: Patch) => contextMatches(p, rc.context) && routeConfigurationMatches(model, rc, p);
    for (const p of of('ROUTE_CONFIGURATION'))
      if (MERGES.has(p.operation) && applies(p)) add(places, p, { routeConfiguration: rc.name });
    const vhPatches = of('VIRTUAL_HOST').filter(applies);
    for (const vh of rc.virtualHosts) {
      let removed = false;
      for (const p of vhPatches) {
        if (!virtualHostMatches(vh, p)) continue;
        if (p.operation === 'REMOVE' || MERGES.has(p.operation) || p.operation === 'REPLACE')
          add(places, p, { routeConfiguration: rc.name, virtualHost: vh.name });
        if (p.operation === 'REMOVE') {
          removed = true;
          break;
        }
      }
      if (!removed) patchVirtualHostRoutes(rc, vh, of('HTTP_ROUTE').filter(applies), places);
    }
    for (const p of vhPatches)
      if (p.operation === 'ADD')
        add(places, p, { routeConfiguration: rc.name, virtualHost: str(p.value.name) ?? '' });
  }
}

function patchVirtualHostRoutes(
  rc: ModelRouteConfiguration,
  vh: ModelVirtualHost,
  patches: Patch[],
  places: Places,
): void {
  const matching = patches.filter((p) => virtualHostMatches(vh, p));
  const at = (route: string) => ({ routeConfiguration: rc.name, virtualHost: vh.name, route });
  const ids = routeIds(vh.routes);
  const routes: ({ name: string; action: string } | null)[] = [...vh.routes];
  routes.forEach((route, i) => {
    for (const p of matching) {
      if (route === null || !routeMatches(route, p)) continue;
      if (p.operation === 'REMOVE') {
        add(places, p, at(ids[i]!));
        routes[i] = null;
        return;
      }
      if (MERGES.has(p.operation)) add(places, p, at(ids[i]!));
    }
  });
  const kept = routes.filter((r): r is { name: string; action: string } => r !== null);
  for (const p of matching) {
    const added = { name: str(p.value.name) ?? '', action: 'ROUTE' };
    const firstMatch = kept.findIndex((r) => routeMatches(r, p));
    let position: number | undefined;
    if (p.operation === 'ADD') position = kept.length;
    else if (p.operation === 'INSERT_AFTER')
      position = !hasRouteMatch(p) ? kept.length : firstMatch < 0 ? undefined : firstMatch + 1;
    else if (p.operation === 'INSERT_BEFORE' || p.operation === 'INSERT_FIRST')
      position = !hasRouteMatch(p)
        ? 0
        : firstMatch < 0
          ? undefined
          : p.operation === 'INSERT_FIRST'
            ? 0
            : firstMatch;
    if (position === undefined) continue;
    kept.splice(position, 0, added);
    add(places, p, at(added.name === '' ? routeIds(kept)[position]! : added.name));
  }
}

// cluster_patch.go: clusterMatch.
function patchClusters(model: ProxyModel, patches: Patch[], places: Places): void {
  const clusterPatches = patches.filter((p) => p.applyTo === 'CLUSTER');
  for (const c of model.clusters) {
    for (const p of clusterPatches) {
      if (p.operation !== 'REMOVE' && !MERGES.has(p.operation)) continue;
      if (!contextMatches(p, c.context) || !clusterMatches(c, p)) continue;
      add(places, p, { cluster: c.name });
      if (p.operation === 'REMOVE') break;
    }
  }
  for (const p of clusterPatches)
    if (p.operation === 'ADD' && addsIn(model, p)) add(places, p, { cluster: str(p.value.name) ?? '' });
}

function clusterMatches(c: ModelCluster, p: Patch): boolean {
  const m = p.match.cluster;
  if (m === undefined) return true;
  if (m.name) return m.name === c.name;
  const parts = c.name.split('|');
  const [direction, port, subset, host] = parts.length === 4 ? parts : ['', '0', '', ''];
  const hosts = direction === 'inbound' && (c.hosts ?? []).length > 0 ? c.hosts! : [host];
  if (m.subset && m.subset !== subset) return false;
  if (m.service && !hosts.includes(m.service)) return false;
  return !m.portNumber || m.portNumber === Number(port);
}

const placeKey = (p: PatchPlace): string =>
  [p.listener, p.filterChain, p.routeConfiguration, p.virtualHost, p.route, p.cluster]
    .map((v) => v ?? '')
    .join('\u0000');

/** Sorted by listener, filter chain, route configuration, virtual host, route, cluster; each once. */
export function sortPlaces(places: readonly PatchPlace[]): PatchPlace[] {
  const unique = new Map(places.map((p) => [placeKey(p), p]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
}

/** A proxy's model after every patch istiod would apply, with the explanation of those patches. */
export interface PatchedProxy {
  model: ProxyModel;
  explanation: ProxyExplanation;
  /** Who put each HTTP filter of a connection manager of `model` there, by position; null: istiod. */
  httpFilterOrigins(filter: ModelNetworkFilter): readonly (HttpFilterOrigin | null)[];
}

export function explainEnvoyFilters(input: ExplainInput): ProxyExplanation {
  return patchProxy(input).explanation;
}

/** Applies the EnvoyFilters that select the proxy to its model, in istiod's order. */
export function patchProxy(input: ExplainInput): PatchedProxy {
  const root = input.rootNamespace ?? 'istio-system';
  const options = input.gateway !== undefined ? { gateway: input.gateway } : {};
  // Patching edits the model's filter lists as istiod edits the listeners; reasons read a fresh one.
  const model = buildProxyModel(input.objects, input.proxy, options);
  const selected: string[] = [];
  const unselected: string[] = [];
  const chosen: KubeObject[] = [];
  for (const ef of input.envoyFilters) {
    const ns = ef.metadata?.namespace ?? 'default';
    const selector = rec(rec(ef.spec).workloadSelector).labels as Record<string, string> | undefined;
    const ok =
      (ns === input.proxy.namespace || ns === root) &&
      (selector === undefined || selects(selector, model.proxy.labels));
    (ok ? selected : unselected).push(efName(ef));
    if (ok) chosen.push(ef);
  }
  // istiod applies root-namespace filters first, then by priority and name.
  chosen.sort((a, b) => {
    const pa = Number(rec(a.spec).priority ?? 0);
    const pb = Number(rec(b.spec).priority ?? 0);
    const ra = a.metadata?.namespace === root ? 0 : 1;
    const rb = b.metadata?.namespace === root ? 0 : 1;
    return pa - pb || ra - rb || byCode(efName(a), efName(b));
  });
  const version = input.proxyVersion ?? '1.31.0';
  const all = chosen.flatMap(patchesOf);
  const active = all.filter((p) => proxyMatches(p, version));
  const places: Places = new Map();
  const origins: Origins = new Map();
  patchListeners(model, active, places, origins);
  patchRoutes(model, active, places);
  patchClusters(model, active, places);

  const pristine = buildProxyModel(input.objects, input.proxy, options);
  const patches: PatchExplanation[] = all.map((p) => {
    const found = sortPlaces(places.get(p) ?? []);
    const out: PatchExplanation = {
      envoyFilter: p.envoyFilter,
      index: p.index,
      applyTo: p.applyTo,
      context: p.match.context,
      operation: p.declaredOperation,
      places: found,
    };
    if (found.length === 0) out.reason = whyNothing(pristine, p, version);
    return out;
  });
  const explanation: ProxyExplanation = {
    proxy: model.proxy,
    selected: selected.sort(),
    unselected: unselected.sort(),
    patches,
    warnings: patches
      .filter((p) => p.places.length === 0)
      .map(
        (p) => `${p.envoyFilter} patch ${p.index} (${p.applyTo} ${p.operation}) matches nothing: ${p.reason}`,
      ),
  };
  return {
    model,
    explanation,
    httpFilterOrigins: (filter) => origins.get(filter) ?? (filter.httpFilters ?? []).map(() => null),
  };
}

const list = (names: readonly string[], max = 6): string =>
  names.length === 0
    ? 'none'
    : names.length <= max
      ? names.join(', ')
      : `${names.slice(0, max).join(', ')}, …`;

const closest = (wanted: string, names: readonly string[], max = 6): string[] =>
  [...new Set(names)]
    .sort((a, b) => editDistance(wanted, a) - editDistance(wanted, b) || byCode(a, b))
    .slice(0, max);

const contextsOf = (model: ProxyModel): PatchContextName[] =>
  model.proxy.type === 'gateway' ? ['GATEWAY'] : ['SIDECAR_INBOUND', 'SIDECAR_OUTBOUND'];

function whyNothing(model: ProxyModel, p: Patch, version: string): string {
  if (p.applyTo === 'EXTENSION_CONFIG')
    return 'an EXTENSION_CONFIG patch adds a filter configuration served over ECDS; it is not placed in a listener, route or cluster';
  if (!proxyMatches(p, version)) return `match.proxy does not match this proxy (Istio ${version})`;
  if (!contextsOf(model).some((c) => contextMatches(p, c)))
    return `context ${p.match.context} does not apply to a ${model.proxy.type} proxy (its contexts: ${contextsOf(model).join(', ')})`;
  if (['ROUTE_CONFIGURATION', 'VIRTUAL_HOST', 'HTTP_ROUTE'].includes(p.applyTo)) return whyNoRoute(model, p);
  if (p.applyTo === 'CLUSTER') {
    if (p.operation !== 'REMOVE' && !MERGES.has(p.operation) && p.operation !== 'ADD')
      return `operation ${p.operation} does nothing to a cluster`;
    const clusters = model.clusters.filter((c) => contextMatches(p, c.context)).map((c) => c.name);
    const m = p.match.cluster ?? {};
    if (!m.name && m.service) {
      const services = [...new Set(clusters.map((c) => c.split('|')[3] ?? '').filter((h) => h !== ''))];
      if (!services.includes(m.service))
        return `no cluster of service ${m.service}; services with clusters: ${list(closest(m.service, services))}`;
    }
    const wanted = m.name ?? m.service ?? '';
    return `no cluster matches ${JSON.stringify(m)}; clusters: ${list(closest(wanted, clusters))}`;
  }
  return whyNoListener(model, p);
}

function whyNoListener(model: ProxyModel, p: Patch): string {
  const m = p.match.listener ?? {};
  const listeners = model.listeners.filter((l) => contextMatches(p, l.context));
  if (listeners.length === 0) return `the proxy has no listener in context ${p.match.context}`;
  const byListener = listeners.filter((l) => listenerMatches(l, p));
  if (byListener.length === 0) {
    const wanted = m.name ?? (m.portNumber ? `port ${m.portNumber}` : '');
    return `no listener ${wanted} in context ${p.match.context}; listeners: ${list(listeners.map((l) => `${l.name} (port ${l.port})`))}`;
  }
  if (p.applyTo === 'LISTENER' || p.applyTo === 'LISTENER_FILTER')
    return `operation ${p.operation} changes nothing on listeners ${list(byListener.map((l) => l.name))}`;
  const chains = byListener.flatMap((l) =>
    [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])].map((fc) => ({ l, fc })),
  );
  const byChain = chains.filter(({ l, fc }) => chainMatches(l, fc, p));
  const describeChain = ({ l, fc }: { l: ModelListener; fc: ModelFilterChain }) =>
    `${l.name}/${chainId(l, fc)}${fc.match.destinationPort ? ` (port ${fc.match.destinationPort})` : ''}`;
  const virtual = byListener.filter((l) => VIRTUAL_LISTENERS.has(l.name));
  const portsOf = (l: ModelListener) =>
    [...new Set(l.filterChains.flatMap((fc) => fc.match.destinationPort ?? []))].sort((a, b) => a - b);
  if (byChain.length === 0 && m.portNumber && virtual.length > 0 && byListener.length === virtual.length)
    return virtual
      .map(
        (l) =>
          `no filter chain for port ${m.portNumber} on ${l.name}; its ports: ${list(portsOf(l).map(String), 10)}`,
      )
      .join('; ');
  if (byChain.length === 0)
    return `no filter chain matches ${JSON.stringify(m.filterChain ?? { portNumber: m.portNumber })}; filter chains: ${list([...new Set(chains.map(describeChain))])}`;
  if (p.applyTo === 'FILTER_CHAIN')
    return `operation ${p.operation} changes nothing on filter chains ${list([...new Set(byChain.map(describeChain))])}`;
  const nf = networkFilterName(p);
  const filters = byChain.flatMap(({ fc }) => fc.filters);
  if (p.applyTo === 'NETWORK_FILTER')
    return nf !== undefined && !filters.some((f) => f.name === nf)
      ? `no network filter ${nf} on the matching filter chains; their filters: ${list([...new Set(filters.map((f) => f.name))])}`
      : `operation ${p.operation} changes nothing on the matching filter chains`;
  const hcms = filters.filter((f) => f.name === HCM && (nf === undefined || nf === f.name));
  if (hcms.length === 0)
    return `no HTTP connection manager on the matching filter chains (${list([...new Set(byChain.map(describeChain))])})${nf !== undefined && nf !== HCM ? ` (the match names network filter ${nf})` : ''}`;
  const sub = httpFilterName(p);
  const httpFilters = [...new Set(hcms.flatMap((h) => h.httpFilters ?? []))];
  if (sub !== undefined && !httpFilters.includes(sub))
    return `no HTTP filter ${sub} in the matching connection managers; their filters: ${list(httpFilters, 10)}`;
  return `operation ${p.operation} changes nothing in the matching connection managers`;
}

function whyNoRoute(model: ProxyModel, p: Patch): string {
  const m = p.match.routeConfiguration ?? {};
  const inContext = model.routeConfigurations.filter((rc) => contextMatches(p, rc.context));
  if (p.applyTo === 'ROUTE_CONFIGURATION' && !MERGES.has(p.operation))
    return `istiod applies only MERGE to a route configuration, not ${p.operation}`;
  if (inContext.length === 0) return `the proxy has no route configuration in context ${p.match.context}`;
  const rcs = inContext.filter((rc) => routeConfigurationMatches(model, rc, p));
  if (rcs.length === 0) {
    const wanted = m.name ?? (m.portNumber ? `on port ${m.portNumber}` : JSON.stringify(m));
    // On a gateway, portNumber names a Gateway server's port, not the listener's.
    const serverPorts =
      model.proxy.type === 'gateway' && m.portNumber
        ? ` (on a gateway, portNumber is a Gateway server port: ${list([...new Set([...model.gatewayPortMap.values()].flatMap((s) => [...s]))].sort((a, b) => a - b).map(String))})`
        : '';
    return `no route configuration ${wanted}${serverPorts}; route configurations: ${list(
      closest(
        m.name ?? String(m.portNumber ?? ''),
        inContext.map((rc) => rc.name),
      ),
    )}`;
  }
  if (p.applyTo === 'ROUTE_CONFIGURATION') return `operation ${p.operation} changes nothing`;
  const vhosts = rcs.flatMap((rc) => rc.virtualHosts.map((vh) => ({ rc, vh })));
  const matched = vhosts.filter(({ vh }) => virtualHostMatches(vh, p));
  const wantedVh = m.vhost?.name;
  if (matched.length === 0) {
    if (m.vhost?.domainName && !wantedVh)
      return `no virtual host with domain ${m.vhost.domainName}; virtual hosts: ${list(
        closest(
          m.vhost.domainName,
          vhosts.map(({ vh }) => vh.name),
        ),
      )}`;
    const name = wantedVh ?? '';
    const hostPort = /^(.*):(\d+)$/.exec(name);
    if (hostPort === null)
      return `no virtual host ${name}; virtual hosts: ${list(
        closest(
          name,
          vhosts.map(({ vh }) => vh.name),
        ),
      )}`;
    const [, host, port] = hostPort as unknown as [string, string, string];
    const implied = model.proxy.type === 'gateway' ? `http.${port}` : port;
    const rcLabel = m.name ?? implied;
    const sameHost = vhosts.filter(({ vh }) => vh.name.startsWith(`${host}:`));
    if (sameHost.length > 0) {
      const ports = [...new Set(sameHost.map(({ vh }) => vh.name.slice(host.length + 1)))];
      const onPorts = ports.map((pt) => {
        const names = vhosts.filter(({ vh }) => vh.name.endsWith(`:${pt}`)).map(({ vh }) => vh.name);
        const ordered = [`${host}:${pt}`, ...[...new Set(names)].filter((n) => n !== `${host}:${pt}`)];
        return `virtual hosts on port ${pt}: ${list(ordered, 3)}`;
      });
      return `no virtual host ${name} on route configuration ${rcLabel}; ${onPorts.join('; ')}`;
    }
    return `no virtual host ${name} on route configuration ${rcLabel}; virtual hosts: ${list(
      closest(
        name,
        vhosts.map(({ vh }) => vh.name),
      ),
    )}`;
  }
  if (p.applyTo === 'VIRTUAL_HOST') return `operation ${p.operation} changes nothing`;
  const routes = matched.flatMap(({ vh }) =>
    routeIds(vh.routes).map((id, i) => ({ vh, id, route: vh.routes[i]! })),
  );
  const wantedRoute = m.vhost?.route;
  if (wantedRoute !== undefined && !routes.some(({ route }) => routeMatches(route, p))) {
    const where = [...new Set(matched.map(({ vh }) => vh.name))];
    const what = wantedRoute.name ? `named ${wantedRoute.name}` : `with action ${wantedRoute.action}`;
    return `no route ${what} in virtual host ${list(where)}; routes: ${list(routes.map(({ vh, id }) => (where.length > 1 ? `${vh.name}/${id}` : id)))}`;
  }
  return `operation ${p.operation} changes nothing`;
}
