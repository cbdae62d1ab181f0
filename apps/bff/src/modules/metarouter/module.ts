/**
 * The metarouter module: Aeraki's MetaProtocol routing. Three controllers share its settings:
 * - MetaRouter (this module): checks each MetaRouter, reports in its status what Aeraki would silently lose
 *   (several hosts, two MetaRouters for one service, a host with no MetaProtocol port) and what the proxies
 *   did with the route configurations served from it (ACK / NACK); it owns nothing.
 * - Services and ServiceEntries with MetaProtocol ports (companions): each owns Aeraki's EnvoyFilters for
 *   its ports, outbound in the mesh's root namespace (or where its MetaRouter is exported) and inbound on
 *   its workloads with the MetaRouter's rate limits.
 * The companions are in `companions.ts`; the route configurations Governor's route server serves are
 * `routeConfigurations` in `routes.ts`.
 */
import {
  METAPROTOCOL_API_VERSION,
  METAROUTER_KIND,
  parseMetaRouter,
  type Condition,
  type MetaRouter,
  type MetaRouterStatus,
} from '@governor/crd-types';
import { keyOf, type KubeObject } from '../../cluster/store';
import {
  parsedOf,
  type Module,
  type ModuleEvent,
  type Parsed,
  type Plan,
  type PlanProblem,
  type Snapshot,
} from '../../framework/module';
import type { ModuleContext } from '../../framework/registry';
import { NO_ROUTE_STATUS, type RouteStatusSource } from '../../sources/route-status';
import { NO_METHOD_TRAFFIC, type MethodTrafficSource } from '../../sources/method-traffic';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from './render';
import { checkMetaRouter } from './checks';
import {
  SERVICE_MODULE_NAME,
  SERVICEENTRY_MODULE_NAME,
  gatewayModule,
  hostsMemory,
  serviceModule,
} from './companions';
import { routeConfigName } from './routes';
import { hostsOf, metaServices, routerKey, routersByHost } from './services';
import {
  condition,
  conditionOf,
  invalidSpecStatus,
  observedGenerationOf,
  validAndReady,
} from '../../framework/conditions';

/* ---------- MetaRouter ---------- */

/** What becomes of an invalid MetaRouter's routes. */
const KEPT = 'its services keep what they were last served';

const invalidStatus = (raw: KubeObject, problems: readonly PlanProblem[], _owned: number, now: Date) =>
  invalidSpecStatus(raw, problems, KEPT, now);

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
  const ready = () =>
    services.length === 0
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
    conditions: [...validAndReady(previous, problems, KEPT, ready, now), ...extra],
    ...observedGenerationOf(raw),
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
  const events: ModuleEvent[] = [];
  for (const type of ['Ready', 'ProxiesAccepted', 'Conflict']) {
    const was = conditionOf(previousRaw, type);
    const is = conditionOf(plan.status, type);
    if (!is || (was?.status === is.status && was.message === is.message)) continue;
    const bad = (type === 'Conflict') === (is.status === 'True');
    if (is.status === 'Unknown') continue;
    events.push({ type: bad ? 'Warning' : 'Normal', reason: is.reason ?? type, message: is.message ?? '' });
  }
  return events;
}

/* ---------- Services and ServiceEntries ---------- */

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
    parse: (raw): Parsed<MetaRouter> => parsedOf(parseMetaRouter(raw)),
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
