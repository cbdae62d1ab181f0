/**
 * Aeraki's MetaProtocol resources, `metaprotocol.aeraki.io/v1alpha1`, with Aeraki's field names so that every
 * manifest written for Aeraki is accepted unchanged:
 * - ApplicationProtocol (cluster-scoped): an application protocol's name and the codec the MetaProtocol
 *   proxy decodes it with;
 * - MetaRouter: routes, traffic split, mirroring, header mutation and rate limits for the calls of a
 *   MetaProtocol service (Dubbo, Thrift, or any protocol with a codec).
 * Governor adds `conditions`, `observedGeneration` and what the route server served to MetaRouter's status.
 */
import { z } from 'zod';
import { arr, bool, field, int, map, nullableMap, num, obj, str, toZod, type Infer } from './schema/dsl';
import { conditionNode, objectMetaSchema, type ObjectMeta } from './meta';
import { parseResource, type ParseResult } from './parse';

export const METAPROTOCOL_GROUP = 'metaprotocol.aeraki.io';
export const METAPROTOCOL_VERSION = 'v1alpha1';
export const METAPROTOCOL_API_VERSION = `${METAPROTOCOL_GROUP}/${METAPROTOCOL_VERSION}`;
export const METAROUTER_KIND = 'MetaRouter';
export const APPLICATIONPROTOCOL_KIND = 'ApplicationProtocol';

/** A Go duration as Aeraki's manifests write them (`60s`, `100ms`, `1m30s`). */
const durationNode = (description: string) => str({ description });

export const applicationProtocolSpecNode = obj({
  protocol: field(str(), {
    required: true,
    description: 'The protocol name a port name carries: `tcp-metaprotocol-<protocol>-...`.',
  }),
  codec: field(str(), {
    required: true,
    description: 'The codec the MetaProtocol proxy decodes it with, e.g. aeraki.meta_protocol.codec.dubbo.',
  }),
});

/** One way to match an attribute; none of them (or regex `*`) means the attribute is present. */
export const stringMatchNode = obj(
  {
    exact: field(str(), { description: 'The attribute equals this.' }),
    prefix: field(str(), { description: 'The attribute starts with this.' }),
    regex: field(str(), { description: 'The attribute matches this RE2 expression.' }),
  },
  'Exact, prefix or RE2 regex; empty means the attribute is present.',
);

export const metaRouteMatchNode = obj(
  {
    attributes: field(nullableMap(stringMatchNode), {
      description: 'Request attributes the codec extracts (e.g. interface, method), all of which must match.',
    }),
  },
  'Which calls a route or limit applies to.',
);

export const portSelectorNode = obj({ number: field(int({ min: 0, max: 65535 })) });

export const destinationNode = obj({
  host: field(str(), { required: true, description: 'A service host.' }),
  subset: field(str(), { description: 'A subset of its DestinationRule.' }),
  port: field(portSelectorNode, { description: "The port; default the service port's." }),
});

export const keyValueNode = obj({
  key: field(str(), { required: true }),
  value: field(str(), { required: true }),
});

export const metaRouteNode = obj({
  name: field(str(), { description: 'The route name.' }),
  match: field(metaRouteMatchNode),
  route: field(
    arr(
      obj({
        destination: field(destinationNode, { required: true }),
        weight: field(int({ min: 0 })),
      }),
    ),
    { description: 'Where matching calls go; several split by weight.' },
  ),
  mirror: field(destinationNode, { description: 'Where calls are copied to.' }),
  mirrorPercentage: field(obj({ value: field(num({ min: 0, max: 100 })) }), {
    aliases: ['mirror_percentage'],
    description: 'The share of calls mirrored, in percent (default 100).',
  }),
  requestMutation: field(arr(keyValueNode), {
    aliases: ['request_mutation'],
    description: 'Attributes set on the request.',
  }),
  responseMutation: field(arr(keyValueNode), {
    aliases: ['response_mutation'],
    description: 'Attributes set on the response.',
  }),
});

export const tokenBucketNode = obj({
  maxTokens: field(int({ min: 0 }), { aliases: ['max_tokens'], description: 'The bucket size.' }),
  tokensPerFill: field(int({ min: 0 }), {
    aliases: ['tokens_per_fill'],
    description: 'Tokens added each fill (default 1).',
  }),
  fillInterval: field(durationNode('How often tokens are added, e.g. 60s.'), {
    aliases: ['fill_interval'],
    required: true,
  }),
});

export const localRateLimitNode = obj(
  {
    tokenBucket: field(tokenBucketNode, {
      aliases: ['token_bucket'],
      description: 'The bucket for calls no condition matches.',
    }),
    conditions: field(
      arr(
        obj({
          match: field(metaRouteMatchNode, { required: true }),
          tokenBucket: field(tokenBucketNode, { aliases: ['token_bucket'], required: true }),
        }),
      ),
      { description: 'Per-call buckets; the first whose match matches counts the call.' },
    ),
  },
  'Limits enforced by each receiving proxy alone.',
);

export const globalRateLimitNode = obj(
  {
    match: field(metaRouteMatchNode, { required: true, description: 'The calls the limit counts.' }),
    domain: field(str(), { required: true, description: 'The rate-limit service domain.' }),
    requestTimeout: field(durationNode('How long to wait for the rate-limit service, e.g. 100ms.'), {
      aliases: ['request_timeout'],
    }),
    denyOnFail: field(bool(), {
      aliases: ['deny_on_fail'],
      description: 'Refuse calls when the rate-limit service cannot answer.',
    }),
    rateLimitService: field(str(), {
      aliases: ['rate_limit_service'],
      required: true,
      description:
        'The Envoy cluster of the rate-limit service, e.g. outbound|8081||ratelimit.ns.svc.cluster.local.',
    }),
    descriptors: field(
      arr(
        obj({
          property: field(str(), { required: true, description: 'A call attribute.' }),
          descriptorKey: field(str(), { aliases: ['descriptor_key'], required: true }),
        }),
      ),
      { required: true, description: 'The descriptor entries sent: attribute → key.' },
    ),
  },
  'A limit shared by all receiving proxies through a rate-limit service.',
);

export const metaRouterSpecNode = obj({
  hosts: field(arr(str()), { description: 'The service the rules apply to (Aeraki uses the first).' }),
  gateways: field(arr(str()), { description: 'Gateways the rules apply to.' }),
  routes: field(arr(metaRouteNode), { description: 'Routes, first match wins.' }),
  localRateLimit: field(localRateLimitNode, { aliases: ['local_rate_limit'] }),
  globalRateLimit: field(globalRateLimitNode, { aliases: ['global_rate_limit'] }),
  exportTo: field(arr(str()), { aliases: ['export_to'], description: 'Namespaces that see the rules.' }),
});

export const metaRouterStatusNode = obj({
  conditions: field(arr(conditionNode)),
  observedGeneration: field(int({ format: 'int64', min: 0 })),
  routeConfigurations: field(arr(str()), {
    description: 'The route configurations (`<host>_<port>`) the route server serves from this MetaRouter.',
  }),
  proxies: field(
    map(
      obj({
        version: field(str()),
        acked: field(bool()),
        error: field(str()),
      }),
    ),
    { description: 'Per proxy (node id): the version last sent, whether it was accepted, its error.' },
  ),
});

export type ApplicationProtocolSpec = Infer<typeof applicationProtocolSpecNode>;
export type StringMatch = Infer<typeof stringMatchNode>;
export type MetaRouteMatch = Infer<typeof metaRouteMatchNode>;
export type MetaDestination = Infer<typeof destinationNode>;
export type MetaRouteSpec = Infer<typeof metaRouteNode>;
export type MetaTokenBucket = Infer<typeof tokenBucketNode>;
export type MetaLocalRateLimit = Infer<typeof localRateLimitNode>;
export type MetaGlobalRateLimit = Infer<typeof globalRateLimitNode>;
export type MetaRouterSpec = Infer<typeof metaRouterSpecNode>;
export type MetaRouterStatus = Infer<typeof metaRouterStatusNode>;

export const applicationProtocolSpecSchema = toZod(applicationProtocolSpecNode);
export const metaRouterSpecSchema = toZod(metaRouterSpecNode);
export const metaRouterStatusSchema = toZod(metaRouterStatusNode);

export interface ApplicationProtocol {
  apiVersion: typeof METAPROTOCOL_API_VERSION;
  kind: typeof APPLICATIONPROTOCOL_KIND;
  metadata: ObjectMeta & { name: string };
  spec: ApplicationProtocolSpec;
}

export interface MetaRouter {
  apiVersion: typeof METAPROTOCOL_API_VERSION;
  kind: typeof METAROUTER_KIND;
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: MetaRouterSpec;
  status?: MetaRouterStatus;
}

const apiVersionLiteral = z.literal(METAPROTOCOL_API_VERSION, {
  error: (iss) => `expected ${METAPROTOCOL_API_VERSION}, got ${JSON.stringify(iss.input)}`,
});

export const applicationProtocolSchema: z.ZodType<ApplicationProtocol> = z.object({
  apiVersion: apiVersionLiteral,
  kind: z.literal(APPLICATIONPROTOCOL_KIND),
  metadata: objectMetaSchema.and(z.object({ name: z.string({ error: 'required' }).min(1, 'required') })),
  spec: applicationProtocolSpecSchema,
}) as unknown as z.ZodType<ApplicationProtocol>;

export const metaRouterSchema: z.ZodType<MetaRouter> = z.object({
  apiVersion: apiVersionLiteral,
  kind: z.literal(METAROUTER_KIND),
  metadata: objectMetaSchema.and(
    z.object({
      name: z.string({ error: 'required' }).min(1, 'required'),
      namespace: z.string().default('default'),
    }),
  ),
  spec: metaRouterSpecSchema.default({}),
  status: metaRouterStatusSchema.optional(),
}) as unknown as z.ZodType<MetaRouter>;

export const parseApplicationProtocol = (input: unknown): ParseResult<ApplicationProtocol> =>
  parseResource(applicationProtocolSchema, applicationProtocolSpecNode, input);
export const parseMetaRouter = (input: unknown): ParseResult<MetaRouter> =>
  parseResource(metaRouterSchema, metaRouterSpecNode, input);

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A duration as Go's time.ParseDuration reads it (what Aeraki's manifests are parsed with: `60s`, `100ms`,
 * `1m30s`, `1.5s`), in milliseconds; null when it is not one. A negative duration is refused.
 */
export function parseGoDuration(text: string): number | null {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * GO_DURATION_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === s.length && s.length > 0 ? total : null;
}

/**
 * The application protocol a port name declares, as Aeraki reads it: the third dash-separated part when the
 * second is `metaprotocol` (any case), as in `tcp-metaprotocol-dubbo` or `tcp-metaprotocol-thrift-hello`.
 */
export function metaProtocolOfPortName(portName: string | undefined): string | null {
  const parts = (portName ?? '').split('-');
  return parts.length > 2 && parts[1]!.toLowerCase() === 'metaprotocol' && parts[2] ? parts[2] : null;
}
