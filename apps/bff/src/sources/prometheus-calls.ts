/**
 * Which services each workload calls, from Prometheus: Istio's `istio_requests_total` grouped by
 * `destination_service`, one instant query per workload, polled. The query is Slime's lazyload handler
 * (`metric.prometheus.handlers.destination.query`), with `$namespace` and `$source_app` substituted as Slime
 * does; each series' value is recorded as that pair's count in `ObservedCalls` (`via: 'prometheus'`).
 */
import { PollLoop } from '../lib/poll-loop';
import { redactCredentials } from '../redact';
import type { ObservedCalls } from './observed-calls';
import { mapConcurrently, vectorQuery, type PrometheusClientOptions } from './prometheus';

/** Slime's default lazyload query: calls from every namespace's `$source_app` alike. */
export const SLIME_CALLS_QUERY =
  'sum(istio_requests_total{source_app="$source_app",reporter="destination"})by(destination_service)';

/**
 * The default: Slime's query held to the workload's own namespace, so that two namespaces' `productpage`s
 * are not fenced to each other's destinations.
 */
export const DEFAULT_CALLS_QUERY =
  'sum(istio_requests_total{source_app="$source_app",source_workload_namespace="$namespace",reporter="destination"})by(destination_service)';

export const DEFAULT_CALLS_INTERVAL_MS = 5000;

export interface Workload {
  readonly namespace: string;
  readonly app: string;
}

/** A value inside a PromQL double-quoted string. */
const promqlString = (v: string): string => v.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n');

/** `query` for one workload: `$namespace` first, then `$source_app`, as Slime substitutes them. */
export function callsQueryFor(query: string, workload: Workload): string {
  return query
    .replaceAll('$namespace', promqlString(workload.namespace))
    .replaceAll('$source_app', promqlString(workload.app));
}

/**
 * The lazyload query of a SlimeBoot module entry (`{metric: {prometheus: {handlers: {destination:
 * {query}}}}}`, or the `metric` object itself), trimmed; undefined when it sets none.
 */
export function callsQueryFromModuleConfig(config: unknown): string | undefined {
  const root = config as { metric?: unknown } | null | undefined;
  const metric = (root?.metric ?? root) as
    { prometheus?: { handlers?: { destination?: { query?: unknown } } } } | null | undefined;
  const query = metric?.prometheus?.handlers?.destination?.query;
  if (query === undefined) return undefined;
  if (typeof query !== 'string' || query.trim() === '')
    throw new RangeError('metric.prometheus.handlers.destination.query: expected a PromQL query');
  return query.trim();
}

export interface PrometheusCallsOptions {
  readonly calls: ObservedCalls;
  /** The workloads whose calls are wanted (the fenced ones), as they are now. */
  readonly workloads: () => readonly Workload[];
  readonly prometheusUrl: string;
  /** With `$source_app` and optionally `$namespace`; grouped by `destination_service`. */
  readonly query?: string;
  /** Time between the end of one round of queries and the start of the next. Default 5 s. */
  readonly intervalMs?: number;
  /** Per query. Default 5 s. */
  readonly timeoutMs?: number;
  /** Queries in flight at once. Default 8. */
  readonly concurrency?: number;
  readonly now?: () => number;
}

/** Polls Prometheus for the fenced workloads' calls until stopped; one round at a time. */
export class PrometheusCalls {
  private readonly query: string;
  private readonly client: PrometheusClientOptions;
  private readonly now: () => number;
  private readonly loop: PollLoop;

  constructor(private readonly options: PrometheusCallsOptions) {
    this.query = (options.query ?? DEFAULT_CALLS_QUERY).trim();
    if (!this.query.includes('$source_app'))
      throw new RangeError(`the calls query must select by $source_app: ${this.query}`);
    const interval = options.intervalMs ?? DEFAULT_CALLS_INTERVAL_MS;
    if (!(Number.isFinite(interval) && interval > 0))
      throw new RangeError(`intervalMs must be a positive number, got ${interval}`);
    this.client = { url: options.prometheusUrl, timeoutMs: options.timeoutMs ?? 5000 };
    this.now = options.now ?? Date.now;
    this.loop = new PollLoop(() => this.refreshNow(), interval);
  }

  start(): void {
    this.loop.start();
  }

  /** Stops polling; resolves once a round in progress has finished. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * One round now: every workload's query, then their calls recorded. Any failure is reported to
   * `ObservedCalls` (credentials redacted) and what the round did get is still recorded; a round without
   * failure clears the report. Resolves to the number of pairs recorded.
   */
  async refreshNow(): Promise<number> {
    const workloads = dedupe(this.options.workloads());
    const failures: string[] = [];
    const answers = await mapConcurrently(workloads, this.options.concurrency ?? 8, (w) =>
      vectorQuery(this.client, callsQueryFor(this.query, w)).catch((e: unknown) => {
        failures.push(e instanceof Error ? e.message : String(e));
        return [];
      }),
    );
    const at = this.now();
    let recorded = 0;
    workloads.forEach((w, i) => {
      for (const { labels, value } of answers[i]!) {
        const destination = labels['destination_service'];
        // Istio reports `unknown` when it could not tell the destination.
        if (!destination || destination === 'unknown' || !(value > 0)) continue;
        this.options.calls.record('prometheus', w, destination, Math.round(value), at);
        recorded++;
      }
    });
    this.options.calls.sourceFailed(
      'prometheus',
      failures.length === 0 ? undefined : this.failureMessage(failures, workloads.length),
    );
    return recorded;
  }

  private failureMessage(failures: readonly string[], of: number): string {
    const first = redactCredentials(failures[0]!);
    const where = `Prometheus at ${redactCredentials(this.options.prometheusUrl)}`;
    const message = first.includes(where) ? first : `${where}: ${first}`;
    return failures.length === 1 ? message : `${message} (${failures.length} of ${of} queries failed)`;
  }
}

function dedupe(workloads: readonly Workload[]): Workload[] {
  const seen = new Map<string, Workload>();
  for (const w of workloads) seen.set(`${w.namespace}/${w.app}`, { namespace: w.namespace, app: w.app });
  return [...seen.values()];
}
