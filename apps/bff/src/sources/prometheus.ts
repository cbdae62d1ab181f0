/**
 * Metrics from Prometheus' HTTP API (instant queries), configured like Slime's handlers: named queries with
 * `$namespace` and `$pod_name` (the set's pods joined by `|`) substituted, one query per set, results keyed
 * `<set>.<name>`. Values are fetched on a refresh and served synchronously to the controller from the last
 * good answer; a failed or stale refresh makes the source unavailable (MetricsAvailable=False) while the
 * last good values stay, so limits keep their last good evaluation.
 */
import { z } from 'zod';
import type { SmartLimiter } from '@governor/crd-types';
import type { MetricSource } from './metric-source';
import { PollLoop } from '../lib/poll-loop';
import { redactCredentials } from '../redact';

export interface NamedQuery {
  readonly name: string;
  readonly query: string;
}

const pods = 'pod=~"$pod_name"';

/**
 * The default queries, which mean what users think; Slime's raw `cpu.sum` / `cpu.max` stay for
 * compatibility. `rateWindow` is the range of the `rate()`s (Prometheus duration, default `1m`): at least
 * two scrape intervals, shorter to react faster, longer to smooth.
 */
export function defaultQueries(rateWindow = '1m'): NamedQuery[] {
  if (!/^\d+(ms|s|m|h)$/.test(rateWindow))
    throw new RangeError(`rate window must be a Prometheus duration such as 30s or 1m, got "${rateWindow}"`);
  const w = rateWindow;
  return [
    {
      name: 'cpu.percent',
      query: `100 * sum(rate(container_cpu_usage_seconds_total{namespace="$namespace",${pods},container!=""}[${w}])) / sum(container_spec_cpu_quota{namespace="$namespace",${pods},container!=""} / container_spec_cpu_period{namespace="$namespace",${pods},container!=""})`,
    },
    {
      name: 'cpu.sum',
      query: `sum(container_cpu_usage_seconds_total{namespace="$namespace",${pods},image=""})`,
    },
    {
      name: 'cpu.max',
      query: `max(container_cpu_usage_seconds_total{namespace="$namespace",${pods},image=""})`,
    },
    {
      name: 'qps',
      query: `sum(rate(istio_requests_total{destination_workload_namespace="$namespace",${pods}}[${w}]))`,
    },
    {
      name: 'limited_qps',
      query: `sum(rate(istio_requests_total{destination_workload_namespace="$namespace",${pods},response_code="429"}[${w}]))`,
    },
    {
      name: 'error_qps',
      query: `sum(rate(istio_requests_total{destination_workload_namespace="$namespace",${pods},response_code=~"5.."}[${w}]))`,
    },
    {
      name: 'rt99',
      query: `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{destination_workload_namespace="$namespace",${pods}}[${w}])) by (le))`,
    },
  ];
}

export const DEFAULT_QUERIES: readonly NamedQuery[] = defaultQueries();

/** Regular-expression metacharacters in pod names are escaped for `=~`. */
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function substitute(query: string, namespace: string, podNames: readonly string[]): string {
  // An empty set matches nothing rather than everything.
  const podRegex = podNames.length > 0 ? podNames.map(escapeRegex).join('|') : '$^';
  return query.replaceAll('$namespace', namespace).replaceAll('$pod_name', podRegex);
}

const sampleValue = z.tuple([z.number(), z.string()]);
const answerSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('vector'), result: z.array(z.object({ value: sampleValue })) }),
      z.object({ resultType: z.literal('scalar'), result: sampleValue }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() }),
]);

export class PrometheusError extends Error {}

export interface PrometheusClientOptions {
  readonly url: string;
  readonly timeoutMs?: number;
  readonly retries?: number;
}

/** One instant query: the sum of the vector's samples (no sample: undefined), or the scalar. */
export async function instantQuery(
  opts: PrometheusClientOptions,
  query: string,
): Promise<number | undefined> {
  const endpoint = new URL('/api/v1/query', opts.url);
  endpoint.searchParams.set('query', query);
  let lastError: unknown;
  for (let attempt = 0; attempt <= (opts.retries ?? 1); attempt++) {
    try {
      const res = await fetch(endpoint, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
      const body: unknown = await res.json().catch(() => {
        throw new PrometheusError(
          `Prometheus at ${redactCredentials(opts.url)} answered ${res.status} without JSON`,
        );
      });
      const parsed = answerSchema.safeParse(body);
      if (!parsed.success)
        throw new PrometheusError(`unexpected answer from Prometheus at ${redactCredentials(opts.url)}`);
      const answer = parsed.data;
      if (answer.status === 'error')
        throw new PrometheusError(`Prometheus rejected ${query}: ${answer.error}`);
      if (answer.data.resultType === 'scalar') return Number(answer.data.result[1]);
      if (answer.data.result.length === 0) return undefined;
      // Several series (a query without an aggregation) are summed.
      return answer.data.result.reduce((sum, s) => sum + Number(s.value[1]), 0);
    } catch (e) {
      // A query Prometheus rejected will be rejected again: no retry.
      if (e instanceof PrometheusError && e.message.startsWith('Prometheus rejected')) throw e;
      lastError = e;
    }
  }
  throw lastError instanceof Error
    ? new PrometheusError(`Prometheus at ${redactCredentials(opts.url)} did not answer: ${lastError.message}`)
    : new PrometheusError(`Prometheus at ${redactCredentials(opts.url)} did not answer`);
}

export interface MetricTarget {
  readonly namespace: string;
  readonly name: string;
  readonly sets: readonly { readonly name: string; readonly pods: readonly string[] }[];
}

export interface PrometheusSourceOptions extends PrometheusClientOptions {
  readonly queries?: readonly NamedQuery[];
  /** Values older than this make the source unavailable. Default 30 s. */
  readonly staleAfterMs?: number;
  readonly now?: () => number;
  /** Queries in flight at once during a refresh. Default 8. */
  readonly concurrency?: number;
}

export class PrometheusMetricSource implements MetricSource {
  private readonly values = new Map<string, Record<string, number>>();
  private lastSuccess = 0;
  private lastError: string | undefined = 'no answer from Prometheus yet';
  private readonly now: () => number;

  constructor(private readonly options: PrometheusSourceOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Queries every target's sets (a few queries in flight at once); on any failure keeps the last good
   * values and reports the error. A query without data (no series, or NaN) reads 0, so that a condition
   * on, say, the latency of a set without traffic evaluates rather than naming an unknown metric.
   * Returns the keys (`namespace/name`) whose values changed.
   */
  async refresh(targets: readonly MetricTarget[]): Promise<string[]> {
    const queries = this.options.queries ?? DEFAULT_QUERIES;
    const jobs: { target: string; key: string; query: string }[] = [];
    for (const t of targets)
      for (const set of t.sets)
        for (const q of queries)
          jobs.push({
            target: `${t.namespace}/${t.name}`,
            key: `${set.name}.${q.name}`,
            query: substitute(q.query, t.namespace, set.pods),
          });
    try {
      const results = await mapConcurrently(jobs, this.options.concurrency ?? 8, (j) =>
        instantQuery(this.options, j.query),
      );
      const next = new Map<string, Record<string, number>>(
        targets.map((t) => [`${t.namespace}/${t.name}`, {}]),
      );
      jobs.forEach((j, i) => {
        const v = results[i];
        next.get(j.target)![j.key] = v !== undefined && Number.isFinite(v) ? v : 0;
      });
      const changed: string[] = [];
      for (const [k, v] of next) {
        const before = this.values.get(k);
        if (!before || Object.entries(v).some(([name, value]) => before[name] !== value)) changed.push(k);
        this.values.set(k, v);
      }
      const wasDown = this.lastError !== undefined;
      this.lastSuccess = this.now();
      this.lastError = undefined;
      return wasDown ? [...next.keys()] : changed;
    } catch (e) {
      const wasUp = this.lastError === undefined;
      this.lastError = e instanceof Error ? e.message : String(e);
      return wasUp ? targets.map((t) => `${t.namespace}/${t.name}`) : [];
    }
  }

  /** Whether the last refresh succeeded and is recent enough, and why not. */
  health(): { available: boolean; message?: string } {
    const stale = this.now() - this.lastSuccess > (this.options.staleAfterMs ?? 30_000);
    if (this.lastError !== undefined) return { available: false, message: this.lastError };
    if (stale)
      return {
        available: false,
        message: `Prometheus values are older than ${this.options.staleAfterMs ?? 30_000} ms`,
      };
    return { available: true };
  }

  metricsFor(limiter: SmartLimiter) {
    const values = this.values.get(`${limiter.metadata.namespace}/${limiter.metadata.name}`) ?? {};
    const stale = this.now() - this.lastSuccess > (this.options.staleAfterMs ?? 30_000);
    if (this.lastError !== undefined || stale) {
      return {
        values,
        health: {
          available: false,
          message:
            this.lastError ?? `Prometheus values are older than ${this.options.staleAfterMs ?? 30_000} ms`,
        },
      };
    }
    return { values, health: { available: true } };
  }
}

/** Maps with at most `limit` calls in flight; rejects with the first failure. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  f: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface PrometheusPollerOptions {
  readonly source: PrometheusMetricSource;
  /** The SmartLimiters and their sets' pods, as they are now. */
  readonly targets: () => readonly MetricTarget[];
  /** Time between the end of one refresh and the start of the next. Default 1 s. */
  readonly intervalMs?: number;
  /** Called after each refresh with the `namespace/name` keys whose values or availability changed. */
  readonly onRefresh?: (changed: readonly string[]) => void;
}

/** Refreshes a Prometheus source in a loop until stopped; one refresh at a time. */
export class PrometheusPoller {
  private readonly loop: PollLoop;

  constructor(private readonly options: PrometheusPollerOptions) {
    this.loop = new PollLoop(() => this.refreshNow(), options.intervalMs ?? 1000);
  }

  start(): void {
    this.loop.start();
  }

  /** Stops polling; resolves once a refresh in progress has finished. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One refresh now (also what the loop runs). */
  async refreshNow(): Promise<readonly string[]> {
    const changed = await this.options.source.refresh(this.options.targets());
    this.options.onRefresh?.(changed);
    return changed;
  }
}

const handlerName = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const handlersSchema = z.record(
  z.string(),
  z.strictObject({ query: z.string().trim().min(1, 'an empty query').max(10_000) }),
);

/**
 * Named queries from a configuration in Slime's shape, `handlers: {<name>: {query: ...}}` (also nested as
 * in Slime's module config, `metric: {prometheus: {handlers: ...}}`), merged over the defaults: a handler
 * with a default's name replaces it. Throws with the path of what is wrong.
 */
export function queriesFromHandlers(
  config: unknown,
  base: readonly NamedQuery[] = DEFAULT_QUERIES,
): NamedQuery[] {
  const root = config as { handlers?: unknown; metric?: { prometheus?: { handlers?: unknown } } } | null;
  const handlers = root?.handlers ?? root?.metric?.prometheus?.handlers;
  if (typeof handlers !== 'object' || handlers === null)
    throw new RangeError('expected `handlers: {<name>: {query: ...}}`');
  for (const name of Object.keys(handlers as object))
    if (!handlerName.test(name))
      throw new RangeError(`handlers.${name}: a metric name is dotted words like cpu.sum`);
  const parsed = handlersSchema.safeParse(handlers);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RangeError(`handlers.${issue.path.join('.')}: ${issue.message}`);
  }
  const merged = new Map(base.map((q) => [q.name, q.query]));
  for (const [name, { query }] of Object.entries(parsed.data)) merged.set(name, query);
  return [...merged].map(([name, query]) => ({ name, query }));
}

/** The data of a query's answer; an answer of another shape, or Prometheus's error, is thrown. */
async function answerOf<Data>(
  opts: PrometheusClientOptions,
  endpoint: URL,
  query: string,
  schema: z.ZodType<{ status: 'success'; data: Data } | { status: 'error'; error: string }>,
): Promise<Data> {
  const res = await fetch(endpoint, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success)
    throw new PrometheusError(`unexpected answer from Prometheus at ${redactCredentials(opts.url)}`);
  if (parsed.data.status === 'error')
    throw new PrometheusError(`Prometheus rejected ${query}: ${parsed.data.error}`);
  return parsed.data.data;
}

const rangeAnswerSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({
      resultType: z.literal('matrix'),
      result: z.array(z.object({ values: z.array(sampleValue) })),
    }),
  }),
  z.object({ status: z.literal('error'), error: z.string() }),
]);

/** A range query: the series summed per timestamp (Unix seconds → value); NaN samples are left out. */
export async function rangeQuery(
  opts: PrometheusClientOptions,
  query: string,
  startSeconds: number,
  endSeconds: number,
  stepSeconds: number,
): Promise<Map<number, number>> {
  const endpoint = new URL('/api/v1/query_range', opts.url);
  endpoint.searchParams.set('query', query);
  endpoint.searchParams.set('start', String(startSeconds));
  endpoint.searchParams.set('end', String(endSeconds));
  endpoint.searchParams.set('step', String(stepSeconds));
  const data = await answerOf(opts, endpoint, query, rangeAnswerSchema);
  const out = new Map<number, number>();
  for (const series of data.result)
    for (const [t, v] of series.values) {
      const n = Number(v);
      if (Number.isFinite(n)) out.set(t, (out.get(t) ?? 0) + n);
    }
  return out;
}

const vectorAnswerSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({
      resultType: z.literal('vector'),
      result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sampleValue })),
    }),
  }),
  z.object({ status: z.literal('error'), error: z.string() }),
]);

/** An instant query's series with their labels (for breakdowns such as who calls whom). */
export async function vectorQuery(
  opts: PrometheusClientOptions,
  query: string,
): Promise<{ labels: Record<string, string>; value: number }[]> {
  const endpoint = new URL('/api/v1/query', opts.url);
  endpoint.searchParams.set('query', query);
  const data = await answerOf(opts, endpoint, query, vectorAnswerSchema);
  return data.result
    .map((r) => ({ labels: r.metric, value: Number(r.value[1]) }))
    .filter((r) => Number.isFinite(r.value));
}
