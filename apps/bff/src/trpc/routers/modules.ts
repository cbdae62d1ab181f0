/**
 * Which modules run, with which settings from where (a SlimeBoot in the cluster, the GOVERNOR_MODULES file,
 * the defaults), their configuration issues, what they need that the product has or lacks, and the
 * SlimeBoot changes a restart would apply. One configuration serves every cluster of the BFF; `running`
 * is the cluster's own (its Governor created the enabled modules).
 */
import { TRPCError } from '@trpc/server';
import { stringify } from 'yaml';
import { z } from 'zod';
import type { ApiDeps } from '../../api/deps';
import { MAX_OBJECT_BYTES, errorIssue, invalid, readObjectInput, userPart } from '../../api/edits';
import { mutationProcedure, router, viewerProcedure, type Context } from '../../api/trpc';
import { allows, type User } from '../../auth/auth';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  StoreError,
  type KubeObject,
} from '../../cluster/store';
import { SLIMEBOOT_API_VERSION } from '../../framework/module-config';
import {
  moduleNeeds,
  redacted,
  sourceLabel,
  type ModuleNeed,
  type ModuleSource,
  type PendingModule,
  type PendingSlimeBoot,
  type SlimeBootStatus,
  type SettingChange,
  type SourcedIssue,
} from '../../framework/module-config-sources';
import type { InputIssue } from '../../lib/input-issues';
import { redactCredentials } from '../../redact';
import { productOf, type ModulesInfo } from '../create-api';

export interface ModuleRow {
  readonly name: string;
  /** The configuration turns it on. */
  readonly enabled: boolean;
  /** It runs in this cluster. */
  readonly running: boolean;
  readonly source: ModuleSource;
  /** `SlimeBoot mesh-operator/limiter`, `file /path`, `defaults`. */
  readonly sourceLabel: string;
  /** The settings in effect (defaults filled in), URLs' credentials masked. */
  readonly settings: { general: unknown; global: unknown; metric: unknown };
  /** Its `spec.module[]` entry as written, as YAML; null when no input has one. */
  readonly entryYaml: string | null;
  readonly issues: readonly SourcedIssue[];
  readonly needs: readonly ModuleNeed[];
  /** What a restart would change, when its configuration changed since start. */
  readonly pending: {
    readonly slimeBoots: readonly string[];
    readonly at: string;
    readonly configuredSource: string;
    readonly changes: readonly SettingChange[];
  } | null;
}

export interface ModulesList {
  readonly cluster: string;
  /** The cluster whose SlimeBoots are read; every cluster runs the same configuration. */
  readonly readFrom: string;
  readonly slimeBoot: SlimeBootStatus;
  readonly file: string | null;
  readonly watching: boolean;
  readonly watchError: string | null;
  readonly modules: readonly ModuleRow[];
  /** Each input's issues that are not one module's. */
  readonly sources: readonly { label: string; modules: readonly string[]; issues: readonly SourcedIssue[] }[];
  readonly restartPending: readonly PendingSlimeBoot[];
}

/** One SlimeBoot of the SlimeBoot namespace as an admin edits it. */
export interface SlimeBootText {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string | null;
  /** The object as written (its resourceVersion in, so that an apply of it meets a later change). */
  readonly yaml: string;
}

/** A SlimeBoot checked, and written unless a dry run. */
export interface SlimeBootApplied {
  readonly namespace: string;
  readonly name: string;
  readonly dryRun: boolean;
  /** The parser's warnings and notes (errors are a BAD_REQUEST), each with its field path and line. */
  readonly issues: readonly (Omit<InputIssue, 'severity'> & { severity: 'warning' | 'note' })[];
  /** What a restart would change in the running modules with it. */
  readonly changes: readonly PendingModule[];
  readonly created: boolean;
  readonly resourceVersion: string | null;
  readonly auditId: number | null;
}

const SLIMEBOOT = 'SlimeBoot';

/** The SlimeBoot namespace and the home cluster's API, or why SlimeBoots cannot be edited here. */
function editable(ctx: Context & { user: User }): { info: ModulesInfo; namespace: string; home: ApiDeps } {
  // Module configuration applies to every namespace: an admin of some namespaces only may not change it.
  if (ctx.user.namespaces !== '*')
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `${ctx.user.name} is an admin of some namespaces only: SlimeBoots configure every namespace's modules`,
    });
  const info = productOf(ctx.deps).modules;
  const namespace = info?.report().slimeBoot.namespace ?? null;
  if (!info?.preview || namespace === null)
    throw new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: 'SlimeBoots are not read by this BFF (GOVERNOR_SLIMEBOOT_NAMESPACE=-): nothing to edit',
    });
  // The SlimeBoots configuring the modules are the home cluster's: another cluster's would configure nothing.
  if (ctx.clusterChosen && ctx.deps.cluster !== info.readFrom)
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `cluster: SlimeBoots are read from the home cluster ${info.readFrom} only, not ${ctx.deps.cluster}`,
    });
  const home = ctx.deps.fleet.get(info.readFrom);
  if (!home)
    throw new TRPCError({ code: 'NOT_FOUND', message: `the home cluster ${info.readFrom} is not known` });
  return { info, namespace, home };
}

function storeFailure(e: unknown, what: string): TRPCError {
  if (e instanceof TRPCError) return e;
  if (e instanceof ConflictError || e instanceof AlreadyExistsError)
    return new TRPCError({
      code: 'CONFLICT',
      message: `${what} was changed since it was read: load it again and redo the edit (${e.message})`,
    });
  if (e instanceof NotFoundError || (e instanceof StoreError && e.status === 404))
    return new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: `cannot write ${what}: no SlimeBoot CRD (slimeboots.config.netease.com) in the cluster (${e.message})`,
    });
  return new TRPCError({
    code: 'INTERNAL_SERVER_ERROR',
    message: `cannot write ${what}: ${e instanceof Error ? e.message : String(e)}`,
  });
}

const textOf = (o: KubeObject): string =>
  stringify({
    apiVersion: SLIMEBOOT_API_VERSION,
    kind: SLIMEBOOT,
    metadata: {
      ...(userPart(SLIMEBOOT_API_VERSION, SLIMEBOOT, o).metadata as object),
      ...(o.metadata.resourceVersion !== undefined ? { resourceVersion: o.metadata.resourceVersion } : {}),
    },
    spec: o.spec ?? {},
  });

export const modulesRouter = router({
  /** The SlimeBoot namespace's SlimeBoots as YAML, for admins to edit (unredacted: an edit keeps them). */
  slimeBoots: viewerProcedure.query(async ({ ctx }): Promise<SlimeBootText[]> => {
    if (!allows(ctx.user, 'admin'))
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `${ctx.user.name} is a ${ctx.user.role}: admin needed`,
      });
    const { namespace, home } = editable(ctx);
    try {
      const { items } = await home.store.list(SLIMEBOOT, namespace);
      return items
        .map((o) => ({
          namespace,
          name: o.metadata.name,
          resourceVersion: o.metadata.resourceVersion ?? null,
          yaml: textOf(o),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    } catch (e) {
      if (e instanceof NotFoundError || (e instanceof StoreError && e.status === 404)) return [];
      throw storeFailure(e, `the SlimeBoots of ${namespace}`);
    }
  }),

  /**
   * Checks a SlimeBoot of the SlimeBoot namespace with the module-configuration parser and, unless a dry
   * run, creates or updates it in the home cluster, audited. It applies at the next BFF restart: until then
   * the list reports the change as pending. A resourceVersion in its metadata must be the stored one.
   */
  applySlimeBoot: mutationProcedure('admin')
    .input(
      z.strictObject({
        yaml: z.string().max(MAX_OBJECT_BYTES, `at most ${MAX_OBJECT_BYTES} bytes`),
        dryRun: z.boolean().optional(),
      }),
    )
    .mutation(async ({ ctx, input }): Promise<SlimeBootApplied> => {
      const { info, namespace, home } = editable(ctx);
      const read = readObjectInput({ yaml: input.yaml }, [SLIMEBOOT]);
      const { raw, locate } = read;
      const issues = [...read.issues];
      if (raw === null || issues.length > 0) throw invalid(issues);
      if (raw.apiVersion !== SLIMEBOOT_API_VERSION)
        issues.push(
          errorIssue(
            {
              path: 'apiVersion',
              message: `expected ${SLIMEBOOT_API_VERSION}, got ${JSON.stringify(raw.apiVersion ?? null)}`,
            },
            locate,
          ),
        );
      const metadata = raw.metadata;
      const meta = (
        typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? metadata : {}
      ) as Record<string, unknown>;
      const name = meta.name;
      if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name))
        issues.push(
          errorIssue(
            {
              path: 'metadata.name',
              message: 'a lower-case DNS name is required (letters, digits, - and .)',
            },
            locate,
          ),
        );
      if (meta.namespace !== undefined && meta.namespace !== namespace)
        issues.push(
          errorIssue(
            {
              path: 'metadata.namespace',
              message: `SlimeBoots are read from namespace ${namespace} (GOVERNOR_SLIMEBOOT_NAMESPACE) only, got ${JSON.stringify(meta.namespace)}`,
            },
            locate,
          ),
        );
      const rv = meta.resourceVersion;
      if (rv !== undefined && typeof rv !== 'string')
        issues.push(
          errorIssue({ path: 'metadata.resourceVersion', message: 'a string is expected' }, locate),
        );
      if (issues.length > 0) throw invalid(issues);
      const object = {
        ...raw,
        metadata: { ...meta, name: name as string, namespace },
      } as unknown as KubeObject;
      const preview = info.preview!(object);
      const located =
        <S extends 'error' | 'warning' | 'note'>(severity: S) =>
        (i: { path: string; message: string }) => ({
          path: i.path,
          message: i.message,
          ...locate(i.path),
          severity,
        });
      if (preview.config.errors.length > 0)
        throw invalid(preview.config.errors.map(located('error')) as InputIssue[]);
      const answer = {
        namespace,
        name: name as string,
        issues: [
          ...preview.config.warnings.map(located('warning')),
          ...preview.config.notes.map(located('note')),
        ],
        changes: preview.modules,
      };
      const what = `SlimeBoot ${namespace}/${name as string}`;
      try {
        const current = await home.store.get(SLIMEBOOT, namespace, name as string);
        if (rv !== undefined && current === null)
          throw new TRPCError({
            code: 'CONFLICT',
            message: `${what} names resourceVersion ${rv as string} but no longer exists: remove the resourceVersion to create it again`,
          });
        if (rv !== undefined && current !== null && current.metadata.resourceVersion !== rv)
          throw new TRPCError({
            code: 'CONFLICT',
            message: `${what} was changed since it was read (resourceVersion ${rv as string}, now ${current.metadata.resourceVersion ?? 'none'}): load it again and redo the edit`,
          });
        if (input.dryRun)
          return {
            ...answer,
            dryRun: true,
            created: current === null,
            resourceVersion: current?.metadata.resourceVersion ?? null,
            auditId: null,
          };
        const wanted = userPart(SLIMEBOOT_API_VERSION, SLIMEBOOT, object);
        const wantedMeta = wanted.metadata as KubeObject['metadata'];
        const stored = current
          ? await home.store.update({
              ...current,
              metadata: {
                ...current.metadata,
                labels: wantedMeta.labels ?? {},
                annotations: wantedMeta.annotations ?? {},
                // The stored one when the text names none: the write then fails if it changed meanwhile.
                resourceVersion: (rv as string | undefined) ?? current.metadata.resourceVersion,
              },
              spec: wanted.spec,
            } as KubeObject)
          : await home.store.create(wanted as unknown as KubeObject);
        const record = await home.audit.record({
          user: ctx.user.name,
          action: 'apply',
          kind: SLIMEBOOT,
          namespace,
          name: name as string,
          before: current ? userPart(SLIMEBOOT_API_VERSION, SLIMEBOOT, current) : null,
          after: userPart(SLIMEBOOT_API_VERSION, SLIMEBOOT, stored),
        });
        home.events.publish({
          cluster: home.cluster,
          at: record.at,
          type: 'Normal',
          reason: 'SlimeBootApplied',
          namespace,
          policy: null,
          message: `${ctx.user.name} applied ${what}; it applies at the next BFF restart`,
        });
        return {
          ...answer,
          dryRun: false,
          created: current === null,
          resourceVersion: stored.metadata.resourceVersion ?? null,
          auditId: record.id,
        };
      } catch (e) {
        throw storeFailure(e, what);
      }
    }),

  list: viewerProcedure.query(({ ctx }): ModulesList | null => {
    const product = productOf(ctx.deps);
    const info = product.modules;
    if (!info) return null;
    const report = info.report();
    const modules = Object.values(report.running.modules).map((m): ModuleRow => {
      const pendingFor = report.restartPending.filter((p) => p.modules.some((x) => x.module === m.name));
      const pendingModule = pendingFor[0]?.modules.find((x) => x.module === m.name);
      const { settings } = m;
      return {
        name: m.name,
        enabled: settings.enable,
        running: product.governor.modules.has(m.name),
        source: m.source,
        sourceLabel: sourceLabel(m.source),
        settings: redacted({
          general: settings.general,
          global: settings.global,
          metric: settings.metric,
        }),
        entryYaml: m.entry ? stringify(redacted(m.entry)) : null,
        issues: redacted(m.issues),
        needs: moduleNeeds(m.name, settings, info.facts),
        pending: pendingModule
          ? {
              slimeBoots: pendingFor.map((p) => p.slimeBoot),
              at: pendingFor.map((p) => p.at).sort()[pendingFor.length - 1]!,
              configuredSource: pendingModule.configuredSource,
              changes: pendingModule.changes,
            }
          : null,
      };
    });
    return {
      cluster: ctx.deps.cluster,
      readFrom: info.readFrom,
      slimeBoot: report.slimeBoot,
      file: report.file,
      watching: report.watching,
      watchError: report.watchError !== undefined ? redactCredentials(report.watchError) : null,
      modules,
      sources: report.running.sources.map((s) => ({
        label: s.label,
        modules: s.modules,
        issues: redacted(s.issues),
      })),
      restartPending: report.restartPending,
    };
  }),
});
