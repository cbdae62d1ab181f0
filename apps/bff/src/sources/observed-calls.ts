/**
 * Which services each workload calls, as observed: what the lazyload module fences a workload's egress to.
 * Sources (Prometheus, Envoy's access-log service, the embedded mesh, the fallback path) record calls
 * here; the module reads them per workload when it plans.
 */

/** How a call was seen. */
export type CallSourceKind = 'prometheus' | 'accesslog' | 'mesh' | 'fallback';

/** The calls one workload made to one destination service, as far as the sources have seen them. */
export interface ObservedCall {
  /** The calling workload: its namespace and `app` label (Istio's `source_app`). */
  readonly source: { readonly namespace: string; readonly app: string };
  /** The destination service's FQDN, e.g. `reviews.default.svc.cluster.local` (Istio's `destination_service`). */
  readonly destination: string;
  /** Requests counted so far (the largest count any source reported). */
  readonly count: number;
  /** When a source last saw such a call (ms since the epoch). */
  readonly lastSeen: number;
  /** The sources that saw it. */
  readonly via: readonly CallSourceKind[];
}

export interface ObservedCallsHealth {
  readonly available: boolean;
  readonly message?: string;
}

export interface ObservedCallSource {
  /** The destinations the workload `namespace`/`app` has called, by destination FQDN. */
  callsFrom(namespace: string, app: string): ReadonlyMap<string, ObservedCall>;
  /** Called on a workload's first call to a destination, so that its fence is planned again at once. */
  onNewCall(listener: (call: ObservedCall) => void): () => void;
  health(): ObservedCallsHealth;
}

export const NO_OBSERVED_CALLS: ObservedCallSource = {
  callsFrom: () => new Map(),
  onNewCall: () => () => undefined,
  health: () => ({ available: true }),
};

const sourceKey = (namespace: string, app: string) => `${namespace}/${app}`;

/** The calls every source records into: one per running Governor. */
export class ObservedCalls implements ObservedCallSource {
  private readonly bySource = new Map<string, Map<string, ObservedCall>>();
  private readonly listeners = new Set<(call: ObservedCall) => void>();
  private readonly failures = new Map<CallSourceKind, string>();

  /** Records calls a source saw; `count` is that source's running total for the pair. */
  record(
    via: CallSourceKind,
    source: { namespace: string; app: string },
    destination: string,
    count: number,
    at: number,
  ): void {
    const key = sourceKey(source.namespace, source.app);
    let calls = this.bySource.get(key);
    if (!calls) this.bySource.set(key, (calls = new Map()));
    const known = calls.get(destination);
    const call: ObservedCall = {
      source: { namespace: source.namespace, app: source.app },
      destination,
      count: Math.max(count, known?.count ?? 0),
      lastSeen: Math.max(at, known?.lastSeen ?? 0),
      via: known === undefined || known.via.includes(via) ? (known?.via ?? [via]) : [...known.via, via],
    };
    calls.set(destination, call);
    if (!known) for (const l of this.listeners) l(call);
  }

  /** Says a source failed (or, with `undefined`, recovered); health reports it. */
  sourceFailed(via: CallSourceKind, message: string | undefined): void {
    if (message === undefined) this.failures.delete(via);
    else this.failures.set(via, message);
  }

  callsFrom(namespace: string, app: string): ReadonlyMap<string, ObservedCall> {
    return this.bySource.get(sourceKey(namespace, app)) ?? new Map();
  }

  onNewCall(listener: (call: ObservedCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  health(): ObservedCallsHealth {
    if (this.failures.size === 0) return { available: true };
    return {
      available: false,
      message: [...this.failures].map(([via, m]) => `${via}: ${m}`).join('; '),
    };
  }
}
