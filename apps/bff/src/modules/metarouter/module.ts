/**
 * The metarouter module: Aeraki's MetaProtocol routing. Three controllers share its settings:
 * - MetaRouter (this module): checks each MetaRouter, reports in its status what Aeraki would silently lose
 *   (several hosts, two MetaRouters for one service, a host with no MetaProtocol port) and what the proxies
 *   did with the route configurations served from it (ACK / NACK); it owns nothing.
 * - Services and ServiceEntries with MetaProtocol ports (companions): each owns Aeraki's EnvoyFilters for
 *   its ports, outbound in the mesh's root namespace (or where its MetaRouter is exported) and inbound on
 *   its workloads with the MetaRouter's rate limits.
 * The route configurations themselves are served by Governor's route server from `routeConfigurations`.
 */
import {
  METAPROTOCOL_API_VERSION,
  METAROUTER_KIND,
  destinationRuleSchema,
  parseMetaRouter,
  type Condition,
  type DestinationRule,
  type MetaRouter,
  type MetaRouterStatus,
} from '@governor/crd-types';
import { keyOf, type KubeObject } from '../../cluster/store';
import type { MetaRouteConfiguration } from '../../envoy/metaprotocol-route';
import type { Module, ModuleEvent, Parsed, Plan, PlanProblem, Snapshot } from '../../framework/module';
import type { ModuleContext } from '../../framework/registry';
import { renderGateway } from './gateways';
import { NO_ROUTE_STATUS, type RouteStatusSource } from '../../sources/route-status';
import { NO_METHOD_TRAFFIC, type MethodTrafficSource } from '../../sources/method-traffic';
import {
  DEFAULT_RENDER_OPTIONS,
  checkMetaRouter,
  renderService,
  routeConfigName,
  routeConfiguration,
  type RenderOptions,
} from './render';
import {
  codecs,
  hostsOf,
  metaServiceOf,
  metaServices,
  routerKey,
  routersByHost,
  type MetaService,
} from './services';
import { condition } from '../../framework/conditions';

export const SERVICE_MODULE_NAME = 'metarouter-service';
export const SERVICEENTRY_MODULE_NAME = 'metarouter-serviceentry';
export const GATEWAY_MODULE_NAME = 'metarouter-gateway';

const problemText = (problems: readonly PlanProblem[]) =>
  problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');

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

/* ---------- MetaRouter ---------- */

function invalidStatus(raw: KubeObject, problems: readonly PlanProblem[], _owned: number, now: Date) {
  const previous = raw.status as MetaRouterStatus | undefined;
  const message = `${problemText(problems)}; its services keep what they were last served`;
  return {
    ...(previous ?? {}),
    conditions: [
      condition(previous, 'Valid', 'False', 'InvalidSpec', message, now),
      condition(previous, 'Ready', 'False', 'Invalid', message, now),
    ],
    ...(raw.metadata.generation !== undefined ? { observedGeneration: raw.metadata.generation } : {}),
  };
}

export function planMetaRouter(
  router: MetaRouter,
  raw: KubeObject,
  snapshot: Snapshot,
  now: Date,
  routeStatus: RouteStatusSource,
  unknownWarnings: readonly string[],
): Plan<null> {
  const { problems, warnings } = checkMetaRouter(router);
  warnings.unshift(...unknownWarnings);
  const previous = router.status;
  const hosts = router.spec.hosts ?? [];
  const host = hosts[0];
  const extra: Condition[] = [];
  if (hosts.length > 1)
    warnings.push(`spec.hosts: ${hosts.length} hosts, but the rules apply to the first only (${host})`);

  // The service the host names, and whether it has a MetaProtocol port.
  const services = metaServices(snapshot).filter((s) => s.hosts.includes(host ?? ''));
  // Only when no MetaProtocol service has the host: which plain one does, to say why.
  const plain =
    services.length > 0 || host === undefined
      ? []
      : [...snapshot.list('Service'), ...snapshot.list('ServiceEntry')].filter((o) =>
          hostsOf(o).includes(host),
        );
  const served = services.flatMap((s) => s.ports.map((p) => routeConfigName(s.host, p.number)));
  if (host !== undefined) {
    if (services.length === 0)
      extra.push(
        condition(
          previous,
          'ServiceFound',
          'False',
          plain.length > 0 ? 'NoMetaProtocolPort' : 'NoService',
          plain.length > 0
            ? `${plain.map((o) => `${o.kind} ${keyOf(o)}`).join(', ')} has host ${host} but no port named tcp-metaprotocol-<protocol>-...: the rules apply to nothing`
            : `no Service or ServiceEntry has host ${host}: the rules apply to nothing until one does`,
          now,
        ),
      );
    else
      extra.push(
        condition(
          previous,
          'ServiceFound',
          'True',
          'MetaProtocolService',
          services
            .map(
              (s) =>
                `${s.kind} ${s.namespace}/${s.name} (${s.ports.map((p) => `${p.number}/${p.protocol}`).join(', ')})`,
            )
            .join(', '),
          now,
        ),
      );
  }

  const rivals = (routersByHost(snapshot).get(host ?? '') ?? []).filter(
    (r) => routerKey(r) !== routerKey(router),
  );
  const chosen = routersByHost(snapshot).get(host ?? '')?.[0];
  if (rivals.length > 0) {
    const mine = chosen !== undefined && routerKey(chosen) === routerKey(router);
    extra.push(
      condition(
        previous,
        'Conflict',
        'True',
        mine ? 'SharedHost' : 'Superseded',
        `${rivals.map((r) => `MetaRouter ${routerKey(r)}`).join(', ')} also ${rivals.length > 1 ? 'name' : 'names'} host ${host}; ` +
          (mine
            ? 'this one, the oldest, is used'
            : `MetaRouter ${routerKey(chosen!)}, the oldest, is used and this one is not`),
        now,
      ),
    );
  }

  const global = router.spec.globalRateLimit;
  if (global)
    extra.push(
      condition(
        previous,
        'GlobalLimit',
        'True',
        'Counted',
        `calls${Object.keys(global.match.attributes ?? {}).length > 0 ? ` matching ${Object.keys(global.match.attributes ?? {}).join(', ')}` : ''} are counted by ${global.rateLimitService} in domain ${global.domain} with ${global.descriptors.map((d) => `${d.descriptorKey}=<${d.property}>`).join(', ')}; the quotas are that service's rule files (Governor's rate-limit service: GOVERNOR_RLS_CONFIG)` +
          (global.denyOnFail ? '; calls are refused while it cannot answer' : ''),
        now,
      ),
    );

  // What the proxies made of the route configurations served from it.
  const proxies = served.flatMap((name) => routeStatus.forRouteConfig(name).map((s) => ({ name, ...s })));
  const refused = proxies.filter((p) => !p.acked && p.error);
  if (refused.length > 0)
    extra.push(
      condition(
        previous,
        'ProxiesAccepted',
        'False',
        'Rejected',
        refused.map((p) => `${p.node} refused ${p.name} version ${p.version}: ${p.error}`).join('; '),
        now,
      ),
    );
  else if (proxies.length > 0)
    extra.push(
      condition(
        previous,
        'ProxiesAccepted',
        proxies.every((p) => p.acked) ? 'True' : 'Unknown',
        proxies.every((p) => p.acked) ? 'Accepted' : 'Pending',
        `${proxies.filter((p) => p.acked).length} of ${proxies.length} subscriptions accepted the version served`,
        now,
      ),
    );

  const valid = problems.length === 0;
  const superseded = chosen !== undefined && routerKey(chosen) !== routerKey(router);
  const ready = !valid
    ? condition(
        previous,
        'Ready',
        'False',
        'Invalid',
        `${problemText(problems)}; its services keep what they were last served`,
        now,
      )
    : services.length === 0
      ? condition(previous, 'Ready', 'False', 'NoService', 'no MetaProtocol service has its host', now)
      : superseded
        ? condition(
            previous,
            'Ready',
            'False',
            'Superseded',
            `MetaRouter ${routerKey(chosen!)} governs host ${host}`,
            now,
          )
        : refused.length > 0
          ? condition(
              previous,
              'Ready',
              'False',
              'Rejected',
              `${refused.length} proxies refused the routes served`,
              now,
            )
          : condition(
              previous,
              'Ready',
              'True',
              'Served',
              `route configuration ${served.join(', ')} served` +
                (proxies.length > 0
                  ? ` to ${new Set(proxies.map((p) => p.node)).size} proxies`
                  : ' (no proxy has subscribed yet)') +
                (router.spec.localRateLimit || router.spec.globalRateLimit
                  ? '; rate limits on the inbound EnvoyFilters'
                  : ''),
              now,
            );
  const status: MetaRouterStatus = {
    conditions: [
      condition(
        previous,
        'Valid',
        valid ? 'True' : 'False',
        valid ? 'Valid' : 'InvalidSpec',
        valid ? 'the spec is valid' : problemText(problems),
        now,
      ),
      ready,
      ...extra,
    ],
    ...(raw.metadata.generation !== undefined ? { observedGeneration: raw.metadata.generation } : {}),
    ...(served.length > 0 && valid && !superseded ? { routeConfigurations: served } : {}),
    ...(proxies.length > 0
      ? {
          proxies: Object.fromEntries(
            proxies.map((p) => [
              `${p.node} ${p.name}`,
              { version: p.version, acked: p.acked, ...(p.error ? { error: p.error } : {}) },
            ]),
          ),
        }
      : {}),
  };
  return { desired: [], status: status as Record<string, unknown>, problems, warnings, engine: null };
}

export function metaRouterEvents(
  previousRaw: Record<string, unknown> | undefined,
  plan: Plan<null>,
): ModuleEvent[] {
  const find = (s: Record<string, unknown> | undefined, type: string) =>
    (s as MetaRouterStatus | undefined)?.conditions?.find((c) => c.type === type);
  const events: ModuleEvent[] = [];
  for (const type of ['Ready', 'ProxiesAccepted', 'Conflict']) {
    const was = find(previousRaw, type);
    const is = find(plan.status, type);
    if (!is || (was?.status === is.status && was.message === is.message)) continue;
    const bad = (type === 'Conflict') === (is.status === 'True');
    if (is.status === 'Unknown') continue;
    events.push({ type: bad ? 'Warning' : 'Normal', reason: is.reason ?? type, message: is.message ?? '' });
  }
  return events;
}

/* ---------- Services and ServiceEntries ---------- */

/**
 * Services without an address share Istio's `0.0.0.0_<port>` listener, whose one `tcp_proxy` only the first
 * outbound EnvoyFilter replaces: every call on that port then takes that service's routes (istiod's
 * behaviour, which Aeraki leaves unsaid).
 */
export function sharedListenerWarnings(service: MetaService, all: readonly MetaService[]): string[] {
  if (!service.addresses.includes('0.0.0.0')) return [];
  return service.ports.flatMap((port) => {
    const others = all.filter(
      (s) =>
        s !== service &&
        !(s.kind === service.kind && s.namespace === service.namespace && s.name === service.name) &&
        s.addresses.includes('0.0.0.0') &&
        s.ports.some((p) => p.number === port.number),
    );
    return others.length === 0
      ? []
      : [
          `shares listener 0.0.0.0_${port.number} with ${others.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(', ')}: istiod keeps one tcp_proxy there, so only one of their outbound EnvoyFilters applies and every call on port ${port.number} takes that service's routes; give each an address`,
        ];
  });
}

/**
 * The hosts a MetaRouter names now and named at the last change seen: a change concerns the services (and
 * rival MetaRouters) of both. Each controller keeps its own memory, as each sees every change.
 */
function hostsMemory(): (change: KubeObject) => Set<string> {
  const last = new Map<string, readonly string[]>();
  return (change) => {
    const key = keyOf(change);
    const spec = change.spec as { hosts?: unknown } | undefined;
    const now = Array.isArray(spec?.hosts)
      ? spec.hosts.filter((h): h is string => typeof h === 'string')
      : [];
    const hosts = new Set([...now, ...(last.get(key) ?? [])]);
    if (change.metadata.deletionTimestamp) last.delete(key);
    else last.set(key, now);
    return hosts;
  };
}

function serviceModule(
  kind: 'Service' | 'ServiceEntry',
  name: string,
  apiVersion: string,
  options: RenderOptions,
): Module<MetaService | null, null> {
  const routerHosts = hostsMemory();
  return {
    name,
    kind,
    apiVersion,
    watches: ['MetaRouter', 'ApplicationProtocol'],
    owns: ['EnvoyFilter'],
    writesStatus: false,
    parse: (raw) => ({ ok: true, value: metaServiceOf(raw) }),
    invalidStatus: () => ({}),
    plan: ({ object, snapshot }): Plan<null> => {
      if (!object) return { desired: [], status: {}, problems: [], engine: null };
      const r = renderService(object, routerFor(object, routersByHost(snapshot)), codecs(snapshot), options);
      r.warnings.push(...sharedListenerWarnings(object, metaServices(snapshot)));
      return {
        desired: r.envoyFilters,
        status: {},
        problems: r.problems,
        warnings: r.warnings,
        engine: null,
      };
    },
    affectedBy: (change, snapshot) => {
      const services = metaServices(snapshot).filter((s) => s.kind === kind);
      const keys = (list: readonly MetaService[]) => list.map((s) => `${s.namespace}/${s.name}`);
      if (change.kind === 'ApplicationProtocol') {
        const protocol = (change.spec as { protocol?: unknown } | undefined)?.protocol;
        return keys(services.filter((s) => s.ports.some((p) => p.protocol === protocol)));
      }
      const hosts = routerHosts(change);
      return keys(services.filter((s) => hosts.has(s.host)));
    },
  };
}

/** Gateways with MetaProtocol servers: a VirtualService and an EnvoyFilter per port a MetaRouter routes to. */
function gatewayModule(options: RenderOptions): Module<KubeObject, null> {
  return {
    name: GATEWAY_MODULE_NAME,
    kind: 'Gateway',
    apiVersion: 'networking.istio.io/v1beta1',
    watches: ['MetaRouter', 'ApplicationProtocol'],
    owns: ['EnvoyFilter', 'VirtualService'],
    writesStatus: false,
    parse: (raw) => ({ ok: true, value: raw }),
    invalidStatus: () => ({}),
    plan: ({ object, snapshot }): Plan<null> => {
      // Each MetaRouter is indexed once, by its first host.
      const routers = [...routersByHost(snapshot).values()]
        .flat()
        .sort((a, b) => (routerKey(a) < routerKey(b) ? -1 : 1));
      const r = renderGateway(object, routers, codecs(snapshot), options);
      return { desired: r.objects, status: {}, problems: r.problems, warnings: r.warnings, engine: null };
    },
    // Gateways are few: any MetaRouter or protocol change re-plans them all.
    affectedBy: (_change, snapshot) => snapshot.list('Gateway').map((g) => keyOf(g)),
  };
}

export type MetaRouterModule = Module<MetaRouter, null> & {
  readonly options: RenderOptions;
  readonly routeStatus: RouteStatusSource;
  readonly methodTraffic: MethodTrafficSource;
};

export function metaRouterModule(
  options: RenderOptions = DEFAULT_RENDER_OPTIONS,
  routeStatus: RouteStatusSource = NO_ROUTE_STATUS,
  methodTraffic: MethodTrafficSource = NO_METHOD_TRAFFIC,
): MetaRouterModule {
  const routerHosts = hostsMemory();
  return {
    routeStatus,
    methodTraffic,
    name: 'metarouter',
    kind: METAROUTER_KIND,
    apiVersion: METAPROTOCOL_API_VERSION,
    watches: ['Service', 'ServiceEntry', 'MetaRouter', 'ApplicationProtocol'],
    owns: [],
    options,
    parse: (raw): Parsed<MetaRouter> => {
      const r = parseMetaRouter(raw);
      return r.ok
        ? { ok: true, value: r.value }
        : { ok: false, problems: r.issues.map((i) => ({ path: i.path, message: i.message })) };
    },
    invalidStatus,
    plan: ({ object, raw, snapshot, now }) =>
      planMetaRouter(
        object,
        raw,
        snapshot,
        now,
        routeStatus,
        parseMetaRouter(raw).warnings.map(
          (u) => `${u.path}: unknown field, ignored${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}`,
        ),
      ),
    events: metaRouterEvents,
    // The MetaRouters of the hosts a change concerns: their service, their rivals.
    affectedBy: (change, snapshot) => {
      if (change.kind === 'ApplicationProtocol') return [];
      const hosts = change.kind === METAROUTER_KIND ? routerHosts(change) : new Set(hostsOf(change));
      const byHost = routersByHost(snapshot);
      return [...new Set([...hosts].flatMap((h) => (byHost.get(h) ?? []).map(routerKey)))];
    },
    companions: [
      serviceModule('Service', SERVICE_MODULE_NAME, 'v1', options),
      serviceModule('ServiceEntry', SERVICEENTRY_MODULE_NAME, 'networking.istio.io/v1beta1', options),
      gatewayModule(options),
    ],
  };
}

export function createMetaRouterModule({
  settings,
  routeStatus,
  methodTraffic,
}: ModuleContext): MetaRouterModule {
  const general = settings.general as { xdsCluster?: string; rootNamespace?: string };
  return metaRouterModule(
    {
      rootNamespace:
        general.rootNamespace || settings.global.istioNamespace || DEFAULT_RENDER_OPTIONS.rootNamespace,
      xdsCluster: general.xdsCluster || DEFAULT_RENDER_OPTIONS.xdsCluster,
    },
    routeStatus ?? NO_ROUTE_STATUS,
    methodTraffic ?? NO_METHOD_TRAFFIC,
  );
}
