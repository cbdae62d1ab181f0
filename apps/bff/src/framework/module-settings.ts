/**
 * How modules declare their settings (`general`, and the shared `global` and `metric` of a SlimeBoot's
 * `spec.module[]` entry): a small schema of described settings, checked and defaulted by the parser in
 * module-config.ts, and the settings a module is created with.
 */
import type { NamedQuery } from '../sources/prometheus';
interface Described {
  /** One line: what the setting does. */
  readonly description: string;
}

/**
 * One setting: its type, its default (none: absent from the result unless set) and what it does. Values
 * are read as protojson reads Slime's: whole numbers may be quoted, a protobuf enum (`numbered`) may be
 * given by name or by number.
 */
export type SettingSpec =
  | (Described & { readonly type: 'boolean'; readonly default?: boolean })
  | (Described & { readonly type: 'string'; readonly default?: string })
  | (Described & {
      readonly type: 'integer';
      readonly default?: number;
      readonly min?: number;
      readonly max?: number;
    })
  | (Described & {
      readonly type: 'enum';
      readonly values: readonly string[];
      /** A protobuf enum: the value's index is accepted for its name. */
      readonly numbered?: boolean;
      readonly default?: string;
    })
  /** A protobuf Duration in JSON: seconds with an `s`, such as `1s` or `0.5s`. */
  | (Described & { readonly type: 'duration'; readonly default?: string })
  | (Described & {
      readonly type: 'list';
      readonly items: SettingSpec;
      readonly default?: readonly unknown[];
    })
  /** Known fields; another key is a warning. */
  | (Described & { readonly type: 'object'; readonly fields: SettingSpecs })
  /** Any keys, each value of one type. */
  | (Described & {
      readonly type: 'map';
      readonly values: SettingSpec;
      readonly default?: Readonly<Record<string, unknown>>;
    })
  /** Free-form (a protobuf Struct, a label selector): taken as it is. */
  | (Described & { readonly type: 'any' });

export type SettingSpecs = Readonly<Record<string, SettingSpec>>;

/** The value a setting of spec `S` has once read. */
export type SettingValue<S extends SettingSpec> = S extends { readonly type: 'boolean' }
  ? boolean
  : S extends { readonly type: 'integer' }
    ? number
    : S extends { readonly type: 'string' | 'duration' }
      ? string
      : S extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
        ? V
        : S extends { readonly type: 'list'; readonly items: infer I extends SettingSpec }
          ? SettingValue<I>[]
          : S extends { readonly type: 'object'; readonly fields: infer F extends SettingSpecs }
            ? SettingsOf<F>
            : S extends { readonly type: 'map'; readonly values: infer V extends SettingSpec }
              ? Record<string, SettingValue<V>>
              : unknown;

/** Settings read against `F` (e.g. `SettingsOf<typeof GLOBAL_SETTINGS>`); one without a default may be absent. */
export type SettingsOf<F extends SettingSpecs> = { readonly [K in keyof F]?: SettingValue<F[K]> };

/** A string setting without a default. */
export function text(description: string) {
  return { type: 'string', description } as const;
}

/** A boolean setting, false by default. */
export function flag(description: string) {
  return { type: 'boolean', default: false, description } as const;
}

/** A list of `items`; with `defaultValue`, that when unset. */
export function list<const I extends SettingSpec>(
  items: I,
  description: string,
  defaultValue?: readonly unknown[],
) {
  return { type: 'list', items, ...(defaultValue ? { default: defaultValue } : {}), description } as const;
}

/** An object with known fields. */
export function object<const F extends SettingSpecs>(description: string, fields: F) {
  return { type: 'object', description, fields } as const;
}

/** A module as the configuration knows it. */
export interface ModuleDeclaration {
  /** As in a SlimeBoot's `spec.module[].kind` (or `name`, when an entry has no kind): `limiter`. */
  readonly name: string;
  /** Other names an entry may use for it. */
  readonly aliases?: readonly string[];
  readonly settings: { readonly general?: SettingSpecs };
  /** The block older Slime kept these `general` settings in (lazyload's `fence`). */
  readonly legacyGeneralKey?: string;
  /** The Prometheus queries the module runs; `metric.prometheus.handlers` merge over them. */
  readonly defaultQueries?: readonly NamedQuery[];
}

/** A module's declaration: its name, its `general` settings and what else it says. */
export function declareModule(
  name: string,
  general: SettingSpecs,
  more: Omit<ModuleDeclaration, 'name' | 'settings'> = {},
): ModuleDeclaration {
  return { name, settings: { general }, ...more };
}

const configSource = {
  type: 'object',
  description: 'A configuration source: an MCP server address, or fs:///dir for files.',
  fields: { address: { type: 'string', description: 'The server address, or fs:/// and a directory.' } },
} as const satisfies SettingSpec;

/** Slime's `proxyVersion`, which the modules that write EnvoyFilters share. */
export const PROXY_VERSION_SETTING = text(
  'An RE2 regular expression: only proxies of matching Istio versions get the EnvoyFilters.',
) satisfies SettingSpec;

/** Slime's `global` (framework config.proto `Global`), the same for every module; Slime's defaults. */
export const GLOBAL_SETTINGS = {
  service: {
    type: 'string',
    default: 'app',
    description: "The Pod label whose value names a workload's service.",
  },
  multicluster: {
    type: 'string',
    description: 'The label (set to "true") that marks the remote clusters to watch.',
  },
  istioNamespace: {
    type: 'string',
    default: 'istio-system',
    description: "Istio's control-plane namespace.",
  },
  slimeNamespace: {
    type: 'string',
    description: "The management plane's own namespace (Governor: GOVERNOR_NAMESPACE when unset).",
  },
  log: {
    type: 'object',
    description: 'Logging.',
    fields: {
      logLevel: { type: 'string', description: 'The log level: debug, info, warn or error.' },
      klogLevel: { type: 'integer', min: 0, description: "The Kubernetes client's log verbosity." },
      logRotate: { type: 'boolean', default: false, description: 'Write the log to a rotated file.' },
      logRotateConfig: {
        type: 'object',
        description: 'The rotated log file.',
        fields: {
          filePath: { type: 'string', default: '/tmp/log/slime.log', description: 'The log file.' },
          maxSizeMB: { type: 'integer', min: 0, default: 100, description: 'Rotate at this size (MB).' },
          maxBackups: { type: 'integer', min: 0, default: 10, description: 'Rotated files kept.' },
          maxAgeDay: { type: 'integer', min: 0, default: 10, description: 'Days a rotated file is kept.' },
          compress: { type: 'boolean', default: false, description: 'Compress rotated files.' },
        },
      },
      enableQuote: { type: 'boolean', default: false, description: 'Quote the values in log lines.' },
      ilogLevel: {
        type: 'string',
        description: 'Levels per log scope, such as default:info,xdsc:warn.',
      },
    },
  },
  misc: {
    type: 'map',
    values: { type: 'string', description: 'A value.' },
    default: {},
    description: 'Named switches as strings (Slime: metrics-addr, enableLeaderElection...).',
  },
  istioRev: {
    type: 'string',
    description: 'The Istio revisions (comma-separated) whose configuration is managed.',
  },
  strictRev: {
    type: 'boolean',
    default: false,
    description: 'Manage only objects of istioRev, not those without a revision.',
  },
  configSources: {
    type: 'list',
    items: configSource,
    default: [],
    description: 'Where configuration comes from besides the cluster.',
  },
  masterUrl: { type: 'string', description: "The Kubernetes API server's address instead of the default." },
  configRev: {
    type: 'string',
    description: 'The revisions (comma-separated) of configuration to read; istioRev is added.',
  },
  clientGoTokenBucket: {
    type: 'object',
    description: 'The rate of requests to the Kubernetes API server.',
    fields: {
      qps: { type: 'integer', min: 0, description: 'Requests per second.' },
      burst: { type: 'integer', min: 0, description: 'Requests at once.' },
    },
  },
  selfResourceRev: {
    type: 'string',
    description: 'The revision written on the objects the module generates itself.',
  },
  istioConfigSource: { ...configSource, description: "Where a mirror of istiod's configuration comes from." },
  deployRev: { type: 'string', description: "The deployment's own revision." },
  enableConvertSeToIstioRes: {
    type: 'boolean',
    default: false,
    description: 'Convert ServiceEntries from configSources to Istio objects.',
  },
} as const satisfies SettingSpecs;

export type GlobalSettings = SettingsOf<typeof GLOBAL_SETTINGS>;

/** Slime's `metric` (framework config.proto `Metric`): where a module's metrics come from. */
export const METRIC_SETTINGS = {
  prometheus: {
    type: 'object',
    description: 'Metrics from Prometheus.',
    fields: {
      address: { type: 'string', description: "Prometheus' URL, such as http://prometheus:9090." },
      handlers: {
        type: 'map',
        description: 'Named PromQL queries ($namespace and $pod_name are filled in).',
        values: {
          type: 'object',
          description: 'One query.',
          fields: {
            query: { type: 'string', description: 'The PromQL query.' },
            type: {
              type: 'enum',
              values: ['Value', 'Group'],
              numbered: true,
              default: 'Value',
              description: 'Value: one number; Group: one number per label set.',
            },
          },
        },
      },
    },
  },
  k8s: {
    type: 'object',
    description: 'Metrics from Kubernetes objects.',
    fields: {
      handlers: {
        type: 'list',
        items: { type: 'string', description: 'A handler, such as pod.' },
        description: 'The Kubernetes handlers.',
      },
    },
  },
} as const satisfies SettingSpecs;

/** A module's metric settings as Governor uses them. */
export interface MetricSettings {
  /** `metric.prometheus.address`: the Prometheus to query. */
  readonly prometheusUrl?: string;
  /** `metric.prometheus.handlers` merged over the module's default queries (same name: replaced). */
  readonly prometheusQueries: readonly NamedQuery[];
  /** The handlers of `type: Group`: one value per label set, not one number. */
  readonly groupQueries: readonly string[];
  /** `metric.k8s.handlers`. */
  readonly k8sHandlers: readonly string[];
}

export interface ModuleSettings {
  readonly enable: boolean;
  readonly general: Readonly<Record<string, unknown>>;
  readonly global: GlobalSettings;
  readonly metric: MetricSettings;
}
