/**
 * Calls of MetaProtocol services by method, as observed: what the dashboard's per-method table shows. The
 * embedded mesh records its simulated RPC calls here; a real mesh's would come from the proxies' metrics.
 */

/** One method's traffic to one destination subset over the last window. */
export interface MethodTrafficRow {
  /** The service's host (`rating-rpc.default.svc.cluster.local`). */
  readonly host: string;
  readonly method: string;
  /** The route that matched (its name), or `default`. */
  readonly route: string;
  /** Where the calls went: `outbound|9090|v2|rating-rpc.default.svc.cluster.local`. */
  readonly cluster: string;
  readonly subset: string;
  /** Calls per second, and of those: refused by a local limit, by a global limit, failed. */
  readonly rps: number;
  readonly localLimitedRps: number;
  readonly globalLimitedRps: number;
  readonly errorRps: number;
  /** Calls per second copied to a mirror cluster. */
  readonly mirroredRps: number;
}

export interface MethodTrafficSource {
  /** Rows for one host, or every host. */
  rows(host?: string): readonly MethodTrafficRow[];
}

export const NO_METHOD_TRAFFIC: MethodTrafficSource = { rows: () => [] };
