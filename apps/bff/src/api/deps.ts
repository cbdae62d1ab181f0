/**
 * What the API's procedures work with, as the modules' routers see it: the modules' services, the cluster
 * store, auth, the audit log and the event log. The running product's other parts (the simulated mesh,
 * Prometheus, the rate-limit service) are the API's own routers' business: `trpc/create-api.ts`.
 */
import type { AuditView } from '../audit/audit-log';
import type { Auth } from '../auth/auth';
import type { ClusterStore } from '../cluster/store';
import type { FanoutController } from '../fleet/fanout';
import type { FleetMember } from '../fleet/members';
import type { ModuleServices } from '../framework/registry';
import type { Feed } from '../lib/feed';
import type { RuntimeMode } from '../runtime';

export interface ApiEvent {
  readonly at: string;
  /** The cluster the event happened in. */
  readonly cluster: string;
  readonly type: 'Normal' | 'Warning';
  /** `QuotaChanged`, `Invalid`, `ReconcileFailed`, `MetricsUnavailable`, `MetricsRecovered`, `PolicyApplied`, … */
  readonly reason: string;
  readonly namespace: string | null;
  /** `namespace/name` of the SmartLimiter concerned, if one. */
  readonly policy: string | null;
  readonly message: string;
}

/** A request the mesh served, as recorded (what a what-if replay over recent traffic replays). */
export interface RecordedRequest {
  /** Epoch ms. */
  readonly t: number;
  readonly namespace: string;
  readonly service: string;
  readonly pod: string;
  /** The `x-user` header it carried. */
  readonly user: string;
}

/** Every cluster the API serves, each with its own dependencies. */
export interface ApiFleet {
  /** The cluster whose policies fan out, and the one a request without `cluster` works on. */
  readonly home: string;
  /** Every cluster's dependencies, in the fleet's order. */
  clusters(): readonly ApiDeps[];
  get(name: string): ApiDeps | undefined;
  /** The clusters as the fleet knows them now (health included). */
  members(): readonly FleetMember[];
  /** The policy fan-out from the home cluster; null when there is none. */
  readonly fanout: FanoutController | null;
}

export interface ApiDeps {
  /** The cluster these dependencies are of (`cluster` of `cluster/namespace/name`). */
  readonly cluster: string;
  /** Every cluster's, this one's among them. */
  readonly fleet: ApiFleet;
  /** The services of the enabled modules. */
  readonly modules: ModuleServices;
  readonly store: ClusterStore;
  readonly mode: RuntimeMode;
  readonly auth: Auth;
  /** This cluster's part of the audit log. */
  readonly audit: AuditView;
  readonly events: Feed<ApiEvent>;
  /** The requests a service served lately, oldest first; null where nothing records them. */
  readonly recentRequests: ((namespace: string, service: string) => readonly RecordedRequest[]) | null;
  /** The running product, for the API's own routers (see `productOf` in `trpc/create-api.ts`). */
  readonly product: unknown;
  isAllowedOrigin(origin: string | undefined): boolean;
}
