/** Kubernetes object metadata and status conditions: the parts Governor reads and writes. */
import { z } from 'zod';
import { field, int, obj, str, type Infer } from './schema/dsl';

export const ownerReferenceSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof ownerReferenceSchema>;

const stringMap = z.record(z.string(), z.string(), { error: 'expected a map of strings' });

export const objectMetaSchema = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  labels: stringMap.nullish().transform((v) => v ?? undefined),
  annotations: stringMap.nullish().transform((v) => v ?? undefined),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().nullish(),
  deletionTimestamp: z.string().nullish(),
  ownerReferences: z.array(ownerReferenceSchema).optional(),
});
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

/** metav1.Condition, as Kubernetes API conventions define it. */
export const conditionNode = obj({
  type: field(str(), { required: true }),
  status: field(str({ enum: ['True', 'False', 'Unknown'] }), { required: true }),
  reason: field(str()),
  message: field(str()),
  lastTransitionTime: field(str()),
  observedGeneration: field(int({ format: 'int64', min: 0 })),
});
export type Condition = Infer<typeof conditionNode>;
