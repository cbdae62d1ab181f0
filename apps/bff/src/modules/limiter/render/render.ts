/**
 * SmartLimiter + cluster context + metric map → the EnvoyFilters to write and the SmartLimiter's status.
 *
 * Pure and deterministic: the same input gives byte-identical output. The shape follows Slime's limiter
 * module so that existing Envoy configs and dashboards keep working (one EnvoyFilter per set; route
 * `rate_limits` actions; an `INSERT_BEFORE envoy.filters.http.router` of the filter; per-route
 * `typed_per_filter_config` with one token bucket per descriptor and a permissive default bucket), with
 * Governor's differences: stable descriptor ids, `average` that really divides, errors in status instead
 * of silently dropped descriptors, and a shadow mode.
 */
import {
  BASE_SET,
  ENVOYFILTER_API_VERSION,
  ENVOYFILTER_KIND,
  SMARTLIMITER_API_VERSION,
  SMARTLIMITER_KIND,
  type EnvoyConfigObjectPatch,
  type EnvoyFilter,
  type JsonValue,
  type OwnerReference,
  type PatchContext,
  type SmartLimitDescriptor,
  type SmartLimiter,
  type SmartLimiterStatus,
  type Strategy,
  type Target,
} from '@governor/crd-types';
import { Rational, evaluateCondition, evaluateQuota, hasReferences, type MetricMap } from '../expression';
import {
  findService,
  findServiceEntry,
  qualifyHost,
  runningPods,
  subsetsForHost,
  type ClusterContext,
  type Subset,
} from './context';
import {
  descriptorValue,
  requestHeaderDescriptorKey,
  type DescriptorIdentity,
  canonicalJson,
} from './descriptor-id';
import {
  DEFAULT_BUCKET,
  LOCAL_RATELIMIT_FILTER,
  LOCAL_RATELIMIT_TYPE,
  LOCAL_STAT_PREFIX,
  formatDuration,
  globalRateLimitFilter,
  localRateLimitFilter,
  routeMatch,
  routerFilterMatch,
  runtimePercent,
  sortKeysDeep,
  tokenBucket,
  typedStruct,
  type JsonObject,
} from './envoy-json';
import { headerMatcher, normalizeMatches, queryParameterMatcher, type NormalizedMatch } from './match';
import { buildConditions, type MetricSourceHealth, type RenderProblem } from './status';
import { globalDescriptorTree, unitOf, type RlsDescriptor, type RlsUnit } from './rls-config';

/** Annotations that carry Governor-only options, so the spec stays Slime's. */
export const SHADOW_ANNOTATION = 'governor.io/shadow';
export const FAIL_MODE_ANNOTATION = 'governor.io/fail-mode';

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

export interface RenderOptions {
  readonly rateLimitService?: RateLimitServiceOptions;
  /** The time conditions change at; defaults to the epoch so that output depends only on input. */
  readonly now?: Date;
  /** The status last written, so that unchanged conditions keep their lastTransitionTime. */
  readonly previousStatus?: SmartLimiterStatus;
  /** The health of the metric sources (MetricsAvailable); available when not given. */
  readonly metricSource?: MetricSourceHealth;
}

export interface RenderInput {
  readonly limiter: SmartLimiter;
  readonly context: ClusterContext;
  /** Metric values (`_base.cpu.sum`, `v1.rt99`, ...). They override the pod counts rendering computes. */
  readonly metrics?: MetricMap;
  readonly options?: RenderOptions;
}

/** Where a rule applies in Envoy. */
export interface RoutePlacement {
  readonly context: PatchContext;
  /** The virtual host name; empty for "any vhost" (inbound without a port). */
  readonly vhost: string;
  /** The route name; undefined when the whole virtual host is limited. */
  readonly route?: string;
}

/** A descriptor whose condition holds, with its quota evaluated: what Envoy (and the engine) enforce. */
export interface RenderedRule {
  readonly namespace: string;
  readonly limiter: string;
  readonly set: string;
  /** Index of the descriptor in `spec.sets.<set>.descriptor`. */
  readonly index: number;
  /** The descriptor value Envoy sees (`Service[reviews.default]-Id[123]`). */
  readonly id: string;
  readonly strategy: Strategy;
  /** Requests per fill interval: per pod for single and average, for all pods together for global. */
  readonly quota: number;
  /** The quota expression's exact value before rounding (and before average's division). */
  readonly exactQuota: string;
  readonly fillInterval: { readonly seconds: number; readonly nanos: number };
  readonly fillIntervalMs: number;
  readonly unit?: RlsUnit;
  readonly shadow: boolean;
  readonly failMode: 'open' | 'closed';
  readonly placements: readonly RoutePlacement[];
  readonly workloadSelector: Readonly<Record<string, string>>;
  /** The descriptor entries Envoy produces for a request this rule counts (no value: one per distinct value). */
  readonly entries: readonly { readonly key: string; readonly value?: string }[];
  readonly match: readonly NormalizedMatch[];
  readonly headersToAdd: readonly { readonly key: string; readonly value: string }[];
}

export interface RenderResult {
  /** The EnvoyFilters to exist, sorted by name. Sets without an active descriptor have none. */
  readonly envoyFilters: EnvoyFilter[];
  /** The name of the EnvoyFilter every set of the limiter would have: what the reconciler owns. */
  readonly envoyFilterNames: readonly string[];
  readonly status: SmartLimiterStatus;
  readonly problems: readonly RenderProblem[];
  /** Non-fatal remarks (e.g. a gateway limiter without a workload selector). */
  readonly warnings: readonly string[];
  /** The metric map the expressions saw. */
  readonly metrics: Readonly<Record<string, number | string>>;
  readonly rules: readonly RenderedRule[];
  /** The global descriptors as the rate-limit service's configuration tree. */
  readonly globalDescriptors: readonly RlsDescriptor[];
}

interface ActiveDescriptor {
  readonly rule: RenderedRule;
  readonly custom?: { key: string; value: string };
  readonly requestHeaderKey?: string;
}

const MAX_UINT32 = 4_294_967_295;
/** Envoy refuses local rate-limit token buckets that refill faster than every 50 ms. */
const MIN_LOCAL_FILL_MS = 50;

export function envoyFilterName(limiter: SmartLimiter, set: string): string {
  const { name, namespace } = limiter.metadata;
  return set === BASE_SET ? `${name}.${namespace}.ratelimit` : `${name}.${namespace}.${set}.ratelimit`;
}

function formatLabels(labels: Readonly<Record<string, string>> | null | undefined): Record<string, string> {
  // Istio's service registry reports an empty label value as "default" (Slime's formatLabels).
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[k] = v === '' ? 'default' : v;
  return out;
}

interface Workload {
  /** The labels of the pods the limits apply to; empty means every workload in the namespace. */
  readonly selector: Record<string, string>;
  /** The service host whose DestinationRule subsets may be used as sets; undefined when sets do not apply. */
  readonly subsetHost?: string;
}

function resolveWorkload(
  limiter: SmartLimiter,
  ctx: ClusterContext,
  sidecarOutbound: boolean,
  problems: RenderProblem[],
  warnings: string[],
): Workload | undefined {
  const { spec, metadata } = limiter;
  const ns = metadata.namespace;
  const workloadSelector = spec.workloadSelector ?? {};
  if (spec.gateway || Object.keys(workloadSelector).length > 0) {
    if (Object.keys(workloadSelector).length === 0) {
      warnings.push(
        'spec.gateway is true but spec.workloadSelector is empty: the EnvoyFilter applies to every workload in the namespace',
      );
    }
    return { selector: { ...workloadSelector } };
  }
  if (spec.host) {
    const se = findServiceEntry(ctx, ns, spec.host);
    if (!se) {
      problems.push({
        kind: 'workload',
        path: 'spec.host',
        message: `no ServiceEntry in namespace ${ns} declares host ${spec.host}`,
      });
      return undefined;
    }
    const labels = formatLabels(se.spec.workloadSelector?.labels);
    if (Object.keys(labels).length === 0) {
      problems.push({
        kind: 'workload',
        path: 'spec.host',
        message: `ServiceEntry ${ns}/${se.metadata.name} has no workloadSelector, so there are no pods to limit`,
      });
      return undefined;
    }
    return { selector: labels, ...(sidecarOutbound ? {} : { subsetHost: spec.host }) };
  }
  const svc = findService(ctx, ns, metadata.name);
  if (!svc) {
    problems.push({
      kind: 'workload',
      path: 'metadata.name',
      message: `Service ${ns}/${metadata.name} not found: a SmartLimiter limits the Service of the same name (or set spec.workloadSelector or spec.host)`,
    });
    return undefined;
  }
  const selector = { ...(svc.spec.selector ?? {}) };
  if (Object.keys(selector).length === 0) {
    problems.push({
      kind: 'workload',
      path: 'metadata.name',
      message: `Service ${ns}/${metadata.name} has no selector, so there are no pods to limit (set spec.workloadSelector)`,
    });
    return undefined;
  }
  return {
    selector,
    ...(sidecarOutbound ? {} : { subsetHost: qualifyHost(metadata.name, ns) }),
  };
}

function effectiveTarget(d: SmartLimitDescriptor, spec: SmartLimiter['spec']): Target | undefined {
  // A descriptor's own target replaces the spec's as a whole (Slime's getTarget).
  return d.target ?? spec.target;
}

function placementsOf(
  target: Target,
  gateway: boolean,
  path: string,
  problems: RenderProblem[],
): RoutePlacement[] | undefined {
  const outbound = target.direction === 'outbound';
  const context: PatchContext = gateway ? 'GATEWAY' : outbound ? 'SIDECAR_OUTBOUND' : 'SIDECAR_INBOUND';
  const port = target.port ?? 0;
  const routes = target.route ?? [];
  const hosts = target.host ?? [];
  if (!outbound) {
    if (routes.length > 0 || hosts.length > 0) {
      problems.push({
        kind: 'target',
        path,
        message:
          'route and host name outbound routes and virtual hosts: set direction: outbound, or use port for inbound',
      });
      return undefined;
    }
    // Inbound: the sidecar's inbound route for the port (Istio names it `inbound|http|<port>`, route
    // `default`); port 0 matches the inbound route of every vhost.
    return [{ context, vhost: port === 0 ? '' : `inbound|http|${port}`, route: 'default' }];
  }
  if (routes.length > 0) {
    const out: RoutePlacement[] = [];
    for (const [i, r] of routes.entries()) {
      const parts = r.split('/');
      if (parts.length !== 2) {
        problems.push({
          kind: 'target',
          path: `${path}.route[${i}]`,
          message: `expected <vhost>/<route name> (e.g. reviews.default.svc.cluster.local:80/default), got ${JSON.stringify(r)}`,
        });
        return undefined;
      }
      const [vhost = '', route = ''] = parts;
      if (route === '') {
        problems.push({
          kind: 'target',
          path: `${path}.route[${i}]`,
          message: `no route name after "/" in ${JSON.stringify(r)}`,
        });
        return undefined;
      }
      out.push({ context, vhost: port !== 0 && vhost !== '' ? `${vhost}:${port}` : vhost, route });
    }
    return out;
  }
  if (hosts.length > 0) {
    return hosts.map((h) => ({ context, vhost: port !== 0 ? `${h}:${port}` : h }));
  }
  problems.push({
    kind: 'target',
    path,
    message: 'an outbound target needs route (e.g. reviews.default.svc.cluster.local:80/default) or host',
  });
  return undefined;
}

const placementKey = (p: RoutePlacement): string => `${p.context}|${p.vhost}/${p.route ?? ''}`;

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

function entriesOf(
  id: string,
  match: readonly NormalizedMatch[],
  ip: string | undefined,
  strategy: Strategy,
  custom: { key: string; value: string } | undefined,
  requestHeaderKey: string | undefined,
): { key: string; value?: string }[] {
  if (custom) return [{ key: custom.key, value: custom.value }];
  if (requestHeaderKey) return [{ key: 'generic_key', value: id }, { key: requestHeaderKey }];
  if (match.length === 0) return [{ key: 'generic_key', value: id }];
  const entries: { key: string; value?: string }[] = [];
  if (match.some((m) => m.source === 'query')) entries.push({ key: 'query_match', value: id });
  if (match.some((m) => m.source === 'header')) entries.push({ key: 'header_match', value: id });
  if (ip !== undefined) {
    if (strategy === 'global') entries.push({ key: 'generic_key', value: id });
    entries.push({ key: 'remote_address', value: ip });
  }
  return entries;
}

function statusDescriptor(rule: RenderedRule, d: SmartLimitDescriptor, ip: string | undefined): JsonObject {
  // Slime's status lists each evaluated descriptor: the spec's descriptor with the quota evaluated (lowerCamel, as
  // Slime's jsonpb writes it), one per source address.
  const action: JsonObject = {
    fillInterval: {
      seconds: rule.fillInterval.seconds,
      ...(rule.fillInterval.nanos !== 0 ? { nanos: rule.fillInterval.nanos } : {}),
    },
    quota: String(rule.quota),
    strategy: rule.strategy,
  };
  if (rule.headersToAdd.length > 0) action.headersToAdd = rule.headersToAdd.map((h) => ({ ...h }));
  const out: JsonObject = { action };
  if (d.match && d.match.length > 0) {
    out.match = d.match.map((m) => {
      const copy = JSON.parse(JSON.stringify(m)) as JsonObject;
      if (ip !== undefined && m.matchSource === 'SourceIpMatch') copy.exactMatch = ip;
      return copy;
    });
  }
  if (d.target) out.target = JSON.parse(JSON.stringify(d.target)) as JsonObject;
  if (d.customKey) out.customKey = d.customKey;
  if (d.customValue) out.customValue = d.customValue;
  return out;
}

/** Renders one SmartLimiter. Never throws on bad input: every problem is in the result. */
/** The pods whose metrics a set's expressions read, by set: what metric sources query. */
export interface MetricSet {
  readonly name: string;
  /** Running pod names, sorted. */
  readonly pods: readonly string[];
}

/**
 * The sets a SmartLimiter's metrics are read for, with their Running pods: `_base` (every pod of the
 * workload) and each DestinationRule subset (the pods with its labels), as the `<set>.pod` counts are
 * computed. Empty when the workload cannot be resolved (rendering reports why).
 */
export function metricSetsOf(limiter: SmartLimiter, ctx: ClusterContext): MetricSet[] {
  const sidecarOutbound = Object.values(limiter.spec.sets ?? {}).some((s) =>
    (s.descriptor ?? []).some((d) => effectiveTarget(d, limiter.spec)?.direction === 'outbound'),
  );
  const workload = resolveWorkload(limiter, ctx, sidecarOutbound, [], []);
  if (!workload) return [];
  const ns = limiter.metadata.namespace;
  const names = (selector: Record<string, string>) =>
    runningPods(ctx, ns, selector).map((p) => p.metadata.name);
  const subsets = workload.subsetHost ? subsetsForHost(ctx, workload.subsetHost) : [];
  return [
    { name: BASE_SET, pods: names(workload.selector) },
    ...subsets.map((s) => ({ name: s.name, pods: names({ ...workload.selector, ...s.labels }) })),
  ];
}

export function renderSmartLimiter(input: RenderInput): RenderResult {
  const { limiter, context: ctx } = input;
  const options = input.options ?? {};
  const rls = options.rateLimitService ?? DEFAULT_RATE_LIMIT_SERVICE;
  const { spec, metadata } = limiter;
  const ns = metadata.namespace;
  const name = metadata.name;
  const problems: RenderProblem[] = [];
  const warnings: string[] = [];
  const annotations = metadata.annotations ?? {};
  const shadow = annotations[SHADOW_ANNOTATION] === 'true';
  const failModeRaw = annotations[FAIL_MODE_ANNOTATION];
  if (failModeRaw !== undefined && failModeRaw !== 'open' && failModeRaw !== 'closed') {
    problems.push({
      kind: 'spec',
      path: `metadata.annotations.${FAIL_MODE_ANNOTATION}`,
      message: `expected open or closed, got ${JSON.stringify(failModeRaw)}`,
    });
  }
  if (
    annotations[SHADOW_ANNOTATION] !== undefined &&
    !['true', 'false'].includes(annotations[SHADOW_ANNOTATION] ?? '')
  ) {
    problems.push({
      kind: 'spec',
      path: `metadata.annotations.${SHADOW_ANNOTATION}`,
      message: `expected "true" or "false", got ${JSON.stringify(annotations[SHADOW_ANNOTATION])}`,
    });
  }
  const failMode = failModeRaw === 'closed' ? 'closed' : 'open';
  const gateway = spec.gateway === true;
  const sets = spec.sets ?? {};
  const setNames = Object.keys(sets);
  if (setNames.length === 0) {
    problems.push({
      kind: 'spec',
      path: 'spec.sets',
      message: 'no sets: add `_base` (all pods) or a subset name with descriptors',
    });
  }

  // Slime reads DestinationRule subsets only for inbound sidecar limits of a service.
  const sidecarOutbound = Object.values(sets).some((s) =>
    (s.descriptor ?? []).some((d) => effectiveTarget(d, spec)?.direction === 'outbound'),
  );
  const workload = resolveWorkload(limiter, ctx, sidecarOutbound, problems, warnings);
  const subsets: Subset[] = workload?.subsetHost ? subsetsForHost(ctx, workload.subsetHost) : [];

  // The metric map: running pods per set, then whatever the metric sources gave (they win).
  const metrics: Record<string, number | string> = {};
  if (workload) {
    metrics[`${BASE_SET}.pod`] = runningPods(ctx, ns, workload.selector).length;
    for (const s of subsets)
      metrics[`${s.name}.pod`] = runningPods(ctx, ns, { ...workload.selector, ...s.labels }).length;
  }
  for (const [k, v] of Object.entries(input.metrics ?? {})) metrics[k] = v;

  const envoyFilters: EnvoyFilter[] = [];
  const rules: RenderedRule[] = [];
  const ratelimitStatus: Record<string, JsonValue> = {};
  const globalDescriptors: RlsDescriptor[] = [];

  for (const set of setNames) {
    const setPath = `spec.sets.${set}`;
    let setLabels: Record<string, string> | undefined;
    if (set === BASE_SET) setLabels = {};
    else {
      const subset = subsets.find((s) => s.name === set);
      if (subset) setLabels = { ...subset.labels };
      else if (workload) {
        problems.push({
          kind: 'set',
          path: setPath,
          message: workload.subsetHost
            ? `no subset "${set}" in a DestinationRule for host ${workload.subsetHost}${subsets.length > 0 ? `; subsets: ${subsets.map((s) => s.name).join(', ')}` : ' (none found)'}`
            : `only _base applies to ${gateway ? 'a gateway' : Object.keys(spec.workloadSelector ?? {}).length > 0 ? 'a workloadSelector' : 'outbound limits'}; "${set}" is not a set here`,
        });
      }
    }
    const descriptors = sets[set]?.descriptor ?? [];
    const active: ActiveDescriptor[] = [];
    const statusDescriptors: JsonValue[] = [];
    const occurrences = new Map<string, number>();
    const podsRaw = Number(metrics[`${set}.pod`] ?? 0);
    const podsInSet = Number.isFinite(podsRaw) ? podsRaw : 0;

    descriptors.forEach((d, index) => {
      const path = `${setPath}.descriptor[${index}]`;
      const target = effectiveTarget(d, spec);
      let placements: RoutePlacement[] | undefined;
      if (!target) {
        problems.push({ kind: 'target', path: `${path}.target`, message: 'required here or in spec.target' });
      } else {
        placements = placementsOf(target, gateway, `${path}.target`, problems);
      }
      const strategy: Strategy = d.action.strategy ?? 'single';
      const { matches, problems: matchProblems } = normalizeMatches(d.match ?? [], `${path}.match`);
      for (const p of matchProblems) problems.push({ kind: 'match', ...p });
      if (matches.some((m) => m.source === 'header' && m.separate) && strategy !== 'global') {
        problems.push({
          kind: 'match',
          path: `${path}.match`,
          message:
            'present_match_separate gives each header value its own counter, which only the global strategy can do',
        });
      }
      let custom: { key: string; value: string } | undefined;
      if (d.customKey || d.customValue) {
        if (!d.customKey || !d.customValue) {
          problems.push({ kind: 'spec', path, message: 'custom_key and custom_value go together' });
        } else custom = { key: d.customKey, value: d.customValue };
      }

      const cond = evaluateCondition(d.condition, metrics);
      if (!cond.ok) {
        problems.push({
          kind:
            cond.error.kind === 'unknown-key' || cond.error.kind === 'bad-value' ? 'metric' : 'expression',
          path: `${path}.condition`,
          message: cond.error.message,
        });
      }
      // The quota is checked even when the condition is false, so that a typo shows before it matters.
      const q = evaluateQuota(d.action.quota, metrics);
      if (!q.ok) {
        const metricProblem = q.error.kind === 'unknown-key' || q.error.kind === 'bad-value';
        // A quota that only fails because the condition's guard is false is not a problem.
        if (cond.ok && (cond.value || metricProblem || q.error.kind !== 'division-by-zero')) {
          problems.push({
            kind: metricProblem ? 'metric' : 'expression',
            path: `${path}.action.quota`,
            message: q.error.message,
          });
        }
      }
      const fi = d.action.fillInterval;
      const seconds = fi.seconds ?? 0;
      const nanos = fi.nanos ?? 0;
      const fillIntervalMs = seconds * 1000 + nanos / 1e6;
      let unit: RlsUnit | undefined;
      if (strategy === 'global') {
        unit = unitOf(seconds, nanos);
        if (!unit) {
          problems.push({
            kind: 'action',
            path: `${path}.action.fill_interval`,
            message: `a global limit counts per second, minute, hour or day: fill_interval must be 1, 60, 3600 or 86400 seconds, got ${formatDuration(seconds, nanos)}`,
          });
        }
      } else if (fillIntervalMs < MIN_LOCAL_FILL_MS) {
        problems.push({
          kind: 'action',
          path: `${path}.action.fill_interval`,
          message: `Envoy's local rate limit refills at most every 50ms, got ${formatDuration(seconds, nanos)}`,
        });
      }

      if (!cond.ok || !cond.value || !q.ok || !placements || !workload) return;
      if (matchProblems.length > 0) return;

      let quota = q.value.quota;
      // average: the service-wide quota shared out across the set's pods, unless the expression already
      // divides by something itself (Slime's documented `100/{{._base.pod}}`).
      if (strategy === 'average' && !hasReferences(d.action.quota)) {
        quota = Number(q.value.rational.div(Rational.of(BigInt(Math.max(1, Math.trunc(podsInSet))))).ceil());
      }
      if (quota < 1 || quota > MAX_UINT32) {
        problems.push({
          kind: 'action',
          path: `${path}.action.quota`,
          message:
            quota < 1
              ? `quota evaluated to ${q.value.exact}, rounded up ${quota}: Envoy's token bucket needs at least 1`
              : `quota evaluated to ${quota}, over Envoy's limit of ${MAX_UINT32}`,
        });
        return;
      }

      const ipMatch = matches.find((m) => m.source === 'sourceIp');
      const ips: (string | undefined)[] =
        ipMatch && ipMatch.source === 'sourceIp' ? [...ipMatch.ips] : [undefined];
      const normalizedTarget = {
        direction: target?.direction ?? 'inbound',
        port: target?.port ?? 0,
        route: target?.route ?? [],
        host: target?.host ?? [],
      };
      for (const ip of ips) {
        const matchForId = matches.map((m) => (m.source === 'sourceIp' ? { source: 'sourceIp', ip } : m));
        const idKey = canonicalJson({ match: matchForId, target: normalizedTarget, custom });
        const occurrence = occurrences.get(idKey) ?? 0;
        occurrences.set(idKey, occurrence + 1);
        const identity: DescriptorIdentity = {
          namespace: ns,
          name,
          set,
          match: custom ? { custom } : matchForId,
          target: normalizedTarget,
          occurrence,
        };
        const id = descriptorValue(identity);
        const separate = matches.some((m) => m.source === 'header' && m.separate);
        const requestHeaderKey = separate ? requestHeaderDescriptorKey(identity) : undefined;
        const ruleMatch = matches.map((m) =>
          m.source === 'sourceIp' && ip !== undefined ? { source: 'sourceIp' as const, ips: [ip] } : m,
        );
        const rule: RenderedRule = {
          namespace: ns,
          limiter: name,
          set,
          index,
          id,
          strategy,
          quota,
          exactQuota: q.value.exact,
          fillInterval: { seconds, nanos },
          fillIntervalMs,
          ...(unit ? { unit } : {}),
          shadow,
          failMode,
          placements,
          workloadSelector: { ...workload.selector, ...(setLabels ?? {}) },
          entries: entriesOf(id, matches, ip, strategy, custom, requestHeaderKey),
          match: ruleMatch,
          headersToAdd: (d.action.headersToAdd ?? []).map((h) => ({ key: h.key, value: h.value ?? '' })),
        };
        active.push({
          rule,
          ...(custom ? { custom } : {}),
          ...(requestHeaderKey ? { requestHeaderKey } : {}),
        });
        statusDescriptors.push(statusDescriptor(rule, d, ip));
      }
    });

    if (setLabels === undefined || active.length === 0) continue;
    for (const a of active) rules.push(a.rule);
    ratelimitStatus[set] = { descriptor: statusDescriptors };
    const selector = { ...(workload?.selector ?? {}), ...setLabels };
    envoyFilters.push(assembleEnvoyFilter({ limiter, set, selector, active, rls, shadow, failMode }));
    for (const a of active) {
      if (a.rule.strategy === 'global' && a.rule.unit) globalDescriptors.push(globalDescriptorTree(a.rule));
    }
  }

  envoyFilters.sort((a, b) =>
    a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
  );
  const metricStatus: Record<string, string> = {};
  for (const k of Object.keys(metrics).sort()) metricStatus[k] = String(metrics[k]);
  const status: SmartLimiterStatus = {
    ratelimitStatus,
    metricStatus,
    conditions: buildConditions({
      problems,
      envoyFilterCount: envoyFilters.length,
      ruleCount: rules.length,
      now: options.now ?? new Date(0),
      ...(options.previousStatus?.conditions ? { previous: options.previousStatus.conditions } : {}),
      ...(options.metricSource ? { metricSource: options.metricSource } : {}),
    }),
    ...(metadata.generation !== undefined ? { observedGeneration: metadata.generation } : {}),
  };
  return {
    envoyFilters,
    envoyFilterNames: [...new Set([BASE_SET, ...setNames])].map((s) => envoyFilterName(limiter, s)).sort(),
    status,
    problems,
    warnings,
    metrics,
    rules,
    globalDescriptors,
  };
}

interface AssembleInput {
  readonly limiter: SmartLimiter;
  readonly set: string;
  readonly selector: Record<string, string>;
  readonly active: readonly ActiveDescriptor[];
  readonly rls: RateLimitServiceOptions;
  readonly shadow: boolean;
  readonly failMode: 'open' | 'closed';
}

function assembleEnvoyFilter(input: AssembleInput): EnvoyFilter {
  const { limiter, set, selector, active, rls, shadow, failMode } = input;
  const patches: EnvoyConfigObjectPatch[] = [];

  // 1. Route (or vhost) rate_limits: one RateLimit per descriptor, grouped by where they apply.
  const byPlacement = new Map<string, { placement: RoutePlacement; descriptors: ActiveDescriptor[] }>();
  for (const a of active) {
    for (const p of a.rule.placements) {
      const key = placementKey(p);
      const entry = byPlacement.get(key) ?? { placement: p, descriptors: [] };
      entry.descriptors.push(a);
      byPlacement.set(key, entry);
    }
  }
  for (const { placement, descriptors } of byPlacement.values()) {
    const rateLimits = descriptors
      .map(routeActions)
      .filter((actions) => actions.length > 0)
      .map((actions) => ({ actions }));
    if (rateLimits.length === 0) continue;
    const vhostLevel = placement.route === undefined;
    patches.push({
      applyTo: vhostLevel ? 'VIRTUAL_HOST' : 'HTTP_ROUTE',
      match: routeMatch(placement.context, placement.vhost, placement.route),
      patch: {
        operation: 'MERGE',
        value: vhostLevel ? { rate_limits: rateLimits } : { route: { rate_limits: rateLimits } },
      },
    });
  }

  // 2. The filters themselves, before the router, once per context the descriptors use.
  const contextsOf = (global: boolean): PatchContext[] => {
    const seen: PatchContext[] = [];
    for (const a of active) {
      if ((a.rule.strategy === 'global') !== global) continue;
      for (const p of a.rule.placements) if (!seen.includes(p.context)) seen.push(p.context);
    }
    return seen;
  };
  for (const context of contextsOf(true)) {
    patches.push({
      applyTo: 'HTTP_FILTER',
      match: routerFilterMatch(context),
      patch: {
        operation: 'INSERT_BEFORE',
        value: globalRateLimitFilter({
          domain: rls.domain,
          clusterName: rls.clusterName,
          failureModeDeny: failMode === 'closed',
        }),
      },
    });
  }
  const localContexts = contextsOf(false);
  for (const context of localContexts) {
    patches.push({
      applyTo: 'HTTP_FILTER',
      match: routerFilterMatch(context),
      patch: { operation: 'INSERT_BEFORE', value: localRateLimitFilter() },
    });
  }

  // 3. Per route, the local buckets: one per descriptor, plus the permissive default bucket.
  for (const { placement, descriptors } of byPlacement.values()) {
    const local = descriptors.filter((a) => a.rule.strategy !== 'global');
    if (local.length === 0) continue;
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
    const headers = local.flatMap((a) => a.rule.headersToAdd);
    if (headers.length > 0) {
      config.responseHeadersToAdd = headers.map((h) => ({
        append: true,
        header: { key: h.key, value: h.value },
      }));
    }
    patches.push({
      applyTo: placement.route === undefined ? 'VIRTUAL_HOST' : 'HTTP_ROUTE',
      match: routeMatch(placement.context, placement.vhost, placement.route),
      patch: {
        operation: 'MERGE',
        value: {
          typed_per_filter_config: { [LOCAL_RATELIMIT_FILTER]: typedStruct(LOCAL_RATELIMIT_TYPE, config) },
        },
      },
    });
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
