/**
 * The simulated pods: what each one's container declares, the cumulative counters Istio and cAdvisor
 * report for it, and how the load it lets through turns into CPU and latency.
 */
import type { Pod, WorkloadEntry } from '@governor/crd-types';
import { namespaceOf } from '../modules/limiter/render';
import { bucketIndex, ISTIO_DURATION_BUCKETS_MS } from './exposition';

/** How a pod turns load into CPU and latency. */
export interface PodModel {
  /** CPU seconds one allowed request costs. */
  readonly cpuSecondsPerRequest: number;
  /** CPU (cores) an idle pod uses. */
  readonly baseCpuCores: number;
  /** Time constant (ms) with which CPU follows the load. */
  readonly smoothingMs: number;
  /** Latency of an allowed request on an idle pod. */
  readonly baseLatencyMs: number;
  /** Latency when the pod is saturated. */
  readonly maxLatencyMs: number;
  /** Latency of a 429 (Envoy's local reply). */
  readonly limitedLatencyMs: number;
  /** The CPU limit of a container that declares none. */
  readonly defaultCpuLimitCores: number;
}

export const DEFAULT_POD_MODEL: PodModel = {
  cpuSecondsPerRequest: 0.005,
  baseCpuCores: 0.02,
  smoothingMs: 2000,
  baseLatencyMs: 8,
  maxLatencyMs: 5000,
  limitedLatencyMs: 0.6,
  defaultCpuLimitCores: 1,
};

export const BUCKETS = ISTIO_DURATION_BUCKETS_MS;

/** Who sent requests to a pod, as Istio's `source_*` labels say: `unknown` for clients outside the mesh. */
export interface RequestSource {
  readonly app: string;
  readonly workload: string;
  readonly namespace: string;
}

export const UNKNOWN_SOURCE: RequestSource = { app: 'unknown', workload: 'unknown', namespace: 'unknown' };

/** A pod's requests from one source: allowed, answered 429, and aborted by the fault filter by answer. */
export interface SourceCounts {
  readonly source: RequestSource;
  ok: number;
  limited: number;
  readonly aborted: Map<AbortAnswer, number>;
}

/** What an aborted request was answered: an HTTP status, and a gRPC status for a gRPC abort. */
export interface AbortAnswer {
  readonly httpStatus: number;
  readonly grpcStatus?: number;
}

/** The latency histogram of the requests given one answer. */
export interface AnswerHistogram {
  readonly hist: Float64Array;
  sum: number;
}

const answers = new Map<string, AbortAnswer>();

/** The one object of an answer, so that pods count by object. */
export function internAnswer(a: AbortAnswer): AbortAnswer {
  const key = `${a.httpStatus}/${a.grpcStatus ?? ''}`;
  let known = answers.get(key);
  if (!known)
    answers.set(
      key,
      (known = {
        httpStatus: a.httpStatus,
        ...(a.grpcStatus !== undefined ? { grpcStatus: a.grpcStatus } : {}),
      }),
    );
  return known;
}

/** Offsets in a pod's snapshot of cumulative counters. */
export const SNAP_T = 0;
export const SNAP_OK = 1;
export const SNAP_LIMITED = 2;
export const SNAP_CPU = 3;
export const SNAP_ABORTED = 4;
export const SNAP_HIST = 5;

export class PodState {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  service: string;
  readonly workload: string;
  readonly container: string;
  readonly image: string;
  readonly cpuLimitCores: number;
  /** The application protocol of a MetaProtocol service's pod (`thrift`), as Istio's `request_protocol`. */
  requestProtocol: string | undefined;
  okTotal = 0;
  limitedTotal = 0;
  abortedTotal = 0;
  /** Aborted requests' latencies, per answer. */
  readonly abortedHist = new Map<AbortAnswer, AnswerHistogram>();
  /** Where the fault filter's fractional accounting stands for aborts and delays. */
  abortCarry = 0;
  delayCarry = 0;
  readonly okHist = new Float64Array(BUCKETS.length + 1);
  readonly limitedHist = new Float64Array(BUCKETS.length + 1);
  okSum = 0;
  limitedSum = 0;
  cpuSeconds = 0;
  cpuCores: number;
  allowedThisTick = 0;
  readonly snapshots: Float64Array[] = [];
  /**
   * Requests per source, by the source's object (one per source: see {@link internSource}); clients
   * outside the mesh are always listed.
   */
  readonly bySource = new Map<RequestSource, SourceCounts>([
    [UNKNOWN_SOURCE, { source: UNKNOWN_SOURCE, ok: 0, limited: 0, aborted: new Map() }],
  ]);

  constructor(pod: Pod, service: string, baseCpu: number, defaultLimit: number) {
    this.namespace = namespaceOf(pod);
    this.name = pod.metadata.name;
    this.key = `${this.namespace}/${this.name}`;
    this.service = service;
    this.workload = workloadOf(this.name);
    const c = containerOf(pod);
    this.container = c.name ?? service;
    this.image = c.image ?? '';
    this.cpuLimitCores = c.cpuLimitCores ?? defaultLimit;
    this.cpuCores = Math.min(baseCpu, this.cpuLimitCores);
  }

  snapshot(t: number): Float64Array {
    const s = new Float64Array(SNAP_HIST + BUCKETS.length + 1);
    s[SNAP_T] = t;
    s[SNAP_OK] = this.okTotal;
    s[SNAP_LIMITED] = this.limitedTotal;
    s[SNAP_CPU] = this.cpuSeconds;
    s[SNAP_ABORTED] = this.abortedTotal;
    for (let i = 0; i <= BUCKETS.length; i++) s[SNAP_HIST + i] = this.okHist[i]! + this.limitedHist[i]!;
    for (const h of this.abortedHist.values())
      for (let i = 0; i <= BUCKETS.length; i++) s[SNAP_HIST + i]! += h.hist[i]!;
    return s;
  }

  /** The latency of an allowed request now: it grows as the pod nears its CPU limit. */
  latencyMs(m: PodModel): number {
    const u = this.cpuCores / this.cpuLimitCores;
    return u >= 1 ? m.maxLatencyMs : Math.min(m.maxLatencyMs, m.baseLatencyMs / (1 - u));
  }

  /**
   * Counts a request the sidecar decided, with a latency drawn from `random`, plus `extraMs` the request
   * spent on its way (a detour through the lazyload fallback, a fault delay). A request the fault filter
   * aborted (`aborted`, from {@link internAnswer}) is answered by the sidecar and never reaches the app.
   * Returns the latency counted, for the caller's edge.
   */
  serve(
    allowed: boolean,
    m: PodModel,
    random: () => number,
    source: RequestSource = UNKNOWN_SOURCE,
    extraMs = 0,
    aborted?: AbortAnswer,
  ): number {
    let counts = this.bySource.get(source);
    if (!counts) this.bySource.set(source, (counts = { source, ok: 0, limited: 0, aborted: new Map() }));
    const jitter = random();
    if (allowed && aborted) {
      counts.aborted.set(aborted, (counts.aborted.get(aborted) ?? 0) + 1);
      // A local reply, as fast as a 429.
      const latency = m.limitedLatencyMs * (0.5 + jitter) + extraMs;
      let h = this.abortedHist.get(aborted);
      if (!h) this.abortedHist.set(aborted, (h = { hist: new Float64Array(BUCKETS.length + 1), sum: 0 }));
      this.abortedTotal++;
      h.hist[bucketIndex(BUCKETS, latency)]!++;
      h.sum += latency;
      return latency;
    }
    if (allowed) counts.ok++;
    else counts.limited++;
    if (allowed) {
      // Mostly around the pod's current latency, with a tail.
      const tail = random() < 0.02 ? 3 : 1;
      const latency = this.latencyMs(m) * (0.7 + 0.6 * jitter) * tail + extraMs;
      this.okTotal++;
      this.okHist[bucketIndex(BUCKETS, latency)]!++;
      this.okSum += latency;
      this.allowedThisTick++;
      return latency;
    }
    const latency = m.limitedLatencyMs * (0.5 + jitter) + extraMs;
    this.limitedTotal++;
    this.limitedHist[bucketIndex(BUCKETS, latency)]!++;
    this.limitedSum += latency;
    return latency;
  }
}

/**
 * Ends a tick of `dt` ms at `to`: CPU follows the load each pod let through, smoothed, within its limit;
 * each pod keeps the snapshots a rate over the last `rateWindowMs` needs.
 */
export function advancePods(
  pods: Iterable<PodState>,
  m: PodModel,
  to: number,
  dt: number,
  rateWindowMs: number,
): void {
  const follow = 1 - Math.exp(-dt / m.smoothingMs);
  for (const p of pods) {
    const allowedRps = (p.allowedThisTick * 1000) / dt;
    const target = Math.min(p.cpuLimitCores, m.baseCpuCores + m.cpuSecondsPerRequest * allowedRps);
    p.cpuCores += (target - p.cpuCores) * follow;
    p.cpuSeconds += (p.cpuCores * dt) / 1000;
    p.snapshots.push(p.snapshot(to));
    // Keep the newest snapshot at or before the window's start, and the ones after it.
    const from = to - rateWindowMs;
    while (p.snapshots.length > 2 && p.snapshots[1]![SNAP_T]! <= from) p.snapshots.shift();
  }
}

export const sourceKey = (s: RequestSource): string => `${s.namespace}/${s.workload}/${s.app}`;

const sources = new Map<string, RequestSource>([[sourceKey(UNKNOWN_SOURCE), UNKNOWN_SOURCE]]);

/** The one object of a source: pods count by object, so that a request costs no string building. */
export function internSource(s: RequestSource): RequestSource {
  const key = sourceKey(s);
  let known = sources.get(key);
  if (!known) sources.set(key, (known = { app: s.app, workload: s.workload, namespace: s.namespace }));
  return known;
}

/** The Deployment of a pod named `<deployment>-<replicaset hash>-<suffix>`, as Istio reports it. */
/**
 * A VM (WorkloadEntry) as the mesh simulates it: a Running pod at its address with its labels, since its
 * sidecar serves, calls and enforces limits as a pod's does. Its `pod` label in the metrics is its name.
 */
export function podOfWorkloadEntry(w: WorkloadEntry): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: w.metadata.name,
      namespace: namespaceOf(w),
      labels: { ...(w.spec.labels ?? {}) },
      annotations: undefined,
      ...(w.metadata.deletionTimestamp ? { deletionTimestamp: w.metadata.deletionTimestamp } : {}),
    },
    status: { phase: 'Running', ...(w.spec.address ? { podIP: w.spec.address } : {}) },
  };
}

export function workloadOf(podName: string): string {
  const parts = podName.split('-');
  return parts.length >= 3 ? parts.slice(0, -2).join('-') : podName;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Kubernetes CPU quantities: `2`, `0.5`, `500m`. */
export function parseCpuQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q > 0 ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q.trim());
  if (!m) return undefined;
  const v = Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
  return v > 0 ? v : undefined;
}

function containerOf(pod: Pod): { name?: string; image?: string; cpuLimitCores?: number } {
  const containers = pod.spec?.['containers'];
  const first: unknown = Array.isArray(containers) ? containers[0] : undefined;
  if (!isRecord(first)) return {};
  const resources = first['resources'];
  const limits = isRecord(resources) ? resources['limits'] : undefined;
  const cpu = isRecord(limits) ? parseCpuQuantity(limits['cpu']) : undefined;
  return {
    ...(typeof first['name'] === 'string' ? { name: first['name'] } : {}),
    ...(typeof first['image'] === 'string' ? { image: first['image'] } : {}),
    ...(cpu !== undefined ? { cpuLimitCores: cpu } : {}),
  };
}
