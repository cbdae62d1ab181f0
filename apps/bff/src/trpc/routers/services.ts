/** The mesh's services with live figures, the policies that apply to them, and the call graph. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { parseSmartLimiter, type SmartLimiterStatus } from '@governor/crd-types';
import { isKnownKind, type KubeObject } from '../../cluster/store';
import {
  labelsMatch,
  metricSetsOf,
  namespaceOf,
  runningPods,
  subsetsForHost,
  qualifyHost,
} from '../../modules/limiter/render';
import { instantQuery, substitute, vectorQuery } from '../../sources/prometheus';
import { canSee, type User } from '../../auth/auth';
import { metaRouterOf } from '../../modules/metarouter/service';
import { routerKey, routersByHost } from '../../modules/metarouter/services';
import { healthOf, type Health } from './topology-health';
import type { LimiterService } from '../../modules/limiter/service';
import type { ApiDeps } from '../../api/deps';
import { requireRole, router, viewerProcedure } from '../../api/trpc';
import { acrossClusters, listedClusters } from '../../api/clusters';

import { dns } from '../../api/inputs';
import { productOf } from '../create-api';

export interface Figures {
  readonly rps: number;
  readonly limitedRps: number;
  /** Requests answered 5xx (a fault filter's aborts among them); null when the source cannot say. */
  readonly errorRps: number | null;
  readonly p99Ms: number | null;
  readonly cpuPercent: number | null;
}

export const FIGURE_QUERIES = {
  rps: 'qps',
  limitedRps: 'limited_qps',
  errorRps: 'error_qps',
  p99Ms: 'rt99',
  cpuPercent: 'cpu.percent',
} as const;

/** A service's figures now: from Prometheus when configured, else from the simulated mesh. */
async function figuresOf(deps: ApiDeps, namespace: string, pods: readonly string[]): Promise<Figures> {
  const prom = productOf(deps).governor.prometheus;
  if (prom) {
    const entries = await Promise.all(
      Object.entries(FIGURE_QUERIES).map(async ([field, name]) => {
        const q = prom.queries.find((x) => x.name === name);
        if (!q) return [field, null] as const;
        const v = await instantQuery(
          { url: prom.url, timeoutMs: 3000, retries: 0 },
          substitute(q.query, namespace, pods),
        ).catch(() => undefined);
        return [field, v !== undefined && Number.isFinite(v) ? v : null] as const;
      }),
    );
    const f = Object.fromEntries(entries) as Record<keyof Figures, number | null>;
    return {
      rps: f.rps ?? 0,
      limitedRps: f.limitedRps ?? 0,
      errorRps: f.errorRps,
      p99Ms: f.p99Ms,
      cpuPercent: f.cpuPercent,
    };
  }
  const sim = productOf(deps).governor.mesh?.simulator;
  if (!sim) return { rps: 0, limitedRps: 0, errorRps: null, p99Ms: null, cpuPercent: null };
  const v = sim.metricValues(namespace, pods);
  return {
    rps: v.qps ?? 0,
    limitedRps: v.limited_qps ?? 0,
    errorRps: v.aborted_qps ?? 0,
    p99Ms: v.rt99 ?? null,
    cpuPercent: v['cpu.percent'] ?? null,
  };
}

/**
 * The lazyload fence of a service (named after it, as auto-fencing and Slime name them) and how many
 * egress hosts its Sidecar has; null when it has none or lazyload is off.
 */
function fenceOf(
  deps: ApiDeps,
  namespace: string,
  service: string,
): { enabled: boolean; hosts: number } | null {
  const snapshot = productOf(deps).governor.controlPlane.snapshot;
  if (!isKnownKind('ServiceFence')) return null;
  const fence = snapshot.get('ServiceFence', namespace, service);
  if (!fence) return null;
  const sidecar = isKnownKind('Sidecar') ? snapshot.get('Sidecar', namespace, service) : undefined;
  const egress = (sidecar?.spec as { egress?: { hosts?: string[] }[] } | undefined)?.egress ?? [];
  return {
    enabled: (fence.spec as { enable?: unknown } | undefined)?.enable === true,
    hosts: egress.reduce((n, e) => n + (e.hosts?.length ?? 0), 0),
  };
}

/** The PluginManagers and EnvoyPlugins (`kind namespace/name`) that select one of the pods. */
function pluginsSelecting(
  deps: ApiDeps,
  namespace: string,
  pods: readonly { metadata: { labels?: Record<string, string> | undefined } }[],
): string[] {
  const snapshot = productOf(deps).governor.controlPlane.snapshot;
  const out: string[] = [];
  for (const kind of ['PluginManager', 'EnvoyPlugin']) {
    if (!isKnownKind(kind)) continue;
    for (const o of snapshot.list(kind, namespace)) {
      const spec = (o.spec ?? {}) as Record<string, { labels?: Record<string, string> } | undefined> &
        Record<string, unknown>;
      // Slime reads both spellings; an empty selector is every workload of the namespace.
      const labels = (spec.workloadLabels ??
        spec.workload_labels ??
        spec.workloadSelector?.labels ??
        spec.workload_selector?.labels ??
        {}) as Record<string, string>;
      if (pods.some((p) => labelsMatch(labels, p.metadata.labels ?? {})))
        out.push(`${kind} ${namespace}/${o.metadata.name}`);
    }
  }
  return out;
}

function policiesApplying(deps: ApiDeps, namespace: string, service: string, pods: readonly string[]) {
  const context = productOf(deps).governor.contextFor(namespace);
  const limiters = productOf(deps).governor.optionalService<LimiterService>('limiter')?.list(namespace) ?? [];
  return limiters
    .filter((o) => {
      if (o.metadata.name === service) return true;
      const parsed = parseSmartLimiter(o);
      if (!parsed.ok) return false;
      const base = metricSetsOf(parsed.value, context).find((s) => s.name === '_base');
      return base !== undefined && base.pods.some((p) => pods.includes(p));
    })
    .map((o: KubeObject) => {
      const ready = ((o.status as SmartLimiterStatus | undefined)?.conditions ?? []).find(
        (c) => c.type === 'Ready',
      );
      const sets =
        (o.spec as { sets?: Record<string, { descriptor?: { condition?: string }[] }> } | undefined)?.sets ??
        {};
      return {
        name: o.metadata.name,
        ready: ready?.status === 'True',
        reason: ready?.reason ?? null,
        message: ready?.message ?? null,
        /** The descriptors' conditions, e.g. to draw their thresholds. */
        conditions: Object.values(sets).flatMap((s) =>
          (s.descriptor ?? []).map((d) => d.condition ?? 'true'),
        ),
      };
    });
}

/** Every service the user may see, with its figures, the policies that apply, its fence and plugins. */
async function serviceRows(deps: ApiDeps, user: User, namespace?: string, search?: string) {
  const context = productOf(deps).governor.contextFor(namespace);
  const services = context.services.filter(
    (s) =>
      canSee(user, namespaceOf(s)) &&
      (search === undefined || s.metadata.name.includes(search.toLowerCase())),
  );
  const rows = await Promise.all(
    services.map(async (s) => {
      const namespace = namespaceOf(s);
      const selector = s.spec.selector ?? {};
      const pods = Object.keys(selector).length > 0 ? runningPods(context, namespace, selector) : [];
      const podNames = pods.map((p) => p.metadata.name);
      const policies = policiesApplying(deps, namespace, s.metadata.name, podNames);
      return {
        namespace,
        name: s.metadata.name,
        pods: podNames.length,
        ...(await figuresOf(deps, namespace, podNames)),
        policies,
        healthy: policies.every((p) => p.ready),
        fence: fenceOf(deps, namespace, s.metadata.name),
        plugins: pluginsSelecting(deps, namespace, pods),
      };
    }),
  );
  return rows.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** A service in the call graph. `id` is `cluster/namespace/name` and edges refer to it. */
export interface TopologyNode {
  readonly id: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
  /** Listed among the services (false: only seen at the end of a call, in a namespace not shown). */
  readonly known: boolean;
  readonly rps: number;
  readonly limitedRps: number;
  readonly errorRps: number | null;
  readonly p99Ms: number | null;
  readonly health: Health;
  readonly badges: {
    /** The SmartLimiters that apply. */
    readonly limits: readonly { name: string; ready: boolean }[];
    readonly fence: { enabled: boolean; hosts: number } | null;
    /** PluginManagers and EnvoyPlugins (`kind namespace/name`) selecting its pods. */
    readonly plugins: readonly string[];
    /** A MetaProtocol service: its protocol and the MetaRouters (`namespace/name`) governing it. */
    readonly metaRouter: { protocol: string | null; routers: readonly string[] } | null;
  };
}

/** A call between two nodes (ids), over the last minute or the simulated mesh's last 10 s. */
export interface TopologyEdge {
  /** The call leaves one cluster for another. */
  readonly crossCluster: boolean;
  readonly from: string;
  readonly to: string;
  readonly rps: number;
  /** Answered 429 by the callee's rate limits. */
  readonly limitedRps: number;
  /** Answered 5xx; null when the source cannot say. */
  readonly errorRps: number | null;
  /** Answered 4xx, the 429s included (as Kiali counts them). */
  readonly clientErrorRps: number;
  readonly p95Ms: number | null;
  readonly health: Health;
}

type CallRates = Omit<TopologyEdge, 'health' | 'crossCluster'>;

/** The calls' figures: from Istio's metrics in Prometheus when configured, else the simulated mesh's. */
async function callRates(deps: ApiDeps): Promise<CallRates[]> {
  const prom = productOf(deps).governor.prometheus;
  // One Prometheus serves every cluster: its calls are drawn once, as the home cluster's.
  if (prom && deps.cluster !== deps.fleet.home) return [];
  if (!prom) {
    const mesh = productOf(deps).governor.mesh;
    // The simulated mesh's only 4xx are its limits' 429s.
    return (mesh?.simulator.edgeRates(10) ?? []).map((e) => ({ ...e, clientErrorRps: e.limitedRps }));
  }
  const by =
    'source_workload, source_workload_namespace, destination_service_name, destination_service_namespace';
  const filter = (extra: string) => `reporter="destination",source_workload!="unknown"${extra}`;
  const rate = (extra: string) => `sum by (${by}) (rate(istio_requests_total{${filter(extra)}}[1m]))`;
  const opts = { url: prom.url, timeoutMs: 5000 };
  const run = (q: string) => vectorQuery(opts, q).catch(() => null);
  const [all, limited, server, client, p95] = await Promise.all([
    run(rate('')),
    run(rate(',response_code="429"')),
    run(rate(',response_code=~"5.."')),
    run(rate(',response_code=~"4.."')),
    run(
      `histogram_quantile(0.95, sum by (le, ${by}) (rate(istio_request_duration_milliseconds_bucket{${filter('')}}[1m])))`,
    ),
  ]);
  const key = (l: Record<string, string>) =>
    `${l['source_workload_namespace'] ?? ''}/${l['source_workload'] ?? ''}>${l['destination_service_namespace'] ?? ''}/${l['destination_service_name'] ?? ''}`;
  const index = (rows: { labels: Record<string, string>; value: number }[] | null) =>
    new Map((rows ?? []).map((r) => [key(r.labels), r.value]));
  const [limitedBy, serverBy, clientBy, p95By] = [limited, server, client, p95].map(index) as [
    Map<string, number>,
    Map<string, number>,
    Map<string, number>,
    Map<string, number>,
  ];
  return (all ?? []).map((r) => {
    const k = key(r.labels);
    return {
      from: `${r.labels['source_workload_namespace'] ?? ''}/${r.labels['source_workload'] ?? ''}`,
      to: `${r.labels['destination_service_namespace'] ?? ''}/${r.labels['destination_service_name'] ?? ''}`,
      rps: r.value,
      limitedRps: limitedBy.get(k) ?? 0,
      // A failed query cannot tell "no 5xx" from "unknown"; a missing series is none.
      errorRps: server === null ? null : (serverBy.get(k) ?? 0),
      clientErrorRps: clientBy.get(k) ?? 0,
      p95Ms: p95By.get(k) ?? null,
    };
  });
}

/** The MetaProtocol services a MetaRouter governs, by `namespace/name`, with the MetaRouters (by host). */
function metaRoutersByService(deps: ApiDeps): Map<string, { protocol: string | null; routers: string[] }> {
  const meta = metaRouterOf(productOf(deps).governor);
  const out = new Map<string, { protocol: string | null; routers: string[] }>();
  if (!meta) return out;
  const byHost = routersByHost(meta.snapshot);
  for (const s of meta.services()) {
    const routers = (byHost.get(s.host) ?? []).map(routerKey);
    // A ServiceEntry is no node of the graph; a service no MetaRouter governs gets no badge.
    if (s.kind !== 'Service' || routers.length === 0) continue;
    out.set(`${s.namespace}/${s.name}`, { protocol: s.ports[0]?.protocol ?? null, routers });
  }
  return out;
}

/** A call's end as a node id: `namespace/name` is this cluster's; a remote caller names its cluster already. */
function nodeId(cluster: string, end: string): string {
  return end.split('/').length === 3 ? end : `${cluster}/${end}`;
}

function parseNodeId(id: string): { cluster: string; namespace: string; name: string } {
  const [cluster = '', namespace = '', ...name] = id.split('/');
  return { cluster, namespace, name: name.join('/') };
}

export const servicesRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional(), search: z.string().max(100).optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, (deps) => serviceRows(deps, ctx.user, input.namespace, input.search)),
    ),

  /**
   * Who calls whom, Kiali-style: the services as nodes with their figures, health and badges, and the calls
   * as edges with rate, limited, 5xx and 4xx rates, p95 and health; from Istio's metrics in Prometheus
   * when configured, else from the simulated mesh's calls. A call is kept when one of its ends is visible.
   */
  topology: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional() }).default({}))
    .query(async ({ ctx, input }): Promise<{ nodes: TopologyNode[]; edges: TopologyEdge[] }> => {
      const perCluster = await Promise.all(
        listedClusters(ctx).map(async (deps) => {
          const [rows, calls] = await Promise.all([
            serviceRows(deps, ctx.user, input.namespace),
            callRates(deps),
          ]);
          return { deps, rows, calls };
        }),
      );
      const visible = (id: string) => {
        const { namespace } = parseNodeId(id);
        return (
          canSee(ctx.user, namespace) && (input.namespace === undefined || namespace === input.namespace)
        );
      };
      const edges = perCluster
        .flatMap(({ deps, calls }) =>
          calls.map((e) => ({ ...e, from: nodeId(deps.cluster, e.from), to: nodeId(deps.cluster, e.to) })),
        )
        .filter((e) => visible(e.from) || visible(e.to))
        .map((e): TopologyEdge => ({
          ...e,
          crossCluster: parseNodeId(e.from).cluster !== parseNodeId(e.to).cluster,
          health: healthOf(e),
        }));
      const nodes = new Map<string, TopologyNode>();
      for (const { deps, rows } of perCluster) {
        const routers = metaRoutersByService(deps);
        for (const r of rows) {
          const id = `${deps.cluster}/${r.namespace}/${r.name}`;
          const meta = routers.get(`${r.namespace}/${r.name}`);
          nodes.set(id, {
            id,
            cluster: deps.cluster,
            namespace: r.namespace,
            name: r.name,
            known: true,
            rps: r.rps,
            limitedRps: r.limitedRps,
            errorRps: r.errorRps,
            p99Ms: r.p99Ms,
            // The figures know the 429s only: the other 4xx are the calls' (Prometheus).
            health: healthOf({ rps: r.rps, errorRps: r.errorRps, clientErrorRps: r.limitedRps }),
            badges: {
              limits: r.policies.map((p) => ({ name: p.name, ready: p.ready })),
              fence: r.fence,
              plugins: r.plugins,
              metaRouter: meta ?? null,
            },
          });
        }
      }
      // Ends of visible calls that are not listed (another namespace): drawn from the calls' figures.
      for (const e of edges)
        for (const id of [e.from, e.to])
          if (!nodes.has(id)) {
            const inbound = edges.filter((x) => x.to === id);
            const sum = (f: (x: TopologyEdge) => number) => inbound.reduce((n, x) => n + f(x), 0);
            const figures = {
              rps: sum((x) => x.rps),
              limitedRps: sum((x) => x.limitedRps),
              errorRps: inbound.some((x) => x.errorRps === null) ? null : sum((x) => x.errorRps ?? 0),
            };
            nodes.set(id, {
              id,
              ...parseNodeId(id),
              known: false,
              ...figures,
              p99Ms: null,
              health: healthOf({ ...figures, clientErrorRps: sum((x) => x.clientErrorRps) }),
              badges: { limits: [], fence: null, plugins: [], metaRouter: null },
            });
          }
      return {
        nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
        edges: edges.sort((a, b) => `${a.from}>${a.to}`.localeCompare(`${b.from}>${b.to}`)),
      };
    }),

  get: viewerProcedure.input(z.strictObject({ namespace: dns, name: dns })).query(async ({ ctx, input }) => {
    requireRole(ctx.user, 'viewer', input.namespace);
    const context = productOf(ctx.deps).governor.contextFor(input.namespace);
    const svc = context.services.find((s) => s.metadata.name === input.name);
    if (!svc)
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `Service ${input.namespace}/${input.name} not found`,
      });
    const selector = svc.spec.selector ?? {};
    const pods = context.pods
      .filter((p) => Object.keys(selector).length > 0 && labelsMatch(selector, p.metadata.labels))
      .map((p) => ({
        name: p.metadata.name,
        phase: p.status?.phase ?? 'Unknown',
        labels: p.metadata.labels ?? {},
      }));
    const running = pods.filter((p) => p.phase === 'Running').map((p) => p.name);
    const subsets = subsetsForHost(context, qualifyHost(input.name, input.namespace)).map((s) => ({
      name: s.name,
      labels: s.labels,
      pods: pods.filter((p) => labelsMatch(s.labels, p.labels)).map((p) => p.name),
    }));
    return {
      namespace: input.namespace,
      name: input.name,
      ports: (svc.spec.ports ?? []).map((p) => ({ name: p.name ?? null, port: p.port })),
      pods,
      subsets,
      figures: await figuresOf(ctx.deps, input.namespace, running),
      policies: policiesApplying(ctx.deps, input.namespace, input.name, running),
    };
  }),
});
