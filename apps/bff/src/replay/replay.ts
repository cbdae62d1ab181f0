/**
 * What-if replay: recorded or synthetic traffic through the rendered limits, on a virtual clock, with the
 * engine behaving as the sidecars do. `single` and `average` rules limit per pod (each pod's Envoy has its
 * own buckets, one LocalRateLimit per route), `global` rules count across pods (one rate-limit service).
 */
import { z } from 'zod';
import { FakeClock, type Decision } from '@governor/limiter';
import type { Pod } from '@governor/crd-types';
import {
  findService,
  labelsMatch,
  namespaceOf,
  type ClusterContext,
  type RenderedRule,
} from '../reconcile/render';
import type { ReplayRequest } from './request-descriptors';
import { SidecarLimiters } from './sidecars';

/** One line of a trace (JSON Lines). */
export const traceLineSchema = z.object({
  t: z
    .number({ error: 't: expected milliseconds from the start of the trace' })
    .finite()
    .min(0, 't: must be at least 0'),
  service: z.string({ error: 'service: required' }).min(1, 'service: required'),
  namespace: z.string().min(1).default('default'),
  port: z.number({ error: 'port: expected a number' }).int().min(0).max(65535),
  pod: z.string().min(1).optional(),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  sourceIp: z.string().min(1).optional(),
  hits: z.number().int().min(0).optional(),
});
export type TraceLine = z.infer<typeof traceLineSchema>;

export interface TraceProblem {
  /** 1-based line number in the trace. */
  readonly line: number;
  readonly message: string;
}

/** Parses JSON Lines; blank lines are skipped. Problems name the line. */
export function parseTrace(text: string): {
  lines: TraceLine[];
  /** The 1-based line number of each entry of `lines`. */
  lineNumbers: number[];
  problems: TraceProblem[];
} {
  const lines: TraceLine[] = [];
  const lineNumbers: number[] = [];
  const problems: TraceProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      problems.push({ line: i + 1, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    const r = traceLineSchema.safeParse(value);
    if (r.success) {
      lines.push(r.data);
      lineNumbers.push(i + 1);
    } else
      problems.push({
        line: i + 1,
        message: r.error.issues
          .map((iss) =>
            iss.path.length && !iss.message.includes(':')
              ? `${iss.path.join('.')}: ${iss.message}`
              : iss.message,
          )
          .join('; '),
      });
  });
  return { lines, lineNumbers, problems };
}

export interface ReplayDecision {
  readonly t: number;
  readonly allowed: boolean;
  /** The SmartLimiter whose rule decided, or null when no rule applied. */
  readonly limiter: string | null;
  readonly set: string | null;
  readonly descriptor: string | null;
  /** Tokens (or requests in the window) left for that rule after this request; null when no rule applied. */
  readonly remaining: number | null;
}

export interface ReplaySummary {
  readonly requests: number;
  readonly allowed: number;
  readonly limited: number;
  /** Per SmartLimiter (`namespace/name`); requests no rule applied to are under `(none)`. */
  readonly byLimiter: Record<string, { allowed: number; limited: number }>;
}

export interface ReplayResult {
  readonly decisions: ReplayDecision[];
  readonly summary: ReplaySummary;
  readonly problems: TraceProblem[];
}

export interface ReplayInput {
  readonly rules: readonly RenderedRule[];
  readonly context: ClusterContext;
  /** Trace lines with their 1-based line numbers (for problems). */
  readonly trace: readonly TraceLine[];
  readonly lineNumbers?: readonly number[];
}

const toRequest = (line: TraceLine): ReplayRequest => ({
  headers: new Map(Object.entries(line.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  query: new Map(Object.entries(line.query ?? {})),
  ...(line.sourceIp !== undefined ? { sourceIp: line.sourceIp } : {}),
});

/** Replays a trace. Requests are decided in time order (stable); decisions come back in input order. */
export function replay(input: ReplayInput): ReplayResult {
  const { rules, context, trace } = input;
  const clock = new FakeClock(0);
  const byId = new Map(rules.map((r) => [r.id, r]));
  const problems: TraceProblem[] = [];
  const lineOf = (i: number) => input.lineNumbers?.[i] ?? i + 1;

  const sidecars = new SidecarLimiters({ clock, rules });

  const podsInOrder = context.pods;
  const resolvePod = (line: TraceLine): Pod | string => {
    if (line.pod !== undefined) {
      const pod = podsInOrder.find((p) => p.metadata.name === line.pod && namespaceOf(p) === line.namespace);
      return pod ?? `no Pod ${line.namespace}/${line.pod} in the context`;
    }
    const svc = findService(context, line.namespace, line.service);
    if (!svc) return `no Service ${line.namespace}/${line.service} in the context (or give "pod")`;
    const selector = svc.spec.selector ?? {};
    // Without a pod, the service's first Running pod (in the order the context lists them) serves it.
    const pod = podsInOrder.find(
      (p) =>
        namespaceOf(p) === line.namespace &&
        p.status?.phase === 'Running' &&
        !p.metadata.deletionTimestamp &&
        Object.keys(selector).length > 0 &&
        labelsMatch(selector, p.metadata.labels),
    );
    return pod ?? `Service ${line.namespace}/${line.service} has no Running pod in the context`;
  };

  const order = trace.map((_, i) => i).sort((a, b) => (trace[a]?.t ?? 0) - (trace[b]?.t ?? 0) || a - b);
  const decisions: (ReplayDecision | undefined)[] = new Array(trace.length);
  for (const i of order) {
    const line = trace[i];
    if (!line) continue;
    const pod = resolvePod(line);
    if (typeof pod === 'string') {
      problems.push({ line: lineOf(i), message: pod });
      continue;
    }
    clock.set(line.t);
    const decided = sidecars.decide(pod, line.port, toRequest(line), line.hits ?? 1);
    decisions[i] = describe(line.t, decided, byId);
  }

  const out = decisions.filter((d): d is ReplayDecision => d !== undefined);
  const summary: ReplaySummary = { requests: out.length, allowed: 0, limited: 0, byLimiter: {} };
  for (const d of out) {
    const k = d.limiter ?? '(none)';
    const entry = (summary.byLimiter[k] ??= { allowed: 0, limited: 0 });
    if (d.allowed) {
      entry.allowed++;
      (summary as { allowed: number }).allowed++;
    } else {
      entry.limited++;
      (summary as { limited: number }).limited++;
    }
  }
  problems.sort((a, b) => a.line - b.line);
  return { decisions: out, summary, problems };
}

function describe(t: number, d: Decision, byId: ReadonlyMap<string, RenderedRule>): ReplayDecision {
  const rule = d.ruleId !== null ? byId.get(d.ruleId) : undefined;
  if (!rule) return { t, allowed: d.allowed, limiter: null, set: null, descriptor: null, remaining: null };
  return {
    t,
    allowed: d.allowed,
    limiter: `${rule.namespace}/${rule.limiter}`,
    set: rule.set,
    descriptor: rule.id,
    remaining: Number.isFinite(d.remaining) ? d.remaining : null,
  };
}

/** allowed/limited per second per SmartLimiter, for `-o table`. */
export function perSecondTable(decisions: readonly ReplayDecision[]): string {
  const rows = new Map<string, { second: number; limiter: string; allowed: number; limited: number }>();
  for (const d of decisions) {
    const second = Math.floor(d.t / 1000);
    const limiter = d.limiter ?? '(none)';
    const key = `${String(second).padStart(12, '0')}|${limiter}`;
    const row = rows.get(key) ?? { second, limiter, allowed: 0, limited: 0 };
    if (d.allowed) row.allowed++;
    else row.limited++;
    rows.set(key, row);
  }
  const sorted = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  const header = ['second', 'limiter', 'allowed', 'limited'];
  const table = [
    header,
    ...sorted.map((r) => [String(r.second), r.limiter, String(r.allowed), String(r.limited)]),
  ];
  const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  return table
    .map((row) =>
      row
        .map((cell, c) => (c >= 2 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
