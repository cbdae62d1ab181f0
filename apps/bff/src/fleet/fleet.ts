/**
 * One control plane per cluster: a plane is made for each member of the fleet, started when the member
 * joins and stopped when it leaves, and the policy fan-out copies the home cluster's policies into the
 * others. The plane is whatever the caller makes (the product's `Governor`); this layer knows only that
 * it starts and stops.
 */
import { FanoutController, fanoutClusters, type FanoutOptions } from './fanout';
import type { FleetMember, FleetMemberEvent, FleetMembers } from './members';

export interface Plane {
  /** Resolves once the plane's caches are filled. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The cluster is reachable again: stop waiting out backoffs. */
  reconnect?(): void;
}

export interface FleetCluster<P extends Plane> {
  readonly name: string;
  readonly member: FleetMember;
  readonly plane: P;
  /** The plane's first start resolved (its caches were filled once). */
  readonly started: boolean;
}

export interface FleetOptions<P extends Plane> {
  readonly members: FleetMembers;
  /** The cluster whose policies fan out; default the first member. */
  readonly home?: string;
  readonly create: (member: FleetMember) => P;
  /** The policy fan-out from the home cluster; false: none. Default on, with the fan-out's defaults. */
  readonly fanout?: false | Omit<FanoutOptions, 'home' | 'clusters'>;
  /** Told when a cluster's plane starts or stops, or its member's health changes. */
  readonly onChange?: (event: FleetMemberEvent) => void;
}

interface Running<P extends Plane> {
  member: FleetMember;
  readonly plane: P;
  started: boolean;
  starting: Promise<void> | undefined;
}

export class Fleet<P extends Plane> {
  readonly home: string;
  readonly fanout: FanoutController | null;
  private readonly running = new Map<string, Running<P>>();
  private readonly listeners = new Set<(event: FleetMemberEvent) => void>();
  private off: (() => void) | undefined;

  constructor(private readonly options: FleetOptions<P>) {
    const names = options.members.list().map((m) => m.name);
    const home = options.home ?? names[0];
    if (home === undefined) throw new Error('the fleet has no cluster');
    if (!names.includes(home))
      throw new Error(`the home cluster "${home}" is not one of the clusters (${names.join(', ')})`);
    this.home = home;
    if (options.onChange) this.listeners.add(options.onChange);
    this.fanout =
      options.fanout === false
        ? null
        : new FanoutController({ ...options.fanout, home, clusters: fanoutClusters(options.members) });
    // Made now, started by start(): the planes are there to be wired before anything runs.
    for (const m of options.members.list()) this.add(m);
  }

  /**
   * Starts a plane per member (resolving once the reachable ones have filled their caches: an unreachable
   * cluster's plane keeps trying on its own), then the fan-out, and follows the members from then on.
   */
  async start(): Promise<void> {
    this.off = this.options.members.onChange((e) => this.onMember(e));
    const runs = [...this.running.values()];
    for (const r of runs) this.startPlane(r);
    await Promise.all(runs.filter((r) => r.member.health.reachable).map((r) => r.starting));
    await this.fanout?.start();
  }

  async stop(): Promise<void> {
    this.off?.();
    await this.fanout?.stop();
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.plane.stop()));
  }

  list(): FleetCluster<P>[] {
    return [...this.running.entries()].map(([name, r]) => this.view(name, r));
  }

  get(name: string): FleetCluster<P> | undefined {
    const r = this.running.get(name);
    return r ? this.view(name, r) : undefined;
  }

  /** The home cluster's; it is there from the start (the constructor checks it is a member). */
  homeCluster(): FleetCluster<P> {
    const home = this.get(this.home);
    if (!home) throw new Error(`the home cluster ${this.home} is not running`);
    return home;
  }

  onChange(listener: (event: FleetMemberEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private view(name: string, r: Running<P>): FleetCluster<P> {
    const member = this.options.members.get(name) ?? r.member;
    return { name, member, plane: r.plane, started: r.started };
  }

  private add(member: FleetMember): Running<P> {
    const run: Running<P> = {
      member,
      plane: this.options.create(member),
      started: false,
      starting: undefined,
    };
    this.running.set(member.name, run);
    return run;
  }

  private startPlane(run: Running<P>): void {
    run.starting = run.plane.start().then(() => {
      run.started = true;
    });
    // A plane that fails to start is reported by its own health; the fleet keeps the others.
    run.starting.catch(() => undefined);
  }

  private onMember(event: FleetMemberEvent): void {
    const { member } = event;
    if (event.type === 'added') this.startPlane(this.add(member));
    else if (event.type === 'removed') {
      const r = this.running.get(member.name);
      this.running.delete(member.name);
      void r?.plane.stop().catch(() => undefined);
    } else if (event.type === 'health') {
      const r = this.running.get(member.name);
      if (r) r.member = member;
      if (r && member.health.reachable && !event.previous.reachable) r.plane.reconnect?.();
    }
    for (const l of [...this.listeners]) l(event);
  }
}
