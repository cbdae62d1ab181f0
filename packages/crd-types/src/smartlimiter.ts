/**
 * SmartLimiter, `microservice.slime.io/v1alpha2`: Slime's schema, so that every manifest written for Slime
 * is accepted unchanged. Field names come in snake_case or lowerCamel (proto3 JSON accepts both, and Slime's
 * documentation uses both); they are normalised once, here, to lowerCamel.
 */
import { z } from 'zod';
import { arr, anyValue, bool, enumOf, field, int, map, obj, str, toZod, type Infer } from './schema/dsl';
import { conditionNode, objectMetaSchema, type ObjectMeta } from './meta';
import { parseResource, type ParseResult } from './parse';

export const SMARTLIMITER_GROUP = 'microservice.slime.io';
export const SMARTLIMITER_VERSION = 'v1alpha2';
export const SMARTLIMITER_API_VERSION = `${SMARTLIMITER_GROUP}/${SMARTLIMITER_VERSION}`;
export const SMARTLIMITER_KIND = 'SmartLimiter';
/** The set every SmartLimiter may use: all pods of the service, whatever their subset. */
export const BASE_SET = '_base';

/** Where a matcher reads its value from. The order is the proto enum's numbering. */
export const MATCH_SOURCES = ['HeadMatch', 'QueryMatch', 'JsonBodyMatch', 'SourceIpMatch'] as const;
export type MatchSource = (typeof MATCH_SOURCES)[number];

export const STRATEGIES = ['single', 'average', 'global'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const durationNode = obj(
  {
    seconds: field(int({ allowString: true, min: 0, max: 315_576_000_000, format: 'int64' }), {
      description: 'Whole seconds of the interval.',
    }),
    nanos: field(int({ min: 0, max: 999_999_999 }), {
      description: 'Fractions of a second, in nanoseconds.',
    }),
  },
  'A span of time, as {seconds, nanos}.',
);

export const matcherNode = obj(
  {
    name: field(str(), { description: 'Header or query parameter name (e.g. `:method`, `foo`).' }),
    regexMatch: field(str(), {
      aliases: ['regex_match'],
      description: 'The whole value matches this RE2 regex.',
    }),
    exactMatch: field(str(), {
      aliases: ['exact_match'],
      description: 'The value equals this. For SourceIpMatch: an IP, or several separated by commas.',
    }),
    prefixMatch: field(str(), { aliases: ['prefix_match'], description: 'The value starts with this.' }),
    suffixMatch: field(str(), { aliases: ['suffix_match'], description: 'The value ends with this.' }),
    presentMatch: field(bool(), { aliases: ['present_match'], description: 'The header is present.' }),
    invertMatch: field(bool(), { aliases: ['invert_match'], description: 'Invert the match result.' }),
    isExactMatchEmpty: field(bool(), {
      aliases: ['is_exact_match_empty'],
      description: 'The value is exactly the empty string.',
    }),
    presentMatchSeparate: field(bool(), {
      aliases: ['present_match_separate'],
      description: 'Like presentMatch, but each distinct value gets its own counter (global strategy only).',
    }),
    useQueryMatch: field(bool(), {
      aliases: ['use_query_match'],
      description: 'Deprecated: same as matchSource QueryMatch.',
    }),
    matchSource: field(enumOf(MATCH_SOURCES), {
      aliases: ['match_source'],
      description:
        'Where the value comes from: HeadMatch (default), QueryMatch, JsonBodyMatch, SourceIpMatch.',
    }),
  },
  'Which requests a descriptor counts.',
);

export const headerNode = obj({ key: field(str(), { required: true }), value: field(str()) });

export const actionNode = obj(
  {
    quota: field(str({ maxLength: 4096 }), {
      required: true,
      description:
        'Requests per fill interval: a number or an expression over metrics, e.g. `100/{{._base.pod}}`.',
    }),
    fillInterval: field(durationNode, {
      aliases: ['fill_interval'],
      required: true,
      description: 'The interval the quota refills over.',
    }),
    strategy: field(str({ enum: STRATEGIES }), {
      description:
        'single: each pod gets the quota; average: the quota is shared out across the pods; global: one counter for all pods, served by the rate-limit service.',
    }),
    headersToAdd: field(arr(headerNode), {
      aliases: ['headers_to_add'],
      description: 'Headers added to responses that were rate limited.',
    }),
  },
  'What a descriptor does once its condition holds.',
);

export const targetNode = obj(
  {
    direction: field(str({ enum: ['inbound', 'outbound'] }), {
      description: 'inbound (default) or outbound.',
    }),
    port: field(int({ allowString: true, min: 0, max: 65535 }), {
      description:
        'Inbound: the service port (0 or absent: every port). Outbound: appended to route/host names.',
    }),
    route: field(arr(str()), { description: 'Outbound or gateway routes, as `<vhost>/<route name>`.' }),
    host: field(arr(str()), {
      description: 'Outbound or gateway virtual hosts; limits apply to the whole vhost.',
    }),
  },
  'Where in Envoy the limit applies.',
);

export const descriptorNode = obj(
  {
    condition: field(str({ maxLength: 4096 }), {
      required: true,
      description: 'When the descriptor applies: `true`, or an expression such as `{{._base.cpu.sum}}>80`.',
    }),
    action: field(actionNode, { required: true }),
    match: field(arr(matcherNode)),
    target: field(targetNode),
    customKey: field(str(), { aliases: ['custom_key'] }),
    customValue: field(str(), { aliases: ['custom_value'] }),
  },
  'One rate-limit rule.',
);

export const descriptorsNode = obj({
  descriptor: field(arr(descriptorNode), { description: 'The rules of a set.' }),
});

export const smartLimiterSpecNode = obj({
  sets: field(map(descriptorsNode), {
    description: 'Rules per set: `_base` for all pods of the service, or a DestinationRule subset name.',
  }),
  rls: field(str(), { description: 'Deprecated; ignored.' }),
  workloadSelector: field(map(str()), {
    aliases: ['workload_selector'],
    description: "The pods the limits apply to. Default: the Service's selector.",
  }),
  gateway: field(bool(), { description: 'The limits apply to a gateway (context GATEWAY).' }),
  host: field(str(), { description: 'A ServiceEntry host whose workloads the limits apply to.' }),
  target: field(targetNode, { description: 'The default target of every descriptor that has none.' }),
});

/** Slime's status, plus standard conditions and observedGeneration. */
export const smartLimiterStatusNode = obj({
  ratelimitStatus: field(map(anyValue()), {
    aliases: ['ratelimit_status'],
    description: 'The evaluated descriptors per set, with their current quota.',
  }),
  metricStatus: field(map(str()), {
    aliases: ['metric_status'],
    description: 'The metric values the last evaluation used, e.g. `_base.pod: "2"`.',
  }),
  conditions: field(arr(conditionNode)),
  observedGeneration: field(int({ format: 'int64', min: 0 })),
});

export type Duration = Infer<typeof durationNode>;
export type Matcher = Infer<typeof matcherNode>;
export type Action = Infer<typeof actionNode>;
export type Target = Infer<typeof targetNode>;
export type SmartLimitDescriptor = Infer<typeof descriptorNode>;
export type SmartLimiterSpec = Infer<typeof smartLimiterSpecNode>;
export type SmartLimiterStatus = Infer<typeof smartLimiterStatusNode>;

export const smartLimiterSpecSchema = toZod(smartLimiterSpecNode);
export const smartLimiterStatusSchema = toZod(smartLimiterStatusNode);

export interface SmartLimiter {
  apiVersion: typeof SMARTLIMITER_API_VERSION;
  kind: typeof SMARTLIMITER_KIND;
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: SmartLimiterSpec;
  status?: SmartLimiterStatus;
}

export const smartLimiterSchema: z.ZodType<SmartLimiter> = z.object({
  apiVersion: z.literal(SMARTLIMITER_API_VERSION, {
    error: (iss) => `expected ${SMARTLIMITER_API_VERSION}, got ${JSON.stringify(iss.input)}`,
  }),
  kind: z.literal(SMARTLIMITER_KIND),
  metadata: objectMetaSchema.and(
    z.object({
      name: z.string({ error: 'required' }).min(1, 'required'),
      namespace: z.string().default('default'),
    }),
  ),
  spec: smartLimiterSpecSchema,
  status: smartLimiterStatusSchema.optional(),
}) as unknown as z.ZodType<SmartLimiter>;

/** Parses a SmartLimiter once at the boundary: normalised spec, typed issues, unknown fields as warnings. */
export const parseSmartLimiter = (input: unknown): ParseResult<SmartLimiter> =>
  parseResource(smartLimiterSchema, smartLimiterSpecNode, input);
