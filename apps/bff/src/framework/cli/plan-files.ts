/** Reading input files and planning every object a module reconciles: shared by `render`, `replay` and `rls`. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { KubeObject } from '../../cluster/store';
import { ObservedCalls } from '../../sources/observed-calls';
import { withCompanions, type Module, type Plan, type Snapshot } from '../module';
import { formatModuleConfigIssue, loadModuleConfig } from '../module-config';
import { type ModuleSettings } from '../module-settings';
import { defaultSettings, type ModuleDefinition } from '../registry';
import { staticSnapshot } from '../snapshot';
import { emptyObjects, formatLoadProblem, loadText, type Located, type LoadProblem } from './load-files';
import { UsageError, type CliIo, type OptionSpec } from './io';

/** The options of every command that reads files: `-f FILE` and `--metric KEY=VALUE`, both repeatable. */
export const INPUT_OPTIONS = {
  file: { names: ['-f', '--file', '--filename'], takesValue: true, repeatable: true },
  metric: { names: ['--metric', '-m'], takesValue: true, repeatable: true },
  namespace: { names: ['-n', '--namespace'], takesValue: true },
} as const satisfies Record<string, OptionSpec>;

/** Input kinds without a namespace. */
const CLUSTER_SCOPED_INPUT = new Set(['Namespace', 'ApplicationProtocol']);

export const METRIC_VALUE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const METRIC_KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** `--metric KEY=VALUE` flags: keys like `_base.cpu.sum`, values decimal numbers (kept exact as text). */
export function parseMetricFlags(flags: readonly string[]): Record<string, string> {
  const metrics: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    const key = eq > 0 ? f.slice(0, eq).trim() : '';
    const value = eq > 0 ? f.slice(eq + 1).trim() : '';
    if (!METRIC_KEY.test(key))
      throw new UsageError(`--metric ${f}: expected KEY=VALUE with a key like _base.cpu.sum`);
    if (!METRIC_VALUE.test(value)) throw new UsageError(`--metric ${f}: the value must be a number`);
    metrics[key] = value;
  }
  return metrics;
}

/** Reads a file relative to the caller's directory, or standard input for "-". */
export async function readInput(file: string, io: CliIo): Promise<string> {
  if (file === '-') {
    if (!io.stdin) throw new UsageError('no standard input to read');
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of io.stdin)
      text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    return text;
  }
  return readFile(resolve(io.cwd, file), 'utf8');
}

/** Kubernetes objects in `kubectl get -o json` order: kind, then namespace, then name. */
export const byKindNamespaceName = (a: KubeObject, b: KubeObject): number => {
  const ka = [a.kind, a.metadata.namespace ?? '', a.metadata.name];
  const kb = [b.kind, b.metadata.namespace ?? '', b.metadata.name];
  for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
  return 0;
};

/**
 * The calls ServiceFences' `status.metricStatus` records (`{destination_service="h"}: "12"`, the workload
 * being the fence's namesake), as observed calls of unknown time.
 */
export function recordCallsFromStatus(objects: readonly KubeObject[], into: ObservedCalls): void {
  for (const o of objects) {
    if (o.kind !== 'ServiceFence') continue;
    const status = (o.status ?? {}) as { metricStatus?: Record<string, unknown> };
    for (const [key, count] of Object.entries(status.metricStatus ?? {})) {
      const host = /^\{?(?:destination_service|request_host)="([^"]+)"\}?$/.exec(key)?.[1]?.split(':')[0];
      const n = Number(count);
      if (host === undefined || !Number.isFinite(n)) continue;
      into.record('mesh', { namespace: o.metadata.namespace ?? 'default', app: o.metadata.name }, host, n, 0);
    }
  }
}

/**
 * The settings of each module: from the SlimeBoots among the input, else the defaults. What the
 * configuration cannot use is an error, what it ignores a warning, each naming the SlimeBoot's file.
 */
function settingsFrom(
  slimeBoots: readonly Located<KubeObject>[],
  modules: readonly Pick<ModuleDefinition, 'settings'>[],
  problems: LoadProblem[],
  warnings: LoadProblem[],
): (d: Pick<ModuleDefinition, 'settings'>) => ModuleSettings {
  if (slimeBoots.length === 0) return (d) => defaultSettings(d.settings);
  const config = loadModuleConfig(
    slimeBoots.map((b) => b.object),
    modules.map((d) => d.settings),
  );
  const file = [...new Set(slimeBoots.map((b) => b.file))].join(', ');
  const object = slimeBoots.length === 1 ? `SlimeBoot ${slimeBoots[0]!.object.metadata.name}` : undefined;
  const at = object !== undefined ? { object } : {};
  for (const e of config.errors) problems.push({ file, ...at, message: formatModuleConfigIssue(e) });
  for (const w of config.warnings) warnings.push({ file, ...at, message: formatModuleConfigIssue(w) });
  return (d) => config.modules[d.settings.name] ?? defaultSettings(d.settings);
}

export interface Planned {
  readonly file: string;
  readonly module: Module;
  readonly raw: KubeObject;
  /** The object as the module parsed it. */
  readonly object: unknown;
  readonly plan: Plan<unknown>;
}

export interface PipelineResult {
  /** Every object read that passed its kind's checks. */
  readonly snapshot: Snapshot;
  /** Every object a module reconciles, planned, sorted by kind, namespace and name. */
  readonly plans: Planned[];
  /** Every problem, already written to standard error. */
  readonly problems: LoadProblem[];
}

/**
 * Loads the files, dispatches every object to the module that reconciles its kind, plans it (sorted by
 * kind, namespace and name) and writes warnings and problems to standard error, each with its file,
 * object and field path.
 */
export async function loadAndRender(opts: {
  files: readonly string[];
  metrics: Record<string, string>;
  /** The product's options the modules read (as `ModuleContext.options`). */
  options: Readonly<Record<string, unknown>>;
  io: CliIo;
  /** The modules objects are dispatched to, by kind. */
  modules: readonly Pick<ModuleDefinition, 'create' | 'settings'>[];
  /** The time plans are made at (expiry); default now. */
  now?: Date;
  /** The namespace of input objects that name none, as `kubectl apply -n` gives it; default `default`. */
  namespace?: string;
}): Promise<PipelineResult> {
  const { io } = opts;
  const values = opts.metrics;
  // Filled from the input once it is read: the calls recorded in ServiceFences' status, as a cluster holds them.
  const observedCalls = new ObservedCalls();
  const contextOf = (settings: ModuleSettings) => ({
    settings,
    metrics: { metricsFor: () => ({ values, health: { available: true } }) },
    options: opts.options,
    observedCalls,
  });
  const objects = emptyObjects();
  const problems: LoadProblem[] = [];
  const warnings: LoadProblem[] = [];
  // The kinds the modules reconcile, companions included, needed before the settings are read: they do
  // not depend on them.
  const moduleKinds = new Set<string>(
    withCompanions(opts.modules.map((d) => d.create(contextOf(defaultSettings(d.settings))))).map(
      (m) => m.kind,
    ),
  );
  for (const file of opts.files) {
    let text: string;
    try {
      text = await readInput(file, io);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      problems.push({ file, message: e instanceof Error ? e.message.replace(/^ENOENT: /, '') : String(e) });
      continue;
    }
    const r = loadText(file, text, objects, moduleKinds);
    problems.push(...r.problems);
    warnings.push(...r.warnings);
  }

  if (opts.namespace !== undefined)
    for (const { object } of objects.all)
      if (object.metadata.namespace === undefined && !CLUSTER_SCOPED_INPUT.has(object.kind))
        object.metadata.namespace = opts.namespace;

  // A SlimeBoot among the input sets the modules' settings, as in a cluster.
  const settings = settingsFrom(objects.slimeBoots, opts.modules, problems, warnings);
  const topLevel = opts.modules.map((d) => d.create(contextOf(settings(d))));
  const modules = withCompanions(topLevel);
  // Several modules may reconcile one kind (lazyload and metarouter both plan Services).
  const byKind = new Map<string, Module[]>();
  for (const m of modules) byKind.set(m.kind, [...(byKind.get(m.kind) ?? []), m]);

  const seen = new Map<string, string>();
  const primaries: { file: string; object: KubeObject; module: Module }[] = [];
  for (const { file, object } of objects.all) {
    const owners = byKind.get(object.kind);
    if (!owners) continue;
    const key = `${object.kind} ${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;
    const first = seen.get(key);
    if (first !== undefined)
      problems.push({ file, object: key, message: `defined twice (first in ${first})` });
    else {
      seen.set(key, file);
      for (const module of owners) primaries.push({ file, object, module });
    }
  }

  const input = objects.all.map((o) => o.object);
  recordCallsFromStatus(input, observedCalls);
  const now = opts.now ?? new Date();
  const plans: Planned[] = [];
  let snapshot = staticSnapshot(input);
  let round = primaries;
  // What one module writes another may reconcile (a Service's fence gives a Sidecar): those are planned
  // too, in rounds, each against the input and everything planned before it.
  const generated: KubeObject[] = [];
  for (let depth = 0; round.length > 0 && depth < 4; depth++) {
    const next: typeof primaries = [];
    for (const { file, object: raw, module } of round.sort((a, b) =>
      byKindNamespaceName(a.object, b.object),
    )) {
      const name = `${raw.kind} ${raw.metadata.namespace ?? 'default'}/${raw.metadata.name}`;
      const parsed = module.parse(raw);
      if (!parsed.ok) {
        for (const p of parsed.problems)
          problems.push({ file, object: name, ...(p.path ? { path: p.path } : {}), message: p.message });
        continue;
      }
      const metrics = module.metrics?.(parsed.value, snapshot) ?? { values: {}, health: { available: true } };
      const plan = module.plan({ object: parsed.value, raw, snapshot, metrics, now });
      plans.push({ file, module, raw, object: parsed.value, plan });
      for (const w of plan.warnings ?? []) warnings.push({ file, object: name, message: w });
      for (const p of plan.problems)
        problems.push({ file, object: name, message: p.path ? `${p.path}: ${p.message}` : p.message });
      if (plan.problems.length > 0 || plan.hold) continue;
      for (const d of plan.desired) {
        const owners = byKind.get(d.kind);
        const object = {
          ...d,
          metadata: { ...d.metadata, namespace: d.metadata.namespace ?? raw.metadata.namespace },
        };
        const key = `${d.kind} ${object.metadata.namespace ?? 'default'}/${d.metadata.name}`;
        if (!owners || seen.has(key)) continue;
        seen.set(key, file);
        generated.push(object);
        for (const owner of owners) next.push({ file, object, module: owner });
      }
    }
    if (next.length > 0) snapshot = staticSnapshot([...input, ...generated]);
    round = next;
  }

  for (const w of warnings) io.stderr.write(`warning: ${formatLoadProblem(w)}\n`);
  for (const p of problems) io.stderr.write(`error: ${formatLoadProblem(p)}\n`);
  // The kinds users write, not the cluster kinds a module reconciles without a status of its own (Service).
  const written = modules.filter((m) => m.writesStatus !== false);
  if (!plans.some((p) => written.includes(p.module)) && problems.length === 0) {
    io.stderr.write(`warning: no ${written.map((m) => m.kind).join(' or ')} in the input\n`);
  }
  return { snapshot, plans, problems };
}
