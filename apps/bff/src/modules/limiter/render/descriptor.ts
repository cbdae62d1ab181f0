/**
 * One descriptor of a set → the rules it renders to: its target, matches, condition and quota checked and
 * evaluated, its id, and the descriptor entries Envoy produces for it. Every problem found goes to
 * `problems`, in the order of the descriptor's fields.
 */
import type { SmartLimitDescriptor, SmartLimiter, Strategy } from '@governor/crd-types';
import {
  Rational,
  evaluateCondition,
  evaluateQuota,
  hasReferences,
  type ExpressionError,
  type MetricMap,
  type QuotaValue,
} from '../expression';
import {
  descriptorValue,
  requestHeaderDescriptorKey,
  type DescriptorIdentity,
  canonicalJson,
} from './descriptor-id';
import { formatDuration, type JsonObject } from './envoy-json';
import { normalizeMatches, type NormalizedMatch } from './match';
import { unitOf, type RlsUnit } from './rls-config';
import type { ActiveDescriptor, RenderedRule, RoutePlacement } from './rule';
import type { RenderProblem } from './status';
import { effectiveTarget, placementsOf, type Workload } from './workload';

const MAX_UINT32 = 4_294_967_295;
/** Envoy refuses local rate-limit token buckets that refill faster than every 50 ms. */
const MIN_LOCAL_FILL_MS = 50;

/** What the descriptors of one set share. */
export interface SetScope {
  readonly limiter: SmartLimiter;
  readonly set: string;
  readonly metrics: MetricMap;
  readonly workload: Workload | undefined;
  /** The labels the set adds to the workload's; undefined for a set that does not exist. */
  readonly setLabels: Readonly<Record<string, string>> | undefined;
  readonly shadow: boolean;
  readonly failMode: 'open' | 'closed';
  /** Per identity, how many descriptors of the set had it so far: the next one's occurrence. */
  readonly occurrences: Map<string, number>;
}

export interface EvaluatedDescriptor {
  readonly active: ActiveDescriptor;
  /** The descriptor as the SmartLimiter's status lists it. */
  readonly status: JsonObject;
}

const isMetricError = (e: ExpressionError): boolean => e.kind === 'unknown-key' || e.kind === 'bad-value';

/**
 * The condition and the quota; the quota's value when the condition holds and both evaluate. The quota is
 * checked even when the condition is false, so that a typo shows before it matters.
 */
function evaluateExpressions(
  d: SmartLimitDescriptor,
  metrics: MetricMap,
  path: string,
  problems: RenderProblem[],
): QuotaValue | undefined {
  const cond = evaluateCondition(d.condition, metrics);
  if (!cond.ok) {
    problems.push({
      kind: isMetricError(cond.error) ? 'metric' : 'expression',
      path: `${path}.condition`,
      message: cond.error.message,
    });
  }
  const q = evaluateQuota(d.action.quota, metrics);
  if (!q.ok) {
    const metricProblem = isMetricError(q.error);
    // A quota that only fails because the condition's guard is false is not a problem.
    if (cond.ok && (cond.value || metricProblem || q.error.kind !== 'division-by-zero')) {
      problems.push({
        kind: metricProblem ? 'metric' : 'expression',
        path: `${path}.action.quota`,
        message: q.error.message,
      });
    }
  }
  return cond.ok && cond.value && q.ok ? q.value : undefined;
}

interface FillInterval {
  readonly seconds: number;
  readonly nanos: number;
  readonly ms: number;
  /** For a global limit, the rate-limit service's unit; undefined when the interval has none. */
  readonly unit?: RlsUnit;
}

function fillIntervalOf(
  d: SmartLimitDescriptor,
  strategy: Strategy,
  path: string,
  problems: RenderProblem[],
): FillInterval {
  const seconds = d.action.fillInterval.seconds ?? 0;
  const nanos = d.action.fillInterval.nanos ?? 0;
  const ms = seconds * 1000 + nanos / 1e6;
  const problem = (message: string): void => {
    problems.push({ kind: 'action', path: `${path}.action.fill_interval`, message });
  };
  if (strategy === 'global') {
    const unit = unitOf(seconds, nanos);
    if (!unit) {
      problem(
        `a global limit counts per second, minute, hour or day: fill_interval must be 1, 60, 3600 or 86400 seconds, got ${formatDuration(seconds, nanos)}`,
      );
    }
    return { seconds, nanos, ms, ...(unit ? { unit } : {}) };
  }
  if (ms < MIN_LOCAL_FILL_MS) {
    problem(`Envoy's local rate limit refills at most every 50ms, got ${formatDuration(seconds, nanos)}`);
  }
  return { seconds, nanos, ms };
}

/** The Running pods of the set, as the metrics say (a metric source may override the count). */
function podsIn(set: string, metrics: MetricMap): number {
  const raw = Number(metrics[`${set}.pod`] ?? 0);
  return Number.isFinite(raw) ? raw : 0;
}

/** The token bucket's size: the quota, shared out for average; undefined when Envoy cannot take it. */
function bucketQuota(
  d: SmartLimitDescriptor,
  value: QuotaValue,
  strategy: Strategy,
  scope: SetScope,
  path: string,
  problems: RenderProblem[],
): number | undefined {
  let quota = value.quota;
  // average: the service-wide quota shared out across the set's pods, unless the expression already
  // divides by something itself (Slime's documented `100/{{._base.pod}}`).
  if (strategy === 'average' && !hasReferences(d.action.quota)) {
    const pods = podsIn(scope.set, scope.metrics);
    quota = Number(value.rational.div(Rational.of(BigInt(Math.max(1, Math.trunc(pods))))).ceil());
  }
  if (quota >= 1 && quota <= MAX_UINT32) return quota;
  problems.push({
    kind: 'action',
    path: `${path}.action.quota`,
    message:
      quota < 1
        ? `quota evaluated to ${value.exact}, rounded up ${quota}: Envoy's token bucket needs at least 1`
        : `quota evaluated to ${quota}, over Envoy's limit of ${MAX_UINT32}`,
  });
  return undefined;
}

/** The rules one descriptor renders to: none when it is inactive or wrong, one per source address. */
export function evaluateDescriptor(
  d: SmartLimitDescriptor,
  index: number,
  scope: SetScope,
  problems: RenderProblem[],
): EvaluatedDescriptor[] {
  const { limiter, set, metrics, workload } = scope;
  const { spec } = limiter;
  const path = `spec.sets.${set}.descriptor[${index}]`;
  const target = effectiveTarget(d, spec);
  let placements: RoutePlacement[] | undefined;
  if (!target) {
    problems.push({ kind: 'target', path: `${path}.target`, message: 'required here or in spec.target' });
  } else {
    placements = placementsOf(target, spec.gateway === true, `${path}.target`, problems);
  }
  const strategy: Strategy = d.action.strategy ?? 'single';
  const { matches, problems: matchProblems } = normalizeMatches(d.match ?? [], `${path}.match`);
  for (const p of matchProblems) problems.push({ kind: 'match', ...p });
  const separate = matches.some((m) => m.source === 'header' && m.separate);
  if (separate && strategy !== 'global') {
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
  const value = evaluateExpressions(d, metrics, path, problems);
  const fillInterval = fillIntervalOf(d, strategy, path, problems);

  if (!value || !placements || !workload || matchProblems.length > 0) return [];
  const quota = bucketQuota(d, value, strategy, scope, path, problems);
  if (quota === undefined) return [];

  const ipMatch = matches.find((m) => m.source === 'sourceIp');
  const ips: (string | undefined)[] =
    ipMatch && ipMatch.source === 'sourceIp' ? [...ipMatch.ips] : [undefined];
  const normalizedTarget = {
    direction: target?.direction ?? 'inbound',
    port: target?.port ?? 0,
    route: target?.route ?? [],
    host: target?.host ?? [],
  };
  return ips.map((ip) => {
    const matchForId = matches.map((m) => (m.source === 'sourceIp' ? { source: 'sourceIp', ip } : m));
    const idKey = canonicalJson({ match: matchForId, target: normalizedTarget, custom });
    const occurrence = scope.occurrences.get(idKey) ?? 0;
    scope.occurrences.set(idKey, occurrence + 1);
    const identity: DescriptorIdentity = {
      namespace: limiter.metadata.namespace,
      name: limiter.metadata.name,
      set,
      match: custom ? { custom } : matchForId,
      target: normalizedTarget,
      occurrence,
    };
    const id = descriptorValue(identity);
    const requestHeaderKey = separate ? requestHeaderDescriptorKey(identity) : undefined;
    const rule: RenderedRule = {
      namespace: limiter.metadata.namespace,
      limiter: limiter.metadata.name,
      set,
      index,
      id,
      strategy,
      quota,
      exactQuota: value.exact,
      fillInterval: { seconds: fillInterval.seconds, nanos: fillInterval.nanos },
      fillIntervalMs: fillInterval.ms,
      ...(fillInterval.unit ? { unit: fillInterval.unit } : {}),
      shadow: scope.shadow,
      failMode: scope.failMode,
      placements,
      workloadSelector: { ...workload.selector, ...(scope.setLabels ?? {}) },
      entries: entriesOf(id, matches, ip, strategy, custom, requestHeaderKey),
      match: matches.map((m) =>
        m.source === 'sourceIp' && ip !== undefined ? { source: 'sourceIp' as const, ips: [ip] } : m,
      ),
      headersToAdd: (d.action.headersToAdd ?? []).map((h) => ({ key: h.key, value: h.value ?? '' })),
    };
    return {
      active: { rule, ...(custom ? { custom } : {}), ...(requestHeaderKey ? { requestHeaderKey } : {}) },
      status: statusDescriptor(rule, d, ip),
    };
  });
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
