/**
 * `governor replay`: the what-if tool. Renders SmartLimiters exactly as `governor render` does, then feeds
 * each request of a trace to the engine on a virtual clock.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_RATE_LIMIT_SERVICE } from '../render';
import { parseTrace, perSecondTable, replay, TRACE_LIMITS, traceTooLarge } from '../replay/replay';
import { parseOptions, readUsage, UsageError, type CliIo } from '../../../framework/cli/io';
import { INPUT_OPTIONS, loadAndRender, parseMetricFlags, readInput } from '../../../framework/cli/plan-files';
import { createLimiterModule } from '../module';
import { LIMITER_MODULE } from '../settings';
import { contextOfFiles, limiterResults } from './planned';

/** How long a replay runs before it stops with what it decided, unless `--time-limit` says otherwise. */
export const DEFAULT_TIME_LIMIT_SECONDS = 60;

export const REPLAY_HELP = `Usage: governor replay -f POLICY.yaml [-f CONTEXT.yaml]... --trace TRACE.jsonl [--metric KEY=VALUE]... [-o json|table]

Renders the SmartLimiters in the files exactly as 'governor render' does, then replays a trace of requests
through the limits on a virtual clock, as the sidecars would decide them: single and average rules limit
per pod (each pod has its own buckets), global rules count across pods (one rate-limit service).

A trace is JSON Lines, one request per line:
  {"t": <ms from the start>, "service": "reviews", "namespace": "default", "port": 9080,
   "pod"?: "reviews-v1-...", "headers"?: {...}, "query"?: {...}, "sourceIp"?: "10.0.0.1", "hits"?: 1}
Without "pod", the service's first Running pod (in the order the context lists them) serves the request.

Options:
  -f, --file FILE          SmartLimiters and context objects (Services, Pods, DestinationRules). Repeatable.
      --trace FILE         The trace ("-" for standard input).
      --metric KEY=VALUE   A metric value the expressions see. Repeatable.
  -o, --output FORMAT      json (default): {"decisions": [{"t", "allowed", "limiter", "set", "descriptor",
                           "remaining"}...], "summary": {...}}, decisions in input order.
                           table: allowed/limited per second per SmartLimiter.
      --time-limit SECONDS Stop after this long (default ${DEFAULT_TIME_LIMIT_SECONDS}) and print the requests decided
                           so far (the earliest ones), with an error saying how far it got.
  -h, --help               Show this help.

A trace holds at most ${TRACE_LIMITS.lines} requests in ${TRACE_LIMITS.bytes / 1024 / 1024} MiB, each with at most ${TRACE_LIMITS.fields} headers and
${TRACE_LIMITS.fields} query parameters (names up to ${TRACE_LIMITS.nameLength} characters, values up to ${TRACE_LIMITS.valueLength}); split a larger one.
Regular expressions (regex_match) are RE2's, as Envoy's, and take time linear in the value matched.

Exit status: 0 when everything rendered and replayed; 1 for invalid input, a trace over the limits or a
replay stopped by its time limit; 2 for a usage error.
`;

export async function replayCommand(args: string[], io: CliIo): Promise<number> {
  const options = readUsage(io, 'replay', REPLAY_HELP, () => {
    const parsed = parseOptions(args, {
      ...INPUT_OPTIONS,
      trace: { names: ['--trace', '-t'], takesValue: true },
      output: { names: ['-o', '--output'], takesValue: true },
      timeLimit: { names: ['--time-limit'], takesValue: true },
    });
    if (parsed.positional.length > 0) throw new UsageError(`unexpected argument ${parsed.positional[0]}`);
    if (!parsed.values.file?.length) throw new UsageError('no policy: give at least one -f FILE');
    const traceFile = parsed.values.trace?.[0];
    if (traceFile === undefined) throw new UsageError('no trace: give --trace TRACE.jsonl');
    const out = parsed.values.output?.[0] ?? 'json';
    if (out !== 'json' && out !== 'table') throw new UsageError(`-o ${out}: expected json or table`);
    const format: 'json' | 'table' = out;
    const metrics = parseMetricFlags(parsed.values.metric ?? []);
    const limit = parsed.values.timeLimit?.[0];
    const timeLimitSeconds = limit === undefined ? DEFAULT_TIME_LIMIT_SECONDS : Number(limit);
    if (
      limit !== undefined &&
      !(limit.trim() !== '' && Number.isFinite(timeLimitSeconds) && timeLimitSeconds >= 0)
    )
      throw new UsageError(`--time-limit ${limit}: expected seconds (0 or more)`);
    return { files: parsed.values.file, traceFile, format, metrics, timeLimitSeconds };
  });
  if (options === null) return 2;
  const { files, traceFile, format, metrics, timeLimitSeconds } = options;

  const planned = await loadAndRender({
    files,
    metrics,
    options: { rateLimitService: DEFAULT_RATE_LIMIT_SERVICE },
    io,
    modules: [{ settings: LIMITER_MODULE, create: createLimiterModule }],
  });
  const { problems } = planned;
  const results = limiterResults(planned.plans);
  const context = contextOfFiles(planned);
  let parsedTrace: ReturnType<typeof parseTrace>;
  try {
    parsedTrace = parseTrace(await readTrace(traceFile, io));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    io.stderr.write(
      `error: ${traceFile}: ${e instanceof Error ? e.message.replace(/^ENOENT: /, '') : String(e)}\n`,
    );
    return 1;
  }
  const { lines, lineNumbers, problems: traceProblems } = parsedTrace;
  const result = replay(
    { rules: results.flatMap((r) => r.result.rules), context, trace: lines, lineNumbers },
    { ms: timeLimitSeconds * 1000 },
  );
  const allTraceProblems = [...traceProblems, ...result.problems].sort((a, b) => a.line - b.line);
  for (const p of allTraceProblems) io.stderr.write(`error: ${traceFile}:${p.line}: ${p.message}\n`);
  if (result.truncated)
    io.stderr.write(
      `error: ${traceFile}: stopped at the time limit (${timeLimitSeconds} s) after ${result.truncated.decided} of ${result.truncated.of} requests; the output covers those (--time-limit)\n`,
    );

  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ decisions: result.decisions, summary: result.summary }, null, 2)}\n`);
  } else {
    io.stdout.write(`${perSecondTable(result.decisions)}\n`);
  }
  return problems.length > 0 || allTraceProblems.length > 0 || result.truncated ? 1 : 0;
}

/** The trace's text, refused before it is read whole when it is over the size a replay reads. */
async function readTrace(file: string, io: CliIo): Promise<string> {
  if (file !== '-') {
    const { size } = await stat(resolve(io.cwd, file));
    if (size > TRACE_LIMITS.bytes) throw traceTooLarge(size);
    return readInput(file, io);
  }
  if (!io.stdin) throw new UsageError('no standard input to read');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += b.length;
    if (size > TRACE_LIMITS.bytes) throw traceTooLarge(`more than ${TRACE_LIMITS.bytes}`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
