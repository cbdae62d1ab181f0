/** How the product runs: the settings the running parts take, declared once (read by server/config.ts). */

/** Where the cluster state comes from: the in-process demo mesh, or the cluster named by KUBECONFIG. */
export type RuntimeMode = 'embedded' | 'kubernetes';

export interface MetricsConfig {
  /** `PROMETHEUS_URL`: query this Prometheus instead of the embedded mesh's own values. */
  prometheusUrl?: string;
  /** `GOVERNOR_PROMETHEUS_INTERVAL_MS`: time between refreshes from Prometheus. Default 1000. */
  prometheusIntervalMs: number;
  /** `GOVERNOR_PROMETHEUS_RATE_WINDOW`: the range of the default queries' `rate()`s. Default `1m`. */
  prometheusRateWindow?: string;
  /** `GOVERNOR_PROMETHEUS_QUERIES`: a YAML or JSON file of named queries in Slime's `handlers` shape. */
  prometheusQueriesFile?: string;
  /** `GOVERNOR_TICK_MS`: every SmartLimiter is re-evaluated and its status rewritten this often. Default 5000. */
  tickMs: number;
  /** `GOVERNOR_METRIC_TICK_MS`: metrics are checked for changes that move a limit this often. Default 1000. */
  metricTickMs: number;
  /** `GOVERNOR_METRICS_UNAVAILABLE`: `keep` (default) the last good limits, or `open`: none, while metrics are down. */
  metricsUnavailable: 'keep' | 'open';
}
