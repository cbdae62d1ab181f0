/**
 * The SlimeBoots of one namespace (`GOVERNOR_SLIMEBOOT_NAMESPACE`, default mesh-operator) as module
 * configuration: read once at start, before the modules are created, and watched afterwards.
 *
 * A change is not applied live: each module is created with its settings (its controller, its informers,
 * the services it serves, the rate-limit service's domain, the access-log and route servers the composition
 * root starts from them), and nothing rebuilds them in a running process. So after a change the BFF keeps
 * running with the settings it started with, and the report says which SlimeBoot changed, when, and what a
 * restart would change.
 */
import { Informer } from '../cluster/informer';
import { NotFoundError, StoreError, type ClusterStore, type KubeObject } from '../cluster/store';
import { formatModuleConfigIssue, loadModuleConfig, type ModuleConfig } from '../framework/module-config';
import { type ModuleDeclaration } from '../framework/module-settings';
import {
  resolveModules,
  settingsOf,
  settingsDiff,
  sourceLabel,
  type ModuleConfigReport,
  type PendingModule,
  type PendingSlimeBoot,
  type ResolvedModules,
  type SlimeBootObject,
  type SlimeBootStatus,
} from '../framework/module-config-sources';

export type { ModuleConfigReport, PendingSlimeBoot, SlimeBootStatus };

import { redactCredentials } from '../redact';
import { moduleDeclarations, withModuleSettings, type BffConfig } from './config';

export interface SlimeBootModulesOptions {
  /** The cluster; none: nothing is read. */
  readonly store?: ClusterStore;
  /** null: SlimeBoots are not read. */
  readonly namespace: string | null;
  readonly modules: readonly ModuleDeclaration[];
  readonly file?: { readonly path: string; readonly config: ModuleConfig };
  /** For tests: the clock. */
  readonly now?: () => Date;
  /** Told of each SlimeBoot change seen after start (for the log). */
  readonly onPending?: (pending: PendingSlimeBoot) => void;
}

interface Seen {
  readonly rv: string | null;
  readonly at: string;
}

const keyOf = (o: { metadata: { namespace?: string; name: string } }) =>
  `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class SlimeBootModules {
  /** The modules' settings and sources, fixed at start. */
  readonly running: ResolvedModules;
  readonly status: SlimeBootStatus;
  private readonly startedWith: Map<string, string | null>;
  private current: Map<string, KubeObject>;
  private readonly seen = new Map<string, Seen>();
  private informer: Informer | null = null;
  /** What the current SlimeBoots would change, resolved once per change rather than per report. */
  private differencesNow: PendingModule[] | null = null;
  private readonly now: () => Date;

  private constructor(
    private readonly options: SlimeBootModulesOptions,
    objects: readonly KubeObject[],
    status: SlimeBootStatus,
  ) {
    this.now = options.now ?? (() => new Date());
    this.status = status;
    this.current = new Map(objects.map((o) => [keyOf(o), o]));
    this.startedWith = new Map(objects.map((o) => [keyOf(o), o.metadata.resourceVersion ?? null]));
    this.running = this.resolve(objects);
  }

  /**
   * Reads the SlimeBoots of the namespace (none when the CRD or the namespace is absent, or the read
   * fails: the status says which) and resolves the modules' settings with the file's.
   */
  static async read(options: SlimeBootModulesOptions): Promise<SlimeBootModules> {
    const { namespace, store } = options;
    if (namespace === null || store === undefined)
      return new SlimeBootModules(options, [], {
        namespace,
        state: 'off',
        message: 'SlimeBoots are not read (GOVERNOR_SLIMEBOOT_NAMESPACE=-)',
        objects: [],
      });
    try {
      const { items } = await store.list('SlimeBoot', namespace);
      const objects = items.map(keyOf).sort();
      return new SlimeBootModules(options, items, {
        namespace,
        state: 'read',
        message:
          items.length === 0
            ? `no SlimeBoot in namespace ${namespace} (or no such namespace)`
            : `${items.length} SlimeBoot${items.length === 1 ? '' : 's'} in namespace ${namespace}: ${objects.join(', ')}`,
        objects,
      });
    } catch (e) {
      // A cluster without Slime has no SlimeBoot CRD: the list is a 404. Not an error of Governor's.
      const noCrd = e instanceof NotFoundError || (e instanceof StoreError && e.status === 404);
      return new SlimeBootModules(options, [], {
        namespace,
        state: noCrd ? 'no-crd' : 'failed',
        message: noCrd
          ? 'no SlimeBoot CRD (slimeboots.config.netease.com) in the cluster: no SlimeBoots'
          : `cannot read the SlimeBoots of namespace ${namespace}: ${e instanceof Error ? e.message : String(e)}`,
        objects: [],
      });
    }
  }

  /** Watches the namespace's SlimeBoots; a change is reported, not applied (see the file's comment). */
  start(): void {
    const { store, namespace } = this.options;
    if (namespace === null || store === undefined || this.informer) return;
    const informer = new Informer(store, 'SlimeBoot', {
      namespace,
      // A CRD installed later is found within this.
      maxBackoffMs: 30_000,
    });
    informer.onChange((change) => {
      const key = keyOf(change.object);
      if (change.type === 'DELETED') this.current.delete(key);
      else this.current.set(key, change.object);
      this.differencesNow = null;
      this.observe(key);
    });
    this.informer = informer;
    void informer.start();
  }

  stop(): void {
    this.informer?.stop();
    this.informer = null;
  }

  /** Notes when a SlimeBoot first differed from the one read at start (cleared when it is back). */
  private observe(key: string): void {
    const started = this.startedWith.get(key);
    const rv = this.current.has(key) ? (this.current.get(key)!.metadata.resourceVersion ?? null) : undefined;
    if (rv === started) {
      this.seen.delete(key);
      return;
    }
    const known = this.seen.get(key);
    if (known && known.rv === (rv ?? null)) return;
    this.seen.set(key, { rv: rv ?? null, at: this.now().toISOString() });
    const { onPending } = this.options;
    if (onPending) {
      const pending = this.pending().find((p) => p.slimeBoot === key);
      if (pending) onPending(pending);
    }
  }

  private resolve(objects: readonly KubeObject[]): ResolvedModules {
    return resolveModules({
      modules: this.options.modules,
      ...(this.options.file ? { file: this.options.file } : {}),
      slimeBoots: objects as unknown as SlimeBootObject[],
    });
  }

  report(): ModuleConfigReport {
    return {
      running: this.running,
      slimeBoot: this.status,
      file: this.options.file?.path ?? null,
      restartPending: this.pending(),
      watching: this.informer !== null,
      // Without the CRD the watch fails until it is installed: the status says so already.
      ...(this.informer?.health().lastError !== undefined && this.status.state !== 'no-crd'
        ? { watchError: this.informer.health().lastError! }
        : {}),
    };
  }

  /** What differs between the running modules and `objects` resolved as the SlimeBoots. */
  private differences(objects: readonly KubeObject[]): PendingModule[] {
    const now = this.resolve(objects);
    const modules: PendingModule[] = [];
    for (const [name, running] of Object.entries(this.running.modules)) {
      const configured = now.modules[name];
      if (!configured) continue;
      const changes = settingsDiff(running.settings, configured.settings);
      const from = sourceLabel(running.source);
      const to = sourceLabel(configured.source);
      if (changes.length === 0 && from === to) continue;
      modules.push({ module: name, runningSource: from, configuredSource: to, changes });
    }
    return modules;
  }

  /**
   * A SlimeBoot as it would be written: its issues as the parser finds them (as at start, a partial
   * configuration), and what a restart would then change in the running modules.
   */
  preview(object: SlimeBootObject): { config: ModuleConfig; modules: PendingModule[] } {
    const config = loadModuleConfig(object, this.options.modules, { partial: true });
    const next = new Map(this.current);
    next.set(keyOf(object), object as unknown as KubeObject);
    return { config, modules: this.differences([...next.values()]) };
  }

  private pending(): PendingSlimeBoot[] {
    if (this.seen.size === 0) return [];
    const modules = (this.differencesNow ??= this.differences([...this.current.values()]));
    return [...this.seen.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, seen]) => {
        const label = `SlimeBoot ${key}`;
        const change = !this.startedWith.has(key) ? 'added' : seen.rv === null ? 'deleted' : 'changed';
        const affected = modules.filter((m) => m.runningSource === label || m.configuredSource === label);
        return {
          slimeBoot: key,
          change,
          at: seen.at,
          message:
            affected.length > 0
              ? `${label} ${change === 'changed' ? 'changed' : change} at ${seen.at}; restart the BFF to apply`
              : `${label} ${change === 'changed' ? 'changed' : change} at ${seen.at}; no module setting Governor uses differs`,
          modules: affected,
        };
      });
  }
}

/** A line for the start-up log. */
export interface LogLine {
  readonly level: 'log' | 'warn';
  readonly text: string;
}

/**
 * At start, before the modules are created: the SlimeBoots of `GOVERNOR_SLIMEBOOT_NAMESPACE` in `store`
 * (the home cluster's) over the `GOVERNOR_MODULES` file; the configuration with the modules' settings as
 * resolved, and what to log about them.
 */
export async function readModuleSources(
  config: BffConfig,
  env: NodeJS.ProcessEnv,
  store: ClusterStore | undefined,
  /** Told of each SlimeBoot change after start, as a line for the log. */
  onChange?: (line: LogLine) => void,
): Promise<{ config: BffConfig; modules: SlimeBootModules; log: LogLine[] }> {
  const { file, fileConfig } = config.modules;
  const modules = await SlimeBootModules.read({
    ...(onChange
      ? {
          onPending: (p: PendingSlimeBoot) => {
            const changes = p.modules.flatMap((m) => m.changes.map((c) => `${m.module} ${c.path}`));
            onChange({
              level: p.modules.length > 0 ? 'warn' : 'log',
              text: redactCredentials(`${p.message}${changes.length > 0 ? ` (${changes.join(', ')})` : ''}`),
            });
          },
        }
      : {}),
    ...(store ? { store } : {}),
    namespace: store ? config.modules.slimeBootNamespace : null,
    modules: moduleDeclarations(env),
    ...(file !== undefined && fileConfig !== undefined ? { file: { path: file, config: fileConfig } } : {}),
  });
  const log: LogLine[] = [];
  const { running, status } = modules;
  log.push({ level: status.state === 'failed' ? 'warn' : 'log', text: `SlimeBoots: ${status.message}` });
  for (const s of running.sources)
    for (const i of s.issues)
      log.push({
        level: i.severity === 'note' ? 'log' : 'warn',
        // The line starts with the source: not again in the issue's place.
        text: `${s.label}: ${i.severity === 'error' ? 'error: ' : ''}${formatModuleConfigIssue({ ...i, source: undefined })}`,
      });
  for (const m of Object.values(running.modules))
    for (const i of m.issues)
      log.push({
        level: i.severity === 'note' ? 'log' : 'warn',
        text: `module ${m.name}: ${i.severity === 'error' ? 'error: ' : ''}${formatModuleConfigIssue(i)}`,
      });
  const enabled = Object.values(running.modules).filter((m) => m.settings.enable);
  log.push({
    level: 'log',
    text: `modules ${enabled.map((m) => `${m.name} (${sourceLabel(m.source)})`).join(', ') || '(none)'}`,
  });
  // A value quoted in a message may be a URL with credentials.
  return {
    config: withModuleSettings(config, env, settingsOf(running)),
    modules,
    log: log.map((l) => ({ ...l, text: redactCredentials(l.text) })),
  };
}
