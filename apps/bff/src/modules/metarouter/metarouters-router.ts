/**
 * MetaRouters from the API: list and get with their status; validate and preview (the object's diff against
 * the cluster and the route configurations the route server would serve after the change, against now);
 * apply, history and rollback, audited; the MetaProtocol services, the proxies' subscriptions to their
 * route configurations, and their calls by method. Every answer is limited to the namespaces a user may see.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import {
  METAPROTOCOL_API_VERSION,
  METAROUTER_KIND,
  type MetaRouter,
  type MetaRouterStatus,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import { canSee, type User } from '../../auth/auth';
import type { ApiDeps } from '../../api/deps';
import {
  errorIssue,
  hasErrors,
  invalid,
  objectInputSchema,
  readObjectInput,
  rollbackTarget,
  userPart,
  warningIssue,
  writeAudited,
  type ObjectInput,
} from '../../api/edits';
import { dns, ref } from '../../api/inputs';
import { mutationProcedure, requireRole, router, viewerProcedure } from '../../api/trpc';
import { acrossClusters } from '../../api/clusters';
import { conditionRows } from '../../api/conditions';
import { objectsDiff, toYaml, versionsOf } from '../../api/versions';
import { parseCached } from '../../framework/snapshot';
import type { Snapshot } from '../../framework/module';
import { diffLines } from '../../lib/diff';
import type { InputIssue } from '../../lib/input-issues';
import type { MetaRouteConfiguration } from '../../envoy/metaprotocol-route';
import { routeConfigName, routeConfigurations, routerFor } from './routes';
import { metaRouterOf, type MetaRouterService } from './service';
import { codecs, metaServices, routerKey, routersByHost, type MetaService } from './services';

const KIND = METAROUTER_KIND;
const APPLY_REASONS = { apply: 'MetaRouterApplied', rollback: 'MetaRouterRolledBack' } as const;
const part = (o: KubeObject | Record<string, unknown>) => userPart(METAPROTOCOL_API_VERSION, KIND, o);

function serviceOf(deps: ApiDeps): MetaRouterService {
  const s = metaRouterOf(deps.modules);
  if (!s) throw new TRPCError({ code: 'NOT_FOUND', message: 'the metarouter module is not enabled' });
  return s;
}

const nsOf = (o: KubeObject) => o.metadata.namespace ?? 'default';

function conditionsOf(status: MetaRouterStatus | undefined) {
  return conditionRows(status);
}

type Conditions = ReturnType<typeof conditionsOf>;
const conditionStatus = (conditions: Conditions, type: string) =>
  conditions.find((c) => c.type === type)?.status ?? 'Unknown';

function summary(o: KubeObject) {
  const spec = (o.spec ?? {}) as MetaRouter['spec'];
  const status = o.status as MetaRouterStatus | undefined;
  const conditions = conditionsOf(status);
  return {
    namespace: nsOf(o),
    name: o.metadata.name,
    host: spec.hosts?.[0] ?? null,
    hosts: spec.hosts ?? [],
    routes: (spec.routes ?? []).map((r) => r.name ?? ''),
    localRateLimit: spec.localRateLimit !== undefined,
    globalRateLimit: spec.globalRateLimit !== undefined,
    conditions,
    ready: conditionStatus(conditions, 'Ready'),
    conflict: conditionStatus(conditions, 'Conflict'),
    serviceFound: conditionStatus(conditions, 'ServiceFound'),
    proxiesAccepted: conditionStatus(conditions, 'ProxiesAccepted'),
    routeConfigurations: status?.routeConfigurations ?? [],
  };
}

/** `snapshot` with `object` in place of the stored copy of it (or added): what the caches would hold. */
function withObject(snapshot: Snapshot, object: KubeObject): Snapshot {
  const namespace = nsOf(object);
  const same = (o: KubeObject) =>
    o.kind === object.kind && nsOf(o) === namespace && o.metadata.name === object.metadata.name;
  const list = (kind: string, ns?: string) =>
    kind !== object.kind
      ? snapshot.list(kind, ns)
      : [
          ...snapshot.list(kind, ns).filter((o) => !same(o)),
          ...(ns === undefined || ns === namespace ? [object] : []),
        ];
  return {
    list,
    get: (kind, ns, name) =>
      kind === object.kind && ns === namespace && name === object.metadata.name
        ? object
        : snapshot.get(kind, ns, name),
    parsed: (kind, schema, ns) =>
      list(kind, ns)
        .map((o) => parseCached(schema, o))
        .filter((v): v is NonNullable<typeof v> => v !== null),
  };
}

/** The namespace of each route configuration name and host the route server serves, by its service. */
function owners(services: readonly MetaService[]) {
  const byRouteConfig = new Map<string, string>();
  const byHost = new Map<string, string>();
  for (const s of services) {
    for (const h of s.hosts) byHost.set(h, s.namespace);
    for (const p of s.ports) byRouteConfig.set(routeConfigName(s.host, p.number), s.namespace);
  }
  return { byRouteConfig, byHost };
}

/** Something of a namespace `user` may see; of no known namespace, for those who see them all. */
const visible = (user: User, namespace: string | undefined) =>
  namespace === undefined ? user.namespaces === '*' : canSee(user, namespace);

interface Evaluated {
  readonly issues: InputIssue[];
  readonly raw: Record<string, unknown> | null;
  /** The object as the caches would hold it after apply (the stored copy's metadata and status kept). */
  readonly object: KubeObject | null;
  readonly status: MetaRouterStatus | null;
}

/** The module's parse and plan against the caches, as the controller would run them; writes nothing. */
async function evaluate(deps: ApiDeps, user: User, input: ObjectInput): Promise<Evaluated> {
  const service = serviceOf(deps);
  const read = readObjectInput(input, [KIND]);
  const none = { issues: read.issues, raw: read.raw, object: null, status: null };
  if (read.kind === null || read.raw === null) return none;
  const raw = { apiVersion: METAPROTOCOL_API_VERSION, ...read.raw, kind: KIND } as unknown as KubeObject;
  const parsed = service.parse(raw);
  if (!parsed.ok)
    return { ...none, issues: [...read.issues, ...parsed.problems.map((p) => errorIssue(p, read.locate))] };
  const { namespace, name } = (parsed.value as MetaRouter).metadata;
  requireRole(user, 'viewer', namespace);
  const stored = await deps.store.get(KIND, namespace, name);
  // Kept from the stored copy: which of two MetaRouters of one host wins goes by creation time.
  const object = {
    ...raw,
    metadata: {
      ...(stored?.metadata ?? {}),
      ...raw.metadata,
      namespace,
      ...(stored?.metadata.creationTimestamp
        ? { creationTimestamp: stored.metadata.creationTimestamp }
        : { creationTimestamp: new Date().toISOString() }),
    },
    ...(stored?.status ? { status: stored.status } : {}),
  } as KubeObject;
  const reparsed = service.parse(object);
  const plan = service.plan(reparsed.ok ? reparsed.value : parsed.value, object);
  return {
    issues: [
      ...read.issues,
      ...plan.problems.map((p) => errorIssue(p, read.locate)),
      ...(plan.warnings ?? []).map((w) => warningIssue(w, read.locate)),
    ],
    raw: { ...read.raw, apiVersion: METAPROTOCOL_API_VERSION, kind: KIND },
    object,
    status: plan.status as MetaRouterStatus,
  };
}

/** A route configuration as an object, for the shared object diff. */
const asObject = (c: MetaRouteConfiguration): KubeObject => ({
  apiVersion: 'meta_protocol_proxy.config.route/v1alpha',
  kind: 'RouteConfiguration',
  metadata: { name: c.name },
  spec: { routes: c.routes },
});

/**
 * The route configurations the edit changes, and those served from the MetaRouter either way: each as the
 * route server would serve it after apply, against what it serves now.
 */
function routesPreview(snapshot: Snapshot, object: KubeObject) {
  const now = routeConfigurations(snapshot);
  const next = routeConfigurations(withObject(snapshot, object));
  const key = `${nsOf(object)}/${object.metadata.name}`;
  const nowByName = new Map(now.configs.map((c) => [c.name, c]));
  const nextByName = new Map(next.configs.map((c) => [c.name, c]));
  const names = new Set(
    [...new Set([...nowByName.keys(), ...nextByName.keys()])].filter(
      (n) =>
        now.source.get(n) === key ||
        next.source.get(n) === key ||
        toYaml(nowByName.get(n) ?? null) !== toYaml(nextByName.get(n) ?? null),
    ),
  );
  const pick = (configs: readonly MetaRouteConfiguration[]) =>
    configs.filter((c) => names.has(c.name)).map(asObject);
  return objectsDiff(pick(now.configs), pick(next.configs)).map((d) => ({
    ...d,
    from: next.source.get(d.name) ?? null,
    yaml: nextByName.has(d.name) ? toYaml(nextByName.get(d.name)) : null,
  }));
}

const hostInput = z.strictObject({ host: z.string().min(1).max(253).optional() }).default({});

export const metaRouterRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, (deps) => {
        if (input.namespace !== undefined) requireRole(ctx.user, 'viewer', input.namespace);
        return serviceOf(deps)
          .list(input.namespace)
          .filter((o) => canSee(ctx.user, nsOf(o)))
          .map((o) => {
            const last = deps.audit.list({
              kind: KIND,
              namespace: nsOf(o),
              name: o.metadata.name,
              limit: 1,
            })[0];
            return {
              ...summary(o),
              lastChange: last ? { at: last.at, user: last.user, action: last.action } : null,
            };
          })
          .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
      }),
    ),

  get: viewerProcedure.input(ref).query(async ({ ctx, input }) => {
    requireRole(ctx.user, 'viewer', input.namespace);
    const o = await ctx.deps.store.get(KIND, input.namespace, input.name);
    if (!o)
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `MetaRouter ${input.namespace}/${input.name} not found`,
      });
    const served = serviceOf(ctx.deps).routes();
    const key = `${input.namespace}/${input.name}`;
    return {
      ...summary(o),
      object: o,
      yaml: toYaml(part(o)),
      served: served.configs.filter((c) => served.source.get(c.name) === key),
    };
  }),

  validate: viewerProcedure.input(objectInputSchema).mutation(async ({ ctx, input }) => {
    const r = await evaluate(ctx.deps, ctx.user, input);
    return {
      ok: r.object !== null && !hasErrors(r.issues),
      issues: r.issues,
      status: r.status ? conditionsOf(r.status) : null,
    };
  }),

  preview: viewerProcedure.input(objectInputSchema).mutation(async ({ ctx, input }) => {
    const r = await evaluate(ctx.deps, ctx.user, input);
    if (r.object === null) return { ok: false, issues: r.issues, specDiff: [], routes: [], status: null };
    const current = await ctx.deps.store.get(KIND, nsOf(r.object), r.object.metadata.name);
    const ok = !hasErrors(r.issues);
    return {
      ok,
      issues: r.issues,
      specDiff: diffLines(current ? toYaml(part(current)) : '', r.raw ? toYaml(part(r.raw)) : ''),
      // With errors apply is refused, so nothing would be served from it.
      routes: ok ? routesPreview(serviceOf(ctx.deps).snapshot, r.object) : [],
      status: r.status ? conditionsOf(r.status) : null,
    };
  }),

  applyMetaRouter: mutationProcedure('editor')
    .input(objectInputSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await evaluate(ctx.deps, ctx.user, input);
      if (r.object === null || r.raw === null || hasErrors(r.issues)) throw invalid(r.issues);
      const namespace = nsOf(r.object);
      requireRole(ctx.user, 'editor', namespace);
      const { object, auditId } = await writeAudited(ctx.deps, {
        apiVersion: METAPROTOCOL_API_VERSION,
        kind: KIND,
        user: ctx.user.name,
        object: { ...r.raw, metadata: { ...(r.raw.metadata as object), namespace } },
        action: 'apply',
        reasons: APPLY_REASONS,
      });
      return {
        namespace,
        name: object.metadata.name,
        resourceVersion: object.metadata.resourceVersion ?? null,
        auditId,
      };
    }),

  history: viewerProcedure.input(ref).query(({ ctx, input }) => {
    requireRole(ctx.user, 'viewer', input.namespace);
    return versionsOf(ctx.deps.audit, { kind: KIND, ...input });
  }),

  rollback: mutationProcedure('editor')
    .input(ref.extend({ toId: z.number().int().positive() }))
    .mutation(async ({ ctx, input }) => {
      requireRole(ctx.user, 'editor', input.namespace);
      const target = rollbackTarget(ctx.deps.audit, { kind: KIND, ...input });
      const { object, auditId } = await writeAudited(ctx.deps, {
        apiVersion: METAPROTOCOL_API_VERSION,
        kind: KIND,
        user: ctx.user.name,
        object: target.object,
        action: 'rollback',
        restoredFrom: target.id,
        reasons: APPLY_REASONS,
      });
      return { resourceVersion: object.metadata.resourceVersion ?? null, auditId };
    }),

  services: viewerProcedure
    .input(z.strictObject({ namespace: dns.optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, (deps) => {
        if (input.namespace !== undefined) requireRole(ctx.user, 'viewer', input.namespace);
        const service = serviceOf(deps);
        const snapshot = service.snapshot;
        const byHost = routersByHost(snapshot);
        const codecOf = codecs(snapshot);
        const served = service.routes();
        return metaServices(snapshot)
          .filter(
            (s) =>
              (input.namespace === undefined || s.namespace === input.namespace) &&
              canSee(ctx.user, s.namespace),
          )
          .map((s) => {
            const governing = routerFor(s, byHost);
            const conditions = conditionsOf(governing?.status);
            const routeConfigs = s.ports.map((p) => routeConfigName(s.host, p.number));
            return {
              kind: s.kind,
              namespace: s.namespace,
              name: s.name,
              host: s.host,
              protocols: [...new Set(s.ports.map((p) => p.protocol))],
              ports: s.ports.map((p) => ({ ...p, codec: codecOf.get(p.protocol) ?? null })),
              metaRouter: governing
                ? {
                    namespace: governing.metadata.namespace,
                    name: governing.metadata.name,
                    ready: conditionStatus(conditions, 'Ready'),
                    message: conditions.find((c) => c.type === 'Ready')?.message ?? null,
                  }
                : null,
              // Others naming the same host, which Aeraki would pick between at random.
              otherMetaRouters: (byHost.get(s.host) ?? []).slice(1).map(routerKey),
              routeConfigurations: routeConfigs.map((name) => ({
                name,
                from: served.source.get(name) ?? null,
              })),
            };
          });
      }),
    ),

  subscriptions: viewerProcedure
    .input(z.strictObject({ routeConfig: z.string().min(1).max(300).optional() }).default({}))
    .query(({ ctx, input }) =>
      acrossClusters(ctx, (deps) => {
        const service = serviceOf(deps);
        const { byRouteConfig } = owners(service.services());
        return (
          service
            .subscriptions()
            .filter((r) => input.routeConfig === undefined || r.routeConfig === input.routeConfig)
            .filter((r) => visible(ctx.user, byRouteConfig.get(r.routeConfig)))
            // `cluster` names the row's Governor cluster: the proxy's own (Envoy's) cluster is `envoyCluster`.
            .map(({ cluster: envoyCluster, ...r }) => ({ ...r, envoyCluster: envoyCluster ?? null }))
        );
      }),
    ),

  methods: viewerProcedure.input(hostInput).query(({ ctx, input }) => {
    const service = serviceOf(ctx.deps);
    const { byHost } = owners(service.services());
    return service.methodTraffic(input.host).filter((r) => visible(ctx.user, byHost.get(r.host)));
  }),
});
