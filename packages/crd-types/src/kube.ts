/**
 * The parts of core and Istio objects that rendering reads: Services, Pods, DestinationRules (subsets),
 * ServiceEntries, WorkloadEntries. Unknown fields pass through untouched; only what Governor uses is checked.
 */
import { z } from 'zod';
import { objectMetaSchema } from './meta';

const stringMap = z.record(z.string(), z.string());
const namedMeta = objectMetaSchema.and(z.object({ name: z.string().min(1, 'required') }));

export const serviceSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: namedMeta,
  spec: z
    .looseObject({
      selector: stringMap.nullish(),
      ports: z
        .array(
          z.looseObject({
            name: z.string().optional(),
            port: z.number().int(),
            targetPort: z.union([z.number().int(), z.string()]).optional(),
            protocol: z.string().optional(),
          }),
        )
        .nullish(),
    })
    .default({}),
});
export type Service = z.infer<typeof serviceSchema>;

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;

export const podSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Pod'),
  metadata: namedMeta,
  spec: z.looseObject({}).optional(),
  status: z.looseObject({ phase: z.enum(POD_PHASES).optional(), podIP: z.string().optional() }).optional(),
});
export type Pod = z.infer<typeof podSchema>;

const ISTIO_NETWORKING_VERSIONS = ['v1alpha3', 'v1beta1', 'v1'] as const;
const istioNetworkingApiVersion = z.enum(
  ISTIO_NETWORKING_VERSIONS.map((v) => `networking.istio.io/${v}`) as [string, ...string[]],
);

export const destinationRuleSchema = z.looseObject({
  apiVersion: istioNetworkingApiVersion,
  kind: z.literal('DestinationRule'),
  metadata: namedMeta,
  spec: z.looseObject({
    host: z.string().min(1),
    subsets: z.array(z.looseObject({ name: z.string().min(1), labels: stringMap.nullish() })).nullish(),
  }),
});
export type DestinationRule = z.infer<typeof destinationRuleSchema>;

export const serviceEntrySchema = z.looseObject({
  apiVersion: istioNetworkingApiVersion,
  kind: z.literal('ServiceEntry'),
  metadata: namedMeta,
  spec: z.looseObject({
    hosts: z.array(z.string()).min(1),
    workloadSelector: z.looseObject({ labels: stringMap.nullish() }).nullish(),
    ports: z.array(z.looseObject({ number: z.number().int(), name: z.string().optional() })).nullish(),
  }),
});
export type ServiceEntry = z.infer<typeof serviceEntrySchema>;

/**
 * A workload outside Kubernetes (a VM) in the mesh. Istio selects it with a Service's selector as it does
 * Pods, and with a ServiceEntry's `workloadSelector`; its sidecar enforces what a Pod's would.
 */
export const workloadEntrySchema = z.looseObject({
  apiVersion: istioNetworkingApiVersion,
  kind: z.literal('WorkloadEntry'),
  metadata: namedMeta,
  spec: z
    .looseObject({
      address: z.string().optional(),
      labels: stringMap.nullish(),
      ports: z.record(z.string(), z.number().int()).nullish(),
      network: z.string().optional(),
      locality: z.string().optional(),
      weight: z.number().int().nonnegative().optional(),
      serviceAccount: z.string().optional(),
    })
    .default({}),
});
export type WorkloadEntry = z.infer<typeof workloadEntrySchema>;
