/**
 * Leader election through a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does: the leader
 * renews the lease; a candidate takes it over once it has seen the same lease record unchanged for longer
 * than the lease duration (measured on its own clock, so clock skew between replicas does not matter).
 * Writes carry the lease's resourceVersion, so two candidates cannot both win.
 */
import { apiVersionOf, ConflictError, AlreadyExistsError, type ClusterStore, type KubeObject } from './store';

export interface LeaderElectionOptions {
  readonly store: ClusterStore;
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity (hostname and pid, say). */
  readonly identity: string;
  /** How long a lease is good for without renewal. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** How often the leader renews. Default 5 s. */
  readonly renewIntervalMs?: number;
  /** How often a candidate tries. Default 2 s. */
  readonly retryIntervalMs?: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly now?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** MicroTime, as the Lease API wants it: RFC 3339 with microseconds. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private stopped = true;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The lease record last seen and when this replica saw it change. */
  private observed: { record: string; at: number } | null = null;
  private lastRenewed = 0;
  private readonly now: () => number;

  constructor(private readonly options: LeaderElectionOptions) {
    this.now = options.now ?? Date.now;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Why the last attempt to acquire or renew failed (e.g. the lease namespace does not exist). */
  lastError(): string | undefined {
    return this.error;
  }

  private error: string | undefined;

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.loop();
  }

  /** Stops competing; a leader releases the lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
      this.error = undefined;
    } catch (e) {
      ok = false;
      this.error = e instanceof Error ? e.message : String(e);
    }
    if (this.stopped) return;
    const duration = this.options.leaseDurationMs ?? 15_000;
    if (ok) {
      this.lastRenewed = this.now();
      this.setLeading(true);
    } else if (this.leading && this.now() - this.lastRenewed > duration * 0.8) {
      // Could not renew in time: someone else may take the lease, so stop acting as leader first.
      this.setLeading(false);
    }
    const delay = this.leading
      ? (this.options.renewIntervalMs ?? 5000)
      : (this.options.retryIntervalMs ?? 2000);
    this.timer = setTimeout(() => void this.loop(), delay);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { store, namespace, name, identity } = this.options;
    const duration = this.options.leaseDurationMs ?? 15_000;
    const now = this.now();
    const lease = await store.get('Lease', namespace, name);
    const spec: LeaseSpec = (lease?.spec as LeaseSpec | undefined) ?? {};
    const mine = (transitions: number, acquireTime: string | undefined): KubeObject => ({
      apiVersion: apiVersionOf('Lease'),
      kind: 'Lease',
      metadata: {
        name,
        namespace,
        ...(lease?.metadata.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(duration / 1000),
        acquireTime: acquireTime ?? microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      },
    });
    if (!lease) {
      try {
        await store.create(mine(0, undefined));
        return true;
      } catch (e) {
        if (e instanceof AlreadyExistsError) return false;
        throw e;
      }
    }
    const record = JSON.stringify(spec);
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: now };
    const holder = spec.holderIdentity ?? '';
    if (holder === identity) {
      return this.write(mine(spec.leaseTransitions ?? 0, spec.acquireTime));
    }
    const expired =
      holder === '' || now - this.observed.at > (spec.leaseDurationSeconds ?? duration / 1000) * 1000;
    if (!expired) return false;
    return this.write(mine((spec.leaseTransitions ?? 0) + 1, undefined));
  }

  private async write(lease: KubeObject): Promise<boolean> {
    try {
      await this.options.store.update(lease);
      return true;
    } catch (e) {
      if (e instanceof ConflictError) return false;
      throw e;
    }
  }

  private async release(): Promise<void> {
    const { store, namespace, name, identity } = this.options;
    const lease = await store.get('Lease', namespace, name);
    const spec = (lease?.spec as LeaseSpec | undefined) ?? {};
    if (!lease || spec.holderIdentity !== identity) return;
    await store.update({
      ...lease,
      spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) },
    });
  }
}
