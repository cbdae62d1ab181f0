import { SMARTLIMITER_API_VERSION, SMARTLIMITER_KIND } from '@governor/crd-types';
import { applyEdit } from './apply-edit';
import type { JsonObject } from './json';

/** A new SmartLimiter for a service: one limit of 10 requests a second on `port`, always. */
export function newLimiter({
  namespace,
  name,
  port,
}: {
  namespace: string;
  name: string;
  port: number;
}): JsonObject {
  return applyEdit(
    {
      apiVersion: SMARTLIMITER_API_VERSION,
      kind: SMARTLIMITER_KIND,
      metadata: { name, namespace },
      spec: { sets: {} },
    },
    { kind: 'addLimit', port },
  );
}
