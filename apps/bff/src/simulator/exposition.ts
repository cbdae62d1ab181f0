/** Prometheus text exposition (format 0.0.4) and the histogram maths PromQL applies to it. */

/** Istio's default buckets of `istio_request_duration_milliseconds`. */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** The index of the bucket a value falls in; `buckets.length` is the +Inf bucket. */
export function bucketIndex(buckets: readonly number[], value: number): number {
  for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) return i;
  return buckets.length;
}

/**
 * PromQL's `histogram_quantile` over per-bucket counts (not cumulative; the last is +Inf): linear
 * interpolation inside the bucket the rank falls in, the highest finite bound when it falls in +Inf. NaN
 * without observations.
 */
export function histogramQuantile(q: number, buckets: readonly number[], counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (below + c >= rank && c > 0) {
      if (i >= buckets.length) return buckets[buckets.length - 1] ?? Number.NaN;
      const lower = i === 0 ? 0 : buckets[i - 1]!;
      const upper = buckets[i]!;
      return lower + ((upper - lower) * (rank - below)) / c;
    }
    below += c;
  }
  return buckets[buckets.length - 1] ?? Number.NaN;
}

export type Labels = Readonly<Record<string, string>>;

const escapeLabelValue = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

export function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Builds one exposition: each family's HELP and TYPE once, before its samples. */
export class ExpositionWriter {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A histogram's samples from per-bucket counts (the last is +Inf): cumulative `_bucket`s, `_sum`, `_count`. */
  histogram(
    name: string,
    labels: Labels,
    buckets: readonly number[],
    counts: ArrayLike<number>,
    sum: number,
  ): this {
    let cumulative = 0;
    for (let i = 0; i <= buckets.length; i++) {
      cumulative += counts[i] ?? 0;
      const le = i < buckets.length ? formatValue(buckets[i]!) : '+Inf';
      this.sample(`${name}_bucket`, { ...labels, le }, cumulative);
    }
    this.sample(`${name}_sum`, labels, sum);
    this.sample(`${name}_count`, labels, cumulative);
    return this;
  }

  toString(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}
