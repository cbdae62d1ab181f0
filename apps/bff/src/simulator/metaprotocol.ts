/**
 * MetaProtocol (Aeraki) calls in the simulated mesh, as the proxies Governor configures handle them:
 * - the caller's outbound MetaProtocol proxy takes the route configuration the route server serves for the
 *   service's host and port (the metarouter module's `routeConfigurations`), the first route whose matchers
 *   match the call's attributes, then its cluster or a weighted pick of its clusters, and copies a fraction
 *   of the calls to its mirror cluster;
 * - the receiving pod's inbound proxy applies the governing MetaRouter's `localRateLimit` as Aeraki's
 *   `local_ratelimit` filter does: per pod, the first condition whose match matches takes a token from its
 *   own bucket, a call no condition matched from the top-level `tokenBucket` (none: not limited).
 * A service port is a MetaProtocol one only while an ApplicationProtocol gives its protocol a codec: without
 * one Governor renders no EnvoyFilter, and the port stays plain TCP.
 */
import {
  destinationRuleSchema,
  parseGoDuration,
  type DestinationRule,
  type MetaRouter,
  type MetaTokenBucket,
  type Pod,
} from '@governor/crd-types';
import { TokenBucket } from '@governor/limiter';
import type { KubeObject } from '../cluster/store';
import type { MetaRoute, MetaRouteConfiguration } from '../envoy/metaprotocol-route';
import { staticSnapshot } from '../framework/snapshot';
import { labelsMatch, namespaceOf, qualifyHost } from '../modules/limiter/render';
import {
  callMatches,
  metadataMatchers,
  routeConfigName,
  routeConfigurations,
  routerFor,
} from '../modules/metarouter/routes';
import { codecs, metaServices, routerKey, routersByHost } from '../modules/metarouter/services';
import type { SimService } from './traffic';

/** The kinds whose objects decide how MetaProtocol calls go. */
export const METAPROTOCOL_KINDS = [
  'Service',
  'ServiceEntry',
  'DestinationRule',
  'MetaRouter',
  'ApplicationProtocol',
] as const;

/** How the caller's proxy routed a call. */
export interface RpcRoute {
  /** The route's name (`default` for the route of a service without MetaRouter routes). */
  readonly route: string;
  /** `outbound|<port>|<subset>|<host>`, or '' when no route matched. */
  readonly cluster: string;
  readonly subset: string;
  /** The mirror cluster a copy of the call went to, if one did. */
  readonly mirror: string | null;
  /** The pod the call reaches; undefined when none can (no route, no such subset, no Running pod). */
  readonly pod: Pod | undefined;
}

/** What the receiving pod's local rate limit decided. */
export interface RpcLimit {
  readonly allowed: boolean;
  /** `metarouter:<namespace>/<name>:<condition index>` or `…:default`; null when no bucket applies. */
  readonly ruleId: string | null;
  /** Whole tokens left in that bucket; null when none applies. */
  readonly remaining: number | null;
}

/** A service port the MetaProtocol proxies handle. */
interface RpcPort {
  readonly host: string;
  readonly protocol: string;
  readonly routes: MetaRouteConfiguration;
  /** The MetaRouter whose local rate limit the inbound proxies apply. */
  readonly router: MetaRouter | undefined;
}

interface Bucket {
  readonly ruleId: string;
  readonly bucket: TokenBucket;
}

/** The rule id of a MetaRouter's local bucket: a condition's index, or `default` for the top-level one. */
export const metaRuleId = (router: MetaRouter, condition: number | 'default'): string =>
  `metarouter:${routerKey(router)}:${condition}`;

/** `outbound|9090|v2|rating-rpc.default.svc.cluster.local` → its port, subset and host. */
export function parseClusterName(name: string): { port: number; subset: string; host: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  return { port: Number(parts[1]), subset: parts[2]!, host: parts[3]! };
}

const bucketConfig = (b: MetaTokenBucket) => {
  const fillIntervalMs = parseGoDuration(b.fillInterval);
  const maxTokens = b.maxTokens ?? 0;
  // A bucket Envoy would refuse (the module reports it) limits nothing here.
  if (fillIntervalMs === null || !(fillIntervalMs > 0) || maxTokens < 1) return undefined;
  return { maxTokens, tokensPerFill: b.tokensPerFill || 1, fillIntervalMs };
};

export class MetaProtocolCalls {
  private objects: readonly KubeObject[] = [];
  private ports = new Map<string, RpcPort>();
  private destinationRules: DestinationRule[] = [];
  /** Local buckets per pod, by rule id and bucket settings: a changed bucket starts full, as a new filter. */
  private readonly buckets = new Map<string, Map<string, Bucket>>();
  /** Where each cluster's round-robin stands. */
  private readonly next = new Map<string, number>();

  /**
   * Where a caller's proxy gets its routes: what it received from the route server (undefined until it
   * has); null: computed here from the objects, as the route server would serve them.
   */
  private routeSource:
    ((caller: Pod | undefined, name: string) => MetaRouteConfiguration | undefined) | null = null;

  constructor(private readonly random: () => number) {}

  setRouteSource(
    source: ((caller: Pod | undefined, name: string) => MetaRouteConfiguration | undefined) | null,
  ): void {
    this.routeSource = source;
  }

  /** The route configurations every proxy subscribes to (one per MetaProtocol service port). */
  routeNames(): string[] {
    return [...this.ports.keys()].sort();
  }

  /**
   * The objects as they are now; the routes are computed again only when one of them changed. Returns
   * whether they were.
   */
  refresh(objects: readonly KubeObject[]): boolean {
    const same = objects.length === this.objects.length && objects.every((o, i) => o === this.objects[i]);
    if (same) return false;
    this.objects = objects;
    const snapshot = staticSnapshot(objects);
    const served = new Map(routeConfigurations(snapshot).configs.map((c) => [c.name, c]));
    const known = codecs(snapshot);
    const byHost = routersByHost(snapshot);
    const ports = new Map<string, RpcPort>();
    for (const service of metaServices(snapshot))
      for (const port of service.ports) {
        const name = routeConfigName(service.host, port.number);
        const routes = served.get(name);
        if (!routes || !known.has(port.protocol) || ports.has(name)) continue;
        // As the inbound EnvoyFilter is rendered: the governing MetaRouter, whatever its routes.
        const router = service.workloadLabels ? routerFor(service, byHost) : undefined;
        ports.set(name, { host: service.host, protocol: port.protocol, routes, router });
      }
    this.ports = ports;
    this.destinationRules = snapshot.parsed('DestinationRule', destinationRuleSchema);
    // Buckets of rules that are gone, or whose settings changed, go with them.
    const current = new Set<string>();
    for (const p of ports.values()) for (const key of this.bucketKeys(p.router)) current.add(key);
    for (const byRule of this.buckets.values())
      for (const key of [...byRule.keys()]) if (!current.has(key)) byRule.delete(key);
    return true;
  }

  /** The application protocol of the service's port, when the MetaProtocol proxies handle it. */
  protocolOf(service: SimService): string | undefined {
    return this.portOf(service)?.protocol;
  }

  /** Whether calls to this service go through MetaProtocol proxies. */
  handles(service: SimService): boolean {
    return this.portOf(service) !== undefined;
  }

  /** Routes a call as the caller's outbound proxy does; `services`: where the clusters' pods are found. */
  route(
    service: SimService,
    attributes: Readonly<Record<string, string>>,
    services: readonly SimService[],
    caller?: Pod,
  ): RpcRoute {
    const port = this.portOf(service);
    // A caller's proxy routes with what it received; calls from outside the mesh with what is served.
    const routes =
      port && this.routeSource && caller ? this.routeSource(caller, port.routes.name) : port?.routes;
    const route = routes?.routes.find((r) => callMatches(r.match?.metadata ?? [], attributes));
    if (!route) return { route: '(no route)', cluster: '', subset: '', mirror: null, pod: undefined };
    const cluster = this.pickCluster(route);
    const mirrorPolicy = route.route.requestMirrorPolicies?.[0];
    const mirror =
      mirrorPolicy && this.random() * 1_000_000 < mirrorPolicy.runtimeFraction.defaultValue.numerator
        ? mirrorPolicy.cluster
        : null;
    const parsed = parseClusterName(cluster);
    return {
      route: route.name || 'default',
      cluster,
      subset: parsed?.subset ?? '',
      mirror,
      pod: parsed ? this.podOf(cluster, parsed, services) : undefined,
    };
  }

  /** Decides a call on the receiving pod's inbound proxy at `t` (ms). */
  limit(service: SimService, pod: Pod, attributes: Readonly<Record<string, string>>, t: number): RpcLimit {
    const local = this.portOf(service)?.router?.spec.localRateLimit;
    if (!local) return NOT_LIMITED;
    const router = this.portOf(service)!.router!;
    const conditions = local.conditions ?? [];
    let index: number | 'default' = 'default';
    let settings = local.tokenBucket;
    for (let i = 0; i < conditions.length; i++)
      if (callMatches(metadataMatchers(conditions[i]!.match), attributes)) {
        index = i;
        settings = conditions[i]!.tokenBucket;
        break;
      }
    const config = settings && bucketConfig(settings);
    if (!config) return NOT_LIMITED;
    const ruleId = metaRuleId(router, index);
    const podKey = `${namespaceOf(pod)}/${pod.metadata.name}|${service.port}`;
    let byRule = this.buckets.get(podKey);
    if (!byRule) this.buckets.set(podKey, (byRule = new Map()));
    const key = `${ruleId}|${config.maxTokens}/${config.tokensPerFill}/${config.fillIntervalMs}`;
    let b = byRule.get(key);
    if (!b) byRule.set(key, (b = { ruleId, bucket: new TokenBucket(config, t) }));
    const allowed = b.bucket.tryTake(1, t);
    return { allowed, ruleId, remaining: b.bucket.available(t) };
  }

  /** Forgets the buckets of pods no longer in the mesh. */
  keepPods(pods: readonly Pod[]): void {
    const names = new Set(pods.map((p) => `${namespaceOf(p)}/${p.metadata.name}`));
    for (const key of [...this.buckets.keys()])
      if (!names.has(key.slice(0, key.lastIndexOf('|')))) this.buckets.delete(key);
  }

  private portOf(service: SimService): RpcPort | undefined {
    return this.ports.get(
      routeConfigName(`${service.name}.${service.namespace}.svc.cluster.local`, service.port),
    );
  }

  private bucketKeys(router: MetaRouter | undefined): string[] {
    const local = router?.spec.localRateLimit;
    if (!router || !local) return [];
    const keys: string[] = [];
    const add = (index: number | 'default', b: MetaTokenBucket | undefined) => {
      const c = b && bucketConfig(b);
      if (c) keys.push(`${metaRuleId(router, index)}|${c.maxTokens}/${c.tokensPerFill}/${c.fillIntervalMs}`);
    };
    add('default', local.tokenBucket);
    (local.conditions ?? []).forEach((c, i) => add(i, c.tokenBucket));
    return keys;
  }

  /** The route's cluster, or a pick of its weighted clusters by weight. */
  private pickCluster(route: MetaRoute): string {
    const weighted = route.route.weightedClusters;
    if (!weighted || weighted.clusters.length === 0) return route.route.cluster ?? '';
    const total = weighted.clusters.reduce((s, c) => s + c.weight, 0);
    let r = this.random() * total;
    for (const c of weighted.clusters) {
      r -= c.weight;
      if (r < 0) return c.name;
    }
    return weighted.clusters.at(-1)!.name;
  }

  /**
   * The next pod of the cluster, round-robin: the Running pods of the host's service, of a subset those
   * its DestinationRule's subset labels select. Istio builds no cluster for a subset no rule defines.
   */
  private podOf(
    cluster: string,
    target: { port: number; subset: string; host: string },
    services: readonly SimService[],
  ): Pod | undefined {
    const service = services.find((s) => `${s.name}.${s.namespace}.svc.cluster.local` === target.host);
    if (!service) return undefined;
    let pods = service.pods;
    if (target.subset !== '') {
      const rule = this.destinationRules.find(
        (r) => qualifyHost(r.spec.host, namespaceOf(r)) === target.host,
      );
      const subset = rule?.spec.subsets?.find((s) => s.name === target.subset);
      if (!subset) return undefined;
      pods = pods.filter((p) => labelsMatch(subset.labels ?? {}, p.metadata.labels));
    }
    if (pods.length === 0) return undefined;
    const i = (this.next.get(cluster) ?? 0) % pods.length;
    this.next.set(cluster, i + 1);
    return pods[i];
  }
}

const NOT_LIMITED: RpcLimit = { allowed: true, ruleId: null, remaining: null };
