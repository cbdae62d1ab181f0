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
import { canSee } from '../../auth/auth';
import type { LimiterService } from '../../modules/limiter/service';
import type { ApiDeps } from '../../api/deps';
import { requireRole, router, viewerProcedure } from '../../api/trpc';

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

export const servicesRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional(), search: z.string().max(100).optional() }).default({}))
    .query(async ({ ctx, input }) => {
      const context = productOf(ctx.deps).governor.contextFor(input.namespace);
      const services = context.services.filter(
        (s) =>
          canSee(ctx.user, namespaceOf(s)) &&
          (input.search === undefined || s.metadata.name.includes(input.search.toLowerCase())),
      );
      const rows = await Promise.all(
        services.map(async (s) => {
          const namespace = namespaceOf(s);
          const selector = s.spec.selector ?? {};
          const pods = Object.keys(selector).length > 0 ? runningPods(context, namespace, selector) : [];
          const podNames = pods.map((p) => p.metadata.name);
          const policies = policiesApplying(ctx.deps, namespace, s.metadata.name, podNames);
          return {
            namespace,
            name: s.metadata.name,
            pods: podNames.length,
            ...(await figuresOf(ctx.deps, namespace, podNames)),
            policies,
            healthy: policies.every((p) => p.ready),
            fence: fenceOf(ctx.deps, namespace, s.metadata.name),
            plugins: pluginsSelecting(ctx.deps, namespace, pods),
          };
        }),
      );
      return rows.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    }),

  /**
   * Who calls whom, with request and limited rates per edge: from Istio's `source_workload` labels in
   * Prometheus when configured, else from the simulated mesh's calls.
   */
  topology: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional() }).default({}))
    .query(async ({ ctx, input }) => {
      const prom = productOf(ctx.deps).governor.prometheus;
      let edges: { from: string; to: string; rps: number; limitedRps: number }[] = [];
      if (prom) {
        const q = (extra: string) =>
          `sum by (source_workload, source_workload_namespace, destination_service_name, destination_service_namespace) (rate(istio_requests_total{reporter="destination",source_workload!="unknown"${extra}}[1m]))`;
        const opts = { url: prom.url, timeoutMs: 5000 };
        const [all, limited] = await Promise.all([
          vectorQuery(opts, q('')).catch(() => []),
          vectorQuery(opts, q(',response_code="429"')).catch(() => []),
        ]);
        const key = (l: Record<string, string>) =>
          `${l['source_workload_namespace'] ?? ''}/${l['source_workload'] ?? ''}>${l['destination_service_namespace'] ?? ''}/${l['destination_service_name'] ?? ''}`;
        const limitedBy = new Map(limited.map((r) => [key(r.labels), r.value]));
        edges = all.map((r) => ({
          from: `${r.labels['source_workload_namespace'] ?? ''}/${r.labels['source_workload'] ?? ''}`,
          to: `${r.labels['destination_service_namespace'] ?? ''}/${r.labels['destination_service_name'] ?? ''}`,
          rps: r.value,
          limitedRps: limitedBy.get(key(r.labels)) ?? 0,
        }));
      } else {
        const mesh = productOf(ctx.deps).governor.mesh;
        if (mesh) edges = mesh.simulator.edgeRates(10);
      }
      const visible = (k: string) => {
        const ns = k.slice(0, k.indexOf('/'));
        return canSee(ctx.user, ns) && (input.namespace === undefined || ns === input.namespace);
      };
      return { edges: edges.filter((e) => visible(e.from) || visible(e.to)) };
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
