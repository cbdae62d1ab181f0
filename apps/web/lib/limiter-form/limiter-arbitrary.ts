/**
 * Test support: SmartLimiters as authors write them, every one valid for crd-types. Two-word fields come in
 * either spelling (now and then in both, with one value), optional fields are absent, set or left empty
 * (`key:` in YAML is null), and objects carry keys crd-types does not know, which it keeps as warnings.
 */
import {
  actionNode,
  descriptorNode,
  MATCH_SOURCES,
  matcherNode,
  SMARTLIMITER_API_VERSION,
  SMARTLIMITER_KIND,
  smartLimiterSpecNode,
  STRATEGIES,
  type ObjectNode,
} from '@governor/crd-types';
import fc from 'fast-check';
import { CLUSTERS_ANNOTATION } from './clusters';
import { SHADOW_ANNOTATION } from './form-state';
import type { JsonObject, JsonValue } from './json';
import { spellingsOf, type FieldName } from './spelling';

type Part = fc.Arbitrary<JsonObject>;

/** A field under one of its spellings, or under all of them with the same value. */
function spelled<N extends ObjectNode>(node: N, name: FieldName<N>, value: fc.Arbitrary<JsonValue>): Part {
  const names = spellingsOf(node, name);
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...names), value).map(([k, v]) => ({ [k]: v })) },
    {
      weight: 1,
      arbitrary: value.map((v) => Object.fromEntries(names.map((k) => [k, structuredClone(v)]))),
    },
  );
}

/** An optional field: absent, set (`weight` times in 6), or written empty. */
function optional<N extends ObjectNode>(
  node: N,
  name: FieldName<N>,
  value: fc.Arbitrary<JsonValue>,
  weight = 3,
): Part {
  return fc.oneof(
    { weight: 6 - weight, arbitrary: fc.constant({}) },
    { weight, arbitrary: spelled(node, name, value) },
    { weight: 1, arbitrary: fc.constantFrom(...spellingsOf(node, name)).map((k) => ({ [k]: null })) },
  );
}

const merged = (...parts: Part[]): fc.Arbitrary<JsonObject> =>
  fc.tuple(...parts).map((ps) => Object.assign({}, ...ps) as JsonObject);

/** A key crd-types does not know: kept, and reported as a warning. */
const unknownKey: Part = fc.oneof(fc.constant({}), fc.constant({ 'x-note': 'kept as written' }));

const text = fc.string({ maxLength: 12 });
const intOrString = (min: number, max: number): fc.Arbitrary<JsonValue> =>
  fc.oneof(fc.integer({ min, max }), fc.integer({ min, max }).map(String));
const boolLike: fc.Arbitrary<JsonValue> = fc.constantFrom(true, false, 'true', 'false');
const setName = fc.oneof(fc.constantFrom('_base', 'v1', 'v2'), fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/));

const duration = merged(
  fc.record({ seconds: intOrString(0, 86_400) }),
  fc.oneof(fc.constant({}), fc.record({ nanos: fc.integer({ min: 0, max: 999_999_999 }) })),
  unknownKey,
);

const action = merged(
  fc.record({
    quota: fc.oneof(fc.integer({ min: 0, max: 10_000 }).map(String), fc.constantFrom('100/{{._base.pod}}')),
  }),
  spelled(actionNode, 'fillInterval', duration),
  optional(actionNode, 'strategy', fc.constantFrom(...STRATEGIES)),
  optional(
    actionNode,
    'headersToAdd',
    fc.array(merged(fc.record({ key: text }), fc.oneof(fc.constant({}), fc.record({ value: text }))), {
      maxLength: 2,
    }),
  ),
  unknownKey,
);

/** Mostly the one exact header match the form edits; the other kinds it keeps out of the form. */
const matcher = fc.oneof(
  ...(
    [
      [6, 'exactMatch', text],
      [1, 'regexMatch', fc.constantFrom('bot.*', '[a-z]+')],
      [1, 'prefixMatch', text],
      [1, 'suffixMatch', text],
      [1, 'presentMatch', boolLike],
      [1, 'isExactMatchEmpty', boolLike],
      [1, 'presentMatchSeparate', boolLike],
    ] as const
  ).map(([weight, kind, value]) => ({
    weight,
    arbitrary: merged(
      fc.oneof(
        { weight: 1, arbitrary: fc.constant({}) },
        { weight: 4, arbitrary: fc.record({ name: fc.constantFrom('x-user', ':method', 'foo') }) },
      ),
      spelled(matcherNode, kind, value),
      optional(matcherNode, 'invertMatch', boolLike),
      optional(
        matcherNode,
        'matchSource',
        fc.oneof(fc.constantFrom(...MATCH_SOURCES), fc.constantFrom(0, 1)),
      ),
      unknownKey,
    ),
  })),
);

const target: fc.Arbitrary<JsonObject> = merged(
  fc.oneof(fc.constant({}), fc.record({ direction: fc.constantFrom('inbound', 'outbound') })),
  fc.oneof(fc.constant({}), fc.record({ port: intOrString(0, 65_535) })),
  fc.oneof(fc.constant({}), fc.record({ route: fc.array(text, { maxLength: 2 }) })),
  fc.oneof(fc.constant({}), fc.record({ host: fc.array(text, { maxLength: 2 }) })),
  unknownKey,
);

const descriptor = merged(
  fc.record({
    condition: fc.oneof(
      fc.constantFrom('true', '{{._base.cpu.percent}}>80', '{{.v1.qps}}>=12'),
      fc.string({ maxLength: 20 }),
    ),
    action,
  }),
  optional(
    descriptorNode,
    'match',
    fc.oneof(
      { weight: 3, arbitrary: matcher.map((m) => [m]) },
      { weight: 1, arbitrary: fc.array(matcher, { maxLength: 2 }) },
    ),
    4,
  ),
  optional(descriptorNode, 'target', target),
  optional(descriptorNode, 'customKey', text),
  optional(descriptorNode, 'customValue', text),
  unknownKey,
);

const sets = fc.dictionary(
  setName,
  merged(fc.record({ descriptor: fc.array(descriptor, { maxLength: 3 }) }), unknownKey),
  { minKeys: 1, maxKeys: 3 },
);

const spec = merged(
  optional(smartLimiterSpecNode, 'sets', sets, 5),
  optional(smartLimiterSpecNode, 'workloadSelector', fc.dictionary(setName, text, { maxKeys: 2 })),
  optional(smartLimiterSpecNode, 'gateway', boolLike),
  optional(smartLimiterSpecNode, 'host', fc.constantFrom('reviews.example.com', 'ratings')),
  optional(smartLimiterSpecNode, 'target', target),
  optional(smartLimiterSpecNode, 'rls', text),
);

const stringMap = fc.dictionary(fc.stringMatching(/^[a-z]([a-z0-9./-]{0,10}[a-z0-9])?$/), text, {
  maxKeys: 2,
});

/** The fan-out annotation as people write it: a list, spaced or not, blanks, repeats, `*`, or empty. */
const clustersValue = fc.oneof(
  fc.constantFrom('*', 'east,west', ' east , west ,', 'west,west', '', 'east,*', ' * '),
  fc
    .array(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { maxLength: 4 })
    .chain((names) => fc.constantFrom(',', ', ').map((sep) => names.join(sep))),
);

const metadata = merged(
  fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/) }),
  fc.oneof(fc.constant({}), fc.record({ namespace: fc.constantFrom('default', 'bookinfo') })),
  fc.oneof(fc.constant({}), fc.record({ labels: fc.oneof(stringMap, fc.constant(null)) })),
  fc.oneof(
    fc.constant({}),
    fc.record({
      annotations: fc.oneof(
        stringMap,
        fc.constant(null),
        fc
          .tuple(stringMap, fc.constantFrom('true', 'false'))
          .map(([a, s]) => ({ ...a, [SHADOW_ANNOTATION]: s })),
        fc
          .tuple(stringMap, fc.option(fc.constantFrom('true', 'false'), { nil: undefined }), clustersValue)
          .map(([a, s, c]) => ({
            ...a,
            ...(s === undefined ? {} : { [SHADOW_ANNOTATION]: s }),
            [CLUSTERS_ANNOTATION]: c,
          })),
      ),
    }),
  ),
);

/** A valid SmartLimiter as written. */
export const writtenLimiter: fc.Arbitrary<JsonObject> = fc.record({
  apiVersion: fc.constant(SMARTLIMITER_API_VERSION),
  kind: fc.constant(SMARTLIMITER_KIND),
  metadata,
  spec,
});
