/** Metric values, and where a SmartLimiter's come from (beyond the pod counts rendering computes). */
import type { SmartLimiter } from '@governor/crd-types';

export type MetricValues = Readonly<Record<string, number | string>>;

export interface MetricSourceHealth {
  readonly available: boolean;
  readonly message?: string;
}

/** The metric values a plan sees, and whether their source answered. */
export interface MetricInput {
  readonly values: MetricValues;
  readonly health: MetricSourceHealth;
}

export const NO_METRICS: MetricInput = { values: {}, health: { available: true } };

export interface MetricSource {
  metricsFor(limiter: SmartLimiter): MetricInput;
}

export const noMetrics: MetricSource = { metricsFor: () => ({ values: {}, health: { available: true } }) };
