/**
 * The simulated mesh's traffic: the users who send requests, how many each Service receives (its load
 * profile), which of its Running pods gets each (round-robin), and the calls Services make to each other.
 */
import type { Pod, Service } from '@governor/crd-types';
import { namespaceOf, runningPods, type ClusterContext } from '../modules/limiter/render';
import type { ReplayRequest } from '../modules/limiter/replay/request-descriptors';
import { loadProblems, peakRate, rateAt, type LoadProfile } from './load';

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

/**
 * The demo's traffic as the product runs it: users load the product page (rising and falling over ten
 * minutes), and every request it lets through calls details and reviews, each reviews request calls ratings.
 */
export const BOOKINFO_LOADS: Readonly<Record<string, LoadProfile>> = {
  productpage: { kind: 'wave', minRps: 20, maxRps: 120, periodMs: 10 * 60_000 },
};

/**
 * A call to a MetaProtocol (RPC) service: each call carries a `method` attribute, drawn with these relative
 * weights; the caller's MetaProtocol proxy routes it by its attributes.
 */
export interface RpcCallTarget {
  /** `name` (in `default`) or `namespace/name`. */
  readonly service: string;
  readonly methods: Readonly<Record<string, number>>;
}

/** Whom a service calls: a Service (`name` or `namespace/name`), or an RPC service with its methods. */
export type CallTarget = string | RpcCallTarget;

/**
 * Istio's Bookinfo: the product page calls details and reviews, reviews calls ratings; ratings calls the
 * Thrift service rating-rpc (mostly getRating, some listRatings, a few rateProduct).
 */
export const BOOKINFO_CALLS: Readonly<Record<string, readonly CallTarget[]>> = {
  productpage: ['details', 'reviews'],
  reviews: ['ratings'],
  ratings: [{ service: 'rating-rpc', methods: { getRating: 60, listRatings: 30, rateProduct: 10 } }],
};

/**
 * The embedded default's second cluster: its reviews are called by the first cluster's product page
 * (`<home>/default/productpage`), and call their own ratings.
 */
export function remoteBookinfo(home: string) {
  return {
    loads: { reviews: { kind: 'wave', minRps: 10, maxRps: 60, periodMs: 10 * 60_000 } },
    calls: { reviews: ['ratings'] },
    remoteCallers: { reviews: `${home}/default/productpage` },
  } as const satisfies {
    loads: Readonly<Record<string, LoadProfile>>;
    calls: Readonly<Record<string, readonly CallTarget[]>>;
    remoteCallers: Readonly<Record<string, string>>;
  };
}

/**
 * Every simulated request is decided one by one on the BFF's thread (some 10-15 µs each with the decision
 * feeds, on the 2-core machine the BFF is measured on), so the load is capped where the simulation takes
 * about a third of a core and the BFF's own answers stay prompt: 27,500 requests per second in all, calls
 * between services included, and 2,500 per Service (Bookinfo with every Service at the cap is 27,500 with
 * its calls: productpage's go to details and reviews, reviews' to ratings, ratings' to rating-rpc).
 */
export const MAX_SERVICE_RPS = 2_500;
export const MAX_MESH_RPS = 27_500;

/** Calls deeper than this (a loop in the call graph) are not made. */
export const MAX_CALL_DEPTH = 8;

/** `namespace/name` of a Service given as `name` (in `default`) or `namespace/name`. */
export const serviceKey = (s: string): string => (s.includes('/') ? s : `default/${s}`);

/** A Service that receives traffic, and where its round-robin and its fractional requests stand. */
export interface SimService {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  /** The port its pods listen on (the inbound listener's); the Service port when it names one. */
  readonly targetPort: number;
  pods: Pod[];
  next: number;
  carry: number;
}

/** A request on its way to a pod's sidecar. */
export interface PendingRequest {
  t: number;
  service: SimService;
  pod: Pod;
  /** The index of the user who sent it. */
  user: number;
  /** The calling service's key, for a request made by another service. */
  from?: string;
  /** The calling pod, for a request made by another service. */
  fromPod?: Pod;
  /**
   * The `method` attribute of an RPC call. A call to a MetaProtocol service is routed by the caller's
   * proxy, which chooses the pod: `pod` is then only where round-robin would have sent it.
   */
  method?: string;
}

/** A callee as the traffic keeps it: its key, and for an RPC service its methods' cumulative weights. */
interface Callee {
  readonly key: string;
  readonly methods?: { readonly names: readonly string[]; readonly cumulative: readonly number[] };
}

function calleeOf(target: CallTarget): Callee {
  if (typeof target === 'string') return { key: serviceKey(target) };
  const entries = Object.entries(target.methods).filter(([, w]) => w > 0);
  if (entries.length === 0) return { key: serviceKey(target.service) };
  let sum = 0;
  return {
    key: serviceKey(target.service),
    methods: { names: entries.map(([m]) => m), cumulative: entries.map(([, w]) => (sum += w)) },
  };
}

interface LoadState {
  readonly profile: LoadProfile;
  readonly sinceMs: number;
}

export interface TrafficOptions {
  /** The load of a Service without one of its own. */
  readonly defaultLoad: LoadProfile | undefined;
  /** Who calls whom, with keys as the loads'. */
  readonly calls: Readonly<Record<string, readonly CallTarget[]>>;
  /** Loads that are another mesh's calls: the caller's key (`cluster/namespace/name`) by service key. */
  readonly remoteCallers?: Readonly<Record<string, string>>;
  readonly users: readonly SimulatedUser[];
  readonly random: () => number;
}

export class Traffic {
  readonly users: readonly SimulatedUser[];
  /** What each user's requests carry, as a sidecar sees them. */
  readonly requests: readonly ReplayRequest[];
  private readonly userWeightTotal: number;
  private readonly defaultLoad: LoadProfile | undefined;
  private readonly loads = new Map<string, LoadState>();
  private readonly calls: ReadonlyMap<string, readonly Callee[]>;
  private readonly remoteCallers: ReadonlyMap<string, string>;
  private readonly random: () => number;

  constructor(options: TrafficOptions) {
    this.random = options.random;
    this.defaultLoad = options.defaultLoad;
    this.users = options.users;
    this.userWeightTotal = this.users.reduce((s, u) => s + u.weight, 0);
    if (!(this.users.length > 0 && this.userWeightTotal > 0))
      throw new RangeError('users: at least one with a weight above 0');
    this.requests = this.users.map((u, i) => ({
      headers: new Map([['x-user', u.value]]),
      query: new Map<string, string>(),
      sourceIp: `10.0.${i >> 8}.${(i & 255) + 1}`,
    }));
    this.calls = new Map(
      Object.entries(options.calls).map(([from, to]) => [serviceKey(from), to.map(calleeOf)]),
    );
    this.remoteCallers = new Map(
      Object.entries(options.remoteCallers ?? {}).map(([to, from]) => [serviceKey(to), from]),
    );
  }

  /** Changes a Service's load (`name` in `default`, or `namespace/name`) from `sinceMs` on. */
  setLoad(service: string, profile: LoadProfile, sinceMs: number): void {
    const problems = [...loadProblems(profile), ...this.loadCapProblems(service, profile)];
    if (problems.length > 0) throw new RangeError(`load of ${service}: ${problems.join('; ')}`);
    this.loads.set(serviceKey(service), { profile, sinceMs });
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

  /** The load of a Service, if it has one. */
  loadOf(service: string): LoadProfile | undefined {
    return this.loads.get(serviceKey(service))?.profile ?? this.defaultLoad;
  }

  /** The requests the Services receive from their users between `from` and `to`, not yet in time order. */
  arrivals(services: readonly SimService[], from: number, to: number): PendingRequest[] {
    const dt = to - from;
    const pending: PendingRequest[] = [];
    for (const s of services) {
      const load = this.loads.get(s.key) ?? (this.defaultLoad && { profile: this.defaultLoad, sinceMs: 0 });
      if (!load || s.pods.length === 0) {
        s.carry = 0;
        continue;
      }
      const expected = (rateAt(load.profile, from - load.sinceMs) * dt) / 1000 + s.carry;
      const n = Math.floor(expected);
      s.carry = expected - n;
      const caller = this.remoteCallers.get(s.key);
      for (let i = 0; i < n; i++) {
        const pod = nextPod(s);
        // Arrivals spread over the tick, strictly after its start and no later than its end.
        pending.push({
          t: from + (dt * (i + 1 - this.random())) / n,
          service: s,
          pod,
          user: this.pickUser(),
          ...(caller !== undefined ? { from: caller } : {}),
        });
      }
    }
    return pending;
  }

  /** Adds to `into` the calls a request its sidecar let through makes: a millisecond later, before `to`. */
  addCalls(r: PendingRequest, services: readonly SimService[], to: number, into: PendingRequest[]): void {
    for (const callee of this.calls.get(r.service.key) ?? []) {
      const s = services.find((candidate) => candidate.key === callee.key);
      if (!s || s.pods.length === 0) continue;
      const call: PendingRequest = {
        t: Math.min(to, r.t + 1),
        service: s,
        pod: nextPod(s),
        user: r.user,
        from: r.service.key,
        fromPod: r.pod,
      };
      if (callee.methods) call.method = this.pickMethod(callee.methods);
      into.push(call);
    }
  }

  /** Requests per second the mesh decides at most: each Service's own, and the calls they make, hop by hop. */
  private meshRps(peaks: ReadonlyMap<string, number>): number {
    let total = 0;
    let wave = peaks;
    for (let hop = 0; wave.size > 0 && hop < MAX_CALL_DEPTH; hop++) {
      const next = new Map<string, number>();
      for (const [key, rps] of wave) {
        total += rps;
        for (const { key: callee } of this.calls.get(key) ?? [])
          next.set(callee, (next.get(callee) ?? 0) + rps);
      }
      wave = next;
    }
    return total;
  }

  private pickMethod(methods: NonNullable<Callee['methods']>): string {
    const r = this.random() * methods.cumulative.at(-1)!;
    const i = methods.cumulative.findIndex((c) => r < c);
    return methods.names[i < 0 ? methods.names.length - 1 : i]!;
  }

  private pickUser(): number {
    let r = this.random() * this.userWeightTotal;
    for (let i = 0; i < this.users.length; i++) {
      r -= this.users[i]!.weight;
      if (r < 0) return i;
    }
    return this.users.length - 1;
  }
}

/** The Service as the simulation routes to it (`previous`: where its round-robin stood), if it can. */
export function simService(
  svc: Service,
  context: ClusterContext,
  previous: SimService | undefined,
): SimService | undefined {
  const selector = svc.spec.selector ?? {};
  if (Object.keys(selector).length === 0) return undefined;
  const namespace = namespaceOf(svc);
  const port = svc.spec.ports?.[0]?.port;
  if (port === undefined) return undefined;
  const target = svc.spec.ports?.[0]?.targetPort;
  return {
    key: `${namespace}/${svc.metadata.name}`,
    namespace,
    name: svc.metadata.name,
    port,
    targetPort: typeof target === 'number' ? target : port,
    pods: runningPods(context, namespace, selector),
    next: previous?.next ?? 0,
    carry: previous?.carry ?? 0,
  };
}

/** The Service's next pod, round-robin. */
function nextPod(s: SimService): Pod {
  const pod = s.pods[s.next % s.pods.length]!;
  s.next = (s.next + 1) % s.pods.length;
  return pod;
}
