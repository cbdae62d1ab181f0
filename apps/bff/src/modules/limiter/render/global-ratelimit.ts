/**
 * What the global strategy adds: the ratelimit filter that asks Governor's rate-limit service, and the
 * descriptors that service is configured with.
 */
import type { EnvoyConfigObjectPatch, PatchContext } from '@governor/crd-types';
import { globalRateLimitFilter, insertBeforeRouter } from './envoy-json';
import { globalDescriptorTree, type RlsDescriptor } from './rls-config';
import type { ActiveDescriptor } from './rule';

export interface RateLimitServiceOptions {
  /** The Envoy cluster of the rate-limit service, e.g. `outbound|8081||governor-rls.governor-system.svc.cluster.local`. */
  readonly clusterName: string;
  /** The rate-limit domain global descriptors live in. */
  readonly domain: string;
}

/** Governor's own rate-limit service, as `deploy/` installs it. */
export const DEFAULT_RATE_LIMIT_SERVICE: RateLimitServiceOptions = {
  clusterName: 'outbound|8081||governor-rls.governor-system.svc.cluster.local',
  domain: 'governor',
};

/** The ratelimit filter, before the router of every context a global descriptor applies in. */
export function globalFilterPatches(
  contexts: readonly PatchContext[],
  rls: RateLimitServiceOptions,
  failMode: 'open' | 'closed',
): EnvoyConfigObjectPatch[] {
  return contexts.map((context) =>
    insertBeforeRouter(
      context,
      globalRateLimitFilter({
        domain: rls.domain,
        clusterName: rls.clusterName,
        failureModeDeny: failMode === 'closed',
      }),
    ),
  );
}

/** The rate-limit service's configuration trees of a set's global rules (those with a valid unit). */
export function globalDescriptorsOf(active: readonly ActiveDescriptor[]): RlsDescriptor[] {
  return active
    .filter((a) => a.rule.strategy === 'global' && a.rule.unit)
    .map((a) => globalDescriptorTree(a.rule));
}
