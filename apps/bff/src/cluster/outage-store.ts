/**
 * A store that can be made unreachable: every request fails as a cluster's API server that is down fails,
 * and open watches end. The embedded clusters use it so that an outage can be shown (and tested) without
 * a real cluster; what sits above it (informers, controllers, the fan-out) sees what it would see of a
 * real one.
 */
import { StoreError } from './store';
import type * as Store from './store';

/** What a request to a cluster that is down fails with (a connection that cannot be made). */
export class UnreachableError extends StoreError {
  constructor(message: string) {
    super(message, 503, 'ServiceUnavailable');
  }
}

export class OutageStore implements Store.ClusterStore {
  private down = false;
  private readonly watches = new Set<(error: Error) => void>();
  private readonly listeners = new Set<(down: boolean) => void>();

  constructor(
    private readonly inner: Store.ClusterStore,
    /** Named in the errors, e.g. `cluster west`. */
    private readonly label: string,
  ) {}

  get description(): string {
    return this.inner.description;
  }

  writeFailure(): string | null {
    return this.inner.writeFailure?.() ?? null;
  }

  isDown(): boolean {
    return this.down;
  }

  /** Down: every request fails and the open watches end; up: requests reach the store again. */
  setDown(down: boolean): void {
    if (down === this.down) return;
    this.down = down;
    if (down) for (const end of [...this.watches]) end(this.error());
    for (const l of [...this.listeners]) l(down);
  }

  onChange(listener: (down: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private error(): UnreachableError {
    return new UnreachableError(`${this.label} is unreachable (simulated outage)`);
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.down) throw this.error();
    return call();
  }

  list(kind: Store.Kind, namespace?: string): Promise<Store.ListResult> {
    return this.guard(() => this.inner.list(kind, namespace));
  }

  get(kind: Store.Kind, namespace: string, name: string): Promise<Store.KubeObject | null> {
    return this.guard(() => this.inner.get(kind, namespace, name));
  }

  create(object: Store.KubeObject): Promise<Store.KubeObject> {
    return this.guard(() => this.inner.create(object));
  }

  update(object: Store.KubeObject): Promise<Store.KubeObject> {
    return this.guard(() => this.inner.update(object));
  }

  apply(object: Store.KubeObject, options: Store.ApplyOptions): Promise<Store.KubeObject> {
    return this.guard(() => this.inner.apply(object, options));
  }

  updateStatus(object: Store.KubeObject): Promise<Store.KubeObject> {
    return this.guard(() => this.inner.updateStatus(object));
  }

  delete(kind: Store.Kind, namespace: string, name: string, options?: Store.DeleteOptions): Promise<boolean> {
    return this.guard(() => this.inner.delete(kind, namespace, name, options));
  }

  watch(kind: Store.Kind, options: Store.WatchOptions): Store.WatchHandle {
    let ended = false;
    let inner: Store.WatchHandle | undefined;
    const stop = () => {
      if (ended) return false;
      ended = true;
      this.watches.delete(end);
      inner?.stop();
      return true;
    };
    const end = (error: Error | undefined) => {
      if (stop()) options.onEnd(error);
    };
    if (this.down) {
      // As a refused connection: the watch ends at once, asynchronously, as a real one would.
      queueMicrotask(() => end(this.error()));
    } else {
      this.watches.add(end);
      inner = this.inner.watch(kind, {
        ...options,
        onEvent: (event) => {
          if (!ended) options.onEvent(event);
        },
        onEnd: end,
      });
    }
    return { stop };
  }

  close(): Promise<void> {
    this.watches.clear();
    return this.inner.close();
  }
}
