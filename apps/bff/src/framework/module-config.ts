/**
 * Which modules run, and with what settings, from a SlimeBoot: Slime's module configuration
 * (`config.netease.com/v1alpha1`, `spec.module[]` with `name`, `kind`, `enable`, `general`, `global` and
 * `metric`), so that a SlimeBoot written for Slime configures Governor unchanged. Slime dropped what it
 * did not know (protojson with DiscardUnknown); Governor names it and the setting it probably meant, and a
 * value of the wrong type is an error with its path.
 *
 * Choices, each where Slime's files leave room:
 * - No file: every declared module is on, with its defaults. A file: the modules it lists with
 *   `enable: true` are on; one it lists without `enable` (Slime's default: false) or does not list is off.
 * - An unfilled template placeholder (`{{lazyloadTag}}`, as in Slime's samples and Helm charts) leaves its
 *   setting unset, with a warning naming it; the file still loads.
 * - Slime's deployment fields (`image`, `component`, `resources`...) describe Slime's own Pods: one note
 *   lists those present, and they are otherwise ignored. Governor's deployment is its Helm chart.
 * - Older Slime kept a module's settings in a block of its own (lazyload's `fence`): read as `general`.
 * - A bundle entry (`bundle.modules`) is not a module: its `global` is the base of the modules it lists.
 *
 * Everything here is pure except {@link readModuleConfigFile}.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments, Scalar, visit } from 'yaml';
import { closeKeys } from '@governor/crd-types';
import { queriesFromHandlers } from '../sources/prometheus';
import {
  GLOBAL_SETTINGS,
  list,
  METRIC_SETTINGS,
  object,
  text,
  type GlobalSettings,
  type MetricSettings,
  type ModuleDeclaration,
  type ModuleSettings,
  type SettingsOf,
  type SettingSpec,
  type SettingSpecs,
} from './module-settings';

export const SLIMEBOOT_API_VERSION = 'config.netease.com/v1alpha1';

/** Something about the input; `path` is where it is (`spec.module[0].general.autoFence`). */
export interface ModuleConfigIssue {
  readonly path: string;
  /** 1-based, when the input has more than one document. */
  readonly document?: number;
  readonly message: string;
  /** The known name an unknown one is probably a typo of. */
  readonly suggestion?: string;
  /** What the input was, when not the one file: `SlimeBoot mesh-operator/limiter`. */
  readonly source?: string;
}

export interface ModuleConfig {
  /** Every declared module, by its declared name. */
  readonly modules: Readonly<Record<string, ModuleSettings>>;
  /** Things ignored or left unset: the configuration still runs. */
  readonly warnings: readonly ModuleConfigIssue[];
  /** Values that cannot be used (wrong type, no such value); the setting keeps its default. */
  readonly errors: readonly ModuleConfigIssue[];
  /** Information: what Governor reads differently from Slime, or leaves to others. */
  readonly notes: readonly ModuleConfigIssue[];
  /** The modules the input has an entry for, each with where the entry is and the entry as written. */
  readonly configured: Readonly<Record<string, ConfiguredEntry>>;
}

/** A module's `spec.module[]` entry in the input. */
export interface ConfiguredEntry {
  /** `spec.module[0]` */
  readonly at: string;
  readonly document?: number;
  /** The entry as written (before checks and defaults). */
  readonly entry: Readonly<Record<string, unknown>>;
}

export interface LoadModuleConfigOptions {
  /**
   * The input is one of several SlimeBoots (as a Slime installation has one per module): a module it does
   * not list is not said to be off, since another may list it. Default false.
   */
  readonly partial?: boolean;
}

/** YAML text (one or more documents), parsed documents, or none (no file). */
export type ModuleConfigInput = string | object | null | undefined;

/** `message (at path)`, with the document when there are several. */
export function formatModuleConfigIssue(issue: ModuleConfigIssue): string {
  const doc = issue.document === undefined ? '' : `document ${issue.document}, `;
  const source = issue.source === undefined ? '' : `${issue.source}${issue.path === '' ? '' : ' '}`;
  return issue.path === '' && doc === '' && source === ''
    ? issue.message
    : `${issue.message} (at ${source}${doc}${issue.path})`;
}

/** SlimeBoot `spec` fields for Slime's own Deployment (slime_boot.proto and the CRD's schema). */
const DEPLOYMENT_FIELDS = [
  'component',
  'namespace',
  'istioNamespace',
  'image',
  'replicaCount',
  'service',
  'resources',
  'imagePullSecrets',
  'nodeSelector',
  'podSecurityContext',
  'containerSecurityContext',
  'tolerations',
  'affinity',
  'volumes',
  'volumeMounts',
  'serviceAccount',
  'args',
  'env',
  'containers',
  'podAnnotations',
  'autoscaling',
  'auxiliaryPort',
  'logSourcePort',
];
const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const ENTRY_FIELDS = ['name', 'kind', 'enable', 'general', 'global', 'metric', 'bundle', 'mode'];
const BUNDLE_SPEC = object('The modules one deployment runs.', {
  modules: list(
    object('A module.', { name: text("The module entry's name."), kind: text("The module's kind.") }),
    'The modules.',
  ),
}) satisfies SettingSpec;
const GLOBAL_SPEC: SettingSpec = { type: 'object', fields: GLOBAL_SETTINGS, description: 'global' };
const METRIC_SPEC: SettingSpec = { type: 'object', fields: METRIC_SETTINGS, description: 'metric' };

/** `{{name}}`, `{{ .Values.x }}`: a template value nobody filled in. */
const PLACEHOLDER = /\{\{[^{}]*\}\}/;

/** Where a value is: in the input, and as the module's own setting. */
interface Site {
  readonly at: string;
  /** `general.autoFence`, or `` for the module entry itself. */
  readonly name: string;
  /** What the message calls the owner: `module lazyload`. */
  readonly owner: string;
}

const child = (site: Site, key: string): Site => ({
  at: `${site.at}.${key}`,
  name: site.name === '' ? key : `${site.name}.${key}`,
  owner: site.owner,
});
const item = (site: Site, index: number): Site => ({
  at: `${site.at}[${index}]`,
  name: `${site.name}[${index}]`,
  owner: site.owner,
});

class Issues {
  readonly warnings: ModuleConfigIssue[] = [];
  readonly errors: ModuleConfigIssue[] = [];
  readonly notes: ModuleConfigIssue[] = [];
  document: number | undefined;

  private issue(path: string, message: string, suggestion?: string): ModuleConfigIssue {
    return {
      path,
      ...(this.document !== undefined ? { document: this.document } : {}),
      message,
      ...(suggestion !== undefined ? { suggestion } : {}),
    };
  }
  warn(path: string, message: string, suggestion?: string): void {
    this.warnings.push(this.issue(path, message, suggestion));
  }
  error(path: string, message: string): void {
    this.errors.push(this.issue(path, message));
  }
  note(path: string, message: string): void {
    this.notes.push(this.issue(path, message));
  }
  /** An unknown key, with the known one it is closest to. */
  unknown(path: string, what: string, key: string, known: readonly string[]): void {
    const [suggestion] = closeKeys(key, known, 1);
    this.warn(
      path,
      suggestion === undefined ? `unknown ${what}; ignored` : `unknown ${what}; did you mean ${suggestion}?`,
      suggestion,
    );
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own, enumerable, and safe for keys such as `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isObject(value)) return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const subject = (site: Site): string => (site.name === '' ? site.owner : `${site.name} of ${site.owner}`);

/**
 * The value of a setting as given (no defaults), or undefined when unset: absent, null, an unfilled
 * placeholder (a warning) or unusable (an error).
 */
function check(spec: SettingSpec, value: unknown, site: Site, issues: Issues): unknown {
  if (value === undefined || value === null) return undefined;
  if (spec.type !== 'any' && typeof value === 'string' && PLACEHOLDER.test(value)) {
    issues.warn(site.at, `${subject(site)} is the unfilled template placeholder ${value}; treated as unset`);
    return undefined;
  }
  const wrong = (expected: string): undefined => {
    issues.error(site.at, `${subject(site)} must be ${expected}, got ${shown(value)}`);
    return undefined;
  };
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? value : wrong('true or false');
    case 'string':
      if (typeof value === 'string') return value;
      return typeof value === 'number' || typeof value === 'boolean'
        ? wrong(`a string (quote it: "${String(value)}")`)
        : wrong('a string');
    case 'integer': {
      const n =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && /^-?\d+$/.test(value)
            ? Number(value)
            : NaN;
      // int32 unless the setting says otherwise.
      const min = spec.min ?? -(2 ** 31);
      const max = spec.max ?? 2 ** 31 - 1;
      const range =
        spec.max !== undefined ? ` from ${min} to ${max}` : spec.min !== undefined ? ` from ${min}` : '';
      return Number.isInteger(n) && n >= min && n <= max ? n : wrong(`a whole number${range}`);
    }
    case 'enum':
      if (typeof value === 'string' && spec.values.includes(value)) return value;
      if (
        spec.numbered &&
        typeof value === 'number' &&
        Number.isInteger(value) &&
        spec.values[value] !== undefined
      )
        return spec.values[value];
      return wrong(`one of ${spec.values.join(', ')}${spec.numbered ? ' (or its number from 0)' : ''}`);
    case 'duration':
      return typeof value === 'string' && /^\d+(\.\d{1,9})?s$/.test(value)
        ? value
        : wrong('a duration in seconds such as 1s or 0.5s');
    case 'list': {
      if (!Array.isArray(value)) return wrong('a list');
      const out: unknown[] = [];
      value.forEach((v, i) => {
        const checked = check(spec.items, v, item(site, i), issues);
        if (checked !== undefined) out.push(checked);
      });
      return out;
    }
    case 'object':
      return isObject(value) ? checkFields(spec.fields, value, site, issues) : wrong('a mapping');
    case 'map': {
      if (!isObject(value)) return wrong('a mapping');
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const checked = check(spec.values, v, child(site, key), issues);
        if (checked !== undefined) setOwn(out, key, checked);
      }
      return out;
    }
    case 'any':
      return value;
  }
}

/** The known fields of a mapping, checked; another key is a warning with the closest known one. */
function checkFields(
  fields: SettingSpecs,
  value: Record<string, unknown>,
  site: Site,
  issues: Issues,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = Object.keys(fields);
  for (const [key, v] of Object.entries(value)) {
    const spec = Object.hasOwn(fields, key) ? fields[key] : undefined;
    const at = child(site, key);
    if (spec === undefined) {
      issues.unknown(at.at, `setting ${subject(at)}`, key, known);
      continue;
    }
    const checked = check(spec, v, at, issues);
    if (checked !== undefined) setOwn(out, key, checked);
  }
  return out;
}

/** A value as given with the defaults of what it leaves unset. */
function withDefaults(spec: SettingSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'object': {
      const given = isObject(value) ? value : {};
      const out: Record<string, unknown> = {};
      for (const [key, s] of Object.entries(spec.fields)) {
        const v = withDefaults(s, given[key]);
        if (v !== undefined) setOwn(out, key, v);
      }
      return value === undefined && Object.keys(out).length === 0 ? undefined : out;
    }
    case 'list':
      return Array.isArray(value)
        ? value.map((v) => withDefaults(spec.items, v))
        : spec.default === undefined
          ? undefined
          : structuredClone(spec.default);
    case 'map':
      return value ?? (spec.default === undefined ? undefined : structuredClone(spec.default));
    case 'any':
      return value;
    default:
      return value ?? spec.default;
  }
}

/** Mappings merged key by key, `over` winning; anything else is replaced. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(over)) setOwn(out, k, deepMerge(out[k], v));
  return out;
}

function defaultSettings(decl: ModuleDeclaration, enable: boolean): ModuleSettings {
  return {
    enable,
    general: withDefaults(
      { type: 'object', fields: decl.settings.general ?? {}, description: '' },
      {},
    ) as Record<string, unknown>,
    global: withDefaults(GLOBAL_SPEC, {}) as GlobalSettings,
    metric: {
      prometheusQueries: [...(decl.defaultQueries ?? [])],
      groupQueries: [],
      k8sHandlers: [],
    },
  };
}

/** `{{name}}` unquoted is YAML for a flow mapping; read it back as the text it was written as. */
function placeholdersAsText(doc: ReturnType<typeof parseAllDocuments>[number], source: string): void {
  visit(doc, {
    Map(_, node) {
      if (!node.flow || node.range === undefined || node.range === null) return undefined;
      const text = source.slice(node.range[0], node.range[1]).trim();
      return /^\{\{[^{}]*\}\}$/.test(text) ? new Scalar(text) : undefined;
    },
  });
}

interface Doc {
  readonly value: unknown;
  readonly number: number | undefined;
}

function documentsOf(input: string | object, issues: Issues): Doc[] {
  if (typeof input !== 'string') {
    const values: unknown[] = Array.isArray(input) ? input : [input];
    return values.map((value, i) => ({ value, number: values.length > 1 ? i + 1 : undefined }));
  }
  const parsed = parseAllDocuments(input);
  const out: Doc[] = [];
  parsed.forEach((doc, i) => {
    const number = parsed.length > 1 ? i + 1 : undefined;
    issues.document = number;
    const [first] = doc.errors;
    if (first !== undefined) {
      const hint = input.includes('{{')
        ? ' (a template placeholder such as {{name}} must be a whole value, or quoted)'
        : '';
      issues.error('', `not YAML: ${first.message}${hint}`);
      return;
    }
    placeholdersAsText(doc, input);
    out.push({ value: doc.toJS({ maxAliasCount: 100 }), number });
  });
  return out;
}

interface Entry {
  readonly value: Record<string, unknown>;
  readonly at: string;
  readonly document: number | undefined;
}

/** The `spec.module[]` entries of every SlimeBoot in the input. */
function entriesOf(docs: readonly Doc[], issues: Issues): { entries: Entry[]; specs: number } {
  const entries: Entry[] = [];
  let specs = 0;
  const deployment = new Set<string>();
  for (const { value, number } of docs) {
    issues.document = number;
    if (value === null || value === undefined) continue;
    if (!isObject(value)) {
      issues.error('', `expected a SlimeBoot, got ${shown(value)}`);
      continue;
    }
    let spec: unknown;
    let specAt: string;
    if ('module' in value && !('spec' in value)) {
      // A bare spec: `{module: [...]}`.
      spec = value;
      specAt = '';
    } else {
      if (value.kind !== undefined && value.kind !== 'SlimeBoot') {
        issues.warn(
          'kind',
          `${typeof value.kind === 'string' ? value.kind : shown(value.kind)} is not a SlimeBoot; ignored`,
        );
        continue;
      }
      if (value.apiVersion !== undefined && value.apiVersion !== SLIMEBOOT_API_VERSION)
        issues.warn('apiVersion', `apiVersion ${shown(value.apiVersion)}: read as ${SLIMEBOOT_API_VERSION}`);
      for (const key of Object.keys(value))
        if (!TOP_FIELDS.includes(key)) issues.unknown(key, `SlimeBoot field ${key}`, key, TOP_FIELDS);
      spec = value.spec;
      specAt = 'spec';
    }
    const at = (key: string) => (specAt === '' ? key : `${specAt}.${key}`);
    if (!isObject(spec)) {
      issues.error(
        specAt,
        `a SlimeBoot needs spec.module, a list of modules; got ${spec === undefined ? 'no spec' : shown(spec)}`,
      );
      continue;
    }
    for (const key of Object.keys(spec)) {
      if (key === 'module') continue;
      if (DEPLOYMENT_FIELDS.includes(key)) deployment.add(at(key));
      else issues.unknown(at(key), `SlimeBoot field ${at(key)}`, key, ['module', ...DEPLOYMENT_FIELDS]);
    }
    const modules = spec.module;
    if (modules === undefined || modules === null) {
      issues.error(at('module'), 'a SlimeBoot needs spec.module, a list of modules');
      continue;
    }
    if (!Array.isArray(modules)) {
      issues.error(at('module'), `spec.module must be a list of modules, got ${shown(modules)}`);
      continue;
    }
    specs++;
    modules.forEach((m, i) => {
      const entryAt = `${at('module')}[${i}]`;
      if (isObject(m)) entries.push({ value: m, at: entryAt, document: number });
      else if (m !== null) issues.error(entryAt, `a module entry must be a mapping, got ${shown(m)}`);
    });
  }
  issues.document = undefined;
  if (deployment.size > 0)
    issues.note(
      'spec',
      `${[...deployment].join(', ')}: Slime's deployment settings; Governor is deployed by its Helm chart (deploy/chart) and does not use them`,
    );
  return { entries, specs };
}

/** `kind`, else `name` (older entries have no kind), as Slime finds an entry's module; undefined: skip. */
function moduleRef(entry: Entry, issues: Issues): string | undefined {
  for (const key of ['kind', 'name'] as const) {
    const v = entry.value[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') {
      issues.error(`${entry.at}.${key}`, `a module's ${key} must be a string, got ${shown(v)}`);
      return undefined;
    }
    if (PLACEHOLDER.test(v)) {
      issues.warn(
        `${entry.at}.${key}`,
        `module ${key} is the unfilled template placeholder ${v}; entry ignored`,
      );
      return undefined;
    }
    return v;
  }
  issues.error(entry.at, 'a module entry needs a kind or a name');
  return undefined;
}

/**
 * The modules' settings from a SlimeBoot (YAML text of one or more documents, a parsed SlimeBoot, its
 * `spec`, or a list of documents), checked against the declarations; none (`undefined`): every declared
 * module on, with its defaults. Never throws for bad input: see `errors`.
 */
export function loadModuleConfig(
  input: ModuleConfigInput,
  modules: readonly ModuleDeclaration[],
  options: LoadModuleConfigOptions = {},
): ModuleConfig {
  const byName = new Map<string, ModuleDeclaration>();
  for (const decl of modules)
    for (const name of [decl.name, ...(decl.aliases ?? [])]) {
      if (byName.has(name)) throw new Error(`two module declarations are called ${name}`);
      byName.set(name, decl);
    }
  if (input === undefined || input === null)
    return {
      modules: Object.fromEntries(modules.map((d) => [d.name, defaultSettings(d, true)])),
      warnings: [],
      errors: [],
      notes: [],
      configured: {},
    };

  const issues = new Issues();
  const docs = documentsOf(input, issues);
  const { entries, specs } = entriesOf(docs, issues);
  if (specs === 0 && issues.errors.length === 0) issues.error('', 'no SlimeBoot in the input');

  // Bundles first: the modules they list start from their `global`.
  const bundleGlobal = new Map<string, unknown>();
  const rest: Entry[] = [];
  for (const entry of entries) {
    if (!('bundle' in entry.value)) {
      rest.push(entry);
      continue;
    }
    issues.document = entry.document;
    const name = typeof entry.value.name === 'string' ? entry.value.name : 'bundle';
    const site: Site = { at: entry.at, name: '', owner: `bundle ${name}` };
    for (const key of Object.keys(entry.value))
      if (!ENTRY_FIELDS.includes(key))
        issues.unknown(child(site, key).at, `setting ${key} of bundle ${name}`, key, ENTRY_FIELDS);
    const bundle = check(BUNDLE_SPEC, entry.value.bundle, child(site, 'bundle'), issues) as
      { modules?: { name?: string; kind?: string }[] } | undefined;
    const global = check(GLOBAL_SPEC, entry.value.global, child(site, 'global'), issues);
    for (const m of bundle?.modules ?? []) {
      const itemName = m.name ?? m.kind;
      if (itemName === undefined) continue;
      if (
        !entries.some(
          (e) => e.value.name === itemName || (e.value.name === undefined && e.value.kind === itemName),
        )
      )
        issues.warn(
          `${entry.at}.bundle`,
          `bundle ${name} lists ${itemName}, which has no entry in spec.module; it is off`,
        );
      if (global !== undefined) bundleGlobal.set(itemName, global);
    }
  }

  const result: Record<string, ModuleSettings> = {};
  const seenAt = new Map<string, string>();
  const configured: Record<string, ConfiguredEntry> = {};
  for (const entry of rest) {
    issues.document = entry.document;
    const ref = moduleRef(entry, issues);
    if (ref === undefined) continue;
    const decl = byName.get(ref);
    if (decl === undefined) {
      const known = [...byName.keys()];
      const [suggestion] = closeKeys(ref, known, 1);
      issues.warn(
        entry.at,
        suggestion !== undefined
          ? `unknown module ${ref}; did you mean ${suggestion}?`
          : `unknown module ${ref}; ignored (Governor's modules: ${modules.map((d) => d.name).join(', ') || 'none'})`,
        suggestion,
      );
      continue;
    }
    const seen = seenAt.get(decl.name);
    if (seen !== undefined) {
      issues.error(entry.at, `module ${decl.name} is configured twice, here and at ${seen}`);
      continue;
    }
    seenAt.set(decl.name, entry.at);
    configured[decl.name] = {
      at: entry.at,
      ...(entry.document !== undefined ? { document: entry.document } : {}),
      entry: entry.value,
    };
    result[decl.name] = moduleSettings(
      decl,
      entry,
      bundleGlobal.get(String(entry.value.name ?? ref)),
      issues,
    );
  }

  issues.document = undefined;
  const absent = modules.filter((d) => !seenAt.has(d.name)).map((d) => d.name);
  if (absent.length > 0 && specs > 0 && options.partial !== true)
    issues.note('spec.module', `not in the file, so off: ${absent.join(', ')}`);
  for (const decl of modules) result[decl.name] ??= defaultSettings(decl, false);
  return {
    modules: result,
    warnings: issues.warnings,
    errors: issues.errors,
    notes: issues.notes,
    configured,
  };
}

function moduleSettings(
  decl: ModuleDeclaration,
  entry: Entry,
  bundleGlobal: unknown,
  issues: Issues,
): ModuleSettings {
  const site: Site = { at: entry.at, name: '', owner: `module ${decl.name}` };
  const legacy = decl.legacyGeneralKey;
  const entryFields = legacy === undefined ? ENTRY_FIELDS : [...ENTRY_FIELDS, legacy];
  for (const key of Object.keys(entry.value))
    if (!entryFields.includes(key))
      issues.unknown(child(site, key).at, `setting ${key} of module ${decl.name}`, key, entryFields);

  for (const key of ['name', 'kind', 'mode'] as const)
    check({ type: 'string', description: key }, entry.value[key], child(site, key), issues);
  const enable = check(
    { type: 'boolean', description: 'enable' },
    entry.value.enable,
    child(site, 'enable'),
    issues,
  );
  if (entry.value.enable === undefined)
    issues.warn(`${entry.at}.enable`, `module ${decl.name} has no enable: true, so it is off (as in Slime)`);

  const generalSpec: SettingSpec = {
    type: 'object',
    fields: decl.settings.general ?? {},
    description: 'general',
  };
  let general = check(generalSpec, entry.value.general, child(site, 'general'), issues);
  if (legacy !== undefined && entry.value[legacy] !== undefined && entry.value[legacy] !== null) {
    issues.note(
      `${entry.at}.${legacy}`,
      `${legacy} is older Slime's block for the general settings of ${decl.name}; read as general`,
    );
    if (entry.value.general !== undefined && entry.value.general !== null)
      issues.warn(
        `${entry.at}.${legacy}`,
        `module ${decl.name} has both general and ${legacy}; general wins where both set a value`,
      );
    const fromLegacy = check(generalSpec, entry.value[legacy], child(site, legacy), issues);
    general = deepMerge(fromLegacy, general);
  }

  const global = deepMerge(
    bundleGlobal,
    check(GLOBAL_SPEC, entry.value.global, child(site, 'global'), issues),
  );
  const metric = check(METRIC_SPEC, entry.value.metric, child(site, 'metric'), issues) as
    SettingsOf<typeof METRIC_SETTINGS> | undefined;

  return {
    enable: enable === true,
    general: withDefaults(generalSpec, general ?? {}) as Record<string, unknown>,
    global: withDefaults(GLOBAL_SPEC, global ?? {}) as GlobalSettings,
    metric: metricSettings(decl, metric, child(site, 'metric'), issues),
  };
}

function metricSettings(
  decl: ModuleDeclaration,
  metric: SettingsOf<typeof METRIC_SETTINGS> | undefined,
  site: Site,
  issues: Issues,
): MetricSettings {
  const base = decl.defaultQueries ?? [];
  const prometheus = metric?.prometheus;
  let prometheusUrl = prometheus?.address;
  if (prometheusUrl !== undefined && !isHttpUrl(prometheusUrl)) {
    issues.error(
      `${site.at}.prometheus.address`,
      `metric.prometheus.address of module ${decl.name} must be an http(s) URL such as http://prometheus:9090, got ${shown(prometheusUrl)}`,
    );
    prometheusUrl = undefined;
  }
  const handlers: Record<string, { query: string }> = {};
  const groupQueries: string[] = [];
  for (const [name, handler] of Object.entries(prometheus?.handlers ?? {})) {
    if (handler.query === undefined) {
      issues.error(
        `${site.at}.prometheus.handlers.${name}`,
        `metric.prometheus.handlers.${name} of module ${decl.name} has no query`,
      );
      continue;
    }
    setOwn(handlers, name, { query: handler.query });
    if (handler.type === 'Group') groupQueries.push(name);
  }
  let prometheusQueries = [...base];
  if (Object.keys(handlers).length > 0) {
    try {
      prometheusQueries = queriesFromHandlers({ handlers }, base);
    } catch (e) {
      // Its message starts with the handler's path: `handlers.<name>: ...`.
      const message = e instanceof Error ? e.message : String(e);
      issues.error(`${site.at}.prometheus`, `metric.prometheus.${message} (module ${decl.name})`);
    }
  }
  return {
    ...(prometheusUrl !== undefined ? { prometheusUrl } : {}),
    prometheusQueries,
    groupQueries: groupQueries.filter((n) => prometheusQueries.some((q) => q.name === n)),
    k8sHandlers: metric?.k8s?.handlers ?? [],
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * {@link loadModuleConfig} of a file. Throws when the file cannot be read (the message names it and why);
 * what is wrong inside it is in the result's `errors`.
 */
export function readModuleConfigFile(path: string, modules: readonly ModuleDeclaration[]): ModuleConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'a directory, not a file'
            : e instanceof Error
              ? e.message
              : String(e);
    throw new Error(`cannot read ${path}: ${why}`);
  }
  return loadModuleConfig(text, modules);
}
