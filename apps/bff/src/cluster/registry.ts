/**
 * The clusters of one kubeconfig file: one entry per context (all, or the ones named), each with its own
 * {@link ClusterStore} and a health record probed on an interval. The file is watched, so contexts added,
 * removed or changed there are added, removed or replaced without a restart.
 *
 * Nothing runs a control plane per entry yet: this is the set of clusters and what is known about each.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import {
  GOVERNOR_CRD_NAMES,
  ISTIO_VERSION_UNKNOWN,
  ProbeApi,
  probeCluster,
  type CrdDiff,
} from './cluster-probe';
import { KubernetesStore } from './kubernetes-store';
import type { ClusterStore } from './store';

export interface ClusterHealth {
  /** The last probe reached the API server and every request of it answered. */
  readonly reachable: boolean;
  /** When the last probe that succeeded ended (ISO 8601); null until one has. */
  readonly lastSuccessfulSync: string | null;
  /** When the last probe ended, successful or not. */
  readonly lastProbe: string | null;
  /** Why the last probe failed; null when it did not. */
  readonly lastError: string | null;
  /** `gitVersion` of GET /version, e.g. `v1.36.3`; the last known value while unreachable. */
  readonly apiServerVersion: string | null;
  /**
   * istiod's version from its image tag in istio-system; {@link ISTIO_VERSION_UNKNOWN} when Istio's CRDs
   * are there but no istiod with a tagged image is; null when Istio is not installed.
   */
  readonly istioVersion: string | null;
  /** Governor's CRDs (names as in packages/crd-types/manifests) installed and missing on the cluster. */
  readonly governorCrds: CrdDiff;
}

export interface ClusterEntry {
  /** The context's name sanitised to a DNS label, unique in the registry: for ids (`cluster/namespace/name`). */
  readonly name: string;
  /** The context's name as the kubeconfig spells it. */
  readonly context: string;
  /** The API server's URL. */
  readonly server: string;
  /** A kubeconfig holding only this context (its cluster and user), current. */
  readonly kubeConfig: KubeConfig;
  readonly store: ClusterStore;
  readonly health: ClusterHealth;
}

export type ClusterRegistryEvent =
  | { readonly type: 'added'; readonly cluster: ClusterEntry }
  | { readonly type: 'removed'; readonly cluster: ClusterEntry }
  /** Something other than the probe's timestamps changed. */
  | { readonly type: 'health'; readonly cluster: ClusterEntry; readonly previous: ClusterHealth };

/** A context the registry could not take, or the file when it could not be read. */
export interface RegistryProblem {
  /** null for a problem of the whole file. */
  readonly context: string | null;
  readonly message: string;
}

export interface ClusterRegistryOptions {
  readonly kubeconfigPath: string;
  /** Only these contexts (in this order); default every context of the file. */
  readonly contexts?: readonly string[];
  /** Between the end of one health probe and the start of the next; default 10 s. */
  readonly healthIntervalMs?: number;
  /** A probe that takes longer fails; default the smaller of 5 s and the interval. */
  readonly probeTimeoutMs?: number;
  /** Changes to the file closer together than this are read once; default 200 ms. */
  readonly reloadDebounceMs?: number;
  /** The store of one context; default {@link KubernetesStore.fromKubeConfig}. */
  readonly storeFor?: (kubeConfig: KubeConfig) => ClusterStore;
  readonly now?: () => Date;
}

export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;
const DNS_LABEL_MAX = 63;

export class ClusterRegistry {
  private readonly entries = new Map<string, Running>();
  private readonly listeners = new Set<(event: ClusterRegistryEvent) => void>();
  private fileProblems: RegistryProblem[] = [];
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private closed = false;
  private readonly path: string;
  private readonly interval: number;
  private readonly probeTimeout: number;
  private readonly debounceMs: number;
  private readonly storeFor: (kc: KubeConfig) => ClusterStore;
  private readonly now: () => Date;

  private constructor(private readonly options: ClusterRegistryOptions) {
    this.path = resolve(options.kubeconfigPath);
    this.interval = options.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    this.probeTimeout = options.probeTimeoutMs ?? Math.min(5_000, this.interval);
    this.debounceMs = options.reloadDebounceMs ?? 200;
    this.storeFor = options.storeFor ?? ((kc) => KubernetesStore.fromKubeConfig(kc));
    this.now = options.now ?? (() => new Date());
  }

  /** Reads the file, probes every cluster once, then keeps probing and watching the file. */
  static async open(options: ClusterRegistryOptions): Promise<ClusterRegistry> {
    const registry = new ClusterRegistry(options);
    await registry.reload();
    registry.watchFile();
    return registry;
  }

  /** The clusters, in the file's (or the option's) order of contexts. */
  list(): ClusterEntry[] {
    return [...this.entries.values()].map((r) => r.entry());
  }

  /** By sanitised name or by context name. */
  get(name: string): ClusterEntry | undefined {
    const running = this.entries.get(name) ?? [...this.entries.values()].find((r) => r.context === name);
    return running?.entry();
  }

  /** Contexts that could not be taken, and the file when it could not be read (the last set stays). */
  problems(): RegistryProblem[] {
    return [...this.fileProblems];
  }

  /** Returns the function that removes the listener. */
  onChange(listener: (event: ClusterRegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the file now (the watcher does this on its own); resolves once the set is updated. */
  async reload(): Promise<void> {
    if (this.reloading !== undefined) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.reloadOnce();
        } while (this.reloadAgain && !this.closed);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearTimeout(this.debounce);
    await this.reloading?.catch(() => undefined);
    const running = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(running.map((r) => r.stop()));
  }

  private async reloadOnce(): Promise<void> {
    if (this.closed) return;
    let contexts: LoadedContext[];
    const problems: RegistryProblem[] = [];
    try {
      contexts = loadContexts(this.path);
    } catch (error) {
      // A half-written or briefly missing file must not drop every cluster: keep the current set.
      this.fileProblems = [{ context: null, message: `${this.path}: ${messageOf(error)}` }];
      return;
    }
    const selected = selectContexts(
      contexts.map((c) => c.name),
      this.options.contexts,
    );
    for (const missing of selected.missing) {
      problems.push({ context: missing, message: 'not in the kubeconfig' });
    }
    const byName = new Map(contexts.map((c) => [c.name, c]));
    const wanted = selected.contexts.map((name) => byName.get(name) as LoadedContext);
    const names = clusterNames(wanted.map((c) => c.name));

    // Removed, renamed or changed: stop first, so that a replacement never runs beside its predecessor.
    for (const [name, running] of [...this.entries]) {
      const next = wanted.find((c) => c.name === running.context);
      if (next === undefined || next.fingerprint !== running.fingerprint || names.get(next.name) !== name) {
        this.entries.delete(name);
        await running.stop();
        this.emit({ type: 'removed', cluster: running.entry() });
      }
    }
    const added: Running[] = [];
    for (const context of wanted) {
      const name = names.get(context.name) as string;
      if (this.entries.has(name)) continue;
      let running: Running;
      try {
        running = this.start(name, context);
      } catch (error) {
        problems.push({ context: context.name, message: messageOf(error) });
        continue;
      }
      added.push(running);
    }
    this.fileProblems = problems;

    // An entry joins the list, and is announced, with its first health record.
    await Promise.all(added.map((r) => r.firstProbe));
    if (this.closed) {
      await Promise.all(added.map((r) => r.stop()));
      return;
    }
    for (const running of added) this.entries.set(running.name, running);
    // Keep the file's order of contexts.
    const order = new Map(wanted.map((c, i) => [names.get(c.name) as string, i]));
    const sorted = [...this.entries].sort(([a], [b]) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    this.entries.clear();
    for (const [name, running] of sorted) this.entries.set(name, running);
    for (const running of added) {
      this.emit({ type: 'added', cluster: running.entry() });
      running.schedule();
    }
  }

  private start(name: string, context: LoadedContext): Running {
    const kubeConfig = context.kubeConfig();
    const store = this.storeFor(kubeConfig);
    return new Running({
      name,
      context,
      kubeConfig,
      store,
      interval: this.interval,
      probeTimeout: this.probeTimeout,
      now: this.now,
      onHealth: (running, previous) => {
        if (this.entries.get(running.name) === running) {
          this.emit({ type: 'health', cluster: running.entry(), previous });
        }
      },
    });
  }

  private emit(event: ClusterRegistryEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // One listener's failure is not the registry's, nor the other listeners'.
      }
    }
  }

  /**
   * Watches the file's directory rather than the file: editors and `kubectl config` replace the file by a
   * rename, which a watch on the old inode would not see.
   */
  private watchFile(): void {
    if (this.closed) return;
    const file = basename(this.path);
    this.watcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
      // Some platforms give no name; a Secret mount changes `..data`, not the file: read again anyway.
      if (changed !== null && changed !== file && !String(changed).startsWith('..')) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload(), this.debounceMs);
      this.debounce.unref();
    });
    this.watcher.on('error', (error) => {
      this.fileProblems = [...this.fileProblems, { context: null, message: `watch: ${messageOf(error)}` }];
    });
  }
}

/** One context of the file: enough to build its own KubeConfig, and a fingerprint to see it change. */
interface LoadedContext {
  readonly name: string;
  readonly fingerprint: string;
  readonly server: string;
  kubeConfig(): KubeConfig;
}

function loadContexts(path: string): LoadedContext[] {
  const kc = new KubeConfig();
  // loadFromFile resolves the file's relative certificate paths against its directory.
  kc.loadFromFile(path);
  return kc.getContexts().map((context: Context) => {
    const cluster: Cluster | null = kc.getCluster(context.cluster);
    const user: User | null = kc.getUser(context.user);
    return {
      name: context.name,
      fingerprint: JSON.stringify({ context, cluster, user }),
      server: cluster?.server ?? '',
      kubeConfig: () => {
        if (cluster === null) throw new Error(`the context names no cluster ("${context.cluster}")`);
        const own = new KubeConfig();
        own.loadFromOptions({
          clusters: [cluster],
          users: user === null ? [] : [user],
          contexts: [context],
          currentContext: context.name,
        });
        return own;
      },
    };
  });
}

class Running {
  readonly name: string;
  readonly context: string;
  readonly fingerprint: string;
  readonly firstProbe: Promise<void>;
  private readonly server: string;
  private readonly kubeConfig: KubeConfig;
  private readonly store: ClusterStore;
  private readonly api: ProbeApi;
  private health: ClusterHealth = {
    reachable: false,
    lastSuccessfulSync: null,
    lastProbe: null,
    lastError: null,
    apiServerVersion: null,
    istioVersion: null,
    governorCrds: { installed: [], missing: [...GOVERNOR_CRD_NAMES] },
  };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private probing: Promise<void> | undefined;
  /** Health events start once the registry has announced the entry with its first record. */
  private announced = false;

  constructor(
    private readonly options: {
      name: string;
      context: LoadedContext;
      kubeConfig: KubeConfig;
      store: ClusterStore;
      interval: number;
      probeTimeout: number;
      now: () => Date;
      onHealth: (running: Running, previous: ClusterHealth) => void;
    },
  ) {
    this.name = options.name;
    this.context = options.context.name;
    this.fingerprint = options.context.fingerprint;
    this.server = options.context.server;
    this.kubeConfig = options.kubeConfig;
    this.store = options.store;
    this.api = options.kubeConfig.makeApiClient(ProbeApi);
    this.firstProbe = this.probe();
  }

  entry(): ClusterEntry {
    return {
      name: this.name,
      context: this.context,
      server: this.server,
      kubeConfig: this.kubeConfig,
      store: this.store,
      health: this.health,
    };
  }

  /** The next probe, `interval` after the last one ended, so that slow probes never overlap. */
  schedule(): void {
    if (this.stopped) return;
    this.announced = true;
    this.timer = setTimeout(() => {
      void this.probe().then(() => this.schedule());
    }, this.options.interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.probing;
    await this.store.close().catch(() => undefined);
  }

  private probe(): Promise<void> {
    this.probing = (async () => {
      const previous = this.health;
      let next: ClusterHealth;
      try {
        const result = await withTimeout(probeCluster(this.api), this.options.probeTimeout);
        const at = this.options.now().toISOString();
        next = { ...result, reachable: true, lastSuccessfulSync: at, lastProbe: at, lastError: null };
      } catch (error) {
        // What was learnt last stays: it is what the cluster was when it was last seen.
        next = {
          ...previous,
          reachable: false,
          lastProbe: this.options.now().toISOString(),
          lastError: messageOf(error),
        };
      }
      if (this.stopped) return;
      this.health = next;
      if (this.announced && healthChanged(previous, next)) this.options.onHealth(this, previous);
    })();
    return this.probing;
  }
}

/**
 * The contexts to run: all of the file's, or the wanted ones the file has (in the wanted order), and the
 * wanted ones it lacks.
 */
export function selectContexts(
  available: readonly string[],
  wanted?: readonly string[],
): { contexts: string[]; missing: string[] } {
  if (wanted === undefined) return { contexts: [...new Set(available)], missing: [] };
  const has = new Set(available);
  const unique = [...new Set(wanted)];
  return { contexts: unique.filter((c) => has.has(c)), missing: unique.filter((c) => !has.has(c)) };
}

/**
 * A context's name as a DNS label (RFC 1123: lower case letters, digits and '-', a letter or digit at
 * each end, at most 63 characters), for ids such as `cluster/namespace/name`.
 */
export function sanitizeClusterName(context: string): string {
  const label = context
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, DNS_LABEL_MAX)
    .replace(/-+$/, '');
  return label === '' ? 'cluster' : label;
}

/**
 * Each context's cluster name: its sanitised name, unless two contexts sanitise alike; then each of them
 * gets a short hash of its own name appended, so that the names stay distinct and do not depend on order.
 */
export function clusterNames(contexts: readonly string[]): Map<string, string> {
  const groups = new Map<string, string[]>();
  for (const context of new Set(contexts)) {
    const name = sanitizeClusterName(context);
    groups.set(name, [...(groups.get(name) ?? []), context]);
  }
  const names = new Map<string, string>();
  for (const [name, members] of groups) {
    for (const context of members) {
      if (members.length === 1) {
        names.set(context, name);
        continue;
      }
      const hash = createHash('sha256').update(context).digest('hex').slice(0, 6);
      const base = name.slice(0, DNS_LABEL_MAX - hash.length - 1).replace(/-+$/, '');
      names.set(context, `${base}-${hash}`);
    }
  }
  return names;
}

/** Whether anything beyond the probe's timestamps changed. */
function healthChanged(a: ClusterHealth, b: ClusterHealth): boolean {
  const strip = ({ lastSuccessfulSync: _s, lastProbe: _p, ...rest }: ClusterHealth) => JSON.stringify(rest);
  return strip(a) !== strip(b);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An error's message, with its cause's when the message alone says little (fetch's "fetch failed"). */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

export { GOVERNOR_CRD_NAMES, ISTIO_VERSION_UNKNOWN, type CrdDiff };
