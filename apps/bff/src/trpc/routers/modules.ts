/**
 * Which modules run, with which settings from where (a SlimeBoot in the cluster, the GOVERNOR_MODULES file,
 * the defaults), their configuration issues, what they need that the product has or lacks, and the
 * SlimeBoot changes a restart would apply. One configuration serves every cluster of the BFF; `running`
 * is the cluster's own (its Governor created the enabled modules).
 */
import { stringify } from 'yaml';
import { router, viewerProcedure } from '../../api/trpc';
import {
  moduleNeeds,
  redacted,
  sourceLabel,
  type ModuleNeed,
  type ModuleSource,
  type PendingSlimeBoot,
  type SlimeBootStatus,
  type SettingChange,
  type SourcedIssue,
} from '../../framework/module-config-sources';
import { redactCredentials } from '../../redact';
import { productOf } from '../create-api';

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

export const modulesRouter = router({
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
