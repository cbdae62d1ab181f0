/**
 * The API's dependencies, built once per process from the running product: the modules' services, auth,
 * the audit log, the event log and the decision stream.
 */
import type { ClusterStore } from '../cluster/store';
import type { Governor } from '../governor';
import type { ControllerEvent } from '../framework/module-controller';
import type { RuntimeMode } from '../runtime';
import { AuditLog } from '../audit/audit-log';
import type { RlsServer } from '../rls/rls-server';
import { auditFailedLogins, type Auth } from '../auth/auth';
import { Feed } from '../lib/feed';
import { DecisionStream, MeshHistory } from '../live/decision-stream';
import type { ApiDeps, ApiEvent, ApiFleet } from '../api/deps';
import type {
  ModuleConfigReport,
  PendingModule,
  ProductFacts,
  SlimeBootObject,
} from '../framework/module-config-sources';
import type { ModuleConfig } from '../framework/module-config';

/** The running product's parts the API's own routers read (`productOf`). */
export interface Product {
  readonly governor: Governor;
  /** Decisions of the simulated mesh and the rate-limit service; null when neither runs here. */
  readonly decisions: DecisionStream | null;
  /** Per-service history of the simulated mesh; null when Prometheus holds the history. */
  readonly history: MeshHistory | null;
  readonly prometheusUrl: string | undefined;
  readonly rls: RlsServer | undefined;
  /** The module configuration: what runs with which settings from where, and what the modules need. */
  readonly modules: ModulesInfo | undefined;
}

/** What the `modules` router reports: shared by every cluster (one configuration per BFF). */
export interface ModulesInfo {
  report(): ModuleConfigReport;
  /** A SlimeBoot as it would be written: its issues, and what a restart would change (SlimeBoots read). */
  preview?(object: SlimeBootObject): { config: ModuleConfig; modules: PendingModule[] };
  readonly facts: ProductFacts;
  /** The cluster whose SlimeBoots are read. */
  readonly readFrom: string;
}

/** The product behind an API context: what `createApi` put there. */
export const productOf = (deps: ApiDeps): Product => deps.product as Product;

export interface ApiOptions {
  /** The cluster this API's dependencies are of; default `local`. */
  readonly cluster?: string;
  /** Every cluster's API; default this cluster alone. */
  readonly fleet?: ApiFleet;
  readonly governor: Governor;
  readonly store: ClusterStore;
  readonly mode: RuntimeMode;
  readonly auth: Auth;
  readonly audit?: AuditLog;
  readonly prometheusUrl?: string;
  /** The rate-limit service, whose decisions join the stream and whose health is reported. */
  readonly rls?: RlsServer;
  /** Origins whose cookie-authenticated changes are accepted (the dashboard's). */
  readonly allowedOrigins: readonly string[];
  readonly modules?: ModulesInfo;
  /** Audit failed logins as their windows end (default); once per process is enough, not per cluster. */
  readonly auditLogins?: boolean;
}

/** The feeds an ApiDeps needs from the product, connected; `stop` disconnects them. */
export interface Api {
  readonly deps: ApiDeps;
  /** Governor's `onEvent`, `onReconcileError` and `onMetricsHealth` hooks, for its options. */
  start(): void;
  stop(): void;
}

/** The cluster's name where there is one cluster and nothing names it (tests, a single store). */
export const LOCAL_CLUSTER = 'local';

/** Hooks to pass to Governor so that the API's event log hears about the control plane. */
export function eventHooks(events: Feed<ApiEvent>, cluster = LOCAL_CLUSTER) {
  const policyNamespace = (key: string) => key.slice(0, key.indexOf('/'));
  return {
    onEvent: (e: ControllerEvent) =>
      events.publish({
        at: e.at,
        cluster,
        type: e.type,
        reason: e.reason,
        namespace: policyNamespace(e.object),
        policy: e.object,
        message: e.message,
      }),
    onReconcileError: (_module: string, key: string, error: unknown, failures: number) => {
      // The first failure of a run is news; its retries are not.
      if (failures !== 1) return;
      events.publish({
        at: new Date().toISOString(),
        cluster,
        type: 'Warning',
        reason: 'ReconcileFailed',
        namespace: policyNamespace(key),
        policy: key,
        message: error instanceof Error ? error.message : String(error),
      });
    },
    onMetricsHealth: (h: { available: boolean; message?: string }) =>
      events.publish({
        at: new Date().toISOString(),
        cluster,
        type: h.available ? 'Normal' : 'Warning',
        reason: h.available ? 'MetricsRecovered' : 'MetricsUnavailable',
        namespace: null,
        policy: null,
        message: h.available ? 'the metric source answers again' : (h.message ?? 'the metric source is down'),
      }),
  };
}

export function createApi(options: ApiOptions, events: Feed<ApiEvent> = new Feed(1000)): Api {
  const { governor } = options;
  const mesh = governor.mesh;
  const rls = options.rls;
  const snapshot = governor.controlPlane.snapshot;
  const decisions =
    mesh || rls
      ? new DecisionStream(
          (id) => mesh?.simulator.ruleById(id) ?? rls?.ruleById(id),
          (namespace, name) => {
            const s = snapshot.get('Service', namespace, name);
            return s ? { namespace: s.metadata.namespace ?? 'default', name: s.metadata.name } : undefined;
          },
        )
      : null;
  const history =
    mesh && options.prometheusUrl === undefined
      ? new MeshHistory(
          mesh.simulator,
          (namespace, service) =>
            mesh.simulator
              .podStatus()
              .filter((p) => p.namespace === namespace && p.service === service)
              .map((p) => p.pod),
          () =>
            snapshot.list('Service').map((s) => ({
              namespace: s.metadata.namespace ?? 'default',
              name: s.metadata.name,
            })),
        )
      : null;
  const allowed = new Set(options.allowedOrigins);
  let unsubscribe: (() => void) | undefined;
  const product: Product = {
    governor,
    decisions,
    history,
    prometheusUrl: options.prometheusUrl,
    rls,
    modules: options.modules,
  };
  const cluster = options.cluster ?? LOCAL_CLUSTER;
  const deps: ApiDeps = {
    cluster,
    get fleet(): ApiFleet {
      return options.fleet ?? soleCluster;
    },
    modules: governor,
    store: options.store,
    mode: options.mode,
    auth: options.auth,
    audit: (options.audit ?? new AuditLog()).forCluster(
      cluster,
      options.fleet ? options.fleet.home === cluster : true,
    ),
    events,
    recentRequests: decisions
      ? (namespace, service) =>
          decisions.recent
            .since(0)
            .map((f) => f.item)
            .filter((d) => d.namespace === namespace && d.service === service)
      : null,
    product,
    isAllowedOrigin: (origin) => origin !== undefined && allowed.has(origin),
  };
  const soleCluster: ApiFleet = {
    home: cluster,
    clusters: () => [deps],
    get: (name) => (name === cluster ? deps : undefined),
    members: () => [],
    fanout: null,
  };
  let loginAudit: ReturnType<typeof setInterval> | undefined;
  return {
    deps,
    start() {
      if (mesh && decisions) unsubscribe = mesh.simulator.subscribe(decisions.onDecision);
      history?.start();
      // Failed logins are audited when their window ends, even if no one tries again.
      if (options.auditLogins === false) return;
      loginAudit = setInterval(() => auditFailedLogins(deps), 5000);
      loginAudit.unref();
    },
    stop() {
      unsubscribe?.();
      history?.stop();
      if (options.auditLogins === false) return;
      clearInterval(loginAudit);
      auditFailedLogins(deps, true);
    },
  };
}
