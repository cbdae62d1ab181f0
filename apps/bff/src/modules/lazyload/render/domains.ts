/**
 * A fence's domains, as Slime computes them: from `spec.host`, from the Services `spec.labelSelector`
 * selects, and from the calls observed (`status.metricStatus`). A domain carries the hosts it brings into
 * the Sidecar: itself and the destinations its VirtualServices route to. A domain that leaves goes in two
 * steps, ACTIVE → EXPIREWAIT → gone, so that one missed observation cuts nothing off; one that expires by
 * its strategy (deadline, auto) passes through EXPIREWAIT too.
 */
import {
  DOMAIN_STATUS,
  type Destinations,
  type DomainStatus,
  type RecyclingStrategy,
  type ServiceFence,
} from '@governor/crd-types';
import { withAliases, type CompiledAliases } from './aliases';
import {
  hostOfMetricKey,
  isFenceableHost,
  isNamespaceKey,
  normalizeHostKey,
  qualify,
  serviceHost,
} from './hosts';

/** The cluster as the domains need it. */
export interface DomainContext {
  readonly services: readonly {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
  }[];
  /** VirtualService host (FQDN) → the other hosts its HTTP routes send to. */
  readonly destinations: ReadonlyMap<string, readonly string[]>;
}

export interface DomainResult {
  readonly domains: Record<string, Destinations>;
  /** Why each domain is what it is, by domain. */
  readonly reasons: Record<string, string>;
  /** `spec.host` keys that are not host names. */
  readonly invalidKeys: readonly string[];
}

/** VirtualService host → the destinations of its HTTP routes (other than itself), FQDNs. */
export function destinationsOf(
  virtualServices: readonly { namespace: string; spec: unknown }[],
): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const vs of virtualServices) {
    const spec = (vs.spec ?? {}) as {
      hosts?: unknown;
      http?: { route?: { destination?: { host?: unknown } }[] }[];
    };
    const hosts = Array.isArray(spec.hosts) ? spec.hosts.filter((h) => typeof h === 'string') : [];
    const targets = new Set<string>();
    for (const route of spec.http ?? [])
      for (const r of route.route ?? [])
        if (typeof r.destination?.host === 'string') targets.add(qualify(r.destination.host, vs.namespace));
    for (const h of hosts) {
      const host = qualify(h, vs.namespace);
      const set = out.get(host) ?? new Set<string>();
      for (const t of targets) if (t !== host) set.add(t);
      out.set(host, set);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

const seconds = (t: { seconds?: number } | undefined): number | undefined => t?.seconds;

/** Whether a `spec.host` entry has expired at `now` (seconds), and why. */
function strategyState(
  strategy: RecyclingStrategy,
  now: number,
  lastCalled: number | undefined,
): { status: DomainStatus; reason: string } {
  if (strategy.stable) return { status: DOMAIN_STATUS.ACTIVE, reason: 'spec.host, stable' };
  if (strategy.deadline) {
    const expire = seconds(strategy.deadline.expire) ?? 0;
    const at = new Date(expire * 1000).toISOString();
    return now > expire
      ? { status: DOMAIN_STATUS.EXPIRE, reason: `spec.host, deadline ${at} passed` }
      : { status: DOMAIN_STATUS.ACTIVE, reason: `spec.host, until ${at}` };
  }
  if (strategy.auto) {
    const duration = seconds(strategy.auto.duration) ?? 0;
    const recent = Math.max(seconds(strategy.RecentlyCalled) ?? 0, lastCalled ?? 0);
    if (recent === 0) return { status: DOMAIN_STATUS.ACTIVE, reason: 'spec.host, auto: not called yet' };
    const idle = now - recent;
    return idle > duration
      ? { status: DOMAIN_STATUS.EXPIRE, reason: `spec.host, auto: not called for ${idle}s (> ${duration}s)` }
      : { status: DOMAIN_STATUS.ACTIVE, reason: `spec.host, auto: called ${idle}s ago` };
  }
  return { status: DOMAIN_STATUS.ACTIVE, reason: 'spec.host' };
}

export function computeDomains(input: {
  fence: ServiceFence;
  metricStatus: Readonly<Record<string, string>>;
  /** Destination FQDN → when a call was last seen (seconds), where known. */
  lastCalled: ReadonlyMap<string, number>;
  context: DomainContext;
  aliases: CompiledAliases;
  now: Date;
}): DomainResult {
  const { fence, context, aliases } = input;
  const now = Math.floor(input.now.getTime() / 1000);
  const namespace = fence.metadata.namespace;
  const domains: Record<string, Destinations> = {};
  const reasons: Record<string, string> = {};
  const invalidKeys: string[] = [];
  const hostsOf = (fh: string): string[] => [fh, ...(context.destinations.get(fh) ?? [])];
  const add = (fh: string, status: DomainStatus, reason: string) => {
    if (domains[fh]) return;
    domains[fh] = { hosts: hostsOf(fh), status };
    reasons[fh] = reason;
  };

  for (const [key, strategy] of Object.entries(fence.spec.host ?? {})) {
    const host = normalizeHostKey(key, namespace);
    if (host === null) {
      invalidKeys.push(key);
      continue;
    }
    if (isNamespaceKey(host)) {
      // The Sidecar takes `ns/*` whole; what its services route to elsewhere comes along.
      const ns = host.slice(0, -2);
      const elsewhere = new Set<string>();
      for (const s of context.services)
        if (s.namespace === ns)
          for (const fh of withAliases(serviceHost(s.name, s.namespace), aliases))
            for (const d of context.destinations.get(fh) ?? []) if (d.split('.')[1] !== ns) elsewhere.add(d);
      domains[host] = { hosts: [...elsewhere].sort(), status: DOMAIN_STATUS.ACTIVE };
      reasons[host] = 'spec.host, every service of the namespace';
      continue;
    }
    if (!isFenceableHost(host)) {
      reasons[host] = 'spec.host, left out: a global sidecar, a port or an unknown host';
      continue;
    }
    const state = strategyState(strategy, now, input.lastCalled.get(host));
    for (const fh of withAliases(host, aliases)) add(fh, state.status, state.reason);
  }

  (fence.spec.labelSelector ?? []).forEach((sel, i) => {
    const wanted = Object.entries(sel.selector ?? {});
    // An empty selector selects nothing, as in Slime.
    if (wanted.length === 0) return;
    for (const s of context.services) {
      if (!wanted.every(([k, v]) => s.labels[k] === v)) continue;
      for (const fh of withAliases(serviceHost(s.name, s.namespace), aliases))
        if (isFenceableHost(fh))
          add(fh, DOMAIN_STATUS.ACTIVE, `spec.labelSelector[${i}] selects ${s.namespace}/${s.name}`);
    }
  });

  for (const [key, count] of Object.entries(input.metricStatus)) {
    const host = hostOfMetricKey(key);
    if (host === null || !isFenceableHost(host)) continue;
    for (const fh of withAliases(host, aliases)) add(fh, DOMAIN_STATUS.ACTIVE, `called (${count} requests)`);
  }

  // Leaving in two steps: what was ACTIVE waits once (EXPIREWAIT) and stays in the Sidecar meanwhile.
  for (const [key, previous] of Object.entries(fence.status?.domains ?? {})) {
    const current = domains[key];
    const wasActive = (previous.status ?? DOMAIN_STATUS.ACTIVE) === DOMAIN_STATUS.ACTIVE;
    if (current === undefined && wasActive) {
      domains[key] = { hosts: previous.hosts ?? [key], status: DOMAIN_STATUS.EXPIREWAIT };
      reasons[key] = 'no longer wanted; leaves the Sidecar on the next pass';
    } else if (current?.status === DOMAIN_STATUS.EXPIRE && wasActive) {
      domains[key] = { ...current, status: DOMAIN_STATUS.EXPIREWAIT };
      reasons[key] = `${reasons[key]}; leaves the Sidecar on the next pass`;
    }
  }
  return { domains, reasons, invalidKeys };
}

/** The domains in the Sidecar: ACTIVE and EXPIREWAIT. */
export const inSidecar = (d: Destinations): boolean =>
  (d.status ?? DOMAIN_STATUS.ACTIVE) !== DOMAIN_STATUS.EXPIRE;
