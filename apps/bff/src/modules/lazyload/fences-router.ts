/**
 * Lazy loading from the API: every workload (a Service with Pods) with its fence, its Sidecar's egress
 * hosts and why each is there, the calls that went through the fallback, and the configuration its proxy
 * receives with and without the fence; previews of a ServiceFence (the Sidecar and EnvoyFilter it would
 * write, with a diff), apply and delete, every change audited.
 */
import { TRPCError } from '@trpc/server';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  SERVICEFENCE_API_VERSION,
  SERVICEFENCE_KIND,
  serviceSchema,
  workloadEntrySchema,
  type ServiceFence,
  type ServiceFenceStatus,
  type WorkloadEntry,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import { canSee, type User } from '../../auth/auth';
import type { ApiDeps } from '../../api/deps';
import { dns, ref } from '../../api/inputs';
import { mutationProcedure, requireRole, router, viewerProcedure } from '../../api/trpc';
import { acrossClusters } from '../../api/clusters';
import { conditionRows } from '../../api/conditions';
import { deleteAudited, hasErrors, invalid, userPart as sharedUserPart, writeAudited } from '../../api/edits';
import { objectsDiff, toYaml } from '../../api/versions';
import { diffLines } from '../../lib/diff';
import type { InputIssue } from '../../lib/input-issues';
import { buildProxyModel, byCode, selects } from '../../istio/proxy-model';
import { configSize, sidecarScope, type ConfigSize } from '../../istio/sidecar-scope';
import { egressHostReasons, leftHosts } from './host-reasons';
import { lazyloadOf, type LazyloadService } from './service';

/** Largest fence text accepted. */
const MAX_FENCE_BYTES = 256 * 1024;

export const fenceInputSchema = z.union([
  z.strictObject({ yaml: z.string().max(MAX_FENCE_BYTES, `at most ${MAX_FENCE_BYTES} bytes`) }),
  z.strictObject({ object: z.record(z.string(), z.unknown()) }),
]);
export type FenceInput = z.infer<typeof fenceInputSchema>;

/** The part of a ServiceFence a user writes: what the audit keeps. */
const userPart = (o: KubeObject | Record<string, unknown>) =>
  sharedUserPart(SERVICEFENCE_API_VERSION, SERVICEFENCE_KIND, o);

function conditionsOf(status: ServiceFenceStatus | undefined) {
  return conditionRows(status);
}

interface Parsed {
  readonly issues: InputIssue[];
  readonly fence: ServiceFence | null;
  /** As written, apiVersion and kind filled in, without a status. */
  readonly raw: Record<string, unknown> | null;
}

/** YAML or an object → a ServiceFence by the module's own parse; `apiVersion` and `kind` may be left out. */
function parseFence(service: LazyloadService, input: FenceInput): Parsed {
  let value: unknown;
  if ('yaml' in input) {
    try {
      value = parseYaml(input.yaml);
    } catch (e) {
      const line = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
      return {
        issues: [
          {
            path: '',
            message: (e as Error).message.split('\n')[0]!,
            ...(line ? { line: line.line, column: line.col } : {}),
            severity: 'error',
          },
        ],
        fence: null,
        raw: null,
      };
    }
  } else value = input.object;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return {
      issues: [{ path: '', message: 'expected a ServiceFence', severity: 'error' }],
      fence: null,
      raw: null,
    };
  const { status: _status, ...rest } = value as Record<string, unknown>;
  const raw = { apiVersion: SERVICEFENCE_API_VERSION, kind: SERVICEFENCE_KIND, ...rest };
  const parsed = service.module.parse(raw as unknown as KubeObject);
  if (!parsed.ok)
    return {
      issues: parsed.problems.map((p) => ({
        path: p.path ?? '',
        message: p.message,
        severity: 'error' as const,
      })),
      fence: null,
      raw,
    };
  return { issues: [], fence: parsed.value, raw };
}

interface Evaluated {
  readonly issues: InputIssue[];
  readonly fence: ServiceFence | null;
  readonly raw: Record<string, unknown> | null;
  readonly desired: KubeObject[];
  readonly status: ServiceFenceStatus | null;
}

/**
 * Plans the fence as the controller would: against the caches, the calls observed now and the stored
 * fence's status (its domains, so that hosts leave in two steps as they would).
 */
async function evaluate(deps: ApiDeps, user: User, input: FenceInput): Promise<Evaluated> {
  const service = lazyloadOf(deps.modules);
  const parsed = parseFence(service, input);
  if (!parsed.fence || !parsed.raw) return { ...parsed, desired: [], status: null };
  const { namespace, name } = parsed.fence.metadata;
  requireRole(user, 'viewer', namespace);
  const stored = await deps.store.get(SERVICEFENCE_KIND, namespace, name);
  const raw = {
    ...parsed.raw,
    metadata: { ...(parsed.raw.metadata as object), namespace },
    ...(stored?.status ? { status: stored.status } : {}),
  } as unknown as KubeObject;
  const withStatus = service.module.parse(raw);
  const fence = withStatus.ok ? withStatus.value : parsed.fence;
  const plan = service.plan(fence, raw);
  const issues: InputIssue[] = [
    ...plan.problems.map((p) => ({ path: p.path ?? '', message: p.message, severity: 'error' as const })),
    ...(plan.warnings ?? []).map((w) => ({ path: '', message: w, severity: 'warning' as const })),
  ];
  return {
    issues,
    fence,
    raw: parsed.raw,
    desired: [...plan.desired],
    status: plan.status as ServiceFenceStatus,
  };
}

function writeFence(deps: ApiDeps, user: string, object: Record<string, unknown>) {
  return writeAudited(deps, {
    apiVersion: SERVICEFENCE_API_VERSION,
    kind: SERVICEFENCE_KIND,
    user,
    object,
    action: 'apply',
    reasons: { apply: 'FenceApplied', rollback: 'FenceRolledBack' },
  });
}

const egressHostsOf = (sidecar: KubeObject | undefined): string[] | null => {
  if (!sidecar) return null;
  const egress = (sidecar.spec as { egress?: { hosts?: unknown }[] } | undefined)?.egress ?? [];
  return [...new Set(egress.flatMap((e) => (Array.isArray(e.hosts) ? (e.hosts as string[]) : [])))].sort(
    byCode,
  );
};

/** The egress hosts the module would give a workload with `{enable: true}`, when it has no Sidecar yet. */
function plannedHosts(service: LazyloadService, namespace: string, name: string, existing?: KubeObject) {
  const raw = {
    apiVersion: SERVICEFENCE_API_VERSION,
    kind: SERVICEFENCE_KIND,
    metadata: { name, namespace },
    spec: { ...((existing?.spec as object | undefined) ?? {}), enable: true },
    ...(existing?.status ? { status: existing.status } : {}),
  } as unknown as KubeObject;
  const parsed = service.module.parse(raw);
  if (!parsed.ok) return null;
  const plan = service.plan(parsed.value, raw);
  return egressHostsOf(plan.desired.find((o) => o.kind === 'Sidecar'));
}

/** A VM as the proxy model knows a workload: a Pod with the WorkloadEntry's name and labels. */
const podLike = (w: WorkloadEntry): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: w.metadata.name,
    namespace: w.metadata.namespace ?? 'default',
    labels: w.spec.labels ?? {},
  },
  ...(w.spec.address ? { status: { phase: 'Running', podIP: w.spec.address } } : {}),
});

export const fencesRouter = router({
  workloads: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, (deps) => {
        if (input.namespace !== undefined) requireRole(ctx.user, 'viewer', input.namespace);
        const service = lazyloadOf(deps.modules);
        const snapshot = service.snapshot;
        const objects = service.proxyModelObjects();
        const options = service.module.options;
        const pods = snapshot.list('Pod', input.namespace);
        // VMs: Istio selects them with a Service's selector as it does Pods, and their calls carry the same
        // source_app, so they are part of the workload.
        const vms = snapshot.parsed('WorkloadEntry', workloadEntrySchema, input.namespace);
        return snapshot
          .parsed('Service', serviceSchema, input.namespace)
          .filter((s) => canSee(ctx.user, s.metadata.namespace ?? 'default'))
          .flatMap((s) => {
            const namespace = s.metadata.namespace ?? 'default';
            const name = s.metadata.name;
            const selector = s.spec.selector;
            if (!selector || Object.keys(selector).length === 0) return [];
            const own = pods
              .filter((p) => (p.metadata.namespace ?? 'default') === namespace)
              .filter((p) => selects(selector, p.metadata.labels ?? {}))
              .map((p) => p.metadata.name)
              .sort(byCode);
            const ownVms = vms
              .filter((w) => (w.metadata.namespace ?? 'default') === namespace)
              .filter((w) => selects(selector, w.spec.labels ?? {}))
              .sort((a, b) => byCode(a.metadata.name, b.metadata.name));
            if (own.length === 0 && ownVms.length === 0) return [];
            const stored = snapshot.get(SERVICEFENCE_KIND, namespace, name);
            const parsed = stored ? service.module.parse(stored) : undefined;
            const fence = parsed?.ok ? parsed.value : null;
            const sidecar = stored
              ? service.ownedObjects(namespace, name).find((o) => o.kind === 'Sidecar')
              : undefined;
            const hosts = egressHostsOf(sidecar);
            const calls = service.callsFrom(namespace, name);
            // Sized on a pod when there is one, else on a VM as a pod-like proxy.
            const proxy = own[0] ?? ownVms[0]!.metadata.name;
            const model = buildProxyModel(own[0] ? objects : [...objects, podLike(ownVms[0]!)], {
              namespace,
              name: proxy,
            });
            const withoutFence = configSize(model);
            const wouldBe = hosts ?? plannedHosts(service, namespace, name, stored);
            const withFence: (ConfigSize & { from: 'sidecar' | 'plan' }) | null = wouldBe
              ? {
                  ...configSize(model, sidecarScope(wouldBe, namespace, objects)),
                  from: hosts ? 'sidecar' : 'plan',
                }
              : null;
            return [
              {
                namespace,
                name,
                pods: own,
                vms: ownVms.map((w) => w.metadata.name),
                fence: stored
                  ? {
                      name,
                      enabled: fence?.spec.enable === true,
                      spec: (stored.spec ?? {}) as Record<string, unknown>,
                      yaml: toYaml(userPart(stored)),
                      conditions: conditionsOf(stored.status as ServiceFenceStatus | undefined),
                    }
                  : null,
                sidecar: sidecar ? { name: sidecar.metadata.name } : null,
                hosts: hosts ? egressHostReasons({ hosts, fence, options, calls }) : [],
                left: leftHosts(fence, calls),
                fallbackCalls: [...calls.values()]
                  .filter((c) => c.via.includes('fallback'))
                  .map((c) => ({
                    destination: c.destination,
                    count: c.count,
                    lastSeen: c.lastSeen > 0 ? new Date(c.lastSeen).toISOString() : null,
                  }))
                  .sort((a, b) => byCode(a.destination, b.destination)),
                calls: [...calls.values()]
                  .map((c) => ({ destination: c.destination, count: c.count, via: [...c.via] }))
                  .sort((a, b) => byCode(a.destination, b.destination)),
                size: { pod: `${namespace}/${proxy}`, withoutFence, withFence },
              },
            ];
          })
          .sort((a, b) => byCode(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
      }),
    ),

  preview: viewerProcedure.input(fenceInputSchema).mutation(async ({ ctx, input }) => {
    const r = await evaluate(ctx.deps, ctx.user, input);
    if (!r.fence)
      return { ok: false, issues: r.issues, objects: [], yaml: '', diff: [], specDiff: [], status: null };
    const { namespace, name } = r.fence.metadata;
    const service = lazyloadOf(ctx.deps.modules);
    const current = await ctx.deps.store.get(SERVICEFENCE_KIND, namespace, name);
    return {
      ok: !hasErrors(r.issues),
      issues: r.issues,
      objects: r.desired,
      yaml: r.desired
        .map((o) => toYaml({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: o.spec }))
        .join('---\n'),
      // `Sidecar/productpage`, `EnvoyFilter/productpage.default.lazyload-fallback`.
      diff: objectsDiff(
        current ? service.ownedObjects(namespace, name) : [],
        r.desired,
        (o) => `${o.kind}/${o.metadata.name}`,
      ),
      specDiff: diffLines(current ? toYaml(userPart(current)) : '', r.raw ? toYaml(userPart(r.raw)) : ''),
      status: r.status,
    };
  }),

  applyFence: mutationProcedure('editor')
    .input(fenceInputSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await evaluate(ctx.deps, ctx.user, input);
      if (!r.fence || !r.raw || hasErrors(r.issues)) throw invalid(r.issues);
      const { namespace, name } = r.fence.metadata;
      requireRole(ctx.user, 'editor', namespace);
      const raw = { ...r.raw, metadata: { ...(r.raw.metadata as object), namespace } };
      const { object, auditId } = await writeFence(ctx.deps, ctx.user.name, raw);
      return { namespace, name, resourceVersion: object.metadata.resourceVersion ?? null, auditId };
    }),

  deleteFence: mutationProcedure('editor')
    .input(ref)
    .mutation(async ({ ctx, input }) => {
      requireRole(ctx.user, 'editor', input.namespace);
      const current = await ctx.deps.store.get(SERVICEFENCE_KIND, input.namespace, input.name);
      if (!current)
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: `ServiceFence ${input.namespace}/${input.name} not found`,
        });
      return deleteAudited(ctx.deps, {
        apiVersion: SERVICEFENCE_API_VERSION,
        kind: SERVICEFENCE_KIND,
        user: ctx.user.name,
        namespace: input.namespace,
        name: input.name,
        current,
      });
    }),
});
