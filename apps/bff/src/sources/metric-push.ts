/**
 * Metric push (Slime's "metric discovery" idea): other systems post metric values for a service, e.g. a
 * queue length, and SmartLimiters use them in conditions and quotas as `{{._base.queue_length}}`. A pushed
 * value holds for its TTL; after that it reads 0 until it is pushed again, so a condition it drove
 * switches back.
 */
import { z } from 'zod';
import type { SmartLimiter } from '@governor/crd-types';
import type { MetricSource } from './metric-source';

const NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const DNS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const metricPushSchema = z.strictObject({
  namespace: z.string().max(63).regex(DNS, 'expected a Kubernetes namespace name'),
  service: z.string().max(253).regex(DNS, 'expected a Kubernetes service name'),
  set: z
    .string()
    .max(63)
    .regex(/^[A-Za-z0-9_-]+$/, 'expected _base or a subset name')
    .default('_base'),
  values: z
    .record(
      z.string().max(128).regex(NAME, 'metric names are dotted words like cpu.sum'),
      z.number().finite(),
    )
    .refine((v) => Object.keys(v).length > 0, 'at least one value')
    .refine((v) => Object.keys(v).length <= 100, 'at most 100 values'),
  ttlSeconds: z.number().int().min(1).max(86_400).default(60),
});
export type MetricPush = z.infer<typeof metricPushSchema>;

/** The largest body the push endpoint reads. */
export const MAX_PUSH_BYTES = 64 * 1024;

export interface PushResult {
  readonly status: 200 | 400;
  readonly body:
    { accepted: number; expiresAt: string } | { error: 'invalid'; message: string; issues?: string[] };
}

export class PushedMetrics implements MetricSource {
  /** By `namespace/service`, by metric key (`<set>.<name>`): the value and when it expires. */
  private readonly values = new Map<string, Map<string, { value: number; expiresAt: number }>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Validates and stores a push; a bad payload stores nothing. */
  push(payload: unknown): PushResult {
    const r = metricPushSchema.safeParse(payload);
    if (!r.success) {
      const issues = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return { status: 400, body: { error: 'invalid', message: issues.join('; '), issues } };
    }
    const { namespace, service, set, values, ttlSeconds } = r.data;
    const key = `${namespace}/${service}`;
    const entry = this.values.get(key) ?? new Map<string, { value: number; expiresAt: number }>();
    const expiresAt = this.now() + ttlSeconds * 1000;
    for (const [name, value] of Object.entries(values)) entry.set(`${set}.${name}`, { value, expiresAt });
    this.values.set(key, entry);
    return {
      status: 200,
      body: { accepted: Object.keys(values).length, expiresAt: new Date(expiresAt).toISOString() },
    };
  }

  metricsFor(limiter: SmartLimiter) {
    const entry = this.values.get(`${limiter.metadata.namespace}/${limiter.metadata.name}`);
    const now = this.now();
    const values: Record<string, number> = {};
    for (const [k, v] of entry ?? []) values[k] = v.expiresAt > now ? v.value : 0;
    return { values, health: { available: true } };
  }
}

/** Several metric sources as one: values merged (later sources win), available only when all are. */
export function combineMetricSources(...sources: MetricSource[]): MetricSource {
  return {
    metricsFor(limiter) {
      const values: Record<string, number | string> = {};
      const down: string[] = [];
      for (const s of sources) {
        const r = s.metricsFor(limiter);
        Object.assign(values, r.values);
        if (!r.health.available) down.push(r.health.message ?? 'a metric source did not answer');
      }
      return {
        values,
        health: down.length === 0 ? { available: true } : { available: false, message: down.join('; ') },
      };
    },
  };
}
