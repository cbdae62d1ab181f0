/**
 * The clusters one Governor manages: the contexts of a kubeconfig (through the cluster registry), or the
 * embedded default's clusters, each an embedded store that can be taken down to show an outage.
 */
import type { ClusterHealth, ClusterRegistry } from '../cluster/registry';
import { GOVERNOR_CRD_NAMES } from '../cluster/cluster-probe';
import { OutageStore } from '../cluster/outage-store';
import type { ClusterStore } from '../cluster/store';

export interface FleetMember {
  /** A DNS label, unique in the fleet: the `cluster` of `cluster/namespace/name`. */
  readonly name: string;
  readonly kind: 'embedded' | 'kubernetes';
  /** The API server's URL; null for an embedded cluster. */
  readonly server: string | null;
  readonly store: ClusterStore;
  readonly health: ClusterHealth;
  /** Present for clusters whose outage can be simulated (the embedded ones). */
  readonly simulateOutage?: (down: boolean) => void;
}

export type FleetMemberEvent =
  | { readonly type: 'added' | 'removed'; readonly member: FleetMember }
  /** Reachability, versions or CRDs changed (not the probe's timestamps alone). */
  | { readonly type: 'health'; readonly member: FleetMember; readonly previous: ClusterHealth };

export interface FleetMembers {
  /** In a stable order: the kubeconfig's order of contexts, or as given. */
  list(): readonly FleetMember[];
  get(name: string): FleetMember | undefined;
  onChange(listener: (event: FleetMemberEvent) => void): () => void;
  /** Stops following and closes every member's store. */
  close(): Promise<void>;
}

/** The registry's clusters, following its file and its health probes. */
export function registryMembers(registry: ClusterRegistry): FleetMembers {
  const member = (e: ReturnType<ClusterRegistry['list']>[number]): FleetMember => ({
    name: e.name,
    kind: 'kubernetes',
    server: e.server,
    store: e.store,
    health: e.health,
  });
  return {
    list: () => registry.list().map(member),
    get: (name) => {
      const e = registry.get(name);
      return e ? member(e) : undefined;
    },
    onChange: (listener) =>
      registry.onChange((e) =>
        listener(
          e.type === 'health'
            ? { type: 'health', member: member(e.cluster), previous: e.previous }
            : { type: e.type, member: member(e.cluster) },
        ),
      ),
    close: () => registry.close(),
  };
}

/**
 * Embedded clusters: always reachable (their last sync is now) until an outage is simulated; then every
 * request to the store fails and the last sync stays where the outage began.
 */
export function embeddedMembers(
  stores: readonly { readonly name: string; readonly store: ClusterStore }[],
  now: () => Date = () => new Date(),
): FleetMembers {
  const listeners = new Set<(event: FleetMemberEvent) => void>();
  const entries = stores.map(({ name, store }) => {
    const outage = new OutageStore(store, `cluster ${name}`);
    let downSince: string | null = null;
    const health = (): ClusterHealth => {
      const at = now().toISOString();
      return {
        reachable: downSince === null,
        lastSuccessfulSync: downSince ?? at,
        lastProbe: at,
        lastError: downSince === null ? null : `cluster ${name} is unreachable (simulated outage)`,
        apiServerVersion: 'embedded',
        istioVersion: null,
        governorCrds: { installed: [...GOVERNOR_CRD_NAMES], missing: [] },
      };
    };
    const self = {
      name,
      outage,
      health,
      member: (): FleetMember => ({
        name,
        kind: 'embedded',
        server: null,
        store: outage,
        health: health(),
        simulateOutage: (down) => {
          if (down === outage.isDown()) return;
          const previous = health();
          downSince = down ? now().toISOString() : null;
          outage.setDown(down);
          const event: FleetMemberEvent = { type: 'health', member: self.member(), previous };
          for (const l of [...listeners]) l(event);
        },
      }),
    };
    return self;
  });
  const byName = new Map(entries.map((e) => [e.name, e]));
  return {
    list: () => entries.map((e) => e.member()),
    get: (name) => byName.get(name)?.member(),
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: async () => {
      listeners.clear();
      await Promise.all(entries.map((e) => e.outage.close()));
    },
  };
}
