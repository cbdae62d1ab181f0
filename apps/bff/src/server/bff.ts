/**
 * The BFF assembled: the product (Governor) over a store, the tRPC API with auth and audit, and the HTTP
 * server that serves both. main.ts starts it from the environment; tests start it in-process.
 */
import type { ClusterStore } from '../cluster/store';
import { Governor, type GovernorOptions } from '../governor';
import { metricPushSchema } from '../sources/metric-push';
import { allows, type Auth, type User } from '../auth/auth';
import { AuditLog } from '../audit/audit-log';
import { createApi, eventHooks, LOCAL_CLUSTER, productOf, type Api } from '../trpc/create-api';
import { Fleet } from '../fleet/fleet';
import { embeddedMembers, type FleetMember, type FleetMembers } from '../fleet/members';
import { Feed } from '../lib/feed';
import { createApiHandler } from '../trpc/handler';
import type { ApiDeps, ApiEvent, ApiFleet } from '../api/deps';
import { changeRefusal, contextFrom } from '../api/trpc';
import type { Decision } from '@governor/limiter';
import { readFile } from 'node:fs/promises';
import { RlsServer } from '../rls/rls-server';
import { formatConfigIssue, parseRateLimitConfigs } from '../rls/ratelimit-config';
import { AccessLogServer } from '../accesslog/accesslog-server';
import { RouteServer } from '../xds/route-server';
import type { MeshDecision } from '../simulator';

/** A decision made for an Envoy RLS call, in the form of the mesh's decision stream. */
function rlsDecision(
  d: Decision,
  entries: readonly { key: string; value: string }[],
  domain?: string,
  governorDomain = 'governor',
): MeshDecision {
  // Governor's descriptor values name the service: `Service[reviews.default]-Id[…]`. Another domain's
  // (a MetaRouter's global limit) name no service: the row says the domain and what was sent.
  const value = entries.find((e) => e.key === 'generic_key')?.value ?? d.ruleId ?? '';
  const m = /^Service\[([^.\]]+)\.([^\]]+)\]/.exec(value);
  const other = domain !== undefined && domain !== governorDomain;
  return {
    t: d.atMs,
    namespace: m?.[2] ?? '',
    service: other
      ? `domain ${domain}: ${entries.map((e) => `${e.key}=${e.value}`).join(', ')}`
      : (m?.[1] ?? ''),
    pod: '(rate-limit service)',
    user: '',
    outcome: d.outcome,
    ruleId: d.ruleId,
    remaining: Number.isFinite(d.remaining) ? d.remaining : null,
  };
}
import type { RuntimeMode } from '../runtime';
import { createHttpServer, type BffHttpServer, type ServerInfo } from './http-server';
import { ControllerMetrics, joinExpositions } from '../framework/controller-metrics';
import { redactCredentials } from '../redact';
import {
  givenModules,
  type ModuleConfigReport,
  type PendingModule,
  type ProductFacts,
  type SlimeBootObject,
} from '../framework/module-config-sources';
import type { ModuleConfig } from '../framework/module-config';

/**
 * Feeds the rate-limit service the rule files' domains (envoyproxy/ratelimit's format); any issue refuses
 * them all with every issue's file and line.
 */
export async function loadRuleFiles(rls: RlsServer, files: readonly string[]): Promise<void> {
  const texts = await Promise.all(
    files.map(async (file) => ({
      file,
      text: await readFile(file, 'utf8').catch((e: unknown) => {
        throw new Error(`${file}: cannot read (${e instanceof Error ? e.message : String(e)})`);
      }),
    })),
  );
  const { configs, issues } = parseRateLimitConfigs(texts);
  const errors = issues.filter((i) => i.severity !== 'warning');
  if (errors.length > 0) throw new Error(errors.map(formatConfigIssue).join('; '));
  for (const c of configs) rls.updateDomainRules(`file:${c.file}`, c.domain, c.rules);
}

export interface BffOptions {
  /** Serve Envoy's rate-limit API for the `global` descriptors (listen with {@link Bff.listenRls}). */
  readonly rls?: {
    readonly domain?: string;
    readonly redisUrl?: string;
    readonly maxConnections?: number;
    /** envoyproxy/ratelimit rule files for other domains (a MetaRouter's global limits), read at start. */
    readonly ruleFiles?: readonly string[];
  } | null;
  /** Serve Envoy's access-log API: the calls sidecars make, for lazyload (listen with {@link Bff.listenAccessLog}). */
  readonly accessLog?: boolean;
  /** Serve MetaProtocol proxies their routes over RDS (listen with {@link Bff.listenXds}). */
  readonly xds?: boolean;
  /** The one cluster's store, when `clusters` is not given: then the cluster is named `local`. */
  readonly store?: ClusterStore;
  /** The clusters, each with its own control plane; the policies of `home` (default the first) fan out. */
  readonly clusters?: {
    readonly members: FleetMembers;
    readonly home?: string;
    /** Options of one cluster's Governor over the shared ones (e.g. its simulated traffic). */
    readonly governor?: (member: FleetMember) => Partial<GovernorOptions>;
    /** Retry backoff of the fan-out (tests shorten it). */
    readonly fanoutBackoffMs?: { readonly initial: number; readonly max: number };
    /** No policy fan-out: for a set of clusters that cannot grow past one (default on). */
    readonly fanout?: false;
  };
  readonly mode: RuntimeMode;
  readonly governor: Omit<GovernorOptions, 'store' | 'onEvent' | 'onReconcileError' | 'onMetricsHealth'>;
  readonly auth: Auth;
  readonly audit?: AuditLog;
  readonly allowedOrigins: readonly string[];
  readonly info: Omit<ServerInfo, 'mode'>;
  /**
   * The module configuration and its sources (the SlimeBoots read and watched, the file), for the
   * `modules` router; its watch runs while the BFF does. Default: `governor.moduleSettings` as given.
   */
  readonly moduleConfig?: ModuleConfigSource;
}

/** The module configuration as the BFF reports it (server/slimeboot-modules.ts). */
export interface ModuleConfigSource {
  report(): ModuleConfigReport;
  /** A SlimeBoot as it would be written: its issues, and what a restart would change (SlimeBoots read). */
  preview?(object: SlimeBootObject): { config: ModuleConfig; modules: PendingModule[] };
  start?(): void;
  stop?(): void;
}

export interface Bff {
  /** The home cluster's. */
  readonly governor: Governor;
  /** Every cluster's control plane, and the fan-out. */
  readonly fleet: Fleet<Governor>;
  readonly rls: RlsServer | null;
  /** Starts the rate-limit service on `host:port`; resolves with the port. */
  listenRls(host: string, port: number): Promise<number>;
  readonly accessLog: AccessLogServer | null;
  /** Starts the access-log service on `host:port`; resolves with the port. */
  listenAccessLog(host: string, port: number): Promise<number>;
  readonly routeServer: RouteServer | null;
  /** Starts the MetaProtocol route server on `host:port`; resolves with the port. */
  listenXds(host: string, port: number): Promise<number>;
  readonly api: Api;
  readonly server: BffHttpServer;
  /** The controllers' and engines' counters, served at `GET /metrics`. */
  readonly controllerMetrics: ControllerMetrics;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createBff(options: BffOptions): Bff {
  const events = new Feed<ApiEvent>(1000);
  const controllerMetrics = new ControllerMetrics();
  const rls = options.rls
    ? new RlsServer({
        ...(options.rls.domain ? { domain: options.rls.domain } : {}),
        ...(options.rls.redisUrl ? { redisUrl: options.rls.redisUrl } : {}),
        ...(options.rls.maxConnections
          ? { serverLimits: { maxConnections: options.rls.maxConnections } }
          : {}),
        // Decisions made for Envoy's calls join the mesh's in the dashboard.
        onDecision: (d, entries, domain) => {
          controllerMetrics.countDecision('rls', d.outcome);
          productOf(api.deps).decisions?.onDecision(
            rlsDecision(d, entries, domain, options.rls?.domain ?? 'governor'),
          );
        },
      })
    : null;
  const modulesFacts: ProductFacts = {
    simulatedMesh: options.governor.simulate,
    ...(options.governor.metrics.prometheusUrl
      ? { prometheusUrl: options.governor.metrics.prometheusUrl }
      : {}),
    rls: options.rls ? { redis: options.rls.redisUrl !== undefined } : null,
    accessLog: options.accessLog === true,
    xds: options.xds === true,
  };
  const members =
    options.clusters?.members ??
    embeddedMembers([{ name: LOCAL_CLUSTER, store: required(options.store, 'store or clusters') }]);
  const homeName = options.clusters?.home ?? members.list()[0]?.name;
  const backoff = options.clusters?.fanoutBackoffMs;
  // One store alone has nowhere to fan out to: no fan-out watching the policies a second time.
  const fanout = options.clusters !== undefined && options.clusters.fanout !== false;
  const audit = options.audit ?? new AuditLog();
  const apis = new Map<string, Api>();
  const moduleConfig: ModuleConfigSource = options.moduleConfig ?? givenModuleConfig(options);
  let started = false;
  const fleet: Fleet<Governor> = new Fleet({
    members,
    ...(homeName !== undefined ? { home: homeName } : {}),
    fanout: fanout && (backoff ? { initialBackoffMs: backoff.initial, maxBackoffMs: backoff.max } : {}),
    create: (member) => {
      const governor = new Governor({
        ...options.governor,
        ...options.clusters?.governor?.(member),
        store: member.store,
        controllerMetrics: controllerMetrics.forCluster(member.name),
        ...eventHooks(events, member.name),
        onLimiterRules: (key, rules) => {
          // One rate-limit service answers for every cluster: a limiter's key names its cluster but home's.
          const rlsKey = member.name === fleet.home ? key : `${member.name}:${key}`;
          rls?.updateLimiter(rlsKey, rules);
          options.governor.onLimiterRules?.(rlsKey, rules);
        },
      });
      return governor;
    },
    onChange: (event) => {
      if (event.type === 'removed') {
        apis.get(event.member.name)?.stop();
        apis.delete(event.member.name);
      } else if (event.type === 'added' && started) apiOf(event.member.name)?.start();
    },
  });
  const apiFleet: ApiFleet = {
    home: fleet.home,
    clusters: () =>
      fleet
        .list()
        .map((c) => apiOf(c.name)?.deps)
        .filter((d): d is ApiDeps => d !== undefined),
    get: (name) => apiOf(name)?.deps,
    members: () => members.list(),
    fanout: fleet.fanout,
  };
  /** A cluster's API, made the first time it is asked for. */
  function apiOf(name: string): Api | undefined {
    const known = apis.get(name);
    if (known) return known;
    const cluster = fleet.get(name);
    if (!cluster) return undefined;
    const home = name === fleet.home;
    const made = createApi(
      {
        cluster: name,
        fleet: apiFleet,
        governor: cluster.plane,
        store: cluster.member.store,
        mode: options.mode,
        auth: options.auth,
        audit,
        ...(options.governor.metrics.prometheusUrl
          ? { prometheusUrl: options.governor.metrics.prometheusUrl }
          : {}),
        allowedOrigins: options.allowedOrigins,
        // One configuration for every cluster: the home cluster's SlimeBoots and the file.
        modules: {
          report: () => moduleConfig.report(),
          ...(moduleConfig.preview ? { preview: (o) => moduleConfig.preview!(o) } : {}),
          facts: modulesFacts,
          readFrom: fleet.home,
        },
        // The rate-limit service's decisions join the home cluster's stream.
        ...(rls && home ? { rls } : {}),
        auditLogins: home,
      },
      events,
    );
    apis.set(name, made);
    return made;
  }
  const api = required(apiOf(fleet.home), 'the home cluster');
  const governor = fleet.homeCluster().plane;
  const mesh = governor.mesh;
  // For the BFF's lifetime, as the simulator's: it decides only while it runs.
  for (const c of fleet.list())
    c.plane.mesh?.simulator.subscribe((d) => controllerMetrics.countDecision('mesh', d.outcome));
  const server = createHttpServer({
    info: { ...options.info, mode: options.mode },
    // The controllers' metrics, then the simulated mesh's (Istio's and cAdvisor's names: none shared).
    metricsText: async () =>
      joinExpositions([await controllerMetrics.text(), ...(mesh ? [mesh.simulator.renderMetrics()] : [])]),
    api: createApiHandler(api.deps),
    // The plain POST endpoints take the same credentials as the API: a session from the dashboard's origin,
    // or a bearer token; and an editor's role.
    authenticate: (req) => {
      const ctx = contextFrom(api.deps, req);
      const refusal = changeRefusal(ctx, 'editor');
      if (refusal)
        return { ok: false, status: refusal.code === 'UNAUTHORIZED' ? 401 : 403, message: refusal.message };
      return { ok: true, user: ctx.user };
    },
    health: () => ({
      ...governor.controlPlane.health(),
      clusters: members.list().map((m) => ({
        name: m.name,
        home: m.name === fleet.home,
        reachable: m.health.reachable,
        lastSuccessfulSync: m.health.lastSuccessfulSync,
      })),
      metrics: governor.prometheus
        ? { source: 'prometheus', url: redactCredentials(governor.prometheus.url) }
        : { source: mesh ? 'embedded mesh' : 'pushed values only' },
    }),
    metricPush: (body, user) => {
      const parsed = metricPushSchema.safeParse(body);
      const u = user as User;
      if (parsed.success && !allows(u, 'editor', parsed.data.namespace))
        return {
          status: 403,
          body: {
            error: 'forbidden',
            message: `${u.name} may not change namespace ${parsed.data.namespace}`,
          },
        };
      const r = governor.pushed.push(body);
      // A pushed value may move a limit: look now rather than at the next tick.
      if (r.status === 200) governor.metricsChanged();
      return r;
    },
    ...(mesh
      ? {
          simulatorLoad: (body: unknown, user: unknown) => {
            const r = mesh.changeLoad(body);
            if (r.status === 200)
              api.deps.audit.record({
                user: (user as User).name,
                action: 'load',
                detail: JSON.stringify(r.body),
              });
            return r;
          },
        }
      : {}),
  });
  let rlsListening = false;
  let accessLog: AccessLogServer | null = null;
  let routeServer: RouteServer | null = null;
  let stopServing = (): void => undefined;
  return {
    governor,
    fleet,
    rls,
    async listenRls(host, port) {
      if (!rls) throw new Error('the rate-limit service is off');
      const bound = await rls.listen(host, port);
      rlsListening = true;
      return bound;
    },
    get accessLog() {
      return accessLog;
    },
    async listenAccessLog(host, port) {
      if (!options.accessLog) throw new Error('the access-log service is off');
      if (accessLog) throw new Error('the access-log service is listening already');
      const server = new AccessLogServer({ calls: governor.observedCalls, host, port });
      const bound = await server.listen();
      accessLog = server;
      return bound;
    },
    get routeServer() {
      return routeServer;
    },
    async listenXds(host, port) {
      if (!options.xds) throw new Error('the route server is off');
      if (routeServer) throw new Error('the route server is listening already');
      const server = new RouteServer({ host, port });
      const stopRoutes = governor.serveRoutes(server);
      const bound = await server.listen(host, port);
      routeServer = server;
      // The embedded mesh's proxies are clients of it, over loopback when it listens on every address.
      const target =
        host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      const stopProxies = governor.connectMeshProxies(`${target}:${bound}`);
      stopServing = () => {
        stopProxies();
        stopRoutes();
      };
      return bound;
    },
    api,
    server,
    controllerMetrics,
    async start() {
      await fleet.start();
      moduleConfig.start?.();
      started = true;
      for (const c of fleet.list()) apiOf(c.name)?.start();
    },
    async stop() {
      moduleConfig.stop?.();
      for (const a of apis.values()) a.stop();
      await fleet.stop();
      if (rls && rlsListening) await rls.close();
      await accessLog?.close();
      stopServing();
      await routeServer?.close();
    },
  };
}

/** The settings the options give (or the defaults), with no SlimeBoots and nothing to watch. */
function givenModuleConfig(options: BffOptions): ModuleConfigSource {
  const running = givenModules(
    options.governor.modules.map((d) => d.settings),
    options.governor.moduleSettings,
  );
  return {
    report: () => ({
      running,
      slimeBoot: { namespace: null, state: 'off', message: 'SlimeBoots are not read', objects: [] },
      file: null,
      restartPending: [],
      watching: false,
    }),
  };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the BFF needs ${what}`);
  return value;
}
