/**
 * What MetaProtocol proxies did with the route configurations Governor's route server sent them: per route
 * configuration and proxy, the version sent, whether it was accepted (ACK) or refused (NACK, with the
 * proxy's error). The route server records here; the metarouter module reads it into MetaRouter status.
 */

export interface ProxyRouteStatus {
  /** The proxy's node id (`sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local`). */
  readonly node: string;
  readonly version: string;
  readonly acked: boolean;
  /** The proxy's error text for a refused version. */
  readonly error?: string;
}

/** One proxy's subscription to one route configuration, as the dashboard lists them. */
export interface SubscriptionRow extends ProxyRouteStatus {
  readonly routeConfig: string;
  /** The proxy's Envoy cluster (`thrift-sample-client.meta-thrift`), when it said. */
  readonly cluster?: string;
  /** The version it last accepted, if any. */
  readonly ackedVersion?: string;
  /** When its stream opened, and when it last accepted a version (ISO times). */
  readonly connectedAt: string;
  readonly lastAckAt?: string;
}

export interface RouteStatusSource {
  /** Every subscription, by route configuration then node. */
  rows(): readonly SubscriptionRow[];
  /** The proxies subscribed to a route configuration, by node id. */
  forRouteConfig(name: string): readonly ProxyRouteStatus[];
  /** Called with the route configurations whose status changed. */
  onChange(listener: (names: readonly string[]) => void): () => void;
}

/** A RouteStatusSource that the route server (or a test) writes. */
export class RouteStatusBoard implements RouteStatusSource {
  private readonly byConfig = new Map<string, Map<string, SubscriptionRow>>();
  private readonly listeners = new Set<(names: readonly string[]) => void>();

  forRouteConfig(name: string): readonly ProxyRouteStatus[] {
    return [...(this.byConfig.get(name)?.values() ?? [])].sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  rows(): readonly SubscriptionRow[] {
    return [...this.byConfig.keys()].sort().flatMap((name) => this.forRouteConfig(name) as SubscriptionRow[]);
  }

  /** Replaces every subscription with these (what the route server holds now). */
  replaceAll(rows: readonly SubscriptionRow[]): void {
    const entries = new Map<string, SubscriptionRow[]>();
    for (const name of this.byConfig.keys()) entries.set(name, []);
    for (const r of rows) entries.set(r.routeConfig, [...(entries.get(r.routeConfig) ?? []), r]);
    this.set(entries);
  }

  /** Replaces everything known about the route configurations named (absent ones: no proxy subscribed). */
  set(entries: ReadonlyMap<string, readonly SubscriptionRow[]>): void {
    const changed: string[] = [];
    for (const [name, list] of entries) {
      const next = new Map(list.map((s) => [s.node, s]));
      const before = this.byConfig.get(name);
      const same =
        before !== undefined &&
        before.size === next.size &&
        [...next].every(([node, s]) => JSON.stringify(before.get(node)) === JSON.stringify(s));
      if (same || (before === undefined && next.size === 0)) continue;
      if (next.size === 0) this.byConfig.delete(name);
      else this.byConfig.set(name, next);
      changed.push(name);
    }
    if (changed.length > 0) for (const l of this.listeners) l(changed);
  }

  onChange(listener: (names: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const NO_ROUTE_STATUS: RouteStatusSource = {
  rows: () => [],
  forRouteConfig: () => [],
  onChange: () => () => undefined,
};
