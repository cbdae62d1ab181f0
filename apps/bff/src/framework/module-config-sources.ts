/**
 * Module configuration from more than one place: the SlimeBoot objects of a namespace of the cluster (as a
 * Slime installation has them, usually one per module) and the `GOVERNOR_MODULES` file. A module that a
 * SlimeBoot in the cluster configures takes that SlimeBoot's settings; any other the file's, or the
 * defaults when there is no file. Each module keeps where its settings came from.
 *
 * Also here: what each module needs outside its settings (a metric source, a service Governor serves) and
 * whether the product has it, and the difference between two sets of settings (what a restart would
 * change). All of it is pure.
 */
import { redactCredentials } from '../redact';
import { loadModuleConfig, type ModuleConfig, type ModuleConfigIssue } from './module-config';
import { type ModuleDeclaration, type ModuleSettings } from './module-settings';

/** Where a module's settings came from. */
export type ModuleSource =
  | { readonly type: 'slimeboot'; readonly namespace: string; readonly name: string; readonly at: string }
  | { readonly type: 'file'; readonly path: string; readonly at?: string }
  | { readonly type: 'defaults' }
  /** Settings the program starting Governor passed itself (tests, embedding). */
  | { readonly type: 'given' };

/** `SlimeBoot mesh-operator/limiter`, `file /etc/governor/modules.yaml`, `defaults`. */
export function sourceLabel(source: ModuleSource): string {
  switch (source.type) {
    case 'slimeboot':
      return `SlimeBoot ${source.namespace}/${source.name}`;
    case 'file':
      return `file ${source.path}`;
    case 'defaults':
      return 'defaults';
    case 'given':
      return "the BFF's options";
  }
}

export type IssueSeverity = 'error' | 'warning' | 'note';

export interface SourcedIssue extends ModuleConfigIssue {
  readonly severity: IssueSeverity;
}

export interface ResolvedModule {
  readonly name: string;
  readonly settings: ModuleSettings;
  readonly source: ModuleSource;
  /** The `spec.module[]` entry as written, when a SlimeBoot or the file has one. */
  readonly entry?: Readonly<Record<string, unknown>>;
  /** The issues of its entry. */
  readonly issues: readonly SourcedIssue[];
}

/** One input: a SlimeBoot of the cluster, or the file. */
export interface ResolvedSource {
  /** `SlimeBoot ns/name` or `file <path>`. */
  readonly label: string;
  /** The modules whose settings it gives. */
  readonly modules: readonly string[];
  /** Its issues not of one module's entry (unknown fields, Slime's deployment fields). */
  readonly issues: readonly SourcedIssue[];
  /** The object's resourceVersion (SlimeBoots). */
  readonly resourceVersion?: string;
}

export interface ResolvedModules {
  readonly modules: Readonly<Record<string, ResolvedModule>>;
  readonly sources: readonly ResolvedSource[];
}

/** A SlimeBoot as read from the cluster. */
export interface SlimeBootObject {
  readonly metadata: {
    readonly namespace?: string;
    readonly name: string;
    readonly resourceVersion?: string;
  };
  readonly [key: string]: unknown;
}

export interface ResolveInput {
  readonly modules: readonly ModuleDeclaration[];
  /** The file's configuration (already loaded), with its path; none: no file. */
  readonly file?: { readonly path: string; readonly config: ModuleConfig };
  readonly slimeBoots?: readonly SlimeBootObject[];
}

const keyOf = (o: SlimeBootObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function withSeverity(config: ModuleConfig, source?: string): SourcedIssue[] {
  const tag = (severity: IssueSeverity) => (i: ModuleConfigIssue) => ({
    ...i,
    ...(source !== undefined ? { source } : {}),
    severity,
  });
  return [
    ...config.errors.map(tag('error')),
    ...config.warnings.map(tag('warning')),
    ...config.notes.map(tag('note')),
  ];
}

/** Whether `issue` is about the entry at `at` (same document). */
const under = (issue: ModuleConfigIssue, at: string, document: number | undefined) =>
  issue.document === document && (issue.path === at || issue.path.startsWith(`${at}.`));

/** The issues of one input split: each configured module's, and the rest. */
function splitIssues(config: ModuleConfig, issues: readonly SourcedIssue[]) {
  const byModule = new Map<string, SourcedIssue[]>();
  const rest: SourcedIssue[] = [];
  for (const issue of issues) {
    const owner = Object.entries(config.configured).find(([, c]) => under(issue, c.at, c.document));
    if (owner) byModule.set(owner[0], [...(byModule.get(owner[0]) ?? []), issue]);
    else rest.push(issue);
  }
  return { byModule, rest };
}

/**
 * Every declared module's settings and source. SlimeBoots are taken in namespace/name order; when two
 * configure the same module, the first wins and the other has a warning. A SlimeBoot's unusable value is an
 * error in its issues and the setting keeps its default: a cluster object does not stop Governor.
 */
export function resolveModules(input: ResolveInput): ResolvedModules {
  const { modules: decls } = input;
  const fileConfig = input.file?.config ?? loadModuleConfig(undefined, decls);
  const modules: Record<string, ResolvedModule> = {};
  const sources: ResolvedSource[] = [];
  const boots = [...(input.slimeBoots ?? [])].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  for (const boot of boots) {
    const label = `SlimeBoot ${keyOf(boot)}`;
    const config = loadModuleConfig(boot, decls, { partial: true });
    const { byModule, rest } = splitIssues(config, withSeverity(config, label));
    const taken: string[] = [];
    for (const [name, c] of Object.entries(config.configured)) {
      const earlier = modules[name];
      if (earlier !== undefined) {
        rest.push({
          path: c.at,
          source: label,
          severity: 'warning',
          message: `module ${name} is configured by ${sourceLabel(earlier.source)} too, which wins (the first by namespace/name); this entry is not used`,
        });
        continue;
      }
      taken.push(name);
      modules[name] = {
        name,
        settings: config.modules[name]!,
        source: {
          type: 'slimeboot',
          namespace: boot.metadata.namespace ?? '',
          name: boot.metadata.name,
          at: c.at,
        },
        entry: c.entry,
        issues: byModule.get(name) ?? [],
      };
    }
    sources.push({
      label,
      modules: taken,
      issues: rest,
      ...(boot.metadata.resourceVersion !== undefined
        ? { resourceVersion: boot.metadata.resourceVersion }
        : {}),
    });
  }

  const file = input.file;
  const fileIssues = file ? withSeverity(fileConfig) : [];
  const { byModule, rest } = splitIssues(fileConfig, fileIssues);
  const fromFile: string[] = [];
  for (const decl of decls) {
    const configured = fileConfig.configured[decl.name];
    const overridden = modules[decl.name];
    if (overridden !== undefined) {
      if (file && configured)
        rest.push({
          path: configured.at,
          ...(configured.document !== undefined ? { document: configured.document } : {}),
          severity: 'note',
          message: `module ${decl.name} is configured by ${sourceLabel(overridden.source)} in the cluster, which wins; this entry is not used`,
        });
      continue;
    }
    fromFile.push(decl.name);
    modules[decl.name] = {
      name: decl.name,
      settings: fileConfig.modules[decl.name]!,
      source: file
        ? { type: 'file', path: file.path, ...(configured ? { at: configured.at } : {}) }
        : { type: 'defaults' },
      ...(configured ? { entry: configured.entry } : {}),
      issues: byModule.get(decl.name) ?? [],
    };
  }
  if (file) sources.push({ label: `file ${file.path}`, modules: fromFile, issues: rest });
  // In the declarations' order, whichever input gave them.
  return { modules: Object.fromEntries(decls.map((d) => [d.name, modules[d.name]!])), sources };
}

/** Settings passed in code, as resolved modules. */
export function givenModules(
  modules: readonly ModuleDeclaration[],
  settings?: Readonly<Record<string, ModuleSettings>>,
): ResolvedModules {
  const defaults = loadModuleConfig(undefined, modules).modules;
  return {
    modules: Object.fromEntries(
      modules.map((d) => {
        const given = settings?.[d.name];
        return [
          d.name,
          {
            name: d.name,
            settings: given ?? defaults[d.name]!,
            source: given ? { type: 'given' as const } : { type: 'defaults' as const },
            issues: [],
          },
        ];
      }),
    ),
    sources: [],
  };
}

/** The settings of every module, for Governor. */
export function settingsOf(resolved: ResolvedModules): Record<string, ModuleSettings> {
  return Object.fromEntries(Object.entries(resolved.modules).map(([k, m]) => [k, m.settings]));
}

/** What the running product has that modules may need (the composition root's view of itself). */
export interface ProductFacts {
  /** The simulated mesh runs (the embedded default): it makes the calls and the metrics. */
  readonly simulatedMesh: boolean;
  /** Governor's Prometheus (`PROMETHEUS_URL`, else the limiter's `metric.prometheus.address`). */
  readonly prometheusUrl?: string;
  /** The rate-limit service (`GOVERNOR_RLS_PORT` not off), and whether it counts in Redis (`REDIS_URL`). */
  readonly rls: { readonly redis: boolean } | null;
  /** The access-log service listens (lazyload with `metricSourceType: accesslog`, `GOVERNOR_ACCESSLOG_PORT`). */
  readonly accessLog: boolean;
  /** The MetaProtocol route server listens (`GOVERNOR_XDS_PORT`). */
  readonly xds: boolean;
}

/** Something a module needs outside its own settings. */
export interface ModuleNeed {
  readonly id: string;
  /** What it is and what it is for. */
  readonly what: string;
  readonly met: boolean;
  /** What meets it, when met. */
  readonly by?: string;
  /** What to set, when missing; how it is used, when met. */
  readonly hint: string;
  /** Only some uses need it (the `what` says which); the module runs without it. */
  readonly optional?: boolean;
}

/**
 * What a running module needs and whether the product has it, from what the code depends on: lazyload
 * learns calls from Prometheus or the access-log service, the limiter's metric quotas read a metric source
 * and its global limits the rate-limit service (shared through Redis by several replicas), metarouter
 * serves routes from the xDS server. The plugin module only writes EnvoyFilters: it needs nothing more.
 */
export function moduleNeeds(name: string, settings: ModuleSettings, facts: ProductFacts): ModuleNeed[] {
  if (!settings.enable) return [];
  const prometheus = (url: string) => `Prometheus at ${redactCredentials(url)}`;
  switch (name) {
    case 'lazyload': {
      const type = (settings.general.metricSourceType as string | undefined) ?? 'prometheus';
      if (type === 'accesslog') {
        const by = facts.accessLog
          ? "Governor's access-log service"
          : facts.simulatedMesh
            ? 'the simulated mesh'
            : undefined;
        return [
          {
            id: 'calls',
            what: 'A source of the calls between services (metricSourceType: accesslog), to widen each fence',
            met: by !== undefined,
            ...(by !== undefined ? { by } : {}),
            hint: facts.accessLog
              ? "The sidecars must send their access log (Envoy ALS) to Governor's access-log service port (GOVERNOR_ACCESSLOG_PORT, default 8082)."
              : 'GOVERNOR_ACCESSLOG_PORT is off: unset it (default 8082) so that sidecars can report their calls, or use metricSourceType: prometheus with a Prometheus URL.',
          },
        ];
      }
      const url = settings.metric.prometheusUrl ?? facts.prometheusUrl;
      const by = url !== undefined ? prometheus(url) : facts.simulatedMesh ? 'the simulated mesh' : undefined;
      return [
        {
          id: 'calls',
          what: 'A source of the calls between services (metricSourceType: prometheus), to widen each fence',
          met: by !== undefined,
          ...(by !== undefined ? { by } : {}),
          hint:
            url !== undefined
              ? "Lazyload queries istio_requests_total (its metric.prometheus.handlers.destination, else Slime's query)."
              : by !== undefined
                ? 'The simulated mesh reports every call; against a cluster, lazyload needs metric.prometheus.address in its SlimeBoot entry or PROMETHEUS_URL.'
                : "Set metric.prometheus.address in lazyload's SlimeBoot entry, or PROMETHEUS_URL; or set general.metricSourceType: accesslog and have the sidecars send their access log to Governor.",
        },
      ];
    }
    case 'limiter': {
      const url = facts.prometheusUrl;
      const metricsBy =
        url !== undefined ? prometheus(url) : facts.simulatedMesh ? 'the simulated mesh' : undefined;
      return [
        {
          id: 'metrics',
          what: 'A metric source, for adaptive quotas written as expressions of metrics ({{.v.cpu.sum}})',
          met: metricsBy !== undefined,
          ...(metricsBy !== undefined ? { by: metricsBy } : {}),
          optional: true,
          hint:
            metricsBy !== undefined
              ? 'Fixed quotas need no metrics; values pushed to POST /api/metrics/push win over the source.'
              : "Set PROMETHEUS_URL (or metric.prometheus.address in the limiter's SlimeBoot entry), or push values to POST /api/metrics/push; without them such a quota keeps its last value (GOVERNOR_METRICS_UNAVAILABLE).",
        },
        {
          id: 'rls',
          what: "Governor's rate-limit service, for global limits (descriptors with target.global)",
          met: facts.rls !== null,
          ...(facts.rls !== null ? { by: "Governor's rate-limit service (Envoy RLS gRPC)" } : {}),
          optional: true,
          hint:
            facts.rls !== null
              ? 'Envoy calls it at general.rls.service:port, else the governor-rls Service on GOVERNOR_RLS_PORT (default 8081).'
              : 'GOVERNOR_RLS_PORT is off: unset it (default 8081) for global limits to be counted.',
        },
        {
          id: 'redis',
          what: 'Redis, for global limits counted across several BFF replicas',
          met: facts.rls?.redis === true,
          ...(facts.rls?.redis === true ? { by: 'REDIS_URL' } : {}),
          optional: true,
          hint:
            facts.rls?.redis === true
              ? 'Every replica counts in the same Redis.'
              : 'Set REDIS_URL=redis://host:6379 when more than one BFF replica runs; one replica counts in its own memory.',
        },
      ];
    }
    case 'metarouter':
      return [
        {
          id: 'xds',
          what: "Governor's MetaProtocol route server (xDS RDS), which serves MetaRouters' routes to Aeraki's proxies",
          met: facts.xds,
          ...(facts.xds ? { by: 'the route server (GOVERNOR_XDS_PORT, default 18010)' } : {}),
          hint: facts.xds
            ? `The proxies' bootstrap cluster ${String(settings.general.xdsCluster ?? 'aeraki-xds')} (general.xdsCluster) must reach this port.`
            : 'GOVERNOR_XDS_PORT is off: unset it (default 18010) so that MetaProtocol proxies get their routes.',
        },
      ];
    default:
      return [];
  }
}

/** What reading the SlimeBoots found. */
export interface SlimeBootStatus {
  /** The namespace read; null when `GOVERNOR_SLIMEBOOT_NAMESPACE=-`. */
  readonly namespace: string | null;
  /** `read`: listed (maybe none); `no-crd`: the API has no SlimeBoot kind; `failed`: another error; `off`. */
  readonly state: 'read' | 'no-crd' | 'failed' | 'off';
  /** One line for people: how many were read, or why none. */
  readonly message: string;
  /** `ns/name` of each SlimeBoot read at start. */
  readonly objects: readonly string[];
}

/** A module whose configuration in the cluster differs from what runs. */
export interface PendingModule {
  readonly module: string;
  /** Where its running settings came from, and where they would come from after a restart. */
  readonly runningSource: string;
  readonly configuredSource: string;
  readonly changes: readonly SettingChange[];
}

/** A SlimeBoot changed (added, modified or deleted) since start. */
export interface PendingSlimeBoot {
  /** `ns/name` */
  readonly slimeBoot: string;
  readonly change: 'added' | 'changed' | 'deleted';
  /** When this process saw it (ISO). */
  readonly at: string;
  /** `SlimeBoot ns/name changed at <time>; restart the BFF to apply` (or: nothing Governor uses changed). */
  readonly message: string;
  /** The modules whose settings would change on a restart. */
  readonly modules: readonly PendingModule[];
}

export interface ModuleConfigReport {
  /** The settings the modules run with, and their sources. */
  readonly running: ResolvedModules;
  readonly slimeBoot: SlimeBootStatus;
  /** `GOVERNOR_MODULES`, if set. */
  readonly file: string | null;
  /** Changes seen since start that a restart would apply. */
  readonly restartPending: readonly PendingSlimeBoot[];
  /** Whether the watch of SlimeBoots runs (false before start, when off, or after stop). */
  readonly watching: boolean;
  /** The watch's last error (its list or watch failing, e.g. forbidden), while it has one. */
  readonly watchError?: string;
}

/** A setting that differs: its path in the module's settings, and the two values. */
export interface SettingChange {
  readonly path: string;
  /** What runs; undefined: unset. */
  readonly running?: unknown;
  /** What the configuration says now; undefined: unset. */
  readonly configured?: unknown;
}

/** Leaf values by dotted path; lists are leaves. */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix !== '') out.set(prefix, {});
    for (const [k, v] of entries) leaves(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (value !== undefined) out.set(prefix, value);
}

/** The settings that differ between what runs and what is configured now, by path. */
export function settingsDiff(running: ModuleSettings, configured: ModuleSettings): SettingChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  leaves(running, '', a);
  leaves(configured, '', b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p)))
    .map((path) => ({
      path,
      ...(a.has(path) ? { running: redacted(a.get(path)) } : {}),
      ...(b.has(path) ? { configured: redacted(b.get(path)) } : {}),
    }));
}

/** A value with the credentials in its URLs masked (`http://user:***@host`). */
export function redacted<T>(value: T): T {
  if (typeof value === 'string') return redactCredentials(value) as T;
  if (Array.isArray(value)) return value.map((v) => redacted(v)) as T;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redacted(v)])) as T;
  return value;
}
