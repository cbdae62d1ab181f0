/**
 * What the policy form shows of a written SmartLimiter. Every field here is read in any spelling crd-types
 * accepts; everything else in the object is not shown and is kept as written by {@link applyEdit}.
 */
import {
  actionNode,
  descriptorNode,
  durationNode,
  matcherNode,
  smartLimiterSpecNode,
  type Duration,
} from '@governor/crd-types';
import { CLUSTERS_ANNOTATION, readClusters, type ClusterChoice } from './clusters';
import { isJsonObject, type JsonObject, type JsonValue } from './json';
import { readField } from './spelling';
import { limiterParts, type LimitRef, type WrittenLimit } from './structure';

export type { LimitRef } from './structure';

/** The annotation that puts a policy in shadow mode: counted, never enforced. */
export const SHADOW_ANNOTATION = 'governor.io/shadow';

/** The one header a limit counts: requests whose header `name` equals `value` (or, inverted, does not). */
export interface HeaderMatch {
  readonly name: string;
  readonly value: string;
  readonly invert: boolean;
}

export interface LimitForm {
  readonly at: LimitRef;
  readonly quota: string;
  readonly fillInterval: Duration | undefined;
  /** As written; absent means Slime's default, `single`. */
  readonly strategy: string | undefined;
  readonly condition: string;
  /** The limit's own target port, else `spec.target`'s; absent: every port. */
  readonly port: number | undefined;
  /** No matcher shows as an empty header; null: matchers the form does not show (kept as written). */
  readonly header: HeaderMatch | null;
}

export interface LimiterForm {
  readonly name: string;
  readonly namespace: string;
  readonly shadow: boolean;
  /** Which other clusters the policy is copied to (`governor.io/clusters`). */
  readonly clusters: ClusterChoice;
  readonly limits: readonly LimitForm[];
}

export type FormReading =
  { readonly ok: true; readonly form: LimiterForm } | { readonly ok: false; readonly reason: string };

/** A scalar as text: what a text field shows of a value that may be written as a number. */
const text = (v: JsonValue | undefined): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/** An integer, written as a number or (proto3 JSON allows it) as a decimal string. */
export const integer = (v: JsonValue | undefined): number | undefined =>
  typeof v === 'number' && Number.isInteger(v)
    ? v
    : typeof v === 'string' && /^\d+$/.test(v.trim())
      ? Number(v.trim())
      : undefined;

/** crd-types takes `"true"` for true as well. */
export const truthy = (v: JsonValue | undefined): boolean => v === true || v === 'true';

const EMPTY_HEADER: HeaderMatch = { name: '', value: '', invert: false };

/** Match kinds other than an exact header value: a limit that uses one keeps its matchers out of the form. */
const OTHER_MATCH_FIELDS = [
  'regexMatch',
  'prefixMatch',
  'suffixMatch',
  'presentMatch',
  'isExactMatchEmpty',
  'presentMatchSeparate',
  'useQueryMatch',
] as const;

/** The one matcher the form edits, if the limit's matchers are exactly one exact header match. */
export function headerMatcher(descriptor: JsonObject): JsonObject | undefined {
  const match = readField(descriptorNode, descriptor, 'match');
  if (!Array.isArray(match) || match.length !== 1) return undefined;
  const m = match[0];
  if (!isJsonObject(m) || readField(matcherNode, m, 'exactMatch') === undefined) return undefined;
  if (OTHER_MATCH_FIELDS.some((f) => readField(matcherNode, m, f) !== undefined)) return undefined;
  const source = readField(matcherNode, m, 'matchSource');
  return source === undefined || source === 'HeadMatch' || source === 0 ? m : undefined;
}

function readHeader(descriptor: JsonObject): HeaderMatch | null {
  const match = readField(descriptorNode, descriptor, 'match');
  if (match === undefined || (Array.isArray(match) && match.length === 0)) return EMPTY_HEADER;
  const m = headerMatcher(descriptor);
  if (!m) return null;
  return {
    name: text(m.name),
    value: text(readField(matcherNode, m, 'exactMatch')),
    invert: truthy(readField(matcherNode, m, 'invertMatch')),
  };
}

function readDuration(v: JsonValue | undefined): Duration | undefined {
  if (!isJsonObject(v)) return undefined;
  const seconds = integer(readField(durationNode, v, 'seconds')) ?? 0;
  const nanos = integer(readField(durationNode, v, 'nanos')) ?? 0;
  return nanos === 0 ? { seconds } : { seconds, nanos };
}

/** The target a limit without its own gets: `spec.target`. */
export function defaultTarget(spec: JsonObject | undefined): JsonObject | undefined {
  const t = spec ? readField(smartLimiterSpecNode, spec, 'target') : undefined;
  return isJsonObject(t) ? t : undefined;
}

function readLimit({ at, descriptor }: WrittenLimit, spec: JsonObject | undefined): LimitForm {
  const action = readField(descriptorNode, descriptor, 'action');
  const a: JsonObject = isJsonObject(action) ? action : {};
  const own = readField(descriptorNode, descriptor, 'target');
  const target = isJsonObject(own) ? own : defaultTarget(spec);
  const strategy = readField(actionNode, a, 'strategy');
  return {
    at,
    quota: text(readField(actionNode, a, 'quota')),
    fillInterval: readDuration(readField(actionNode, a, 'fillInterval')),
    strategy: strategy === undefined ? undefined : text(strategy),
    condition: text(readField(descriptorNode, descriptor, 'condition')),
    port: target ? integer(target.port) : undefined,
    header: readHeader(descriptor),
  };
}

/** The form's view of a written SmartLimiter, or why the form cannot show it. */
export function readLimiterForm(written: unknown): FormReading {
  const r = limiterParts(written);
  if (!r.ok) return r;
  const { metadata, spec, limits } = r.parts;
  const annotations = metadata?.annotations;
  return {
    ok: true,
    form: {
      name: text(metadata?.name),
      // crd-types defaults an absent namespace to `default`, as Kubernetes does.
      namespace: metadata?.namespace == null ? 'default' : text(metadata.namespace),
      shadow: isJsonObject(annotations) && annotations[SHADOW_ANNOTATION] === 'true',
      clusters: readClusters(isJsonObject(annotations) ? annotations[CLUSTERS_ANNOTATION] : undefined),
      limits: limits.map((l) => readLimit(l, spec)),
    },
  };
}
