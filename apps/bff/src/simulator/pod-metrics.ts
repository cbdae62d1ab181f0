/**
 * The simulated pods' metrics: as the default Prometheus queries would compute them, and as the Prometheus
 * text exposition with the names Istio and cAdvisor use (so that the same PromQL works against the
 * simulated mesh and a real one).
 */
import { ExpositionWriter, histogramQuantile, type Labels } from './exposition';
import {
  BUCKETS,
  SNAP_ABORTED,
  SNAP_CPU,
  SNAP_HIST,
  SNAP_LIMITED,
  SNAP_OK,
  SNAP_T,
  sourceKey,
  type AbortAnswer,
  type PodState,
  type RequestSource,
} from './pods';

/** Calls that went through the lazyload fallback, from one workload to one service. */
export interface FallbackCount {
  readonly sourceNamespace: string;
  readonly sourceApp: string;
  /** The destination service's FQDN. */
  readonly destination: string;
  readonly requests: number;
}

/** The `metricsFor` values of a set of pods, meaning what the Prometheus defaults mean. */
export interface SimulatedMetricValues {
  /** CPU used as a percentage of the pods' CPU limit, summed over the pods. */
  readonly 'cpu.percent': number;
  /** Requests per second received (allowed and limited). */
  readonly qps: number;
  /** Requests per second answered 429. */
  readonly limited_qps: number;
  /** Requests per second the fault filter aborted (answered with its status; counted in `qps`). */
  readonly aborted_qps: number;
  /** 99th percentile of latency (ms); absent without requests in the window. */
  readonly rt99?: number;
  /** Slime's raw values: cumulative CPU seconds, summed and the largest. */
  readonly 'cpu.sum': number;
  readonly 'cpu.max': number;
}

/**
 * The values the default queries give for `states` at `nowMs`, with rates over the last `rateWindowMs`.
 * Empty without pods, as a query matching nothing.
 */
export function metricValuesOf(
  states: readonly PodState[],
  nowMs: number,
  rateWindowMs: number,
): Partial<SimulatedMetricValues> {
  if (states.length === 0) return {};
  const from = nowMs - rateWindowMs;
  let cpuRate = 0;
  let cpuLimit = 0;
  let qps = 0;
  let limitedQps = 0;
  let abortedQps = 0;
  let cpuSum = 0;
  let cpuMax = 0;
  const hist = new Float64Array(BUCKETS.length + 1);
  for (const p of states) {
    cpuLimit += p.cpuLimitCores;
    cpuSum += p.cpuSeconds;
    cpuMax = Math.max(cpuMax, p.cpuSeconds);
    const now = p.snapshot(nowMs);
    // The newest snapshot at or before the window's start (or the oldest kept), as rate() over it.
    let then = p.snapshots[0] ?? now;
    for (const snap of p.snapshots) if (snap[SNAP_T]! <= from) then = snap;
    const seconds = (now[SNAP_T]! - then[SNAP_T]!) / 1000;
    if (seconds <= 0) {
      cpuRate += p.cpuCores;
      continue;
    }
    cpuRate += (now[SNAP_CPU]! - then[SNAP_CPU]!) / seconds;
    const aborted = now[SNAP_ABORTED]! - then[SNAP_ABORTED]!;
    qps += (now[SNAP_OK]! + now[SNAP_LIMITED]! - then[SNAP_OK]! - then[SNAP_LIMITED]! + aborted) / seconds;
    limitedQps += (now[SNAP_LIMITED]! - then[SNAP_LIMITED]!) / seconds;
    abortedQps += aborted / seconds;
    for (let i = 0; i <= BUCKETS.length; i++) hist[i]! += now[SNAP_HIST + i]! - then[SNAP_HIST + i]!;
  }
  const rt99 = histogramQuantile(0.99, BUCKETS, hist);
  return {
    'cpu.percent': (100 * cpuRate) / cpuLimit,
    qps,
    limited_qps: limitedQps,
    aborted_qps: abortedQps,
    ...(Number.isFinite(rt99) ? { rt99 } : {}),
    'cpu.sum': cpuSum,
    'cpu.max': cpuMax,
  };
}

/**
 * The Prometheus text exposition of the pods, in the order given, and of the calls that went through the
 * lazyload fallback. `istio_requests_total` is split by source as Istio's is (`source_app`, for lazyload's
 * query of who calls whom); the duration histograms are per pod only.
 */
export function renderPodMetrics(pods: readonly PodState[], fallback: readonly FallbackCount[] = []): string {
  const istio = (p: PodState, code: number, grpc?: number): Labels => ({
    reporter: 'destination',
    namespace: p.namespace,
    pod: p.name,
    destination_workload_namespace: p.namespace,
    destination_workload: p.workload,
    destination_service: `${p.service}.${p.namespace}.svc.cluster.local`,
    destination_service_name: p.service,
    destination_service_namespace: p.namespace,
    response_code: String(code),
    // As Aeraki's MetaProtocol stats label the calls they count.
    ...(p.requestProtocol !== undefined ? { request_protocol: p.requestProtocol } : {}),
    // As Istio's: a gRPC answer's status, on the answers of a gRPC abort only.
    ...(grpc !== undefined ? { grpc_response_status: String(grpc) } : {}),
  });
  const byAnswer = (a: AbortAnswer, b: AbortAnswer) =>
    a.httpStatus - b.httpStatus || (a.grpcStatus ?? -1) - (b.grpcStatus ?? -1);
  const container = (p: PodState): Labels => ({
    namespace: p.namespace,
    pod: p.name,
    container: p.container,
    image: p.image,
  });
  const w = new ExpositionWriter();
  const source = (s: RequestSource): Labels => ({
    source_app: s.app,
    source_workload: s.workload,
    source_workload_namespace: s.namespace,
  });
  w.family('istio_requests_total', 'counter', 'Total number of requests.');
  for (const p of pods) {
    const sources = [...p.bySource.values()]
      .map((c) => ({ c, key: sourceKey(c.source) }))
      .sort((a, b) => a.key.localeCompare(b.key))
      .map(({ c }) => c);
    for (const c of sources) {
      w.sample('istio_requests_total', { ...istio(p, 200), ...source(c.source) }, c.ok);
      w.sample('istio_requests_total', { ...istio(p, 429), ...source(c.source) }, c.limited);
      for (const a of [...c.aborted.keys()].sort(byAnswer))
        w.sample(
          'istio_requests_total',
          { ...istio(p, a.httpStatus, a.grpcStatus), ...source(c.source) },
          c.aborted.get(a)!,
        );
    }
  }
  w.family('istio_request_duration_milliseconds', 'histogram', 'Request duration in milliseconds.');
  for (const p of pods) {
    w.histogram('istio_request_duration_milliseconds', istio(p, 200), BUCKETS, p.okHist, p.okSum);
    w.histogram('istio_request_duration_milliseconds', istio(p, 429), BUCKETS, p.limitedHist, p.limitedSum);
    for (const a of [...p.abortedHist.keys()].sort(byAnswer)) {
      const h = p.abortedHist.get(a)!;
      w.histogram(
        'istio_request_duration_milliseconds',
        istio(p, a.httpStatus, a.grpcStatus),
        BUCKETS,
        h.hist,
        h.sum,
      );
    }
  }
  w.family('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.');
  for (const p of pods) {
    w.sample('container_cpu_usage_seconds_total', container(p), p.cpuSeconds);
    // The pod's own cgroup, which cAdvisor reports without container and image.
    w.sample('container_cpu_usage_seconds_total', { namespace: p.namespace, pod: p.name }, p.cpuSeconds);
  }
  w.family('container_spec_cpu_quota', 'gauge', 'CPU quota of the container.');
  for (const p of pods)
    w.sample('container_spec_cpu_quota', container(p), Math.round(p.cpuLimitCores * 100_000));
  w.family('container_spec_cpu_period', 'gauge', 'CPU period of the container.');
  for (const p of pods) w.sample('container_spec_cpu_period', container(p), 100_000);
  w.family(
    'governor_lazyload_fallback_requests_total',
    'counter',
    'Requests a fenced workload sent through the lazyload fallback, its Sidecar not listing the destination.',
  );
  for (const f of fallback)
    w.sample(
      'governor_lazyload_fallback_requests_total',
      { source_app: f.sourceApp, source_namespace: f.sourceNamespace, destination_service: f.destination },
      f.requests,
    );
  return w.toString();
}
