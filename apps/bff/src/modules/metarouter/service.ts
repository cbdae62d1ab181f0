/**
 * What the API and the product ask of the metarouter module: its objects as the caches hold them, the
 * route configurations to serve, the MetaProtocol services and in-memory plans (validation, previews).
 */
import type { KubeObject } from '../../cluster/store';
import type { ControlPlane } from '../../framework/control-plane';
import type { Parsed, Plan, Snapshot } from '../../framework/module';
import type { ModuleServices } from '../../framework/registry';
import type { MetaRouterModule } from './module';
import { routeConfigurations, type ServedRoutes } from './routes';
import { metaServices, routerKey, routersByHost, type MetaService } from './services';
import type { SubscriptionRow } from '../../sources/route-status';
import type { MethodTrafficRow } from '../../sources/method-traffic';

export class MetaRouterService {
  constructor(
    private readonly plane: ControlPlane,
    readonly module: MetaRouterModule,
  ) {}

  get snapshot(): Snapshot {
    return this.plane.snapshot;
  }

  parse(raw: KubeObject): Parsed<unknown> {
    return this.module.parse(raw) as Parsed<unknown>;
  }

  /** Plans a MetaRouter in memory against the caches; writes nothing. */
  plan(object: unknown, raw: KubeObject): Plan<null> {
    return this.plane.controller(this.module.name).plan(object, raw) as Plan<null>;
  }

  list(namespace?: string): readonly KubeObject[] {
    return this.plane.snapshot.list('MetaRouter', namespace);
  }

  /** The route configurations the route server serves now. */
  routes(): ServedRoutes {
    return routeConfigurations(this.plane.snapshot);
  }

  services(): MetaService[] {
    return metaServices(this.plane.snapshot);
  }

  /** Which proxies subscribe to which route configuration, at which version, accepted or refused. */
  subscriptions(): readonly SubscriptionRow[] {
    return this.module.routeStatus.rows();
  }

  /** Calls by method, for one host or all. */
  methodTraffic(host?: string): readonly MethodTrafficRow[] {
    return this.module.methodTraffic.rows(host);
  }

  /**
   * Calls `listener` after any change that may change the routes served: not after a status write (a
   * MetaRouter's own, as proxies ACK), which would otherwise re-plan every route on every ACK.
   */
  onRoutesChange(listener: () => void): () => void {
    const offs = (
      ['MetaRouter', 'Service', 'ServiceEntry', 'DestinationRule', 'ApplicationProtocol'] as const
    ).map(
      (k) =>
        this.plane.informers.get(k)?.onChange((change) => {
          if (change.type === 'MODIFIED' && change.previous && !routeRelevant(change.previous, change.object))
            return;
          listener();
        }) ?? (() => undefined),
    );
    return () => offs.forEach((off) => off());
  }

  /** The MetaRouters (`namespace/name`) of the route configurations named (`<host>_<port>`). */
  routersOf(routeConfigs: readonly string[]): string[] {
    const byHost = routersByHost(this.plane.snapshot);
    const keys = routeConfigs.flatMap((name) => {
      const host = name.slice(0, name.lastIndexOf('_'));
      return (byHost.get(host) ?? []).map(routerKey);
    });
    return [...new Set(keys)];
  }
}

/** The metarouter module's service, or undefined when the module is not enabled. */
export const metaRouterOf = (modules: ModuleServices): MetaRouterService | undefined =>
  modules.optionalService<MetaRouterService>('metarouter');

/** Whether a change touches what routes are made of: anything but the status and server-kept metadata. */
function routeRelevant(before: KubeObject, after: KubeObject): boolean {
  const { status: _a, metadata: ma, ...restBefore } = before;
  const { status: _b, metadata: mb, ...restAfter } = after;
  return (
    JSON.stringify(restBefore) !== JSON.stringify(restAfter) ||
    JSON.stringify(ma.labels ?? {}) !== JSON.stringify(mb.labels ?? {}) ||
    JSON.stringify(ma.annotations ?? {}) !== JSON.stringify(mb.annotations ?? {}) ||
    (ma.creationTimestamp ?? '') !== (mb.creationTimestamp ?? '') ||
    Boolean(ma.deletionTimestamp) !== Boolean(mb.deletionTimestamp)
  );
}
