/** Where a SmartLimiter's metric values come from (beyond the pod counts rendering computes). */
import type { SmartLimiter } from '@governor/crd-types';
import type { MetricInput } from '../framework/module';

export interface MetricSource {
  metricsFor(limiter: SmartLimiter): MetricInput;
}

export const noMetrics: MetricSource = { metricsFor: () => ({ values: {}, health: { available: true } }) };
