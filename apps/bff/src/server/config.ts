import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';
import {
  formatModuleConfigIssue,
  loadModuleConfig,
  readModuleConfigFile,
  type ModuleConfig,
  type ModuleConfigIssue,
} from '../framework/module-config';
import { type ModuleDeclaration, type ModuleSettings } from '../framework/module-settings';
import { MODULES } from '../modules';
import { LIMITER_MODULE } from '../modules/limiter/settings';
import { redactCredentials } from '../redact';
import { defaultQueries } from '../sources/prometheus';
import type { MetricsConfig, RuntimeMode } from '../runtime';

export type { MetricsConfig, RuntimeMode };

export interface BffConfig {
  host: string;
  port: number;
  /** Directory for state that must survive a restart (the embedded store). */
  dataDir: string;
  mode: RuntimeMode;
  /** `GOVERNOR_NAMESPACE`: where Governor keeps its own cluster objects (Lease, admin ConfigMap). */
  namespace: string;
  /** Where metrics come from; the embedded mode's simulator when unset. */
  metrics: MetricsConfig;
  /** `GOVERNOR_USERS_FILE`: more users than the generated admin (YAML). */
  usersFile?: string;
  /**
   * `GOVERNOR_ALLOWED_ORIGINS` (comma-separated): origins whose browser sessions may change things. Default:
   * the dashboard at `http://127.0.0.1:$WEB_PORT` and `http://localhost:$WEB_PORT` (WEB_PORT default 3000).
   */
  allowedOrigins: string[];
  /** The rate-limit service (Envoy's RLS gRPC API) for `global` limits; null when `GOVERNOR_RLS_PORT=off`. */
  rls: RlsConfig | null;
  /** Which modules run, and their settings. */
  modules: ModulesConfig;
  /**
   * Envoy's access-log service, where sidecars report the calls they make (lazyload with
   * `metricSourceType: accesslog`); null when no module learns from it or `GOVERNOR_ACCESSLOG_PORT=off`.
   */
  accessLog: { port: number } | null;
  /** Governor's MetaProtocol route server (RDS over gRPC); null when metarouter is off or `GOVERNOR_XDS_PORT=off`. */
  xds: { port: number } | null;
  /** The clusters Governor manages (kubernetes mode). */
  clusters: ClustersConfig;
}

export interface ClustersConfig {
  /**
   * `GOVERNOR_CLUSTERS`: the kubeconfig's contexts to manage, comma-separated, or `*` for every context.
   * Unset: the current context alone.
   */
  contexts: readonly string[] | '*' | null;
  /** `GOVERNOR_HOME_CLUSTER`: the cluster whose policies fan out; default the current context's, else the first. */
  home: string | null;
}

export interface ModulesConfig {
  /**
   * `GOVERNOR_MODULES`: a SlimeBoot YAML file (Slime's module configuration); the modules it lists with
   * `enable: true` run. Unset: every module runs with its defaults.
   */
  file?: string;
  /** The file's configuration as loaded (with its entries and issues), when there is a file. */
  fileConfig?: ModuleConfig;
  /**
   * `GOVERNOR_SLIMEBOOT_NAMESPACE`: the namespace whose SlimeBoots are module configuration (a module a
   * SlimeBoot there configures takes its settings over the file's); default `mesh-operator`, `-` (null) off.
   */
  slimeBootNamespace: string | null;
  /** Every module Governor has, by name, on or off: the file's until the SlimeBoots are read. */
  settings: Readonly<Record<string, ModuleSettings>>;
  /** What the file has that is ignored or left unset: worth showing at start-up. */
  warnings: readonly ModuleConfigIssue[];
  notes: readonly ModuleConfigIssue[];
}

export interface RlsConfig {
  /** `GOVERNOR_RLS_PORT`: default 8081 (the port of `governor-rls` in deploy/); 0 picks a free one. */
  port: number;
  /** `GOVERNOR_RLS_DOMAIN`: the domain Envoy's rate-limit filter sends. Default `governor`. */
  domain: string;
  /** `REDIS_URL`: counters shared by every replica (`redis://host:port[/db]`); in this process when unset. */
  redisUrl?: string;
  /** `GOVERNOR_RLS_MAX_CONNECTIONS`: connections the service holds at once (its own default when unset). */
  maxConnections?: number;
  /**
   * `GOVERNOR_RLS_CONFIG`: envoyproxy/ratelimit rule files (comma-separated paths) for other domains, such
   * as those a MetaRouter's `globalRateLimit` names.
   */
  ruleFiles?: string[];
}

/** A setting that the BFF cannot start with; the message tells the operator what to change. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  env: NodeJS.ProcessEnv;
  homeDir: string;
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 4000;

/**
 * Reads the BFF's settings from the environment: `BFF_HOST`, `BFF_PORT`, `GOVERNOR_DATA_DIR`
 * (else `$XDG_DATA_HOME/governor`, else `~/.local/share/governor`), `KUBECONFIG` and
 * `GOVERNOR_ALLOW_REMOTE`; and the file `GOVERNOR_MODULES` names, the one file it reads. The SlimeBoots of
 * `GOVERNOR_SLIMEBOOT_NAMESPACE` are read later, from the cluster (server/slimeboot-modules.ts).
 *
 * @throws ConfigError when a value is invalid (the `GOVERNOR_MODULES` file too: unreadable, or with a value
 *   it cannot use; what it ignores is in `modules.warnings`), or when the host is not a loopback address and
 *   `GOVERNOR_ALLOW_REMOTE=1` is not set: the BFF changes cluster policy, so exposing it is a decision.
 */
export function loadConfig({ env, homeDir }: LoadConfigOptions): BffConfig {
  const host = nonEmpty(env.BFF_HOST) ?? DEFAULT_HOST;
  const port = parsePort(nonEmpty(env.BFF_PORT));
  if (!isLoopbackHost(host) && env.GOVERNOR_ALLOW_REMOTE !== '1') {
    throw new ConfigError(
      `Refusing to listen on ${host}: the BFF changes cluster policy, so by default it only binds to a ` +
        `loopback address (127.0.0.1, ::1 or localhost). Set BFF_HOST to one of those, or set ` +
        `GOVERNOR_ALLOW_REMOTE=1 to expose it on ${host} (every API call still needs a login: the admin token ` +
        `created in the data directory, or the users of GOVERNOR_USERS_FILE).`,
    );
  }
  const modules = modulesConfig(env);
  return {
    host,
    port,
    dataDir: dataDirFrom(env, homeDir),
    mode: nonEmpty(env.KUBECONFIG) === undefined ? 'embedded' : 'kubernetes',
    namespace: nonEmpty(env.GOVERNOR_NAMESPACE) ?? 'governor-system',
    metrics: metricsConfig(env),
    ...(nonEmpty(env.GOVERNOR_USERS_FILE) !== undefined
      ? { usersFile: nonEmpty(env.GOVERNOR_USERS_FILE)! }
      : {}),
    allowedOrigins: allowedOrigins(env),
    rls: rlsConfig(env),
    accessLog: accessLogConfig(env, modules),
    xds: xdsConfig(env, modules),
    modules,
    clusters: clustersConfig(env),
  };
}

function clustersConfig(env: NodeJS.ProcessEnv): ClustersConfig {
  const listed = nonEmpty(env.GOVERNOR_CLUSTERS);
  const contexts =
    listed === undefined
      ? null
      : listed === '*'
        ? '*'
        : listed
            .split(',')
            .map((c) => c.trim())
            .filter((c) => c !== '');
  if (Array.isArray(contexts) && contexts.length === 0)
    throw new ConfigError('GOVERNOR_CLUSTERS: name the kubeconfig contexts (comma-separated), or * for all');
  return { contexts, home: nonEmpty(env.GOVERNOR_HOME_CLUSTER) ?? null };
}

function modulesConfig(env: NodeJS.ProcessEnv): ModulesConfig {
  // The limiter's default queries follow GOVERNOR_PROMETHEUS_RATE_WINDOW (checked in metricsConfig).
  const modules = moduleDeclarations(env);
  const file = nonEmpty(env.GOVERNOR_MODULES);
  let loaded: ModuleConfig;
  if (file === undefined) loaded = loadModuleConfig(undefined, modules);
  else {
    try {
      loaded = readModuleConfigFile(file, modules);
    } catch (e) {
      throw new ConfigError(
        `GOVERNOR_MODULES: ${e instanceof Error ? e.message : String(e)}. Name a SlimeBoot YAML file, or ` +
          `unset it to run every module with its defaults.`,
      );
    }
    if (loaded.errors.length > 0)
      throw new ConfigError(
        `GOVERNOR_MODULES ${file} cannot be used: ${loaded.errors.map(formatModuleConfigIssue).join('; ')}`,
      );
  }
  const slimeBoot = nonEmpty(env.GOVERNOR_SLIMEBOOT_NAMESPACE) ?? 'mesh-operator';
  if (slimeBoot !== '-' && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(slimeBoot))
    throw new ConfigError(
      `GOVERNOR_SLIMEBOOT_NAMESPACE must be a namespace (such as mesh-operator) or - to read no SlimeBoots, got "${slimeBoot}".`,
    );
  return {
    ...(file !== undefined ? { file, fileConfig: loaded } : {}),
    slimeBootNamespace: slimeBoot === '-' ? null : slimeBoot,
    settings: loaded.modules,
    warnings: loaded.warnings,
    notes: loaded.notes,
  };
}

/** The module declarations as the configuration reads them (the limiter's queries follow the rate window). */
export function moduleDeclarations(env: NodeJS.ProcessEnv): ModuleDeclaration[] {
  const rateWindow = nonEmpty(env.GOVERNOR_PROMETHEUS_RATE_WINDOW);
  return MODULES.map((d) => d.settings).map((m) =>
    m === LIMITER_MODULE ? { ...m, defaultQueries: defaultQueries(rateWindow) } : m,
  );
}

/**
 * The configuration with the modules' settings as resolved at start (the SlimeBoots of the cluster over the
 * file): the access-log and route servers follow them.
 */
export function withModuleSettings(
  config: BffConfig,
  env: NodeJS.ProcessEnv,
  settings: Readonly<Record<string, ModuleSettings>>,
): BffConfig {
  const modules = { ...config.modules, settings };
  return { ...config, modules, accessLog: accessLogConfig(env, modules), xds: xdsConfig(env, modules) };
}

/** `GOVERNOR_ACCESSLOG_PORT`: default 8082; 0 picks a free one; off turns the service off. */
function accessLogConfig(env: NodeJS.ProcessEnv, modules: ModulesConfig): { port: number } | null {
  const lazyload = modules.settings.lazyload;
  if (!lazyload?.enable || lazyload.general.metricSourceType !== 'accesslog') return null;
  const port = servicePort(env, 'GOVERNOR_ACCESSLOG_PORT', 8082);
  return port === null ? null : { port };
}

/** `GOVERNOR_XDS_PORT`: default 18010 (istiod has 15010); 0 picks a free one; off turns the server off. */
function xdsConfig(env: NodeJS.ProcessEnv, modules: ModulesConfig): { port: number } | null {
  if (modules.settings.metarouter?.enable === false) return null;
  const port = servicePort(env, 'GOVERNOR_XDS_PORT', 18010);
  return port === null ? null : { port };
}

/** A service's port setting: unset the default, 0 a free port, `off` no service (null). */
function servicePort(env: NodeJS.ProcessEnv, name: string, fallback: number): number | null {
  const raw = nonEmpty(env[name]);
  if (raw === 'off') return null;
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535)
    throw new ConfigError(`${name} must be a port (0 for a free one) or off, got "${raw}".`);
  return Number(raw);
}

function rlsConfig(env: NodeJS.ProcessEnv): RlsConfig | null {
  const port = servicePort(env, 'GOVERNOR_RLS_PORT', 8081);
  if (port === null) return null;
  const redisUrl = nonEmpty(env.REDIS_URL);
  if (redisUrl !== undefined && !/^redis:\/\/[^/]+/.test(redisUrl))
    throw new ConfigError(
      `REDIS_URL must look like redis://host:6379, got "${redactCredentials(redisUrl)}".`,
    );
  const rawMax = nonEmpty(env.GOVERNOR_RLS_MAX_CONNECTIONS);
  if (rawMax !== undefined && !(/^\d+$/.test(rawMax) && Number(rawMax) >= 1))
    throw new ConfigError(`GOVERNOR_RLS_MAX_CONNECTIONS must be a whole number from 1, got "${rawMax}".`);
  return {
    port,
    domain: nonEmpty(env.GOVERNOR_RLS_DOMAIN) ?? 'governor',
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    ...(rawMax !== undefined ? { maxConnections: Number(rawMax) } : {}),
    ...(nonEmpty(env.GOVERNOR_RLS_CONFIG) !== undefined
      ? {
          ruleFiles: env
            .GOVERNOR_RLS_CONFIG!.split(',')
            .map((f) => f.trim())
            .filter((f) => f !== ''),
        }
      : {}),
  };
}

function allowedOrigins(env: NodeJS.ProcessEnv): string[] {
  const raw = nonEmpty(env.GOVERNOR_ALLOWED_ORIGINS);
  if (raw === undefined) {
    const web = nonEmpty(env.WEB_PORT) ?? '3000';
    return [`http://127.0.0.1:${web}`, `http://localhost:${web}`];
  }
  return raw.split(',').map((o) => {
    const origin = o.trim();
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || url.origin !== origin)
      throw new ConfigError(
        `GOVERNOR_ALLOWED_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path), e.g. https://governor.example.com`,
      );
    return origin;
  });
}

function metricsConfig(env: NodeJS.ProcessEnv): MetricsConfig {
  const prometheusUrl = nonEmpty(env.PROMETHEUS_URL);
  if (prometheusUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(prometheusUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new ConfigError(
        `PROMETHEUS_URL must be an http(s) URL such as http://prometheus:9090, got "${redactCredentials(prometheusUrl)}".`,
      );
  }
  const rateWindow = nonEmpty(env.GOVERNOR_PROMETHEUS_RATE_WINDOW);
  if (rateWindow !== undefined && !/^\d+(ms|s|m|h)$/.test(rateWindow))
    throw new ConfigError(
      `GOVERNOR_PROMETHEUS_RATE_WINDOW must be a Prometheus duration such as 30s or 1m, got "${rateWindow}".`,
    );
  const unavailable = nonEmpty(env.GOVERNOR_METRICS_UNAVAILABLE) ?? 'keep';
  if (unavailable !== 'keep' && unavailable !== 'open')
    throw new ConfigError(`GOVERNOR_METRICS_UNAVAILABLE must be keep or open, got "${unavailable}".`);
  return {
    ...(prometheusUrl !== undefined ? { prometheusUrl } : {}),
    ...(rateWindow !== undefined ? { prometheusRateWindow: rateWindow } : {}),
    ...(nonEmpty(env.GOVERNOR_PROMETHEUS_QUERIES) !== undefined
      ? { prometheusQueriesFile: nonEmpty(env.GOVERNOR_PROMETHEUS_QUERIES)! }
      : {}),
    prometheusIntervalMs: millis(env, 'GOVERNOR_PROMETHEUS_INTERVAL_MS', 1000, 100),
    tickMs: millis(env, 'GOVERNOR_TICK_MS', 5000, 0),
    metricTickMs: millis(env, 'GOVERNOR_METRIC_TICK_MS', 1000, 0),
    metricsUnavailable: unavailable,
  };
}

/** A duration in whole milliseconds; 0 (where allowed) turns the timer off. */
function millis(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > 86_400_000)
    throw new ConfigError(`${name} must be whole milliseconds from ${min} to 86400000, got "${raw}".`);
  return value;
}

/** True for `localhost`, any 127.0.0.0/8 address and `::1`; false for wildcards such as `0.0.0.0`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  switch (isIP(bare)) {
    case 4:
      return bare.startsWith('127.');
    case 6:
      return bare === '::1' || bare.toLowerCase().startsWith('::ffff:127.');
    default:
      return false;
  }
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ConfigError(`BFF_PORT must be a whole number from 0 to 65535, got "${raw}".`);
  }
  return port;
}

function dataDirFrom(env: NodeJS.ProcessEnv, homeDir: string): string {
  const explicit = nonEmpty(env.GOVERNOR_DATA_DIR);
  if (explicit !== undefined) return explicit;
  // The XDG base directory spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = nonEmpty(env.XDG_DATA_HOME);
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'governor');
  return join(homeDir, '.local', 'share', 'governor');
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
