/**
 * The traffic of the embedded demo mesh. Each tick, every Service receives the requests its load profile
 * asks for; each goes to one of its Running pods (round-robin) and is decided as that pod's sidecar would
 * decide it with the rendered limits (per-pod buckets for `single` and `average`, one shared rate-limit
 * service for `global`). A pod's CPU follows the load it lets through and its latency grows near
 * saturation. The state is exposed with the metric names Istio and cAdvisor use, so that the same PromQL
 * works against the simulated mesh and a real one, and as ready-made values for the embedded path.
 *
 * The core is pure: time comes from {@link Simulator.step}'s argument and randomness from a seed, so a run
 * is reproducible. {@link Simulator.start} drives it from a timer.
 */
import { FakeClock } from '@governor/limiter';
import type { Pod, Service } from '@governor/crd-types';
import { namespaceOf, runningPods, type ClusterContext, type RenderedRule } from '../modules/limiter/render';
import type { ReplayRequest } from '../modules/limiter/replay/request-descriptors';
import { SidecarLimiters } from '../modules/limiter/replay/sidecars';
import {
  ExpositionWriter,
  ISTIO_DURATION_BUCKETS_MS,
  bucketIndex,
  histogramQuantile,
  type Labels,
} from './exposition';
import { loadProblems, peakRate, rateAt, seededRandom, type LoadProfile } from './load';

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

/** A value of the `x-user` header the simulated clients send, and how often (relative weight). */
export interface SimulatedUser {
  readonly value: string;
  readonly weight: number;
}

export const DEFAULT_USERS: readonly SimulatedUser[] = [
  { value: 'alice', weight: 4 },
  { value: 'bob', weight: 3 },
  { value: 'carol', weight: 2 },
  { value: 'bot', weight: 2 },
  { value: 'crawler-bot', weight: 1 },
];

/** Bookinfo's traffic when nothing else is said: productpage and reviews breathe, the others are steady. */
export const DEFAULT_LOADS: Readonly<Record<string, LoadProfile>> = {
  productpage: { kind: 'wave', minRps: 20, maxRps: 120, periodMs: 10 * 60_000 },
  details: { kind: 'steady', rps: 20 },
  reviews: { kind: 'wave', minRps: 30, maxRps: 150, periodMs: 10 * 60_000 },
  ratings: { kind: 'steady', rps: 15 },
};

export interface SimulatorOptions {
  readonly context: ClusterContext;
  readonly rules?: readonly RenderedRule[];
  readonly seed?: number;
  /** Default 100 ms. */
  readonly tickMs?: number;
  /** The time (epoch ms) the run starts at. Default: `now()`. */
  readonly startMs?: number;
  /** Load per Service (`name` in `default`, or `namespace/name`). Default {@link DEFAULT_LOADS}. */
  readonly loads?: Readonly<Record<string, LoadProfile>>;
  /** The load of a Service without one. Default: none. */
  readonly defaultLoad?: LoadProfile;
  /**
   * Who calls whom: each request a caller's sidecar lets through makes one request to each callee (same
   * user, a millisecond later), on top of the callee's own load. Keys and values as in {@link loads}.
   */
  readonly calls?: Readonly<Record<string, readonly string[]>>;
  readonly users?: readonly SimulatedUser[];
  readonly model?: Partial<PodModel>;
  /** Seconds of per-second accounting kept. Default 300. */
  readonly historySeconds?: number;
  /** The window {@link Simulator.metricValues} computes rates over. Default 10 s. */
  readonly rateWindowSeconds?: number;
  /** The wall clock {@link Simulator.start} reads. Default `Date.now`. */
  readonly now?: () => number;
}

export interface ServiceSecond {
  readonly second: number;
  readonly sent: number;
  readonly allowed: number;
  readonly limited: number;
}

export interface RuleSecond {
  readonly second: number;
  readonly allowed: number;
  readonly limited: number;
}

/** The `metricsFor` values of a set of pods, meaning what the Prometheus defaults mean. */
export interface SimulatedMetricValues {
  /** CPU used as a percentage of the pods' CPU limit, summed over the pods. */
  readonly 'cpu.percent': number;
  /** Requests per second received (allowed and limited). */
  readonly qps: number;
  /** Requests per second answered 429. */
  readonly limited_qps: number;
  /** 99th percentile of latency (ms); absent without requests in the window. */
  readonly rt99?: number;
  /** Slime's raw values: cumulative CPU seconds, summed and the largest. */
  readonly 'cpu.sum': number;
  readonly 'cpu.max': number;
}

export interface PodStatus {
  readonly namespace: string;
  readonly pod: string;
  readonly service: string;
  readonly cpuCores: number;
  readonly cpuLimitCores: number;
  readonly latencyMs: number;
}

/** One request of the simulated mesh as its sidecar decided it. */
export interface MeshDecision {
  /** The simulation time (epoch ms). */
  readonly t: number;
  readonly namespace: string;
  readonly service: string;
  readonly pod: string;
  /** The `x-user` header the request carried. */
  readonly user: string;
  readonly outcome: 'allowed' | 'limited' | 'shadow';
  /** The rendered rule (descriptor id) that decided, or null when none applied. */
  readonly ruleId: string | null;
  /** Tokens (or window requests) left for that rule; null when none applied. */
  readonly remaining: number | null;
}

/** Offsets in a pod's snapshot of cumulative counters. */
/** Calls deeper than this (a loop in the call graph) are not made. */
const MAX_CALL_DEPTH = 8;
const SNAP_T = 0;
const SNAP_OK = 1;
const SNAP_LIMITED = 2;
const SNAP_CPU = 3;
const SNAP_HIST = 4;
const BUCKETS = ISTIO_DURATION_BUCKETS_MS;
/** A pause longer than this (a suspended machine) is skipped rather than simulated. */
const MAX_CATCH_UP_MS = 60_000;
/**
 * On the timer, a late tick catches up at most this much: a BFF that was busy for a while (or a debugger
 * stop) must not then spend as long again simulating the time it missed.
 */
const TIMER_CATCH_UP_MS = 1_000;

/**
 * Every simulated request is decided one by one on the BFF's thread (some 10-15 µs each with the decision
 * feeds, on the 2-core machine the BFF is measured on), so the load is capped where the simulation takes
 * about a quarter of a core and the BFF's own answers stay prompt: 20,000 requests per second in all, calls
 * between services included, and 2,500 per Service (Bookinfo with every Service at the cap is 20,000 with
 * its calls: productpage's go to details and reviews, reviews' to ratings).
 */
export const MAX_SERVICE_RPS = 2_500;
export const MAX_MESH_RPS = 20_000;

interface SimService {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  pods: Pod[];
  next: number;
  carry: number;
}

interface LoadState {
  readonly profile: LoadProfile;
  readonly sinceMs: number;
}

class PodState {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  service: string;
  readonly workload: string;
  readonly container: string;
  readonly image: string;
  readonly cpuLimitCores: number;
  okTotal = 0;
  limitedTotal = 0;
  readonly okHist = new Float64Array(BUCKETS.length + 1);
  readonly limitedHist = new Float64Array(BUCKETS.length + 1);
  okSum = 0;
  limitedSum = 0;
  cpuSeconds = 0;
  cpuCores: number;
  allowedThisTick = 0;
  readonly snapshots: Float64Array[] = [];

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
    for (let i = 0; i <= BUCKETS.length; i++) s[SNAP_HIST + i] = this.okHist[i]! + this.limitedHist[i]!;
    return s;
  }
}

/** The Deployment of a pod named `<deployment>-<replicaset hash>-<suffix>`, as Istio reports it. */
function workloadOf(podName: string): string {
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

const serviceKey = (s: string): string => (s.includes('/') ? s : `default/${s}`);

interface PendingRequest {
  t: number;
  service: SimService;
  pod: Pod;
  user: number;
  /** The calling service's key, for a request made by another service. */
  from?: string;
}

export interface EdgeRate {
  /** `namespace/name` of the caller and the callee. */
  readonly from: string;
  readonly to: string;
  /** Requests per second over the window, and how many of them the callee's limits refused. */
  readonly rps: number;
  readonly limitedRps: number;
}

/**
 * The demo's traffic as the product runs it: users load the product page (rising and falling over ten
 * minutes), and every request it lets through calls details and reviews, each reviews request calls ratings.
 */
export const BOOKINFO_LOADS: Readonly<Record<string, LoadProfile>> = {
  productpage: { kind: 'wave', minRps: 20, maxRps: 120, periodMs: 10 * 60_000 },
};

/** Istio's Bookinfo: the product page calls details and reviews, reviews calls ratings. */
export const BOOKINFO_CALLS: Readonly<Record<string, readonly string[]>> = {
  productpage: ['details', 'reviews'],
  reviews: ['ratings'],
};

export class Simulator {
  private readonly clock = new FakeClock(0);
  private readonly sidecars: SidecarLimiters;
  private readonly random: () => number;
  private readonly tickMs: number;
  private readonly model: PodModel;
  private readonly historySeconds: number;
  private readonly rateWindowMs: number;
  private readonly now: () => number;
  private readonly defaultLoad: LoadProfile | undefined;
  private readonly users: readonly SimulatedUser[];
  private readonly userWeightTotal: number;
  private readonly requests: readonly ReplayRequest[];
  private readonly loads = new Map<string, LoadState>();
  private services: SimService[] = [];
  private readonly pods = new Map<string, PodState>();
  private readonly serviceSeconds = new Map<
    string,
    Map<number, { sent: number; allowed: number; limited: number }>
  >();
  private readonly ruleSeconds = new Map<string, Map<number, { allowed: number; limited: number }>>();
  private readonly edgeSeconds = new Map<string, Map<number, { sent: number; limited: number }>>();
  private readonly calls: ReadonlyMap<string, readonly string[]>;
  private rules: readonly RenderedRule[];
  private lastMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly listeners: ((d: MeshDecision) => void)[] = [];

  constructor(options: SimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.tickMs = options.tickMs ?? 100;
    if (!(this.tickMs > 0)) throw new RangeError(`tickMs must be above 0 (got ${this.tickMs})`);
    this.model = { ...DEFAULT_POD_MODEL, ...options.model };
    this.historySeconds = options.historySeconds ?? 300;
    this.rateWindowMs = (options.rateWindowSeconds ?? 10) * 1000;
    this.random = seededRandom(options.seed ?? 1);
    this.defaultLoad = options.defaultLoad;
    this.users = options.users ?? DEFAULT_USERS;
    this.userWeightTotal = this.users.reduce((s, u) => s + u.weight, 0);
    if (!(this.users.length > 0 && this.userWeightTotal > 0))
      throw new RangeError('users: at least one with a weight above 0');
    this.requests = this.users.map((u, i) => ({
      headers: new Map([['x-user', u.value]]),
      query: new Map<string, string>(),
      sourceIp: `10.0.${i >> 8}.${(i & 255) + 1}`,
    }));
    this.calls = new Map(
      Object.entries(options.calls ?? {}).map(([from, to]) => [serviceKey(from), to.map(serviceKey)]),
    );
    this.lastMs = options.startMs ?? this.now();
    this.clock.set(this.lastMs);
    this.rules = options.rules ?? [];
    this.sidecars = new SidecarLimiters({ clock: this.clock, rules: this.rules });
    for (const [service, profile] of Object.entries(options.loads ?? DEFAULT_LOADS))
      this.setLoad(service, profile);
    this.setContext(options.context);
  }

  /** The time the simulation has reached. */
  get nowMs(): number {
    return this.lastMs;
  }

  /** Changes a Service's load (`name` in `default`, or `namespace/name`) from the next tick on. */
  setLoad(service: string, profile: LoadProfile): void {
    const problems = [...loadProblems(profile), ...this.loadCapProblems(service, profile)];
    if (problems.length > 0) throw new RangeError(`load of ${service}: ${problems.join('; ')}`);
    this.loads.set(serviceKey(service), { profile, sinceMs: this.lastMs });
  }

  /**
   * Why this load would take the mesh over {@link MAX_SERVICE_RPS} or {@link MAX_MESH_RPS} (empty when it
   * would not). The mesh's total counts each Service's peak and every call those requests could make.
   */
  loadCapProblems(service: string, profile: LoadProfile): string[] {
    const peak = peakRate(profile);
    if (peak > MAX_SERVICE_RPS)
      return [`${peak} requests per second is over the simulator's cap of ${MAX_SERVICE_RPS} per Service`];
    const peaks = new Map([...this.loads].map(([key, l]) => [key, peakRate(l.profile)]));
    peaks.set(serviceKey(service), peak);
    const total = this.meshRps(peaks);
    return total > MAX_MESH_RPS
      ? [
          `with this load the mesh would simulate up to ${Math.ceil(total)} requests per second (calls between Services included), over the simulator's cap of ${MAX_MESH_RPS}`,
        ]
      : [];
  }

  /** Requests per second the mesh decides at most: each Service's own, and the calls they make, hop by hop. */
  private meshRps(peaks: ReadonlyMap<string, number>): number {
    let total = 0;
    let wave = peaks;
    for (let hop = 0; wave.size > 0 && hop < MAX_CALL_DEPTH; hop++) {
      const next = new Map<string, number>();
      for (const [key, rps] of wave) {
        total += rps;
        for (const callee of this.calls.get(key) ?? []) next.set(callee, (next.get(callee) ?? 0) + rps);
      }
      wave = next;
    }
    return total;
  }

  /** The load of a Service, if it has one. */
  loadOf(service: string): LoadProfile | undefined {
    return this.loads.get(serviceKey(service))?.profile ?? this.defaultLoad;
  }

  /** Newly rendered limits; rules whose id is unchanged keep their buckets. With a context, the mesh as it is now. */
  updateRules(rules: readonly RenderedRule[], context?: ClusterContext): void {
    this.rules = rules;
    if (context) this.setContext(context);
    else this.sidecars.update(rules);
  }

  /** The Services and Pods as they are now: pods no longer listed disappear, new Running ones get traffic. */
  setContext(context: ClusterContext): void {
    const seen = new Set<string>();
    const previous = new Map(this.services.map((s) => [s.key, s]));
    const services: SimService[] = [];
    const sorted = [...context.services].sort((a, b) =>
      `${namespaceOf(a)}/${a.metadata.name}`.localeCompare(`${namespaceOf(b)}/${b.metadata.name}`),
    );
    for (const svc of sorted) {
      const s = this.simService(svc, context, previous.get(`${namespaceOf(svc)}/${svc.metadata.name}`));
      if (!s) continue;
      services.push(s);
      for (const pod of s.pods) {
        const key = `${namespaceOf(pod)}/${pod.metadata.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (!this.pods.has(key)) {
          const state = new PodState(pod, s.name, this.model.baseCpuCores, this.model.defaultCpuLimitCores);
          state.snapshots.push(state.snapshot(this.lastMs));
          this.pods.set(key, state);
        }
      }
    }
    for (const key of [...this.pods.keys()]) if (!seen.has(key)) this.pods.delete(key);
    this.services = services;
    this.sidecars.update(this.rules, context.pods);
  }

  /**
   * Advances to `nowMs` (by default one tick), in ticks of at most `tickMs`; of a longer pause, only the
   * last `maxCatchUpMs` is simulated.
   */
  step(nowMs: number = this.lastMs + this.tickMs, maxCatchUpMs = MAX_CATCH_UP_MS): void {
    if (!(nowMs > this.lastMs)) return;
    let from = Math.max(this.lastMs, nowMs - maxCatchUpMs);
    while (from < nowMs) {
      const to = Math.min(nowMs, from + this.tickMs);
      this.tick(from, to);
      from = to;
    }
    this.lastMs = nowMs;
  }

  /** Calls `listener` with every decision, in time order, as the simulation makes them. Returns an unsubscribe. */
  subscribe(listener: (d: MeshDecision) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The rendered rule with this id, if the sidecars have it. */
  ruleById(id: string): RenderedRule | undefined {
    return this.sidecars.rule(id);
  }

  /** Steps on a timer, on the wall clock, until {@link stop}. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.step(this.now(), TIMER_CATCH_UP_MS), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sent, allowed and limited per second for a Service (`name` or `namespace/name`), oldest first. */
  serviceSecondsOf(service: string): ServiceSecond[] {
    const m = this.serviceSeconds.get(serviceKey(service));
    return m ? [...m].sort(([a], [b]) => a - b).map(([second, c]) => ({ second, ...c })) : [];
  }

  /** Allowed and limited per second under a rendered rule (by id), oldest first. */
  ruleSecondsOf(ruleId: string): RuleSecond[] {
    const m = this.ruleSeconds.get(ruleId);
    return m ? [...m].sort(([a], [b]) => a - b).map(([second, c]) => ({ second, ...c })) : [];
  }

  /** Calls between services over the last `windowSeconds` complete seconds (the edges seen). */
  edgeRates(windowSeconds = 10): EdgeRate[] {
    const end = Math.floor(this.lastMs / 1000);
    const start = end - windowSeconds;
    const out: EdgeRate[] = [];
    for (const [edge, seconds] of this.edgeSeconds) {
      let sent = 0;
      let limited = 0;
      for (const [second, c] of seconds)
        if (second >= start && second < end) {
          sent += c.sent;
          limited += c.limited;
        }
      const [from = '', to = ''] = edge.split('>');
      out.push({ from, to, rps: sent / windowSeconds, limitedRps: limited / windowSeconds });
    }
    return out.sort((a, b) => `${a.from}>${a.to}`.localeCompare(`${b.from}>${b.to}`));
  }

  /** The rules that decided requests in the kept history. */
  ruleIds(): string[] {
    return [...this.ruleSeconds.keys()].sort();
  }

  podStatus(): PodStatus[] {
    return [...this.pods.values()]
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((p) => ({
        namespace: p.namespace,
        pod: p.name,
        service: p.service,
        cpuCores: p.cpuCores,
        cpuLimitCores: p.cpuLimitCores,
        latencyMs: this.latencyOf(p),
      }));
  }

  /**
   * The values the default Prometheus queries give for these pods, from the simulator's own state (rates
   * over the last `rateWindowSeconds`). Empty when none of the pods is known, as a query matching nothing.
   */
  metricValues(namespace: string, pods: readonly string[]): Partial<SimulatedMetricValues> {
    const states = pods
      .map((name) => this.pods.get(`${namespace}/${name}`))
      .filter((p): p is PodState => p !== undefined);
    if (states.length === 0) return {};
    const from = this.lastMs - this.rateWindowMs;
    let cpuRate = 0;
    let cpuLimit = 0;
    let qps = 0;
    let limitedQps = 0;
    let cpuSum = 0;
    let cpuMax = 0;
    const hist = new Float64Array(BUCKETS.length + 1);
    for (const p of states) {
      cpuLimit += p.cpuLimitCores;
      cpuSum += p.cpuSeconds;
      cpuMax = Math.max(cpuMax, p.cpuSeconds);
      const now = p.snapshot(this.lastMs);
      // The newest snapshot at or before the window's start (or the oldest kept), as rate() over it.
      let then = p.snapshots[0] ?? now;
      for (const snap of p.snapshots) if (snap[SNAP_T]! <= from) then = snap;
      const seconds = (now[SNAP_T]! - then[SNAP_T]!) / 1000;
      if (seconds <= 0) {
        cpuRate += p.cpuCores;
        continue;
      }
      cpuRate += (now[SNAP_CPU]! - then[SNAP_CPU]!) / seconds;
      qps += (now[SNAP_OK]! + now[SNAP_LIMITED]! - then[SNAP_OK]! - then[SNAP_LIMITED]!) / seconds;
      limitedQps += (now[SNAP_LIMITED]! - then[SNAP_LIMITED]!) / seconds;
      for (let i = 0; i <= BUCKETS.length; i++) hist[i]! += now[SNAP_HIST + i]! - then[SNAP_HIST + i]!;
    }
    const rt99 = histogramQuantile(0.99, BUCKETS, hist);
    return {
      'cpu.percent': (100 * cpuRate) / cpuLimit,
      qps,
      limited_qps: limitedQps,
      ...(Number.isFinite(rt99) ? { rt99 } : {}),
      'cpu.sum': cpuSum,
      'cpu.max': cpuMax,
    };
  }

  /** The Prometheus text exposition of the mesh, with Istio's and cAdvisor's metric names. */
  renderMetrics(): string {
    const pods = [...this.pods.values()].sort((a, b) => a.key.localeCompare(b.key));
    const istio = (p: PodState, code: number): Labels => ({
      reporter: 'destination',
      namespace: p.namespace,
      pod: p.name,
      destination_workload_namespace: p.namespace,
      destination_workload: p.workload,
      destination_service: `${p.service}.${p.namespace}.svc.cluster.local`,
      destination_service_name: p.service,
      destination_service_namespace: p.namespace,
      response_code: String(code),
    });
    const container = (p: PodState): Labels => ({
      namespace: p.namespace,
      pod: p.name,
      container: p.container,
      image: p.image,
    });
    const w = new ExpositionWriter();
    w.family('istio_requests_total', 'counter', 'Total number of requests.');
    for (const p of pods) {
      w.sample('istio_requests_total', istio(p, 200), p.okTotal);
      w.sample('istio_requests_total', istio(p, 429), p.limitedTotal);
    }
    w.family('istio_request_duration_milliseconds', 'histogram', 'Request duration in milliseconds.');
    for (const p of pods) {
      w.histogram('istio_request_duration_milliseconds', istio(p, 200), BUCKETS, p.okHist, p.okSum);
      w.histogram('istio_request_duration_milliseconds', istio(p, 429), BUCKETS, p.limitedHist, p.limitedSum);
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
    return w.toString();
  }

  private simService(
    svc: Service,
    context: ClusterContext,
    previous: SimService | undefined,
  ): SimService | undefined {
    const selector = svc.spec.selector ?? {};
    if (Object.keys(selector).length === 0) return undefined;
    const namespace = namespaceOf(svc);
    const port = svc.spec.ports?.[0]?.port;
    if (port === undefined) return undefined;
    return {
      key: `${namespace}/${svc.metadata.name}`,
      namespace,
      name: svc.metadata.name,
      port,
      pods: runningPods(context, namespace, selector),
      next: previous?.next ?? 0,
      carry: previous?.carry ?? 0,
    };
  }

  private latencyOf(p: PodState): number {
    const u = p.cpuCores / p.cpuLimitCores;
    const m = this.model;
    return u >= 1 ? m.maxLatencyMs : Math.min(m.maxLatencyMs, m.baseLatencyMs / (1 - u));
  }

  private pickUser(): number {
    let r = this.random() * this.userWeightTotal;
    for (let i = 0; i < this.users.length; i++) {
      r -= this.users[i]!.weight;
      if (r < 0) return i;
    }
    return this.users.length - 1;
  }

  private tick(from: number, to: number): void {
    const dt = to - from;
    const pending: PendingRequest[] = [];
    for (const s of this.services) {
      const load = this.loads.get(s.key) ?? (this.defaultLoad && { profile: this.defaultLoad, sinceMs: 0 });
      if (!load || s.pods.length === 0) {
        s.carry = 0;
        continue;
      }
      const expected = (rateAt(load.profile, from - load.sinceMs) * dt) / 1000 + s.carry;
      const n = Math.floor(expected);
      s.carry = expected - n;
      for (let i = 0; i < n; i++) {
        const pod = s.pods[s.next % s.pods.length]!;
        s.next = (s.next + 1) % s.pods.length;
        // Arrivals spread over the tick, strictly after its start and no later than its end.
        pending.push({
          t: from + (dt * (i + 1 - this.random())) / n,
          service: s,
          pod,
          user: this.pickUser(),
        });
      }
    }
    for (const p of this.pods.values()) p.allowedThisTick = 0;
    // Requests in time order; then the calls the allowed ones make, a hop at a time.
    let wave = pending;
    for (let hop = 0; wave.length > 0 && hop < MAX_CALL_DEPTH; hop++) {
      wave.sort((a, b) => a.t - b.t);
      const next: PendingRequest[] = [];
      for (const r of wave) {
        if (!this.decide(r)) continue;
        for (const callee of this.calls.get(r.service.key) ?? []) {
          const s = this.serviceByKey(callee);
          if (!s || s.pods.length === 0) continue;
          const pod = s.pods[s.next % s.pods.length]!;
          s.next = (s.next + 1) % s.pods.length;
          next.push({ t: Math.min(to, r.t + 1), service: s, pod, user: r.user, from: r.service.key });
        }
      }
      wave = next;
    }
    this.advancePods(to, dt);
    this.prune(to);
  }

  private serviceByKey(key: string): SimService | undefined {
    return this.services.find((s) => s.key === key);
  }

  /** Decides a request as its pod's sidecar would; returns whether it was let through. */
  private decide(r: PendingRequest): boolean {
    this.clock.set(r.t);
    const decision = this.sidecars.decide(r.pod, r.service.port, this.requests[r.user]!);
    const allowed = decision.allowed;
    const rule = this.sidecars.rule(decision.ruleId);
    const second = Math.floor(r.t / 1000);

    let bySecond = this.serviceSeconds.get(r.service.key);
    if (!bySecond) this.serviceSeconds.set(r.service.key, (bySecond = new Map()));
    let counts = bySecond.get(second);
    if (!counts) bySecond.set(second, (counts = { sent: 0, allowed: 0, limited: 0 }));
    counts.sent++;
    if (allowed) counts.allowed++;
    else counts.limited++;

    if (rule) {
      let ruleBySecond = this.ruleSeconds.get(rule.id);
      if (!ruleBySecond) this.ruleSeconds.set(rule.id, (ruleBySecond = new Map()));
      let rc = ruleBySecond.get(second);
      if (!rc) ruleBySecond.set(second, (rc = { allowed: 0, limited: 0 }));
      if (allowed) rc.allowed++;
      else rc.limited++;
    }

    if (this.listeners.length > 0) {
      const event: MeshDecision = {
        t: r.t,
        namespace: r.service.namespace,
        service: r.service.name,
        pod: r.pod.metadata.name,
        user: this.users[r.user]!.value,
        outcome: decision.outcome,
        ruleId: decision.ruleId,
        remaining: Number.isFinite(decision.remaining) ? decision.remaining : null,
      };
      for (const listener of this.listeners) listener(event);
    }

    if (r.from !== undefined) {
      const edge = `${r.from}>${r.service.key}`;
      let bySecondEdge = this.edgeSeconds.get(edge);
      if (!bySecondEdge) this.edgeSeconds.set(edge, (bySecondEdge = new Map()));
      let ec = bySecondEdge.get(second);
      if (!ec) bySecondEdge.set(second, (ec = { sent: 0, limited: 0 }));
      ec.sent++;
      if (!allowed) ec.limited++;
    }

    const pod = this.pods.get(`${namespaceOf(r.pod)}/${r.pod.metadata.name}`);
    if (!pod) return allowed;
    const jitter = this.random();
    if (allowed) {
      // Mostly around the pod's current latency, with a tail.
      const tail = this.random() < 0.02 ? 3 : 1;
      const latency = this.latencyOf(pod) * (0.7 + 0.6 * jitter) * tail;
      pod.okTotal++;
      pod.okHist[bucketIndex(BUCKETS, latency)]!++;
      pod.okSum += latency;
      pod.allowedThisTick++;
    } else {
      const latency = this.model.limitedLatencyMs * (0.5 + jitter);
      pod.limitedTotal++;
      pod.limitedHist[bucketIndex(BUCKETS, latency)]!++;
      pod.limitedSum += latency;
    }
    return allowed;
  }

  /** CPU follows the load each pod let through this tick, smoothed, within its limit. */
  private advancePods(to: number, dt: number): void {
    const m = this.model;
    const follow = 1 - Math.exp(-dt / m.smoothingMs);
    for (const p of this.pods.values()) {
      const allowedRps = (p.allowedThisTick * 1000) / dt;
      const target = Math.min(p.cpuLimitCores, m.baseCpuCores + m.cpuSecondsPerRequest * allowedRps);
      p.cpuCores += (target - p.cpuCores) * follow;
      p.cpuSeconds += (p.cpuCores * dt) / 1000;
      p.snapshots.push(p.snapshot(to));
      // Keep the newest snapshot at or before the window's start, and the ones after it.
      const from = to - this.rateWindowMs;
      while (p.snapshots.length > 2 && p.snapshots[1]![SNAP_T]! <= from) p.snapshots.shift();
    }
  }

  private prune(to: number): void {
    const oldest = Math.floor(to / 1000) - this.historySeconds;
    for (const m of [
      ...this.serviceSeconds.values(),
      ...this.ruleSeconds.values(),
      ...this.edgeSeconds.values(),
    ]) {
      for (const second of m.keys()) if (second < oldest) m.delete(second);
    }
  }
}
