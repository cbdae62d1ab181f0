/**
 * What the route server serves: one MetaProtocol route configuration per service port (`<host>_<port>`),
 * from the governing MetaRouter's routes (attribute matches as header matchers, destinations as Envoy
 * clusters, weighted clusters, mirrors, mutations, a DestinationRule's hash policy), or one default route.
 */
import {
  destinationRuleSchema,
  type DestinationRule,
  type MetaDestination,
  type MetaRouteMatch,
  type MetaRouteSpec,
  type MetaRouter,
} from '@governor/crd-types';
import { RE2JS } from 're2js';
import type {
  MetaHeaderMatcher,
  MetaKeyValue,
  MetaRoute,
  MetaRouteAction,
  MetaRouteConfiguration,
} from '../../envoy/metaprotocol-route';
import type { Snapshot } from '../../framework/module';
import { checkMetaRouter } from './checks';
import { metaServices, routerKey, routersByHost, type MetaPort, type MetaService } from './services';

type Json = Record<string, unknown>;

/** Envoy's cluster names: `outbound|<port>|<subset>|<host>`. */
export const clusterName = (direction: 'inbound' | 'outbound', subset: string, host: string, port: number) =>
  `${direction}|${port}|${subset}|${host}`;
export const routeConfigName = (host: string, port: number) => `${host}_${port}`;

/* ---------- matches ---------- */

/** A MetaRouter match as the header matchers the proxy evaluates against a call's attributes. */
export function metadataMatchers(match: MetaRouteMatch | undefined): MetaHeaderMatcher[] {
  // Sorted by name: a map has no order, and the served resource's version should not flap.
  return Object.entries(match?.attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, m]): MetaHeaderMatcher => {
      if (m === null || (m.exact === undefined && m.prefix === undefined && m.regex === undefined))
        return { name, presentMatch: true };
      if (m.regex === '*') return { name, presentMatch: true };
      if (m.exact !== undefined) return { name, exactMatch: m.exact };
      if (m.prefix !== undefined) return { name, prefixMatch: m.prefix };
      return { name, safeRegexMatch: { googleRe2: {}, regex: m.regex! } };
    });
}

/** Whether a call with these attributes matches, as the proxy's header matchers decide. */
export function callMatches(
  matchers: readonly MetaHeaderMatcher[],
  attributes: Readonly<Record<string, string>>,
): boolean {
  return matchers.every((m) => {
    const v = attributes[m.name];
    if (v === undefined) return false;
    if (m.presentMatch) return true;
    if (m.exactMatch !== undefined) return v === m.exactMatch;
    if (m.prefixMatch !== undefined) return v.startsWith(m.prefixMatch);
    if (m.safeRegexMatch) return RE2JS.compile(m.safeRegexMatch.regex).matches(v);
    return true;
  });
}

/* ---------- route configurations ---------- */

/** The header name a DestinationRule's consistent hash uses for a subset (or the whole host). */
function hashPolicy(dr: DestinationRule | undefined, subset: string): string | undefined {
  const spec = dr?.spec as Json | undefined;
  const lbOf = (tp: unknown) =>
    (((tp as Json | undefined)?.loadBalancer as Json | undefined)?.consistentHash as Json | undefined)
      ?.httpHeaderName as string | undefined;
  const sub = (spec?.subsets as Json[] | undefined)?.find((s) => s.name === subset);
  return (sub ? lbOf(sub.trafficPolicy) : undefined) ?? lbOf(spec?.trafficPolicy);
}

const mutations = (kvs: MetaRouteSpec['requestMutation']): MetaKeyValue[] | undefined =>
  kvs && kvs.length > 0 ? kvs.map(({ key, value }) => ({ key, value })) : undefined;

function routeAction(
  route: MetaRouteSpec,
  port: number,
  destinationRule: (host: string) => DestinationRule | undefined,
): MetaRouteAction {
  const action: MetaRouteAction = {};
  const dests = route.route ?? [];
  const portOf = (d: MetaDestination) => (d.port?.number ? d.port.number : port);
  const hashes: string[] = [];
  const hashOf = (d: MetaDestination) => {
    const h = hashPolicy(destinationRule(d.host), d.subset ?? '');
    if (h) hashes.push(h);
  };
  if (dests.length === 1) {
    const d = dests[0]!.destination;
    action.cluster = clusterName('outbound', d.subset ?? '', d.host, portOf(d));
    hashOf(d);
  } else if (dests.length > 1) {
    action.weightedClusters = {
      clusters: dests.map((d) => ({
        name: clusterName('outbound', d.destination.subset ?? '', d.destination.host, portOf(d.destination)),
        weight: d.weight ?? 0,
      })),
      totalWeight: dests.reduce((s, d) => s + (d.weight ?? 0), 0),
    };
    dests.forEach((d) => hashOf(d.destination));
  }
  if (route.mirror) {
    const pct = route.mirrorPercentage?.value ? route.mirrorPercentage.value : 100;
    action.requestMirrorPolicies = [
      {
        cluster: clusterName('outbound', route.mirror.subset ?? '', route.mirror.host, portOf(route.mirror)),
        // Aeraki's translation: percent to parts per million.
        runtimeFraction: { defaultValue: { numerator: Math.trunc(pct * 10_000), denominator: 'MILLION' } },
      },
    ];
  }
  if (hashes.length > 0) action.hashPolicy = hashes;
  return action;
}

/** The route configuration the route server serves for one service port. */
export function routeConfiguration(
  service: Pick<MetaService, 'host'>,
  port: Pick<MetaPort, 'number'>,
  router: MetaRouter | undefined,
  destinationRule: (host: string) => DestinationRule | undefined,
): MetaRouteConfiguration {
  const name = routeConfigName(service.host, port.number);
  const routes = router?.spec.routes ?? [];
  if (routes.length === 0) {
    const hash = hashPolicy(destinationRule(service.host), '');
    return {
      name,
      routes: [
        {
          name: 'default',
          match: { metadata: [] },
          route: {
            cluster: clusterName('outbound', '', service.host, port.number),
            ...(hash ? { hashPolicy: [hash] } : {}),
          },
        },
      ],
    };
  }
  return {
    name,
    routes: routes.map((r): MetaRoute => {
      const req = mutations(r.requestMutation);
      const res = mutations(r.responseMutation);
      return {
        name: r.name ?? '',
        match: { metadata: metadataMatchers(r.match) },
        route: routeAction(r, port.number, destinationRule),
        ...(req ? { requestMutation: req } : {}),
        ...(res ? { responseMutation: res } : {}),
      };
    }),
  };
}

/** The DestinationRules by host, for hash policies (a rule's short host is its namespace's). */
function destinationRules(snapshot: Snapshot): (host: string) => DestinationRule | undefined {
  const rules = snapshot.parsed('DestinationRule', destinationRuleSchema);
  return (host) =>
    rules.find((r) => {
      const h = r.spec.host;
      return h === host || `${h}.${r.metadata.namespace ?? 'default'}.svc.cluster.local` === host;
    });
}

/** The MetaRouter governing a service: the oldest of those naming its host. */
export function routerFor(
  service: MetaService,
  byHost: ReadonlyMap<string, MetaRouter[]>,
): MetaRouter | undefined {
  return byHost.get(service.host)?.[0];
}

export interface ServedRoutes {
  readonly configs: MetaRouteConfiguration[];
  /** The MetaRouter (`namespace/name`) each route configuration comes from; absent: a default route. */
  readonly source: ReadonlyMap<string, string>;
}

/**
 * Every route configuration the route server serves: one per MetaProtocol service port. A MetaRouter that
 * does not check out serves nothing of its own: its services keep a default route until it is fixed.
 */
export function routeConfigurations(snapshot: Snapshot): ServedRoutes {
  const byHost = routersByHost(snapshot);
  const dr = destinationRules(snapshot);
  const configs: MetaRouteConfiguration[] = [];
  const source = new Map<string, string>();
  const seen = new Set<string>();
  for (const service of metaServices(snapshot)) {
    const candidate = routerFor(service, byHost);
    const router = candidate && checkMetaRouter(candidate).problems.length === 0 ? candidate : undefined;
    for (const port of service.ports) {
      const name = routeConfigName(service.host, port.number);
      // Two objects for one host and port: the first (Services before ServiceEntries) is served.
      if (seen.has(name)) continue;
      seen.add(name);
      configs.push(routeConfiguration(service, port, router, dr));
      if (router && (router.spec.routes ?? []).length > 0) source.set(name, routerKey(router));
    }
  }
  return { configs, source };
}
