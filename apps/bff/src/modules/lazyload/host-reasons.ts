/**
 * Why each egress host of a fenced workload's Sidecar is there, and which hosts left, from the fence's
 * status (domains, reasons, metricStatus), its spec (the strategy of each `spec.host` entry) and the calls
 * observed. The status says what a domain is; the times a host expires or left are worked out here from
 * the strategies and the last calls, as the module's plan works them out.
 */
import { DOMAIN_STATUS, type RecyclingStrategy, type ServiceFence } from '@governor/crd-types';
import type { ObservedCall } from '../../sources/observed-calls';
import { isNamespaceKey, metricKey, normalizeHostKey } from './render/hosts';
import type { SidecarOptions } from './render/sidecar';

export type HostReasonKind =
  | 'istio'
  | 'governor'
  | 'stableHost'
  | 'globalSidecar'
  | 'stable'
  | 'deadline'
  | 'auto'
  | 'spec'
  | 'namespace'
  | 'labelSelector'
  | 'observed'
  | 'route'
  | 'unknown';

export interface EgressHostReason {
  /** The egress host as the Sidecar lists it: `istio-system/*`, or a host with any namespace. */
  readonly host: string;
  readonly kind: HostReasonKind;
  /** The fence's domain that brought the host in, if one. */
  readonly domain: string | null;
  /** The domain's state: EXPIREWAIT leaves on the next pass. */
  readonly status: 'ACTIVE' | 'EXPIREWAIT' | null;
  /** In words, the status' own reason where it has one. */
  readonly detail: string;
  /** Requests observed to the host, and the last one (ISO time); null when none was seen. */
  readonly calls: number | null;
  readonly lastSeen: string | null;
  /** When the host is due to leave the Sidecar (deadline, auto), ISO time; null when it stays. */
  readonly expiresAt: string | null;
}

export interface LeftHost {
  readonly host: string;
  readonly detail: string;
  /** When it expired, where its strategy says (deadline, auto); null when the status does not tell. */
  readonly at: string | null;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** The `spec.host` entry for a domain, keys normalized as the module does. */
function strategyOf(fence: ServiceFence, domain: string): RecyclingStrategy | undefined {
  for (const [key, strategy] of Object.entries(fence.spec.host ?? {}))
    if (normalizeHostKey(key, fence.metadata.namespace) === domain) return strategy;
  return undefined;
}

/** When a strategy lets the domain go (seconds), from its deadline or its last call; undefined: never. */
function expirySeconds(strategy: RecyclingStrategy, lastCalled: number | undefined): number | undefined {
  if (strategy.deadline) return strategy.deadline.expire?.seconds ?? 0;
  if (strategy.auto) {
    const recent = Math.max(strategy.RecentlyCalled?.seconds ?? 0, lastCalled ?? 0);
    return recent === 0 ? undefined : recent + (strategy.auto.duration?.seconds ?? 0);
  }
  return undefined;
}

function callsTo(
  host: string,
  calls: ReadonlyMap<string, ObservedCall>,
  metricStatus: Readonly<Record<string, string>>,
): { count: number | null; lastSeen: number | undefined } {
  const call = calls.get(host);
  const counted = metricStatus[metricKey(host)];
  const count = Math.max(call?.count ?? 0, counted !== undefined ? Number(counted) || 0 : 0);
  return {
    count: call || counted !== undefined ? count : null,
    lastSeen: call && call.lastSeen > 0 ? Math.floor(call.lastSeen / 1000) : undefined,
  };
}

export function egressHostReasons(input: {
  readonly hosts: readonly string[];
  readonly fence: ServiceFence | null;
  readonly options: SidecarOptions;
  readonly calls: ReadonlyMap<string, ObservedCall>;
}): EgressHostReason[] {
  const { fence, options, calls } = input;
  const status = fence?.status;
  const domains = status?.domains ?? {};
  const reasons = status?.reasons ?? {};
  const metricStatus = status?.metricStatus ?? {};
  const stable = new Set(options.stableHosts.map((h) => (isNamespaceKey(h) ? h : `*/${h}`)));
  const none = { domain: null, status: null, calls: null, lastSeen: null, expiresAt: null } as const;

  return input.hosts.map((host): EgressHostReason => {
    if (host === `${options.istioNamespace}/*`)
      return { host, kind: 'istio', detail: "Istio's namespace, in every Sidecar", ...none };
    if (host === `${options.governorNamespace}/*`)
      return { host, kind: 'governor', detail: "Governor's namespace, in every Sidecar", ...none };
    if (stable.has(host))
      return { host, kind: 'stableHost', detail: 'the stableHost setting, in every Sidecar', ...none };
    const name = host.startsWith('*/') ? host.slice(2) : host;
    const inSidecar = Object.entries(domains).filter(
      ([, d]) => (d.status ?? DOMAIN_STATUS.ACTIVE) !== DOMAIN_STATUS.EXPIRE,
    );
    const own = inSidecar.find(([key]) => key === name);
    const via = own ?? inSidecar.find(([, d]) => (d.hosts ?? []).includes(name));
    if (!via) {
      if (name.includes('global-sidecar'))
        return {
          host,
          kind: 'globalSidecar',
          detail: 'the global sidecar, where the fallback goes',
          ...none,
        };
      return {
        host,
        kind: 'unknown',
        detail: 'in the Sidecar; the fence’s status does not say why',
        ...none,
      };
    }
    const [domain, d] = via;
    const state = d.status === DOMAIN_STATUS.EXPIREWAIT ? 'EXPIREWAIT' : 'ACTIVE';
    const seen = callsTo(name, calls, metricStatus);
    const common = {
      host,
      domain,
      status: state,
      calls: seen.count,
      lastSeen: seen.lastSeen !== undefined ? iso(seen.lastSeen) : null,
    } as const;
    const why = reasons[domain] ?? '';
    if (domain !== name)
      return {
        ...common,
        kind: 'route',
        detail: `routed to by ${domain} (its VirtualService)${why ? `; ${domain}: ${why}` : ''}`,
        expiresAt: null,
      };
    const strategy = fence ? strategyOf(fence, domain) : undefined;
    if (strategy) {
      const expires = expirySeconds(strategy, callsTo(domain, calls, metricStatus).lastSeen);
      const kind: HostReasonKind = isNamespaceKey(domain)
        ? 'namespace'
        : strategy.stable
          ? 'stable'
          : strategy.deadline
            ? 'deadline'
            : strategy.auto
              ? 'auto'
              : 'spec';
      return {
        ...common,
        kind,
        detail: why || 'spec.host',
        expiresAt: expires !== undefined ? iso(expires) : null,
      };
    }
    if (why.startsWith('spec.labelSelector'))
      return { ...common, kind: 'labelSelector', detail: why, expiresAt: null };
    return {
      ...common,
      kind: seen.count !== null ? 'observed' : 'unknown',
      detail: why || (seen.count !== null ? `called (${seen.count} requests)` : ''),
      expiresAt: null,
    };
  });
}

/** The domains that left the Sidecar (EXPIRE), and when where the strategy tells. */
export function leftHosts(fence: ServiceFence | null, calls: ReadonlyMap<string, ObservedCall>): LeftHost[] {
  if (!fence) return [];
  const status = fence.status;
  return Object.entries(status?.domains ?? {})
    .filter(([, d]) => d.status === DOMAIN_STATUS.EXPIRE)
    .map(([host]) => {
      const strategy = strategyOf(fence, host);
      const at = strategy
        ? expirySeconds(strategy, callsTo(host, calls, status?.metricStatus ?? {}).lastSeen)
        : undefined;
      return { host, detail: status?.reasons?.[host] ?? '', at: at !== undefined ? iso(at) : null };
    })
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}
