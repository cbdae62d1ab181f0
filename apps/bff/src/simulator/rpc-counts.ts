/**
 * The simulated mesh's MetaProtocol calls counted per host, method, route and cluster: per second for the
 * per-method rates the dashboard shows, and in all for the Prometheus counters.
 */
import type { MethodTrafficRow } from '../sources/method-traffic';
import { ExpositionWriter } from './exposition';

/** How a call ended: answered, refused by a local or a global limit, or failed (no upstream). */
export type RpcResponse = 'ok' | 'local_limited' | 'global_limited' | 'error';

export const RPC_RESPONSES: readonly RpcResponse[] = ['ok', 'local_limited', 'global_limited', 'error'];

/** One call as counted. */
export interface RpcCallKey {
  readonly host: string;
  readonly method: string;
  readonly route: string;
  readonly cluster: string;
  readonly subset: string;
}

/** Calls by response, then mirrored copies. */
const MIRRORED = RPC_RESPONSES.length;
const fresh = () => new Float64Array(MIRRORED + 1);

interface Series {
  readonly key: RpcCallKey;
  readonly total: Float64Array;
  readonly seconds: Map<number, Float64Array>;
  /** Mirrored copies by mirror cluster, in all. */
  readonly mirrors: Map<string, number>;
}

/** The method of a call without a `method` attribute, as the rows and metrics show it. */
export const NO_METHOD = '(none)';

export class RpcCounts {
  private readonly series = new Map<string, Series>();

  count(key: RpcCallKey, second: number, response: RpcResponse, mirror: string | null): void {
    const id = `${key.host}\u0000${key.method}\u0000${key.route}\u0000${key.cluster}`;
    let s = this.series.get(id);
    if (!s) this.series.set(id, (s = { key, total: fresh(), seconds: new Map(), mirrors: new Map() }));
    let at = s.seconds.get(second);
    if (!at) s.seconds.set(second, (at = fresh()));
    const i = RPC_RESPONSES.indexOf(response);
    s.total[i]!++;
    at[i]!++;
    if (mirror !== null) {
      s.total[MIRRORED]!++;
      at[MIRRORED]!++;
      s.mirrors.set(mirror, (s.mirrors.get(mirror) ?? 0) + 1);
    }
  }

  /** Per-second rates over the `windowSeconds` complete seconds before `endSecond`, for one host or all. */
  rows(endSecond: number, windowSeconds: number, host?: string): MethodTrafficRow[] {
    const start = endSecond - windowSeconds;
    const out: MethodTrafficRow[] = [];
    for (const s of this.series.values()) {
      if (host !== undefined && s.key.host !== host) continue;
      const sum = fresh();
      let seen = false;
      for (const [second, c] of s.seconds)
        if (second >= start && second < endSecond) {
          seen = true;
          for (let i = 0; i < sum.length; i++) sum[i]! += c[i]!;
        }
      if (!seen) continue;
      const rate = (i: number) => sum[i]! / windowSeconds;
      out.push({
        ...s.key,
        rps: RPC_RESPONSES.reduce((a, _, i) => a + rate(i), 0),
        localLimitedRps: rate(1),
        globalLimitedRps: rate(2),
        errorRps: rate(3),
        mirroredRps: rate(MIRRORED),
      });
    }
    return out.sort(
      (a, b) =>
        a.host.localeCompare(b.host) ||
        a.method.localeCompare(b.method) ||
        a.route.localeCompare(b.route) ||
        a.cluster.localeCompare(b.cluster),
    );
  }

  /** Forgets the seconds before `oldest`. */
  prune(oldest: number): void {
    for (const s of this.series.values())
      for (const second of s.seconds.keys()) if (second < oldest) s.seconds.delete(second);
  }

  /**
   * `governor_metaprotocol_requests_total` by destination service, method, route, cluster, subset and
   * response, and `governor_metaprotocol_mirrored_requests_total` by mirror cluster.
   */
  render(): string {
    const sorted = [...this.series.values()].sort(
      (a, b) =>
        a.key.host.localeCompare(b.key.host) ||
        a.key.method.localeCompare(b.key.method) ||
        a.key.route.localeCompare(b.key.route) ||
        a.key.cluster.localeCompare(b.key.cluster),
    );
    const w = new ExpositionWriter();
    const labels = (k: RpcCallKey) => ({
      destination_service: k.host,
      method: k.method,
      route: k.route,
      cluster: k.cluster,
      subset: k.subset,
    });
    w.family(
      'governor_metaprotocol_requests_total',
      'counter',
      'MetaProtocol calls by method, the route that matched and the cluster it chose, and how they ended.',
    );
    for (const s of sorted)
      RPC_RESPONSES.forEach((response, i) =>
        w.sample('governor_metaprotocol_requests_total', { ...labels(s.key), response }, s.total[i]!),
      );
    w.family(
      'governor_metaprotocol_mirrored_requests_total',
      'counter',
      'MetaProtocol calls copied to a mirror cluster by the route that matched them.',
    );
    for (const s of sorted)
      for (const [mirror, n] of [...s.mirrors].sort(([a], [b]) => a.localeCompare(b)))
        w.sample(
          'governor_metaprotocol_mirrored_requests_total',
          {
            destination_service: s.key.host,
            method: s.key.method,
            route: s.key.route,
            mirror_cluster: mirror,
          },
          n,
        );
    return w.toString();
  }
}
