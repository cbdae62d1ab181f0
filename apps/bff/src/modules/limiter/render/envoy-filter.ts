/**
 * The EnvoyFilter of one set: route `rate_limits` actions that produce each descriptor's entries, the
 * rate-limit filters before the router, and the local buckets per route, owned by the SmartLimiter.
 */
import {
  BASE_SET,
  ENVOYFILTER_API_VERSION,
  ENVOYFILTER_KIND,
  SMARTLIMITER_API_VERSION,
  SMARTLIMITER_KIND,
  type EnvoyConfigObjectPatch,
  type EnvoyFilter,
  type OwnerReference,
  type PatchContext,
  type SmartLimiter,
} from '@governor/crd-types';
import { canonicalJson } from '../../../lib/canonical-json';
import { routePatch, sortKeysDeep, type JsonObject } from './envoy-json';
import { globalFilterPatches, type RateLimitServiceOptions } from './global-ratelimit';
import { localBucketPatch, localFilterPatches } from './local-ratelimit';
import { headerMatcher, queryParameterMatcher } from './match';
import type { ActiveDescriptor, RoutePlacement } from './rule';

export function envoyFilterName(limiter: SmartLimiter, set: string): string {
  const { name, namespace } = limiter.metadata;
  return set === BASE_SET ? `${name}.${namespace}.ratelimit` : `${name}.${namespace}.${set}.ratelimit`;
}

/** The Envoy route actions that produce this rule's descriptor entries (Slime's order: query, header, source IP). */
function routeActions(a: ActiveDescriptor): JsonObject[] {
  const { rule } = a;
  if (a.custom) return [];
  if (a.requestHeaderKey) {
    const header = rule.match.find((m) => m.source === 'header');
    return [
      { generic_key: { descriptor_value: rule.id } },
      { request_headers: { descriptor_key: a.requestHeaderKey, header_name: header?.name ?? '' } },
    ];
  }
  if (rule.match.length === 0) return [{ generic_key: { descriptor_value: rule.id } }];
  const actions: JsonObject[] = [];
  const queries = rule.match.filter((m) => m.source === 'query');
  const headers = rule.match.filter((m) => m.source === 'header');
  const ip = rule.match.find((m) => m.source === 'sourceIp');
  if (queries.length > 0) {
    const q: JsonObject = { descriptor_value: rule.id, query_parameters: queries.map(queryParameterMatcher) };
    if (queries.every((m) => m.invert)) q.expect_match = false;
    actions.push({ query_parameter_value_match: q });
  }
  if (headers.length > 0) {
    actions.push({ header_value_match: { descriptor_value: rule.id, headers: headers.map(headerMatcher) } });
  }
  if (ip) {
    // The global service needs to know whose address it is counting; locally the bucket's entry says so.
    if (rule.strategy === 'global') actions.push({ generic_key: { descriptor_value: rule.id } });
    actions.push({ remote_address: {} });
  }
  return actions;
}

interface PlacementGroup {
  readonly placement: RoutePlacement;
  readonly descriptors: ActiveDescriptor[];
}

/** The descriptors by where they apply, in the order the placements first appear. */
function byPlacement(active: readonly ActiveDescriptor[]): PlacementGroup[] {
  const groups = new Map<string, PlacementGroup>();
  for (const a of active) {
    for (const p of a.rule.placements) {
      const key = `${p.context}|${p.vhost}/${p.route ?? ''}`;
      const group = groups.get(key) ?? { placement: p, descriptors: [] };
      group.descriptors.push(a);
      groups.set(key, group);
    }
  }
  return [...groups.values()];
}

/** The contexts the global (or the local) descriptors apply in, in the order they first appear. */
function contextsOf(active: readonly ActiveDescriptor[], global: boolean): PatchContext[] {
  const seen: PatchContext[] = [];
  for (const a of active) {
    if ((a.rule.strategy === 'global') !== global) continue;
    for (const p of a.rule.placements) if (!seen.includes(p.context)) seen.push(p.context);
  }
  return seen;
}

export interface AssembleInput {
  readonly limiter: SmartLimiter;
  readonly set: string;
  readonly selector: Record<string, string>;
  readonly active: readonly ActiveDescriptor[];
  readonly rls: RateLimitServiceOptions;
  readonly shadow: boolean;
  readonly failMode: 'open' | 'closed';
}

export function assembleEnvoyFilter(input: AssembleInput): EnvoyFilter {
  const { limiter, set, selector, active, rls, shadow, failMode } = input;
  const groups = byPlacement(active);
  const patches: EnvoyConfigObjectPatch[] = [];

  // 1. Route (or vhost) rate_limits: one RateLimit per descriptor, grouped by where they apply.
  for (const { placement, descriptors } of groups) {
    // Identical actions yield identical request descriptors, and Envoy's local limiter takes a token for
    // each: the addresses of one SourceIpMatch (one bucket each) share a single remote_address action.
    const seen = new Set<string>();
    const rateLimits = descriptors
      .map(routeActions)
      .filter(
        (actions) =>
          actions.length > 0 && !seen.has(canonicalJson(actions)) && seen.add(canonicalJson(actions)),
      )
      .map((actions) => ({ actions }));
    if (rateLimits.length === 0) continue;
    const vhostLevel = placement.route === undefined;
    patches.push(
      routePatch(
        placement,
        vhostLevel ? { rate_limits: rateLimits } : { route: { rate_limits: rateLimits } },
      ),
    );
  }

  // 2. The filters themselves, before the router, once per context the descriptors use.
  patches.push(...globalFilterPatches(contextsOf(active, true), rls, failMode));
  patches.push(...localFilterPatches(contextsOf(active, false)));

  // 3. Per route, the local buckets: one per descriptor, plus the permissive default bucket.
  for (const { placement, descriptors } of groups) {
    const patch = localBucketPatch(placement, descriptors, shadow);
    if (patch) patches.push(patch);
  }

  const { name, namespace, labels, uid } = limiter.metadata;
  const rev = labels?.['istio.io/rev'];
  const owner: OwnerReference = {
    apiVersion: SMARTLIMITER_API_VERSION,
    kind: SMARTLIMITER_KIND,
    name,
    ...(uid ? { uid } : {}),
    controller: true,
    blockOwnerDeletion: true,
  };
  return {
    apiVersion: ENVOYFILTER_API_VERSION,
    kind: ENVOYFILTER_KIND,
    metadata: {
      name: envoyFilterName(limiter, set),
      namespace,
      ...(rev !== undefined ? { labels: { 'istio.io/rev': rev } } : {}),
      ownerReferences: [owner],
    },
    spec: sortKeysDeep({
      configPatches: patches,
      ...(Object.keys(selector).length > 0 ? { workloadSelector: { labels: sortKeysDeep(selector) } } : {}),
    }),
  };
}
