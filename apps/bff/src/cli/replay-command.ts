/**
 * `governor replay`: the what-if tool. Renders SmartLimiters exactly as `governor render` does, then feeds
 * each request of a trace to the engine on a virtual clock.
 */
import { DEFAULT_RATE_LIMIT_SERVICE } from '../reconcile/render';
import { parseTrace, perSecondTable, replay } from '../replay/replay';
import { parseOptions, UsageError, type CliIo } from './io';
import { loadAndRender, parseMetricFlags, readInput } from './render-pipeline';

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
  -h, --help               Show this help.

Exit status: 0 when everything rendered and replayed; 1 for invalid input; 2 for a usage error.
`;

export async function replayCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  let metrics: Record<string, string>;
  let format: 'json' | 'table';
  let traceFile: string;
  try {
    parsed = parseOptions(args, {
      file: { names: ['-f', '--file', '--filename'], takesValue: true, repeatable: true },
      trace: { names: ['--trace', '-t'], takesValue: true },
      metric: { names: ['--metric', '-m'], takesValue: true, repeatable: true },
      output: { names: ['-o', '--output'], takesValue: true },
    });
    if (parsed.positional.length > 0) throw new UsageError(`unexpected argument ${parsed.positional[0]}`);
    if (!parsed.values.file?.length) throw new UsageError('no policy: give at least one -f FILE');
    const trace = parsed.values.trace?.[0];
    if (trace === undefined) throw new UsageError('no trace: give --trace TRACE.jsonl');
    traceFile = trace;
    const out = parsed.values.output?.[0] ?? 'json';
    if (out !== 'json' && out !== 'table') throw new UsageError(`-o ${out}: expected json or table`);
    format = out;
    metrics = parseMetricFlags(parsed.values.metric ?? []);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`governor replay: ${e.message}\n\n${REPLAY_HELP}`);
      return 2;
    }
    throw e;
  }

  const { context, results, problems } = await loadAndRender({
    files: parsed.values.file,
    metrics,
    rateLimitService: DEFAULT_RATE_LIMIT_SERVICE,
    io,
  });
  let text: string;
  try {
    text = await readInput(traceFile, io);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    io.stderr.write(
      `error: ${traceFile}: ${e instanceof Error ? e.message.replace(/^ENOENT: /, '') : String(e)}\n`,
    );
    return 1;
  }
  const { lines, lineNumbers, problems: traceProblems } = parseTrace(text);
  const result = replay({
    rules: results.flatMap((r) => r.result.rules),
    context,
    trace: lines,
    lineNumbers,
  });
  const allTraceProblems = [...traceProblems, ...result.problems].sort((a, b) => a.line - b.line);
  for (const p of allTraceProblems) io.stderr.write(`error: ${traceFile}:${p.line}: ${p.message}\n`);

  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ decisions: result.decisions, summary: result.summary }, null, 2)}\n`);
  } else {
    io.stdout.write(`${perSecondTable(result.decisions)}\n`);
  }
  return problems.length > 0 || allTraceProblems.length > 0 ? 1 : 0;
}
