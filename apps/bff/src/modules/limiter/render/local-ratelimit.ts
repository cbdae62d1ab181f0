/**
 * What the single and average strategies add: Envoy's local_ratelimit filter, and per route its token
 * buckets (one per descriptor, plus Slime's permissive default bucket).
 */
import type { EnvoyConfigObjectPatch, PatchContext } from '@governor/crd-types';
import {
  DEFAULT_BUCKET,
  LOCAL_RATELIMIT_FILTER,
  LOCAL_RATELIMIT_TYPE,
  LOCAL_STAT_PREFIX,
  formatDuration,
  insertBeforeRouter,
  localRateLimitFilter,
  routePatch,
  runtimePercent,
  tokenBucket,
  typedStruct,
  type JsonObject,
} from './envoy-json';
import type { ActiveDescriptor, RoutePlacement } from './rule';

/** The local_ratelimit filter, before the router of every context a local descriptor applies in. */
export function localFilterPatches(contexts: readonly PatchContext[]): EnvoyConfigObjectPatch[] {
  return contexts.map((context) => insertBeforeRouter(context, localRateLimitFilter()));
}

/** The buckets of the local descriptors that apply at one placement; undefined when none does. */
export function localBucketPatch(
  placement: RoutePlacement,
  descriptors: readonly ActiveDescriptor[],
  shadow: boolean,
): EnvoyConfigObjectPatch | undefined {
  const local = descriptors.filter((a) => a.rule.strategy !== 'global');
  if (local.length === 0) return undefined;
  const config: JsonObject = {
    descriptors: local.map((a) => ({
      entries: a.rule.entries.map((e) => ({ key: e.key, value: e.value ?? '' })),
      tokenBucket: tokenBucket(
        a.rule.quota,
        a.rule.quota,
        formatDuration(a.rule.fillInterval.seconds, a.rule.fillInterval.nanos),
      ),
    })),
    filterEnabled: runtimePercent('local_rate_limit_enabled', 100),
    // Shadow mode: Envoy evaluates and counts every bucket, and enforces none of them.
    filterEnforced: runtimePercent('local_rate_limit_enforced', shadow ? 0 : 100),
    statPrefix: LOCAL_STAT_PREFIX,
    tokenBucket: tokenBucket(
      DEFAULT_BUCKET.maxTokens,
      DEFAULT_BUCKET.tokensPerFill,
      formatDuration(DEFAULT_BUCKET.fillIntervalSeconds, 0),
    ),
  };
  // Several addresses of one SourceIpMatch are one descriptor each, with the same headers: add them once.
  const headers = [
    ...new Map(local.flatMap((a) => a.rule.headersToAdd).map((h) => [`${h.key}\n${h.value}`, h])).values(),
  ];
  if (headers.length > 0) {
    config.responseHeadersToAdd = headers.map((h) => ({
      append: true,
      header: { key: h.key, value: h.value },
    }));
  }
  return routePatch(placement, {
    typed_per_filter_config: { [LOCAL_RATELIMIT_FILTER]: typedStruct(LOCAL_RATELIMIT_TYPE, config) },
  });
}
