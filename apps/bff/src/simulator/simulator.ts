/**
 * The traffic of the embedded demo mesh. Each tick, every Service receives the requests its load profile
 * asks for; each goes to one of its Running pods (round-robin) and is decided as that pod's sidecar would
 * decide it with the rendered limits (per-pod buckets for `single` and `average`, one shared rate-limit
 * service for `global`). A pod's CPU follows the load it lets through and its latency grows near
 * saturation. The state is exposed with the metric names Istio and cAdvisor use, so that the same PromQL
 * works against the simulated mesh and a real one, and as ready-made values for the embedded path.
 *
 * Calls between services are recorded as observed calls (lazyload learns from them). A pod fenced by an
 * Istio `Sidecar` whose egress does not list the destination calls it through the lazyload fallback: a
 * few milliseconds slower, counted per caller and destination, until the Sidecar lists it.
 *
 * Calls to a MetaProtocol service (a port named `tcp-metaprotocol-<protocol>-...` whose protocol has a
 * codec) from another service's pod go through MetaProtocol proxies instead (see `metaprotocol.ts`): routed
 * by their attributes to a cluster's pod, and limited by the MetaRouter's local rate limit on that pod.
 *
 * The core is pure: time comes from {@link Simulator.step}'s argument and randomness from a seed, so a run
 * is reproducible. {@link Simulator.start} drives it from a timer.
 */
import type { Pod } from '@governor/crd-types';
import { FakeClock } from '@governor/limiter';
import { namespaceOf, type ClusterContext, type RenderedRule } from '../modules/limiter/render';
import { SidecarLimiters } from '../modules/limiter/replay/sidecars';
import { seededRandom, type LoadProfile } from './load';
import { RequestCounts, type EdgeRate, type RuleSecond, type ServiceSecond } from './request-counts';
import type { ObservedCalls } from '../sources/observed-calls';
import type { MethodTrafficSource } from '../sources/method-traffic';
import type { KubeObject } from '../cluster/store';
import { MetaProtocolCalls } from './metaprotocol';
import type { MetaRouteConfiguration } from '../envoy/metaprotocol-route';
import { NO_METHOD, RpcCounts, type RpcResponse } from './rpc-counts';
import { Fences } from './fences';
import { Faults, nextFires } from './faults';
import {
  metricValuesOf,
  renderPodMetrics,
  type FallbackCount,
  type SimulatedMetricValues,
} from './pod-metrics';
import {
  advancePods,
  DEFAULT_POD_MODEL,
  internAnswer,
  internSource,
  PodState,
  podOfWorkloadEntry,
  workloadOf,
  type AbortAnswer,
  type PodModel,
  type RequestSource,
} from './pods';
import {
  DEFAULT_LOADS,
  DEFAULT_USERS,
  MAX_CALL_DEPTH,
  serviceKey,
  simService,
  Traffic,
  type CallTarget,
  type PendingRequest,
  type SimService,
  type SimulatedUser,
} from './traffic';

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
   * user, a millisecond later), on top of the callee's own load. Keys and values as in {@link loads}; a
   * callee given with methods is called with a `method` attribute drawn by their weights.
   */
  readonly calls?: Readonly<Record<string, readonly CallTarget[]>>;
  /**
   * Services whose load comes from a caller outside this mesh, by key as in {@link loads}: another
   * cluster's service, as `cluster/namespace/name`. Those requests count as that caller's calls.
   */
  readonly remoteCallers?: Readonly<Record<string, string>>;
  readonly users?: readonly SimulatedUser[];
  readonly model?: Partial<PodModel>;
  /** Seconds of per-second accounting kept. Default 300. */
  readonly historySeconds?: number;
  /** The window {@link Simulator.metricValues} computes rates over. Default 10 s. */
  readonly rateWindowSeconds?: number;
  /** The wall clock {@link Simulator.start} reads. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Where the calls between services are recorded as they flow (once per tick and pair, with the pair's
   * running total): `mesh` for every call, `fallback` also for those that went through the fallback.
   */
  readonly observedCalls?: Pick<ObservedCalls, 'record'>;
  /**
   * The mesh's Istio `Sidecar` objects as they are now, read once per tick. A pod whose Sidecar's egress
   * does not list a destination calls it through the lazyload fallback. Default: none.
   */
  readonly sidecars?: () => readonly unknown[];
  /** What a call through the fallback adds to its latency. Default {@link FALLBACK_LATENCY_MS}. */
  readonly fallbackLatencyMs?: number;
  /** Istio's root namespace, whose selector-less Sidecar applies mesh-wide. Default `istio-system`. */
  readonly rootNamespace?: string;
  /**
   * The mesh's `EnvoyFilter`s as they are now, read once per tick and compiled again only when they
   * change. A pod whose inbound connection manager they give Envoy's fault filter aborts or delays that
   * fraction of its inbound requests. Default: none.
   */
  readonly envoyFilters?: () => readonly unknown[];
  /**
   * The mesh's Services, ServiceEntries, DestinationRules, MetaRouters and ApplicationProtocols as they
   * are now, read once per tick; the MetaProtocol routes are computed again only when they change.
   * Default: none (no call goes through a MetaProtocol proxy).
   */
  readonly metaProtocol?: () => readonly KubeObject[];
}

/**
 * The extra latency of a call through the lazyload fallback: one more proxy hop (the global sidecar's),
 * which in a real mesh is a few milliseconds.
 */
export const FALLBACK_LATENCY_MS = 5;

/** The Service a fallback call reaches, in the calling workload's namespace (Slime's namespaced mode). */
export const FALLBACK_SOURCE_APP = 'global-sidecar';

/** How calls from one pod to one Service go in this tick. */
interface CallRoute {
  readonly pair: CallPair;
  readonly fallback: boolean;
  /** Who the destination sees as the caller. */
  readonly source: RequestSource;
}

interface CallPair {
  readonly source: { readonly namespace: string; readonly app: string };
  readonly destination: string;
  calls: number;
  fallback: number;
  /** Whether the pair had calls, or fallback calls, in the current tick. */
  calledNow: boolean;
  fallbackNow: boolean;
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
  /** For a MetaProtocol call: its application protocol (`thrift`) and `method` attribute. */
  readonly protocol?: string;
  readonly method?: string;
}

/** A pause longer than this (a suspended machine) is skipped rather than simulated. */
const MAX_CATCH_UP_MS = 60_000;
/**
 * On the timer, a late tick catches up at most this much: a BFF that was busy for a while (or a debugger
 * stop) must not then spend as long again simulating the time it missed.
 */
const TIMER_CATCH_UP_MS = 1_000;

export class Simulator {
  private readonly clock = new FakeClock(0);
  private readonly sidecars: SidecarLimiters;
  private readonly random: () => number;
  private readonly traffic: Traffic;
  private readonly tickMs: number;
  private readonly model: PodModel;
  private readonly historySeconds: number;
  private readonly rateWindowMs: number;
  private readonly now: () => number;
  private services: SimService[] = [];
  private readonly pods = new Map<string, PodState>();
  private readonly counts = new RequestCounts();
  private rules: readonly RenderedRule[];
  private lastMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly listeners: ((d: MeshDecision) => void)[] = [];
  private readonly observedCalls: Pick<ObservedCalls, 'record'> | undefined;
  private readonly sidecarObjects: (() => readonly unknown[]) | undefined;
  private readonly fallbackLatencyMs: number;
  private readonly rootNamespace: string | undefined;
  private fences: Fences | undefined;
  private fenceObjects: readonly unknown[] = [];
  private readonly envoyFilterObjects: (() => readonly unknown[]) | undefined;
  private faults: Faults | undefined;
  private faultObjects: readonly unknown[] = [];
  /** Per tick: how calls from a pod to a Service go, by the objects (stable within a tick). */
  private readonly routes = new Map<Pod, Map<SimService, CallRoute>>();
  /** Calls per calling workload and destination service, by `namespace/app>fqdn`. */
  private readonly pairs = new Map<string, CallPair>();
  private readonly metaProtocolObjects: (() => readonly KubeObject[]) | undefined;
  private readonly rpc: MetaProtocolCalls;
  private readonly rpcCounts = new RpcCounts();

  constructor(options: SimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.tickMs = options.tickMs ?? 100;
    if (!(this.tickMs > 0)) throw new RangeError(`tickMs must be above 0 (got ${this.tickMs})`);
    this.model = { ...DEFAULT_POD_MODEL, ...options.model };
    this.historySeconds = options.historySeconds ?? 300;
    this.rateWindowMs = (options.rateWindowSeconds ?? 10) * 1000;
    // One sequence for the arrivals, the users and the latencies: a seed replays the whole run.
    this.random = seededRandom(options.seed ?? 1);
    this.traffic = new Traffic({
      defaultLoad: options.defaultLoad,
      calls: options.calls ?? {},
      remoteCallers: options.remoteCallers ?? {},
      users: options.users ?? DEFAULT_USERS,
      random: this.random,
    });
    this.lastMs = options.startMs ?? this.now();
    this.clock.set(this.lastMs);
    this.rules = options.rules ?? [];
    this.observedCalls = options.observedCalls;
    this.sidecarObjects = options.sidecars;
    this.fallbackLatencyMs = options.fallbackLatencyMs ?? FALLBACK_LATENCY_MS;
    this.rootNamespace = options.rootNamespace;
    this.envoyFilterObjects = options.envoyFilters;
    this.metaProtocolObjects = options.metaProtocol;
    this.rpc = new MetaProtocolCalls(this.random);
    this.rpc.refresh(this.metaProtocolObjects?.() ?? []);
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
    this.traffic.setLoad(service, profile, this.lastMs);
  }

  /** See {@link Traffic.loadCapProblems}. */
  loadCapProblems(service: string, profile: LoadProfile): string[] {
    return this.traffic.loadCapProblems(service, profile);
  }

  /** The load of a Service, if it has one. */
  loadOf(service: string): LoadProfile | undefined {
    return this.traffic.loadOf(service);
  }

  /** Newly rendered limits; rules whose id is unchanged keep their buckets. With a context, the mesh as it is now. */
  updateRules(rules: readonly RenderedRule[], context?: ClusterContext): void {
    this.rules = rules;
    if (context) this.setContext(context);
    else this.sidecars.update(rules);
  }

  /** The Services, Pods and VMs as they are now: those no longer listed disappear, new Running ones get traffic. */
  setContext(cluster: ClusterContext): void {
    // VMs take their share of a Service's traffic as its pods do.
    const context: ClusterContext = {
      ...cluster,
      pods: [...cluster.pods, ...(cluster.workloadEntries ?? []).map(podOfWorkloadEntry)],
      workloadEntries: [],
    };
    const seen = new Set<string>();
    const previous = new Map(this.services.map((s) => [s.key, s]));
    const services: SimService[] = [];
    const sorted = [...context.services].sort((a, b) =>
      `${namespaceOf(a)}/${a.metadata.name}`.localeCompare(`${namespaceOf(b)}/${b.metadata.name}`),
    );
    for (const svc of sorted) {
      const s = simService(svc, context, previous.get(`${namespaceOf(svc)}/${svc.metadata.name}`));
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
    this.rpc.keepPods(context.pods);
    this.markProtocols();
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
    return this.counts.serviceSeconds(serviceKey(service));
  }

  /** Allowed and limited per second under a rendered rule (by id), oldest first. */
  ruleSecondsOf(ruleId: string): RuleSecond[] {
    return this.counts.ruleSeconds(ruleId);
  }

  /** Calls between services over the last `windowSeconds` complete seconds (the edges seen). */
  edgeRates(windowSeconds = 10): EdgeRate[] {
    return this.counts.edgeRates(Math.floor(this.lastMs / 1000), windowSeconds);
  }

  /** The rules that decided requests in the kept history. */
  ruleIds(): string[] {
    return this.counts.ruleIds();
  }

  podStatus(): PodStatus[] {
    return this.sortedPods().map((p) => ({
      namespace: p.namespace,
      pod: p.name,
      service: p.service,
      cpuCores: p.cpuCores,
      cpuLimitCores: p.cpuLimitCores,
      latencyMs: p.latencyMs(this.model),
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
    return metricValuesOf(states, this.lastMs, this.rateWindowMs);
  }

  /** Calls made through the lazyload fallback so far, per calling workload and destination service. */
  fallbackCalls(): FallbackCount[] {
    return [...this.pairs.values()]
      .filter((p) => p.fallback > 0)
      .map((p) => ({
        sourceNamespace: p.source.namespace,
        sourceApp: p.source.app,
        destination: p.destination,
        requests: p.fallback,
      }))
      .sort(
        (a, b) =>
          a.sourceNamespace.localeCompare(b.sourceNamespace) ||
          a.sourceApp.localeCompare(b.sourceApp) ||
          a.destination.localeCompare(b.destination),
      );
  }

  /**
   * MetaProtocol calls per host, method, route and cluster over the last `rateWindowSeconds` complete
   * seconds: what the dashboard's per-method table shows.
   */
  readonly methodTraffic: MethodTrafficSource = {
    rows: (host) => this.rpcCounts.rows(Math.floor(this.lastMs / 1000), this.rateWindowMs / 1000, host),
  };

  /**
   * The Prometheus text exposition of the mesh, with Istio's and cAdvisor's metric names, and Governor's
   * per-method counters of MetaProtocol calls.
   */
  renderMetrics(): string {
    return renderPodMetrics(this.sortedPods(), this.fallbackCalls()) + this.rpcCounts.render();
  }

  private sortedPods(): PodState[] {
    return [...this.pods.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  private tick(from: number, to: number): void {
    this.refreshFences();
    this.refreshFaults();
    this.refreshMetaProtocol();
    const pending = this.traffic.arrivals(this.services, from, to);
    for (const p of this.pods.values()) p.allowedThisTick = 0;
    // Requests in time order; then the calls the allowed ones make, a hop at a time.
    let wave = pending;
    for (let hop = 0; wave.length > 0 && hop < MAX_CALL_DEPTH; hop++) {
      wave.sort((a, b) => a.t - b.t);
      const next: PendingRequest[] = [];
      for (const r of wave) {
        // Only a pod's outbound MetaProtocol proxy routes by attributes; users reach the pods directly.
        const passed = r.fromPod && this.rpc.handles(r.service) ? this.decideRpc(r) : this.decide(r);
        if (passed) this.traffic.addCalls(r, this.services, to, next);
      }
      wave = next;
    }
    advancePods(this.pods.values(), this.model, to, to - from, this.rateWindowMs);
    this.counts.prune(Math.floor(to / 1000) - this.historySeconds);
    this.rpcCounts.prune(Math.floor(to / 1000) - this.historySeconds);
    this.recordCalls(to);
  }

  /** The Sidecars as they are now; compiled again only when the list changed. */
  private refreshFences(): void {
    this.routes.clear();
    const objects = this.sidecarObjects?.() ?? [];
    const same =
      objects.length === this.fenceObjects.length && objects.every((o, i) => o === this.fenceObjects[i]);
    if (same) return;
    this.fenceObjects = objects;
    this.fences = objects.length > 0 ? new Fences(objects, this.rootNamespace) : undefined;
  }

  /**
   * Routes MetaProtocol calls with what each caller's proxy received from a route server (see
   * `xds/route-clients.ts`) rather than computing them; null goes back to computing them.
   */
  setMetaProtocolRouteSource(
    source: ((caller: Pod | undefined, name: string) => MetaRouteConfiguration | undefined) | null,
  ): void {
    this.rpc.setRouteSource(source);
  }

  /** The pods whose proxies route MetaProtocol calls (every pod's may), and the route configurations. */
  metaProtocolSubscribers(): { pods: Pod[]; names: string[] } {
    this.refreshMetaProtocol();
    const pods = new Map(
      this.services.flatMap((svc) => svc.pods.map((p) => [`${namespaceOf(p)}/${p.metadata.name}`, p])),
    );
    return { pods: [...pods.values()], names: this.rpc.routeNames() };
  }

  /** The MetaProtocol services, routes and limits as they are now; computed again only when they changed. */
  private refreshMetaProtocol(): void {
    if (!this.metaProtocolObjects) return;
    if (this.rpc.refresh(this.metaProtocolObjects())) this.markProtocols();
  }

  /** Labels the pods of MetaProtocol services with their protocol, as their proxies' stats do. */
  private markProtocols(): void {
    for (const s of this.services) {
      const protocol = this.rpc.protocolOf(s);
      for (const pod of s.pods) {
        const state = this.pods.get(`${namespaceOf(pod)}/${pod.metadata.name}`);
        if (state) state.requestProtocol = protocol;
      }
    }
  }

  /** The EnvoyFilters as they are now; compiled again only when the list changed. */
  private refreshFaults(): void {
    const objects = this.envoyFilterObjects?.() ?? [];
    const same =
      objects.length === this.faultObjects.length && objects.every((o, i) => o === this.faultObjects[i]);
    if (same) return;
    this.faultObjects = objects;
    const faults = objects.length > 0 ? new Faults(objects, this.rootNamespace) : undefined;
    this.faults = faults && faults.size > 0 ? faults : undefined;
  }

  /**
   * What the pod's fault filter does to a request its limits let through: the delay it adds and the
   * answer it aborts with, by exact fractional accounting per pod.
   */
  private faultFor(r: PendingRequest): { delayMs: number; aborted: AbortAnswer | undefined } {
    const settings = this.faults?.faultOf(r.pod, r.service.targetPort, r.service.port);
    const state = settings && this.pods.get(`${namespaceOf(r.pod)}/${r.pod.metadata.name}`);
    if (!settings || !state) return NO_FAULT;
    let delayMs = 0;
    let aborted: AbortAnswer | undefined;
    if (settings.delay) {
      const d = nextFires(state.delayCarry, settings.delay.fraction);
      state.delayCarry = d.carry;
      if (d.fires) delayMs = settings.delay.delayMs;
    }
    if (settings.abort) {
      const a = nextFires(state.abortCarry, settings.abort.fraction);
      state.abortCarry = a.carry;
      if (a.fires) aborted = internAnswer(settings.abort);
    }
    return { delayMs, aborted };
  }

  /** How calls from this pod to this Service go: direct, or through the fallback when its Sidecar does not list it. */
  private routeOf(from: Pod, fromService: string, service: SimService): CallRoute {
    let byService = this.routes.get(from);
    if (!byService) this.routes.set(from, (byService = new Map()));
    let route = byService.get(service);
    if (route) return route;
    const destination = fqdnOf(service);
    const fallback =
      this.fences !== undefined &&
      !this.fences.sees(from, { namespace: service.namespace, fqdn: destination, port: service.port });
    const caller = { namespace: namespaceOf(from), app: appOf(from, fromService) };
    const key = `${caller.namespace}/${caller.app}>${destination}`;
    let pair = this.pairs.get(key);
    if (!pair) {
      pair = { source: caller, destination, calls: 0, fallback: 0, calledNow: false, fallbackNow: false };
      this.pairs.set(key, pair);
    }
    // Through the fallback, the destination sees the global sidecar as the caller, as in a real mesh.
    const source = internSource(
      fallback
        ? { app: FALLBACK_SOURCE_APP, workload: FALLBACK_SOURCE_APP, namespace: caller.namespace }
        : { app: caller.app, workload: workloadOf(from.metadata.name), namespace: caller.namespace },
    );
    route = { pair, fallback, source };
    byService.set(service, route);
    return route;
  }

  /** Once per tick, the running totals of the pairs that had calls in it. */
  private recordCalls(at: number): void {
    for (const pair of this.pairs.values()) {
      if (pair.calledNow) this.observedCalls?.record('mesh', pair.source, pair.destination, pair.calls, at);
      if (pair.fallbackNow)
        this.observedCalls?.record('fallback', pair.source, pair.destination, pair.fallback, at);
      pair.calledNow = false;
      pair.fallbackNow = false;
    }
  }

  /** Decides a request as its pod's sidecar would; returns whether it was let through. */
  private decide(r: PendingRequest): boolean {
    this.clock.set(r.t);
    const decision = this.sidecars.decide(r.pod, r.service.port, this.traffic.requests[r.user]!);
    const allowed = decision.allowed;
    // Envoy's fault filter sits before the router: it sees what the limits let through.
    const fault = allowed && this.faults ? this.faultFor(r) : NO_FAULT;
    const rule = this.sidecars.rule(decision.ruleId);
    const second = Math.floor(r.t / 1000);
    this.counts.count(r.service.key, rule?.id, second, allowed, fault.aborted !== undefined);

    if (this.listeners.length > 0) {
      const event: MeshDecision = {
        t: r.t,
        namespace: r.service.namespace,
        service: r.service.name,
        pod: r.pod.metadata.name,
        user: this.traffic.users[r.user]!.value,
        outcome: decision.outcome,
        ruleId: decision.ruleId,
        remaining: Number.isFinite(decision.remaining) ? decision.remaining : null,
      };
      for (const listener of this.listeners) listener(event);
    }

    const caller = this.countCaller(r, second, allowed);
    const latency = this.pods
      .get(`${namespaceOf(r.pod)}/${r.pod.metadata.name}`)
      ?.serve(allowed, this.model, this.random, caller.source, caller.extraMs + fault.delayMs, fault.aborted);
    if (r.from !== undefined && latency !== undefined)
      this.counts.answerCall(r.from, r.service.key, second, latency, (fault.aborted?.httpStatus ?? 0) >= 500);
    // An aborted request never reaches the app, which then calls nothing.
    return allowed && fault.aborted === undefined;
  }

  /**
   * Routes a MetaProtocol call as the caller's outbound proxy would, then decides it on the chosen pod as
   * its inbound proxy's local rate limit would; returns whether it reached the app. A call no route or no
   * pod takes fails (counted as an error, no decision). Mirrored copies are counted only: their answers
   * are dropped, as Envoy drops them.
   */
  private decideRpc(r: PendingRequest): boolean {
    const attributes: Record<string, string> = r.method !== undefined ? { method: r.method } : {};
    const route = this.rpc.route(r.service, attributes, this.services, r.fromPod);
    const second = Math.floor(r.t / 1000);
    const pod = route.pod;
    const limit = pod ? this.rpc.limit(r.service, pod, attributes, r.t) : undefined;
    const response: RpcResponse = !limit ? 'error' : limit.allowed ? 'ok' : 'local_limited';
    const allowed = response !== 'local_limited';
    // A failed call is answered, not limited: it counts with the answers the sidecar gave itself.
    this.counts.count(r.service.key, undefined, second, allowed, response === 'error');
    this.rpcCounts.count(
      {
        host: fqdnOf(r.service),
        method: r.method ?? NO_METHOD,
        route: route.route,
        cluster: route.cluster,
        subset: route.subset,
      },
      second,
      response,
      route.mirror,
    );
    const caller = this.countCaller(r, second, allowed);
    if (!pod || !limit) {
      // Answered by the caller's proxy at once, as an error.
      if (r.from !== undefined) this.counts.answerCall(r.from, r.service.key, second, 0, true);
      return false;
    }
    r.pod = pod;
    if (this.listeners.length > 0) {
      const protocol = this.rpc.protocolOf(r.service);
      const event: MeshDecision = {
        t: r.t,
        namespace: r.service.namespace,
        service: r.service.name,
        pod: pod.metadata.name,
        user: this.traffic.users[r.user]!.value,
        outcome: limit.allowed ? 'allowed' : 'limited',
        ruleId: limit.ruleId,
        remaining: limit.remaining,
        ...(protocol !== undefined ? { protocol } : {}),
        method: r.method ?? NO_METHOD,
      };
      for (const listener of this.listeners) listener(event);
    }
    const latency = this.pods
      .get(`${namespaceOf(pod)}/${pod.metadata.name}`)
      ?.serve(allowed, this.model, this.random, caller.source, caller.extraMs);
    if (r.from !== undefined && latency !== undefined)
      this.counts.answerCall(r.from, r.service.key, second, latency, false);
    return allowed;
  }

  /**
   * Counts a request made by another service (the edge, and the calling workload's pair), and says who
   * the destination sees as the caller and what the way there added to the latency.
   */
  private countCaller(
    r: PendingRequest,
    second: number,
    allowed: boolean,
  ): { source: RequestSource | undefined; extraMs: number } {
    if (r.from === undefined) return { source: undefined, extraMs: 0 };
    this.counts.countCall(r.from, r.service.key, second, allowed);
    if (!r.fromPod) return { source: undefined, extraMs: 0 };
    const route = this.routeOf(r.fromPod, r.from, r.service);
    route.pair.calls++;
    route.pair.calledNow = true;
    let extraMs = 0;
    if (route.fallback) {
      route.pair.fallback++;
      route.pair.fallbackNow = true;
      extraMs += this.fallbackLatencyMs;
    }
    return { source: route.source, extraMs };
  }
}

const NO_FAULT: { delayMs: number; aborted: AbortAnswer | undefined } = { delayMs: 0, aborted: undefined };

const fqdnOf = (s: SimService): string => `${s.name}.${s.namespace}.svc.cluster.local`;

/** Istio's `source_app`: the pod's `app` label, else the name of the Service it was called through. */
const appOf = (pod: Pod, serviceKey: string): string =>
  pod.metadata.labels?.['app'] ?? serviceKey.slice(serviceKey.indexOf('/') + 1);
