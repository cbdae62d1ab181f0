/**
 * ServiceFence, `microservice.slime.io/v1alpha1`: Slime's lazyload resource, with Slime's field names, so
 * that every fence written for Slime is accepted unchanged. It says which hosts a workload may reach; the
 * lazyload module turns it into an Istio Sidecar. Governor adds `conditions`, `observedGeneration` and
 * `reasons` to the status.
 */
import { z } from 'zod';
import { arr, bool, field, int, map, obj, str, toZod, type Infer } from './schema/dsl';
import { conditionNode, objectMetaSchema, type ObjectMeta } from './meta';
import { parseResource, type ParseResult } from './parse';

export const SERVICEFENCE_GROUP = 'microservice.slime.io';
export const SERVICEFENCE_VERSION = 'v1alpha1';
export const SERVICEFENCE_API_VERSION = `${SERVICEFENCE_GROUP}/${SERVICEFENCE_VERSION}`;
export const SERVICEFENCE_KIND = 'ServiceFence';

/** Slime's `Destinations.Status`, written as its number as Slime's controller does. */
export const DOMAIN_STATUS = { ACTIVE: 0, EXPIRE: 1, EXPIREWAIT: 2 } as const;
export type DomainStatus = (typeof DOMAIN_STATUS)[keyof typeof DOMAIN_STATUS];

/** Slime's own Timestamp message: seconds since the epoch (or a span, as `auto.duration`). */
export const timestampNode = obj(
  {
    seconds: field(int({ allowString: true, format: 'int64' }), { description: 'Whole seconds.' }),
    nanos: field(int({ min: 0, max: 999_999_999, format: 'int32' }), {
      description: 'Fractions of a second, in nanoseconds.',
    }),
  },
  'A time (seconds since the epoch) or a span of time.',
);

export const recyclingStrategyNode = obj(
  {
    stable: field(obj({}), { description: 'The host stays in the fence for good.' }),
    deadline: field(obj({ expire: field(timestampNode, { description: 'When the host expires.' }) }), {
      description: 'The host stays until a fixed time.',
    }),
    auto: field(
      obj({
        duration: field(timestampNode, { description: 'How long after its last call the host stays.' }),
      }),
      { description: 'The host stays while it is called.' },
    ),
    RecentlyCalled: field(timestampNode, {
      aliases: ['recentlyCalled'],
      description: 'When the host was last called (for auto).',
    }),
  },
  'How long a host stays in the fence: stable, deadline or auto.',
);

export const serviceFenceSpecNode = obj({
  host: field(map(recyclingStrategyNode), {
    description:
      "Hosts the workload may reach, by FQDN (reviews.default.svc.cluster.local), short name (reviews, in the fence's namespace) or namespace (default/*).",
  }),
  enable: field(bool(), { description: 'Write the Sidecar. Without it the fence only records.' }),
  namespaceSelector: field(arr(str()), { description: 'Slime: namespaces every service of which stays.' }),
  labelSelector: field(
    arr(obj({ selector: field(map(str()), { description: 'Labels a Service must all have.' }) })),
    { description: 'Services matching any of these selectors stay in the fence.' },
  ),
  workloadSelector: field(
    obj({
      fromService: field(bool(), { description: "Select the workload by the Service's selector." }),
      labels: field(map(str()), { description: 'Select the workload by these labels (first choice).' }),
    }),
    { description: 'The workload the Sidecar applies to. Default: `app: <fence name>`.' },
  ),
});

export const destinationsNode = obj({
  RecentlyCalled: field(timestampNode, { aliases: ['recentlyCalled'], description: 'Deprecated.' }),
  hosts: field(arr(str()), { description: 'The hosts the domain brings into the Sidecar.' }),
  status: field(int({ min: 0, max: 2 }), { description: '0 ACTIVE, 1 EXPIRE, 2 EXPIREWAIT.' }),
});

export const serviceFenceStatusNode = obj({
  domains: field(map(destinationsNode), { description: 'Every domain of the fence and its state.' }),
  metricStatus: field(map(str()), {
    aliases: ['metric_status'],
    description: 'Observed calls, as `{destination_service="reviews.default.svc.cluster.local"}: "12"`.',
  }),
  visitor: field(map(bool()), { description: 'Deprecated.' }),
  reasons: field(map(str()), { description: 'Why each host is in the Sidecar or out of it.' }),
  conditions: field(arr(conditionNode)),
  observedGeneration: field(int({ format: 'int64', min: 0 })),
});

export type Timestamp = Infer<typeof timestampNode>;
export type RecyclingStrategy = Infer<typeof recyclingStrategyNode>;
export type ServiceFenceSpec = Infer<typeof serviceFenceSpecNode>;
export type Destinations = Infer<typeof destinationsNode>;
export type ServiceFenceStatus = Infer<typeof serviceFenceStatusNode>;

export const serviceFenceSpecSchema = toZod(serviceFenceSpecNode);
export const serviceFenceStatusSchema = toZod(serviceFenceStatusNode);

export interface ServiceFence {
  apiVersion: typeof SERVICEFENCE_API_VERSION;
  kind: typeof SERVICEFENCE_KIND;
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: ServiceFenceSpec;
  status?: ServiceFenceStatus;
}

export const serviceFenceSchema: z.ZodType<ServiceFence> = z.object({
  apiVersion: z.literal(SERVICEFENCE_API_VERSION, {
    error: (iss) => `expected ${SERVICEFENCE_API_VERSION}, got ${JSON.stringify(iss.input)}`,
  }),
  kind: z.literal(SERVICEFENCE_KIND),
  metadata: objectMetaSchema.and(
    z.object({
      name: z.string({ error: 'required' }).min(1, 'required'),
      namespace: z.string().default('default'),
    }),
  ),
  spec: serviceFenceSpecSchema.default({}),
  status: serviceFenceStatusSchema.optional(),
}) as unknown as z.ZodType<ServiceFence>;

/** Parses a ServiceFence once at the boundary: typed issues, unknown fields as warnings with a suggestion. */
export const parseServiceFence = (input: unknown): ParseResult<ServiceFence> =>
  parseResource(serviceFenceSchema, serviceFenceSpecNode, input);

export const SIDECAR_API_VERSION = 'networking.istio.io/v1alpha3';
export const SIDECAR_KIND = 'Sidecar';

/** Istio's Sidecar, the parts the lazyload module writes. */
export interface Sidecar {
  apiVersion: typeof SIDECAR_API_VERSION;
  kind: typeof SIDECAR_KIND;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: {
    workloadSelector?: { labels: Record<string, string> };
    egress: { hosts: string[]; port?: { number: number; protocol?: string; name?: string } }[];
  };
}
