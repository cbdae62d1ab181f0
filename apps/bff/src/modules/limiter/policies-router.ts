/**
 * SmartLimiters: list, get, validate, preview (the EnvoyFilters that apply would make Envoy enforce, a diff
 * against the cluster, the evaluated status), apply, delete, history and rollback, every change audited.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import {
  SMARTLIMITER_API_VERSION,
  SMARTLIMITER_KIND,
  type SmartLimiter,
  type SmartLimiterStatus,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import { canSee, type User } from '../../auth/auth';
import type { ApiDeps } from '../../api/deps';
import { diffLines } from '../../lib/diff';
import {
  parsePolicy,
  policyInputSchema,
  previewInputSchema,
  type PolicyInput,
  type PolicyIssue,
} from './policy-input';
import { limiterOf, type Placement } from './service';
import { mutationProcedure, requireRole, router, viewerProcedure } from '../../api/trpc';
import { acrossClusters } from '../../api/clusters';
import { conditionRows } from '../../api/conditions';
import { deleteAudited, hasErrors, invalid, userPart as sharedUserPart, writeAudited } from '../../api/edits';
import { objectsDiff, toYaml, versionsOf } from '../../api/versions';

const dns = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes name');
const ref = z.strictObject({ namespace: dns, name: dns });

/** The SmartLimiter `ref` names, or NOT_FOUND. */
async function existingLimiter(deps: ApiDeps, ref: { namespace: string; name: string }): Promise<KubeObject> {
  const o = await deps.store.get('SmartLimiter', ref.namespace, ref.name);
  if (!o)
    throw new TRPCError({
      code: 'NOT_FOUND',
      message: `SmartLimiter ${ref.namespace}/${ref.name} not found`,
    });
  return o;
}

/** The part of a SmartLimiter a user writes: what history keeps and rollback restores. */
const userPart = (o: KubeObject | Record<string, unknown>) =>
  sharedUserPart(SMARTLIMITER_API_VERSION, SMARTLIMITER_KIND, o);

interface Evaluated {
  readonly issues: PolicyIssue[];
  readonly limiter: SmartLimiter | null;
  readonly raw: Record<string, unknown> | null;
  readonly envoyFilters: KubeObject[];
  readonly status: SmartLimiterStatus | null;
  readonly metrics: Readonly<Record<string, number | string>>;
}

/** Schema, then a render against the cluster and metrics as they are now: what apply would lead to. */
function evaluate(deps: ApiDeps, input: PolicyInput): Evaluated {
  const parsed = parsePolicy(input);
  const issues = [...parsed.issues];
  if (!parsed.limiter)
    return { issues, limiter: null, raw: parsed.raw, envoyFilters: [], status: null, metrics: {} };
  const result = limiterOf(deps.modules).render(parsed.limiter);
  for (const p of result.problems)
    issues.push({ path: p.path, message: p.message, ...parsed.locate(p.path), severity: 'error' });
  for (const w of result.warnings) issues.push({ path: '', message: w, severity: 'warning' });
  return {
    issues,
    limiter: parsed.limiter,
    raw: parsed.raw,
    envoyFilters: result.envoyFilters as unknown as KubeObject[],
    status: result.status,
    metrics: result.metrics,
  };
}

/**
 * A placement as `user` may see it: the reason a patch matches nothing names the nearest candidates,
 * which may be other namespaces' services, so a user scoped to namespaces gets the bare fact.
 */
function visiblePlacement(user: User, placement: Placement): Placement {
  if (user.namespaces === '*' || !placement.explanation) return placement;
  const patches = placement.explanation.patches.map((p) =>
    p.places.length === 0 ? { ...p, reason: 'matches nothing on this Pod' } : p,
  );
  return { ...placement, explanation: { ...placement.explanation, patches } };
}

function ownedEnvoyFilters(deps: ApiDeps, namespace: string, name: string): KubeObject[] {
  return limiterOf(deps.modules).ownedEnvoyFilters(namespace, name);
}

function conditionsOf(o: KubeObject) {
  return conditionRows(o.status);
}

function writePolicy(
  deps: ApiDeps,
  user: string,
  object: Record<string, unknown>,
  action: 'apply' | 'rollback',
  restoredFrom?: number,
) {
  return writeAudited(deps, {
    apiVersion: SMARTLIMITER_API_VERSION,
    kind: SMARTLIMITER_KIND,
    user,
    object,
    action,
    ...(restoredFrom !== undefined ? { restoredFrom } : {}),
    reasons: { apply: 'PolicyApplied', rollback: 'PolicyRolledBack' },
    // The policy page's events are those of its SmartLimiter.
    policyEvent: true,
  });
}

export const policiesRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, (deps) => {
        const items = limiterOf(deps.modules)
          .list(input.namespace)
          .filter((o) => canSee(ctx.user, o.metadata.namespace ?? 'default'));
        return items
          .map((o) => {
            const namespace = o.metadata.namespace ?? 'default';
            const last = deps.audit.list({ namespace, name: o.metadata.name, limit: 1 })[0];
            return {
              namespace,
              name: o.metadata.name,
              sets: Object.keys((o.spec as SmartLimiter['spec'] | undefined)?.sets ?? {}),
              conditions: conditionsOf(o),
              envoyFilters: ownedEnvoyFilters(deps, namespace, o.metadata.name).map((e) => e.metadata.name),
              lastChange: last ? { at: last.at, user: last.user, action: last.action } : null,
            };
          })
          .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
      }),
    ),

  get: viewerProcedure.input(ref).query(async ({ ctx, input }) => {
    requireRole(ctx.user, 'viewer', input.namespace);
    const o = await existingLimiter(ctx.deps, input);
    return {
      object: o,
      yaml: toYaml(userPart(o)),
      conditions: conditionsOf(o),
      envoyFilters: ownedEnvoyFilters(ctx.deps, input.namespace, input.name),
    };
  }),

  validate: viewerProcedure.input(policyInputSchema).mutation(({ ctx, input }) => {
    const r = evaluate(ctx.deps, input);
    // The issues name the namespace's metrics, subsets and services: only for those who may see it.
    if (r.limiter) requireRole(ctx.user, 'viewer', r.limiter.metadata.namespace);
    return { ok: !hasErrors(r.issues), issues: r.issues };
  }),

  preview: viewerProcedure.input(previewInputSchema).mutation(async ({ ctx, input }) => {
    const r = evaluate(ctx.deps, input);
    if (!r.limiter)
      return {
        ok: false,
        issues: r.issues,
        envoyFilters: [],
        diff: [],
        specDiff: [],
        status: null,
        metrics: {},
        placement: null,
      };
    const { namespace, name } = r.limiter.metadata;
    requireRole(ctx.user, 'viewer', namespace);
    const diff = objectsDiff(ownedEnvoyFilters(ctx.deps, namespace, name), r.envoyFilters);
    const current = await ctx.deps.store.get('SmartLimiter', namespace, name);
    const specDiff = diffLines(
      current ? toYaml(userPart(current)) : '',
      r.raw ? toYaml(userPart(r.raw)) : '',
    );
    return {
      ok: !hasErrors(r.issues),
      issues: r.issues,
      envoyFilters: r.envoyFilters,
      diff,
      specDiff,
      status: r.status,
      metrics: r.metrics,
      // Where istiod would apply the patches, so that one that matches nothing shows before it is applied.
      placement: visiblePlacement(
        ctx.user,
        limiterOf(ctx.deps.modules).placement(
          r.envoyFilters,
          input.proxy?.startsWith(`${namespace}/`) ? input.proxy : undefined,
        ),
      ),
    };
  }),

  applyPolicy: mutationProcedure('editor')
    .input(policyInputSchema)
    .mutation(async ({ ctx, input }) => {
      const r = evaluate(ctx.deps, input);
      if (!r.limiter || !r.raw || hasErrors(r.issues)) throw invalid(r.issues);
      requireRole(ctx.user, 'editor', r.limiter.metadata.namespace);
      const raw = {
        ...r.raw,
        metadata: { ...(r.raw.metadata as object), namespace: r.limiter.metadata.namespace },
      };
      const { object, auditId } = await writePolicy(ctx.deps, ctx.user.name, raw, 'apply');
      return {
        namespace: r.limiter.metadata.namespace,
        name: r.limiter.metadata.name,
        resourceVersion: object.metadata.resourceVersion ?? null,
        auditId,
      };
    }),

  delete: mutationProcedure('editor')
    .input(ref)
    .mutation(async ({ ctx, input }) => {
      requireRole(ctx.user, 'editor', input.namespace);
      const current = await existingLimiter(ctx.deps, input);
      return deleteAudited(ctx.deps, {
        apiVersion: SMARTLIMITER_API_VERSION,
        kind: SMARTLIMITER_KIND,
        user: ctx.user.name,
        namespace: input.namespace,
        name: input.name,
        current,
      });
    }),

  history: viewerProcedure.input(ref).query(({ ctx, input }) => {
    requireRole(ctx.user, 'viewer', input.namespace);
    return versionsOf(ctx.deps.audit, { kind: SMARTLIMITER_KIND, ...input });
  }),

  rollback: mutationProcedure('editor')
    .input(ref.extend({ toId: z.number().int().positive() }))
    .mutation(async ({ ctx, input }) => {
      requireRole(ctx.user, 'editor', input.namespace);
      const target = ctx.deps.audit.get(input.toId);
      if (!target || target.namespace !== input.namespace || target.name !== input.name || !target.after)
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: `no version ${input.toId} of SmartLimiter ${input.namespace}/${input.name} to roll back to`,
        });
      const { object, auditId } = await writePolicy(
        ctx.deps,
        ctx.user.name,
        target.after as Record<string, unknown>,
        'rollback',
        target.id,
      );
      return { resourceVersion: object.metadata.resourceVersion ?? null, auditId };
    }),
});
