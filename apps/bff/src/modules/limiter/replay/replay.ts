/**
 * What-if replay: recorded or synthetic traffic through the rendered limits, on a virtual clock, with the
 * engine behaving as the sidecars do. `single` and `average` rules limit per pod (each pod's Envoy has its
 * own buckets, one LocalRateLimit per route), `global` rules count across pods (one rate-limit service).
 */
import { z } from 'zod';
import { FakeClock, type Decision } from '@governor/limiter';
import type { Pod } from '@governor/crd-types';
import { findService, labelsMatch, namespaceOf, type ClusterContext, type RenderedRule } from '../render';
import type { ReplayRequest } from './request-descriptors';
import { SidecarLimiters } from './sidecars';

/** What one replay reads at most: a trace is parsed whole and every request decided in memory. */
export const TRACE_LIMITS = {
  bytes: 4 * 1024 * 1024,
  lines: 100_000,
  /** Headers or query parameters of one request. */
  fields: 64,
  nameLength: 256,
  valueLength: 8 * 1024,
} as const;

/** A trace larger than {@link TRACE_LIMITS}: refused whole, before any of it is replayed. */
export class TraceTooLarge extends Error {}

/** The refusal of a trace of `bytes` (a number, or words such as "more than N"). */
export const traceTooLarge = (bytes: number | string): TraceTooLarge =>
  new TraceTooLarge(`the trace is ${bytes} bytes; a replay reads at most ${TRACE_LIMITS.bytes} (split it)`);

const fieldValues = z
  .record(
    z.string(),
    z
      .union([
        z
          .string()
          .max(TRACE_LIMITS.valueLength, `a value longer than ${TRACE_LIMITS.valueLength} characters`),
        z.number(),
        z.boolean(),
      ])
      .transform(String),
  )
  .refine((r) => Object.keys(r).length <= TRACE_LIMITS.fields, `more than ${TRACE_LIMITS.fields} entries`)
  .refine(
    (r) => Object.keys(r).every((k) => k.length <= TRACE_LIMITS.nameLength),
    `a name longer than ${TRACE_LIMITS.nameLength} characters`,
  );

/** One line of a trace (JSON Lines). */
export const traceLineSchema = z.object({
  t: z
    .number({ error: 't: expected milliseconds from the start of the trace' })
    .finite()
    .min(0, 't: must be at least 0'),
  service: z.string({ error: 'service: required' }).min(1, 'service: required').max(253),
  namespace: z.string().min(1).max(253).default('default'),
  port: z.number({ error: 'port: expected a number' }).int().min(0).max(65535),
  pod: z.string().min(1).max(253).optional(),
  headers: fieldValues.optional(),
  query: fieldValues.optional(),
  sourceIp: z.string().min(1).max(64).optional(),
  hits: z.number().int().min(0).optional(),
});
export type TraceLine = z.infer<typeof traceLineSchema>;

export interface TraceProblem {
  /** 1-based line number in the trace. */
  readonly line: number;
  readonly message: string;
}

export interface ParsedTrace {
  lines: TraceLine[];
  /** The 1-based line number of each entry of `lines`. */
  lineNumbers: number[];
  problems: TraceProblem[];
}

/**
 * Parses JSON Lines; blank lines are skipped. Problems name the line. Throws {@link TraceTooLarge} for a
 * trace over {@link TRACE_LIMITS} (bytes or lines).
 */
export function parseTrace(text: string): ParsedTrace {
  const out: ParsedTrace = { lines: [], lineNumbers: [], problems: [] };
  runToEnd(parseSteps(text, out));
  return out;
}

/** {@link parseTrace}, letting the event loop run every `sliceMs` (default 10 ms). */
export async function parseTraceInSlices(
  text: string,
  options: { sliceMs?: number; now?: () => number } = {},
): Promise<ParsedTrace> {
  const out: ParsedTrace = { lines: [], lineNumbers: [], problems: [] };
  await runInSlices(parseSteps(text, out), options.sliceMs, options.now);
  return out;
}

/** Parses the trace into `out`, pausing after every {@link CHECK_EVERY} lines. */
function* parseSteps(text: string, out: ParsedTrace): Generator<void, void> {
  const raws = splitTrace(text);
  for (let i = 0; i < raws.length; i++) {
    parseLineInto(raws[i]!, i, out);
    if (i % CHECK_EVERY === CHECK_EVERY - 1) yield;
  }
}

/** The trace's lines, once it is known to be within {@link TRACE_LIMITS}. */
function splitTrace(text: string): string[] {
  const bytes = Buffer.byteLength(text);
  if (bytes > TRACE_LIMITS.bytes) throw traceTooLarge(bytes);
  const raws = text.split('\n');
  const count = raws.reduce((n, raw) => (raw.trim() === '' ? n : n + 1), 0);
  if (count > TRACE_LIMITS.lines)
    throw new TraceTooLarge(
      `the trace has ${count} requests; a replay reads at most ${TRACE_LIMITS.lines} (split it)`,
    );
  return raws;
}

/** Parses the trace's line `i` (0-based) into `out`. */
function parseLineInto(raw: string, i: number, out: ParsedTrace): void {
  const line = raw.trim();
  if (line === '') return;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    out.problems.push({ line: i + 1, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
    return;
  }
  const r = traceLineSchema.safeParse(value);
  if (r.success) {
    out.lines.push(r.data);
    out.lineNumbers.push(i + 1);
  } else
    out.problems.push({
      line: i + 1,
      message: r.error.issues
        .map((iss) =>
          iss.path.length && !iss.message.includes(':')
            ? `${iss.path.join('.')}: ${iss.message}`
            : iss.message,
        )
        .join('; '),
    });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

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
  /** Set when the time budget ran out: the decisions and summary cover the first `decided` requests. */
  readonly truncated: ReplayTruncation | null;
}

export interface ReplayTruncation {
  /** Requests decided (in time order) before the budget ran out, of the trace's `of`. */
  readonly decided: number;
  readonly of: number;
  readonly budgetMs: number;
}

export interface ReplayInput {
  readonly rules: readonly RenderedRule[];
  readonly context: ClusterContext;
  /** Trace lines with their 1-based line numbers (for problems). */
  readonly trace: readonly TraceLine[];
  readonly lineNumbers?: readonly number[];
}

/** How long a replay may run; past it, it stops with the requests decided so far, marked truncated. */
export interface ReplayBudget {
  readonly ms: number;
  /** The clock the budget is measured on (milliseconds). Default: `performance.now`. */
  readonly now?: () => number;
}

const toRequest = (line: TraceLine): ReplayRequest => ({
  headers: new Map(Object.entries(line.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  query: new Map(Object.entries(line.query ?? {})),
  ...(line.sourceIp !== undefined ? { sourceIp: line.sourceIp } : {}),
});

/** The budget is looked at after every this-many requests. */
const CHECK_EVERY = 64;

/**
 * A replay that decides its requests a few at a time, so that a caller can stop it when its budget runs out
 * or let other work run in between.
 */
class ReplayRun {
  private readonly clock = new FakeClock(0);
  private readonly byId: ReadonlyMap<string, RenderedRule>;
  private readonly problems: TraceProblem[] = [];
  private readonly sidecars: SidecarLimiters;
  private readonly order: number[];
  private readonly decisions: (ReplayDecision | undefined)[];
  private next = 0;

  constructor(private readonly input: ReplayInput) {
    this.byId = new Map(input.rules.map((r) => [r.id, r]));
    this.sidecars = new SidecarLimiters({ clock: this.clock, rules: input.rules });
    const { trace } = input;
    this.order = trace.map((_, i) => i).sort((a, b) => (trace[a]?.t ?? 0) - (trace[b]?.t ?? 0) || a - b);
    this.decisions = new Array(trace.length);
  }

  get done(): boolean {
    return this.next >= this.order.length;
  }

  /** Decides up to `count` more requests, in time order. */
  advance(count: number): void {
    const end = Math.min(this.order.length, this.next + count);
    for (; this.next < end; this.next++) {
      const i = this.order[this.next]!;
      const line = this.input.trace[i];
      if (!line) continue;
      const pod = this.resolvePod(line);
      if (typeof pod === 'string') {
        this.problems.push({ line: this.input.lineNumbers?.[i] ?? i + 1, message: pod });
        continue;
      }
      this.clock.set(line.t);
      const decided = this.sidecars.decide(pod, line.port, toRequest(line), line.hits ?? 1);
      this.decisions[i] = describe(line.t, decided, this.byId);
    }
  }

  result(budgetMs?: number): ReplayResult {
    const out = this.decisions.filter((d): d is ReplayDecision => d !== undefined);
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
    const problems = [...this.problems].sort((a, b) => a.line - b.line);
    const truncated =
      budgetMs !== undefined && !this.done ? { decided: this.next, of: this.order.length, budgetMs } : null;
    return { decisions: out, summary, problems, truncated };
  }

  private resolvePod(line: TraceLine): Pod | string {
    const podsInOrder = this.input.context.pods;
    if (line.pod !== undefined) {
      const pod = podsInOrder.find((p) => p.metadata.name === line.pod && namespaceOf(p) === line.namespace);
      return pod ?? `no Pod ${line.namespace}/${line.pod} in the context`;
    }
    const svc = findService(this.input.context, line.namespace, line.service);
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
  }
}

const wallClock = (): number => performance.now();

/**
 * Replays a trace. Requests are decided in time order (stable); decisions come back in input order. With a
 * budget, a replay that runs out of time stops with what it decided, marked `truncated`.
 */
export function replay(input: ReplayInput, budget?: ReplayBudget): ReplayResult {
  return runToEnd(replaySteps(new ReplayRun(input), budget));
}

/**
 * {@link replay}, letting the event loop run every `sliceMs` (default 10 ms): a server replays a long trace
 * while it goes on answering.
 */
export function replayInSlices(
  input: ReplayInput,
  options: { budget: ReplayBudget; sliceMs?: number },
): Promise<ReplayResult> {
  const { budget, sliceMs } = options;
  return runInSlices(replaySteps(new ReplayRun(input), budget), sliceMs, budget.now);
}

/** Decides the run's requests {@link CHECK_EVERY} at a time, pausing after each batch; stops at the budget. */
function* replaySteps(run: ReplayRun, budget: ReplayBudget | undefined): Generator<void, ReplayResult> {
  const now = budget?.now ?? wallClock;
  const start = budget ? now() : 0;
  for (;;) {
    run.advance(CHECK_EVERY);
    if (run.done) return run.result();
    if (budget && now() - start > budget.ms) return run.result(budget.ms);
    yield;
  }
}

/** Runs steps to their end at once. */
function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs steps to their end, letting the event loop run whenever `sliceMs` has passed since it last did. */
async function runInSlices<T>(
  steps: Generator<void, T>,
  sliceMs = 10,
  now: () => number = wallClock,
): Promise<T> {
  let sliceStart = now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = now();
    }
  }
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
