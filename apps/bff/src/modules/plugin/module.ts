/**
 * The plugin module: PluginManager → an EnvoyFilter of HTTP filters, with EnvoyPlugin → an EnvoyFilter of
 * per-route filter configurations as its companion controller (the same settings, its own queue). Each
 * object owns one EnvoyFilter of its own name; rendering is in `render.ts`.
 */
import {
  PLUGIN_API_VERSION,
  parseEnvoyPlugin,
  parsePluginManager,
  pluginManagerSchema,
  type Condition,
  type EnvoyPlugin,
  type Plugin,
  type PluginManager,
  type PluginStatus,
  type UnknownField,
} from '@governor/crd-types';
import type { KubeObject } from '../../cluster/store';
import { closestFilters, findFilter, validateFilterSettings } from '../../envoy/catalog';
import { parsedOf } from '../../framework/module';
import type { Module, ModuleEvent, Plan, PlanInput, PlanProblem, Snapshot } from '../../framework/module';
import type { ModuleContext } from '../../framework/registry';
import {
  DIRECT_PATCH_FILTERS,
  ISTIO_REV_LABEL,
  renderEnvoyPlugin,
  renderPluginManager,
  settingsKinds,
  type RenderOptions,
} from './render';
import {
  condition,
  conditionOf,
  invalidSpecStatus,
  observedGenerationOf,
  validAndReady,
  type ConditionStatus,
} from '../../framework/conditions';

export const ENVOYPLUGIN_MODULE_NAME = 'plugin-envoyplugin';

const unknownFieldWarnings = (fields: readonly UnknownField[]): string[] =>
  fields.map(
    (u) => `${u.path}: unknown field, ignored${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}`,
  );

/**
 * A plugin's `inline.settings` checked against its filter's configuration message in Envoy's catalog: the
 * filter's own (PluginManager) or its per-route one (EnvoyPlugin). Paths are relative to the settings. A
 * filter the catalog does not know (a custom one) is not checked: a warning says so.
 */
export function validateInlineSettings(
  filterNameOrTypeUrl: string,
  settings: unknown,
  perRoute: boolean,
): { issues: readonly { path: string; message: string; suggestion?: string }[]; unknown?: string } {
  const filter = findFilter(filterNameOrTypeUrl);
  if (!filter) {
    const close = closestFilters(filterNameOrTypeUrl);
    return {
      issues: [],
      unknown: `not an HTTP filter Envoy ships, so its settings are not checked${close.length > 0 ? ` (closest: ${close.join(', ')})` : ''}`,
    };
  }
  if (!perRoute) return { issues: validateFilterSettings(filterNameOrTypeUrl, settings) };
  // A route's configuration is the filter's per-route message; a filter without one is not checked.
  return filter.perRoute
    ? { issues: validateFilterSettings(filter.perRoute.typeUrl, settings) }
    : { issues: [] };
}

/** Problems and warnings of a list of plugins, at `<at>[i]`, after the object's unknown fields. */
function checkPlugins(
  plugins: readonly Plugin[],
  at: string,
  perRoute: boolean,
  unknown: readonly UnknownField[],
): { problems: PlanProblem[]; warnings: string[] } {
  const problems: PlanProblem[] = [];
  const warnings = unknownFieldWarnings(unknown);
  plugins.forEach((p, i) => {
    const path = `${at}[${i}]`;
    const kinds = settingsKinds(p);
    if (kinds.length > 1)
      problems.push({
        path,
        message: `sets ${kinds.join(' and ')}: a plugin has exactly one of inline, wasm or rider`,
      });
    if (!p.name) problems.push({ path: `${path}.name`, message: 'required' });
    for (const k of ['wasm', 'rider'] as const) {
      const code = p[k];
      if (!code) continue;
      if (!code.url) problems.push({ path: `${path}.${k}.url`, message: `required: where the ${k} code is` });
      if (code.imagePullSecretName && !code.imagePullSecretContent)
        warnings.push(
          `${path}.${k}.imagePullSecretName: Secrets are not read; give imagePullSecretContent for a private image`,
        );
    }
    if (p.settings !== undefined)
      warnings.push(`${path}.settings: deprecated and unused; use inline.settings`);
    // Settings merged as they are (direct patches) are not a filter's configuration.
    const direct =
      p.inline?.directPatch === true || (perRoute && DIRECT_PATCH_FILTERS.includes(p.name ?? ''));
    if (p.enable && p.inline?.settings !== undefined && !direct && kinds.length === 1) {
      const checked = validateInlineSettings(p.typeUrl || p.name || '', p.inline.settings, perRoute);
      if (checked.unknown) warnings.push(`${path}.name: ${p.name ?? ''} is ${checked.unknown}`);
      for (const issue of checked.issues)
        problems.push({
          path: `${path}.inline.settings${issue.path ? (issue.path.startsWith('[') ? '' : '.') + issue.path : ''}`,
          message: `${issue.message}${issue.suggestion && !issue.message.includes(issue.suggestion) ? ` (did you mean ${issue.suggestion}?)` : ''}`,
        });
    }
  });
  return { problems, warnings };
}

/** Two label selectors may select one Pod unless some key needs different values; none selects all. */
export function selectorsOverlap(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(a).every(([k, v]) => !(k in b) || b[k] === v);
}

const key = (o: { metadata: { namespace: string; name: string } }) =>
  `${o.metadata.namespace}/${o.metadata.name}`;

/** The order Istio applies EnvoyFilters in: priority, then the older, then by name. */
function applyOrder(a: PluginManager, b: PluginManager): number {
  const pa = a.spec.priority ?? 0;
  const pb = b.spec.priority ?? 0;
  if (pa !== pb) return pa - pb;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** The other PluginManagers of the namespace that may select the same workload, and the order of all. */
export function overlapsOf(
  pm: PluginManager,
  snapshot: Snapshot,
): { others: PluginManager[]; message: string } {
  const mine = pm.spec.workloadLabels ?? {};
  const others = snapshot
    .parsed('PluginManager', pluginManagerSchema, pm.metadata.namespace)
    .filter((o) => o.metadata.name !== pm.metadata.name && (o.spec.plugin ?? []).some((p) => p.enable))
    .filter((o) => selectorsOverlap(mine, o.spec.workloadLabels ?? {}));
  if (others.length === 0) return { others, message: 'no other PluginManager selects the same workload' };
  const order = [pm, ...others].sort(applyOrder);
  const ties = others.filter((o) => (o.spec.priority ?? 0) === (pm.spec.priority ?? 0));
  return {
    others,
    message:
      `may select the same workload as ${others.map((o) => `PluginManager ${key(o)} (priority ${o.spec.priority ?? 0})`).join(', ')}; ` +
      `filters are inserted in the order ${order.map((o) => o.metadata.name).join(', ')}` +
      (ties.length > 0 ? '; equal priorities fall back to age, set priority to decide' : ''),
  };
}

function statusOf(
  raw: KubeObject,
  previous: PluginStatus | undefined,
  problems: readonly PlanProblem[],
  ready: { status: ConditionStatus; reason: string; message: string },
  now: Date,
  extra: Condition[] = [],
): PluginStatus {
  return {
    conditions: [
      ...validAndReady(
        previous,
        problems,
        'the last EnvoyFilter stays',
        () => condition(previous, 'Ready', ready.status, ready.reason, ready.message, now),
        now,
      ),
      ...extra,
    ],
    ...observedGenerationOf(raw),
  };
}

const invalidStatus = (raw: KubeObject, problems: readonly PlanProblem[], ownedCount: number, now: Date) =>
  invalidSpecStatus(raw, problems, `${ownedCount} EnvoyFilter kept as it was`, now);

const patchCount = (ef: KubeObject) => ((ef.spec as { configPatches: unknown[] }).configPatches ?? []).length;

export function planPluginManager(
  { object: pm, raw, snapshot, now }: PlanInput<PluginManager>,
  options: RenderOptions,
): Plan<null> {
  const checked = checkPlugins(pm.spec.plugin ?? [], 'spec.plugin', false, parsePluginManager(raw).warnings);
  const rendered = renderPluginManager(pm, options);
  const overlap = overlapsOf(pm, snapshot);
  const enabled = (pm.spec.plugin ?? []).filter((p) => p.enable).length;
  const { name, namespace } = pm.metadata;
  const status = statusOf(
    raw,
    pm.status,
    checked.problems,
    {
      status: 'True',
      reason: 'EnvoyFilterWritten',
      message: `EnvoyFilter ${namespace}/${name}: ${patchCount(rendered.envoyFilter)} patches from ${enabled} enabled plugins`,
    },
    now,
    [
      condition(
        pm.status,
        'Overlap',
        overlap.others.length > 0 ? 'True' : 'False',
        overlap.others.length > 0 ? 'SharedWorkload' : 'NoOverlap',
        overlap.message,
        now,
      ),
    ],
  );
  return {
    desired: [rendered.envoyFilter],
    status: status as Record<string, unknown>,
    problems: checked.problems,
    warnings: [...checked.warnings, ...rendered.warnings],
    engine: null,
  };
}

export function planEnvoyPlugin(
  { object: ep, raw, snapshot, now }: PlanInput<EnvoyPlugin>,
  options: RenderOptions,
): Plan<null> {
  const checked = checkPlugins(ep.spec.plugins ?? [], 'spec.plugins', true, parseEnvoyPlugin(raw).warnings);
  const { name, namespace } = ep.metadata;
  // Both kinds render an EnvoyFilter named after the object: of two namesakes, the PluginManager's stands.
  if (snapshot.get('PluginManager', namespace, name))
    checked.problems.push({
      path: 'metadata.name',
      message: `EnvoyFilter ${namespace}/${name} is PluginManager ${namespace}/${name}'s; rename one of them`,
    });
  const rendered = renderEnvoyPlugin(ep, options);
  const targets =
    (ep.spec.listener ?? []).length + (ep.spec.host ?? []).length + (ep.spec.route ?? []).length;
  const warnings = [...checked.warnings, ...rendered.warnings];
  if (targets === 0) warnings.push('spec: no listener, host or route: the EnvoyFilter patches nothing');
  const status = statusOf(
    raw,
    ep.status,
    checked.problems,
    {
      status: 'True',
      reason: 'EnvoyFilterWritten',
      message: `EnvoyFilter ${namespace}/${name}: ${patchCount(rendered.envoyFilter)} patches`,
    },
    now,
  );
  return {
    desired: [rendered.envoyFilter],
    status: status as Record<string, unknown>,
    problems: checked.problems,
    warnings,
    engine: null,
  };
}

/** Events: an object that becomes invalid, an EnvoyFilter that changes, an overlap that appears. */
export function pluginEvents(
  previousRaw: Record<string, unknown> | undefined,
  plan: Plan<null>,
): ModuleEvent[] {
  const events: ModuleEvent[] = [];
  const was = conditionOf(previousRaw, 'Ready');
  const is = conditionOf(plan.status, 'Ready');
  if (is?.status === 'False' && (was?.status !== 'False' || was.message !== is.message))
    events.push({ type: 'Warning', reason: is.reason ?? 'NotReady', message: is.message ?? '' });
  if (is?.status === 'True' && (was?.status !== 'True' || was.message !== is.message))
    events.push({ type: 'Normal', reason: is.reason ?? 'Ready', message: is.message ?? '' });
  const overlapBefore = conditionOf(previousRaw, 'Overlap');
  const overlap = conditionOf(plan.status, 'Overlap');
  if (
    overlap?.status === 'True' &&
    (overlapBefore?.status !== 'True' || overlapBefore.message !== overlap.message)
  )
    events.push({ type: 'Warning', reason: 'Overlap', message: overlap.message ?? '' });
  return events;
}

export type PluginModule = Module<PluginManager, null> & { readonly options: RenderOptions };

export function envoyPluginModule(options: RenderOptions): Module<EnvoyPlugin, null> {
  return {
    name: ENVOYPLUGIN_MODULE_NAME,
    kind: 'EnvoyPlugin',
    apiVersion: PLUGIN_API_VERSION,
    // A PluginManager of the same name takes the EnvoyFilter's name.
    watches: ['PluginManager'],
    owns: ['EnvoyFilter'],
    ownedLabelKeys: [ISTIO_REV_LABEL],
    parse: (raw) => parsedOf(parseEnvoyPlugin(raw)),
    invalidStatus,
    plan: (input) => planEnvoyPlugin(input, options),
    events: pluginEvents,
    affectedBy: (change, snapshot) => {
      const ns = change.metadata.namespace ?? 'default';
      return snapshot.get('EnvoyPlugin', ns, change.metadata.name) ? [`${ns}/${change.metadata.name}`] : [];
    },
  };
}

export function pluginModule(options: RenderOptions): PluginModule {
  return {
    name: 'plugin',
    kind: 'PluginManager',
    apiVersion: PLUGIN_API_VERSION,
    // The namespace's other PluginManagers: their overlap and order are in each one's status.
    watches: ['PluginManager'],
    owns: ['EnvoyFilter'],
    ownedLabelKeys: [ISTIO_REV_LABEL],
    options,
    parse: (raw) => parsedOf(parsePluginManager(raw)),
    invalidStatus,
    plan: (input) => planPluginManager(input, options),
    events: pluginEvents,
    affectedBy: (change, snapshot) =>
      snapshot
        .list('PluginManager', change.metadata.namespace ?? 'default')
        .filter((o) => o.metadata.name !== change.metadata.name)
        .map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`),
    companions: [envoyPluginModule(options)],
  };
}

/** The module as the framework creates it, from a SlimeBoot's `general` settings. */
export function createPluginModule({ settings }: ModuleContext): PluginModule {
  const general = settings.general as {
    configDiscoveryDefaultConfig?: Record<string, unknown>;
    proxyVersion?: string;
  };
  return pluginModule({
    ...(general.proxyVersion ? { proxyVersion: general.proxyVersion } : {}),
    defaultConfigs: general.configDiscoveryDefaultConfig ?? {},
  });
}
