/**
 * Plugins from the API: every workload's HTTP filter chains (inbound, outbound, gateway) after the
 * EnvoyFilters istiod would apply, each filter with who put it there, and the PluginManagers and
 * EnvoyPlugins selecting it; list and get of both kinds; validate and preview (the EnvoyFilter, a diff
 * against the cluster, the chains it would give); apply, delete, history and rollback, audited.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { PLUGIN_API_VERSION, type PluginStatus } from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import { canSee, type User } from '../../auth/auth';
import type { ApiDeps } from '../../api/deps';
import {
  deleteAudited,
  errorIssue,
  hasErrors,
  invalid,
  rollbackTarget,
  userPart as sharedUserPart,
  writeAudited,
} from '../../api/edits';
import { dns, ref } from '../../api/inputs';
import { mutationProcedure, requireRole, router, viewerProcedure } from '../../api/trpc';
import { acrossClusters } from '../../api/clusters';
import { conditionRows } from '../../api/conditions';
import { objectsDiff, toYaml, versionsOf } from '../../api/versions';
import { diffLines } from '../../lib/diff';
import type { InputIssue } from '../../lib/input-issues';
import { workloadFilterChains, type WorkloadFilterChains } from '../../istio/filter-chain';
import { byCode, selects } from '../../istio/proxy-model';
import { pluginInputSchema, readPluginInput, warningIssue, type PluginInput } from './plugin-input';
import { CHAIN_INPUT_KINDS, PLUGIN_KINDS, pluginOf, type PluginKind, type PluginService } from './service';

const kindSchema = z.enum(PLUGIN_KINDS);
const kindRef = ref.extend({ kind: kindSchema });

const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The part of an object a user writes: what the audit keeps and rollback restores. */
const userPart = (kind: PluginKind, o: KubeObject | Record<string, unknown>) =>
  sharedUserPart(PLUGIN_API_VERSION, kind, o);

function conditionsOf(o: KubeObject) {
  return conditionRows(o.status);
}

/** The plugins of an object as written (snake_case or lowerCamel alike). */
function pluginsOf(kind: PluginKind, o: KubeObject) {
  const spec = rec(o.spec);
  const list = kind === 'PluginManager' ? spec.plugin : spec.plugins;
  return (Array.isArray(list) ? list : []).map((p) => {
    const r = rec(p);
    return {
      name: typeof r.name === 'string' ? r.name : '',
      enabled: r.enable === true,
      listenerType: typeof r.listenerType === 'string' ? r.listenerType : null,
      port: typeof r.port === 'number' ? r.port : null,
    };
  });
}

/** The labels an object selects workloads by; null: every workload of its namespace. */
function selectorOf(kind: PluginKind, o: KubeObject): Record<string, string> | null {
  const spec = rec(o.spec);
  const labels =
    kind === 'PluginManager'
      ? (spec.workloadLabels ?? spec.workload_labels)
      : rec(spec.workloadSelector ?? spec.workload_selector).labels;
  const r = rec(labels) as Record<string, string>;
  return Object.keys(r).length === 0 ? null : r;
}

function summary(service: PluginService, kind: PluginKind, o: KubeObject) {
  const namespace = o.metadata.namespace ?? 'default';
  const conditions = conditionsOf(o);
  return {
    kind,
    namespace,
    name: o.metadata.name,
    selector: selectorOf(kind, o),
    plugins: pluginsOf(kind, o),
    conditions,
    ready: conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown',
    envoyFilter: service.ownedEnvoyFilter(kind, namespace, o.metadata.name)?.metadata.name ?? null,
  };
}

/** Chains as `user` may see them: a patch's reason names candidates that may be in other namespaces. */
function visibleChains(user: User, chains: WorkloadFilterChains): WorkloadFilterChains {
  if (user.namespaces === '*') return chains;
  return {
    ...chains,
    warnings: chains.warnings.map((w) => w.replace(/ matches nothing: .*$/s, ' matches nothing')),
  };
}

interface Evaluated {
  readonly kind: PluginKind | null;
  readonly issues: InputIssue[];
  readonly raw: Record<string, unknown> | null;
  readonly ref: { namespace: string; name: string } | null;
  readonly desired: KubeObject[];
  readonly status: PluginStatus | null;
}

/** The module's parse and plan against the caches, as the controller would run them; writes nothing. */
async function evaluate(deps: ApiDeps, user: User, input: PluginInput): Promise<Evaluated> {
  const service = pluginOf(deps.modules);
  const read = readPluginInput(input);
  const none = { kind: read.kind, issues: read.issues, raw: read.raw, ref: null, desired: [], status: null };
  if (read.kind === null || read.raw === null) return none;
  const kind = read.kind;
  const raw = { apiVersion: PLUGIN_API_VERSION, ...read.raw, kind } as unknown as KubeObject;
  const parsed = service.parse(kind, raw);
  if (!parsed.ok)
    return {
      ...none,
      issues: [...read.issues, ...parsed.problems.map((p) => errorIssue(p, read.locate))],
    };
  const metadata = (parsed.value as { metadata: { namespace: string; name: string } }).metadata;
  requireRole(user, 'viewer', metadata.namespace);
  const stored = await deps.store.get(kind, metadata.namespace, metadata.name);
  const withStatus = {
    ...raw,
    metadata: { ...raw.metadata, namespace: metadata.namespace },
    ...(stored?.status ? { status: stored.status } : {}),
  } as KubeObject;
  const reparsed = service.parse(kind, withStatus);
  const plan = service.plan(kind, reparsed.ok ? reparsed.value : parsed.value, withStatus);
  const issues: InputIssue[] = [
    ...read.issues,
    ...plan.problems.map((p) => errorIssue(p, read.locate)),
    ...(plan.warnings ?? []).map((w) => warningIssue(w, read.locate)),
  ];
  return {
    kind,
    issues,
    raw: { ...read.raw, apiVersion: PLUGIN_API_VERSION, kind },
    ref: { namespace: metadata.namespace, name: metadata.name },
    desired: [...plan.desired],
    status: plan.status as PluginStatus,
  };
}

interface Workload {
  namespace: string;
  name: string;
  pods: string[];
  labels: Record<string, string>;
}

/** Services with Pods, by the Pods' labels, in the namespaces `user` may see. */
function workloadsOf(objects: readonly KubeObject[], user: User, namespace?: string): Workload[] {
  const pods = objects.filter((o) => o.kind === 'Pod');
  return objects
    .filter((o) => o.kind === 'Service')
    .filter((s) => namespace === undefined || (s.metadata.namespace ?? 'default') === namespace)
    .filter((s) => canSee(user, s.metadata.namespace ?? 'default'))
    .flatMap((s) => {
      const ns = s.metadata.namespace ?? 'default';
      const selector = rec(rec(s.spec).selector) as Record<string, string>;
      if (Object.keys(selector).length === 0) return [];
      const own = pods
        .filter(
          (p) => (p.metadata.namespace ?? 'default') === ns && selects(selector, p.metadata.labels ?? {}),
        )
        .sort((a, b) => byCode(a.metadata.name, b.metadata.name));
      if (own.length === 0) return [];
      return [
        {
          namespace: ns,
          name: s.metadata.name,
          pods: own.map((p) => p.metadata.name),
          labels: own[0]!.metadata.labels ?? {},
        },
      ];
    })
    .sort((a, b) => byCode(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
}

async function chainInputs(deps: ApiDeps, service: PluginService) {
  const objects = (await Promise.all(CHAIN_INPUT_KINDS.map((k) => service.objects(deps.store, k)))).flat();
  const envoyFilters = await service.objects(deps.store, 'EnvoyFilter');
  return { objects, envoyFilters };
}

/** The plugin object the EnvoyFilter would belong to, as the framework writes it. */
function withOwner(ef: KubeObject, kind: PluginKind, name: string): KubeObject {
  return {
    ...ef,
    metadata: {
      ...ef.metadata,
      ownerReferences: [{ apiVersion: PLUGIN_API_VERSION, kind, name, uid: '', controller: true }],
    },
  };
}

function writeObject(
  deps: ApiDeps,
  user: string,
  kind: PluginKind,
  object: Record<string, unknown>,
  action: 'apply' | 'rollback',
  restoredFrom?: number,
) {
  return writeAudited(deps, {
    apiVersion: PLUGIN_API_VERSION,
    kind,
    user,
    object,
    action,
    ...(restoredFrom !== undefined ? { restoredFrom } : {}),
    reasons: { apply: 'PluginApplied', rollback: 'PluginRolledBack' },
  });
}

export const pluginsRouter = router({
  workloads: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, async (deps) => {
        if (input.namespace !== undefined) requireRole(ctx.user, 'viewer', input.namespace);
        const service = pluginOf(deps.modules);
        const { objects, envoyFilters } = await chainInputs(deps, service);
        return workloadsOf(objects, ctx.user, input.namespace).map((w) => {
          const plugins = PLUGIN_KINDS.flatMap((kind) =>
            service
              .list(kind, w.namespace)
              .filter((o) => {
                const selector = selectorOf(kind, o);
                return selector === null || selects(selector, w.labels);
              })
              .map((o) => summary(service, kind, o)),
          ).sort((a, b) => byCode(`${a.kind}/${a.name}`, `${b.kind}/${b.name}`));
          const chains = workloadFilterChains({
            objects,
            envoyFilters,
            proxy: { namespace: w.namespace, name: w.pods[0]! },
          });
          return {
            namespace: w.namespace,
            name: w.name,
            pods: w.pods,
            pod: `${w.namespace}/${w.pods[0]!}`,
            plugins,
            ...visibleChains(ctx.user, chains),
          };
        });
      }),
    ),

  list: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional(), kind: kindSchema.optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, (deps) => {
        if (input.namespace !== undefined) requireRole(ctx.user, 'viewer', input.namespace);
        const service = pluginOf(deps.modules);
        return PLUGIN_KINDS.filter((k) => input.kind === undefined || input.kind === k)
          .flatMap((kind) =>
            service
              .list(kind, input.namespace)
              .filter((o) => canSee(ctx.user, o.metadata.namespace ?? 'default'))
              .map((o) => {
                const namespace = o.metadata.namespace ?? 'default';
                const last = deps.audit.list({ kind, namespace, name: o.metadata.name, limit: 1 })[0];
                return {
                  ...summary(service, kind, o),
                  lastChange: last ? { at: last.at, user: last.user, action: last.action } : null,
                };
              }),
          )
          .sort((a, b) => byCode(`${a.namespace}/${a.kind}/${a.name}`, `${b.namespace}/${b.kind}/${b.name}`));
      }),
    ),

  get: viewerProcedure.input(kindRef).query(async ({ ctx, input }) => {
    requireRole(ctx.user, 'viewer', input.namespace);
    const o = await ctx.deps.store.get(input.kind, input.namespace, input.name);
    if (!o)
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `${input.kind} ${input.namespace}/${input.name} not found`,
      });
    const service = pluginOf(ctx.deps.modules);
    return {
      ...summary(service, input.kind, o),
      object: o,
      yaml: toYaml(userPart(input.kind, o)),
      envoyFilterObject: service.ownedEnvoyFilter(input.kind, input.namespace, input.name) ?? null,
    };
  }),

  validate: viewerProcedure.input(pluginInputSchema).mutation(async ({ ctx, input }) => {
    const r = await evaluate(ctx.deps, ctx.user, input);
    return { ok: r.ref !== null && !hasErrors(r.issues), kind: r.kind, issues: r.issues };
  }),

  preview: viewerProcedure.input(pluginInputSchema).mutation(async ({ ctx, input }) => {
    const r = await evaluate(ctx.deps, ctx.user, input);
    if (r.ref === null || r.kind === null)
      return {
        ok: false,
        kind: r.kind,
        issues: r.issues,
        envoyFilters: [],
        yaml: '',
        diff: [],
        specDiff: [],
        status: null,
        workloads: [],
      };
    const { namespace, name } = r.ref;
    const kind = r.kind;
    const service = pluginOf(ctx.deps.modules);
    const current = await ctx.deps.store.get(kind, namespace, name);
    const owned = service.ownedEnvoyFilter(kind, namespace, name);
    // The chains of the workloads it selects, with its EnvoyFilter as it would be written.
    const { objects, envoyFilters } = await chainInputs(ctx.deps, service);
    const planned = r.desired.map((ef) => withOwner(ef, kind, name));
    const replaced = new Set(planned.map((ef) => `${ef.metadata.namespace}/${ef.metadata.name}`));
    const others = envoyFilters.filter(
      (ef) => !replaced.has(`${ef.metadata.namespace ?? 'default'}/${ef.metadata.name}`),
    );
    const selector = r.raw ? selectorOf(kind, r.raw as unknown as KubeObject) : null;
    const workloads = workloadsOf(objects, ctx.user, namespace)
      .filter((w) => selector === null || selects(selector, w.labels))
      .map((w) => ({
        namespace: w.namespace,
        name: w.name,
        pod: `${w.namespace}/${w.pods[0]!}`,
        ...visibleChains(
          ctx.user,
          workloadFilterChains({
            objects,
            envoyFilters: [...others, ...planned],
            proxy: { namespace: w.namespace, name: w.pods[0]! },
          }),
        ),
      }));
    return {
      ok: !hasErrors(r.issues),
      kind,
      issues: r.issues,
      envoyFilters: r.desired,
      yaml: r.desired
        .map((o) => toYaml({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: o.spec }))
        .join('---\n'),
      diff: objectsDiff(owned ? [owned] : [], r.desired),
      specDiff: diffLines(
        current ? toYaml(userPart(kind, current)) : '',
        r.raw ? toYaml(userPart(kind, r.raw)) : '',
      ),
      status: r.status,
      workloads,
    };
  }),

  applyPlugin: mutationProcedure('editor')
    .input(pluginInputSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await evaluate(ctx.deps, ctx.user, input);
      if (r.ref === null || r.kind === null || r.raw === null || hasErrors(r.issues)) throw invalid(r.issues);
      const { namespace, name } = r.ref;
      requireRole(ctx.user, 'editor', namespace);
      const raw = { ...r.raw, metadata: { ...(r.raw.metadata as object), namespace } };
      const { object, auditId } = await writeObject(ctx.deps, ctx.user.name, r.kind, raw, 'apply');
      return {
        kind: r.kind,
        namespace,
        name,
        resourceVersion: object.metadata.resourceVersion ?? null,
        auditId,
      };
    }),

  delete: mutationProcedure('editor')
    .input(kindRef)
    .mutation(async ({ ctx, input }) => {
      requireRole(ctx.user, 'editor', input.namespace);
      const current = await ctx.deps.store.get(input.kind, input.namespace, input.name);
      if (!current)
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: `${input.kind} ${input.namespace}/${input.name} not found`,
        });
      return deleteAudited(ctx.deps, {
        apiVersion: PLUGIN_API_VERSION,
        kind: input.kind,
        user: ctx.user.name,
        namespace: input.namespace,
        name: input.name,
        current,
      });
    }),

  history: viewerProcedure.input(kindRef).query(({ ctx, input }) => {
    requireRole(ctx.user, 'viewer', input.namespace);
    return versionsOf(ctx.deps.audit, input);
  }),

  rollback: mutationProcedure('editor')
    .input(kindRef.extend({ toId: z.number().int().positive() }))
    .mutation(async ({ ctx, input }) => {
      requireRole(ctx.user, 'editor', input.namespace);
      const target = rollbackTarget(ctx.deps.audit, input);
      const { object, auditId } = await writeObject(
        ctx.deps,
        ctx.user.name,
        input.kind,
        target.object,
        'rollback',
        target.id,
      );
      return { resourceVersion: object.metadata.resourceVersion ?? null, auditId };
    }),
});
