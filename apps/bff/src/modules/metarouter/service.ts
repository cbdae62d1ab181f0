/**
 * What the API and the product ask of the metarouter module: its objects as the caches hold them, the
 * route configurations to serve, the MetaProtocol services and in-memory plans (validation, previews).
 */
import type { KubeObject } from '../../cluster/store';
import type { ControlPlane } from '../../framework/control-plane';
import type { Parsed, Plan, Snapshot } from '../../framework/module';
import type { ModuleServices } from '../../framework/registry';
import { routeConfigurations, type MetaRouterModule, type ServedRoutes } from './module';
import { metaServices, type MetaService } from './services';
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

  /** Calls `listener` after any change that may change the routes served. */
  onRoutesChange(listener: () => void): () => void {
    const offs = (
      ['MetaRouter', 'Service', 'ServiceEntry', 'DestinationRule', 'ApplicationProtocol'] as const
    ).map((k) => this.plane.informers.get(k)?.onChange(listener) ?? (() => undefined));
    return () => offs.forEach((off) => off());
  }
}

/** The metarouter module's service, or undefined when the module is not enabled. */
export const metaRouterOf = (modules: ModuleServices): MetaRouterService | undefined =>
  modules.optionalService<MetaRouterService>('metarouter');
