/**
 * The health of a service or a call from its answers, with Kiali's default tolerances so that the graph
 * reads as Kiali's does: 5xx 0.1% degraded, 10% failing; 4xx 10% degraded, 20% failing.
 */

export type HealthStatus = 'healthy' | 'degraded' | 'failing' | 'idle';

export interface Health {
  readonly status: HealthStatus;
  /** Share of the requests answered 5xx, in percent; null when the source cannot say. */
  readonly serverErrorPercent: number | null;
  /** Share answered 4xx, in percent. */
  readonly clientErrorPercent: number;
}

/** Percentages, as Kiali's `health_config` tolerances are written. */
export const KIALI_TOLERANCES = {
  serverError: { degraded: 0.1, failing: 10 },
  clientError: { degraded: 10, failing: 20 },
} as const;

const RANK: Record<HealthStatus, number> = { idle: 0, healthy: 1, degraded: 2, failing: 3 };

/** The worse of two statuses (a node with a failing call is at least as bad as the call). */
export function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Kiali's check: at or over a tolerance, and only for a non-zero share. */
function against(percent: number, t: { degraded: number; failing: number }): HealthStatus {
  if (percent > 0 && percent >= t.failing) return 'failing';
  if (percent > 0 && percent >= t.degraded) return 'degraded';
  return 'healthy';
}

/**
 * `clientErrorRps` counts every 4xx as Kiali does, so a rate limit's 429s weigh here too: a service
 * limited hard shows as degraded or failing. The dashboard shows the limited requests separately (as
 * `limitedRps`) so that one can tell a limit doing its job from clients being refused for other reasons.
 */
export function healthOf(r: {
  readonly rps: number;
  readonly errorRps: number | null;
  readonly clientErrorRps: number;
}): Health {
  if (!(r.rps > 0)) return { status: 'idle', serverErrorPercent: null, clientErrorPercent: 0 };
  const server = r.errorRps === null ? null : Math.min(100, (100 * r.errorRps) / r.rps);
  const client = Math.min(100, (100 * r.clientErrorRps) / r.rps);
  return {
    status: worse(
      server === null ? 'healthy' : against(server, KIALI_TOLERANCES.serverError),
      against(client, KIALI_TOLERANCES.clientError),
    ),
    serverErrorPercent: server,
    clientErrorPercent: client,
  };
}
