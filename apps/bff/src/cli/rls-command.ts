/**
 * `governor rls`: Governor's rate-limit service on its own, serving the global descriptors of the
 * SmartLimiters in the files given (as `governor render` renders them) until Ctrl-C.
 */
import { DEFAULT_RATE_LIMIT_SERVICE } from '../modules/limiter/render';
import { RlsServer } from '../rls/rls-server';
import { redactCredentials } from '../redact';
import { parseOptions, readUsage, UsageError, type CliIo } from '../framework/cli/io';
import { MODULES } from '../modules';
import { INPUT_OPTIONS, loadAndRender, parseMetricFlags } from '../framework/cli/plan-files';
import { limiterResults } from '../modules/limiter/cli/planned';

export const RLS_HELP = `Usage: governor rls -f FILE [-f FILE]... [--metric KEY=VALUE]... [--host HOST] [--port PORT] [--domain NAME] [--redis URL]
                   [--max-connections N]

Serves Envoy's rate-limit API (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit, gRPC) for the
global descriptors of the SmartLimiters in the files, until interrupted. The control plane (./scripts/start,
deploy/) runs the same service fed live from the cluster; this runs it alone.

Options:
  -f, --file FILE          A file to read ("-" for standard input). Repeatable.
      --metric KEY=VALUE   A metric value the expressions see. Repeatable.
      --host HOST          Address to listen on (default 127.0.0.1).
      --port PORT          Port (default 8081; 0 picks a free one).
      --domain NAME        The domain Envoy sends (default ${DEFAULT_RATE_LIMIT_SERVICE.domain}).
      --redis URL          Count in Redis (redis://host:port) so that several instances share limits.
      --max-connections N  Connections held at once; more are closed as they arrive (default 2048).
                           Envoy opens one per worker thread of each sidecar that calls the service.
  -h, --help               Show this help.

Exit status: 0 after an interrupt; 1 when any input is invalid or the port cannot be used; 2 for a usage error.
`;

export async function rlsCommand(args: string[], io: CliIo): Promise<number> {
  const options = readUsage(io, 'rls', RLS_HELP, () => {
    const parsed = parseOptions(args, {
      ...INPUT_OPTIONS,
      host: { names: ['--host'], takesValue: true },
      port: { names: ['--port'], takesValue: true },
      domain: { names: ['--domain'], takesValue: true },
      redis: { names: ['--redis'], takesValue: true },
      maxConnections: { names: ['--max-connections'], takesValue: true },
    });
    if (parsed.positional.length > 0) throw new UsageError(`unexpected argument ${parsed.positional[0]}`);
    if (!parsed.values.file?.length) throw new UsageError('no input: give at least one -f FILE');
    const rawPort = parsed.values.port?.[0] ?? '8081';
    if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535)
      throw new UsageError(`--port ${rawPort}: expected a port`);
    const rawMax = parsed.values.maxConnections?.[0];
    if (rawMax !== undefined && !(/^\d+$/.test(rawMax) && Number(rawMax) >= 1))
      throw new UsageError(`--max-connections ${rawMax}: expected a whole number from 1`);
    return {
      parsed,
      files: parsed.values.file,
      port: Number(rawPort),
      maxConnections: rawMax === undefined ? undefined : Number(rawMax),
      metrics: parseMetricFlags(parsed.values.metric ?? []),
    };
  });
  if (options === null) return 2;
  const { parsed, files, port, maxConnections, metrics } = options;
  const domain = parsed.values.domain?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.domain;
  const { plans, problems } = await loadAndRender({
    files,
    metrics,
    options: { rateLimitService: { clusterName: DEFAULT_RATE_LIMIT_SERVICE.clusterName, domain } },
    io,
    modules: MODULES,
  });
  const results = limiterResults(plans);
  if (problems.length > 0) return 1;
  const redisUrl = parsed.values.redis?.[0];
  const server = new RlsServer({
    domain,
    ...(redisUrl ? { redisUrl } : {}),
    ...(maxConnections ? { serverLimits: { maxConnections } } : {}),
  });
  for (const { limiter, result } of results)
    server.updateLimiter(`${limiter.metadata.namespace}/${limiter.metadata.name}`, result.rules);
  const host = parsed.values.host?.[0] ?? '127.0.0.1';
  const bound = await server.listen(host, port).catch(async (e: unknown) => {
    await server.close();
    throw new Error(`cannot listen on ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`);
  });
  // Counting starts only once Redis answers, so that instances starting together share from the
  // first request; without Redis in time each instance counts alone (fail-open) and says so.
  if (redisUrl)
    await server.storeReady(5000).catch((e: unknown) => {
      io.stderr.write(
        `governor rls: ${e instanceof Error ? redactCredentials(e.message) : String(e)}; counting in this process until it connects\n`,
      );
    });
  const globals = results.flatMap((r) => r.result.rules).filter((r) => r.strategy === 'global');
  io.stdout.write(
    `governor rls: listening on ${host}:${bound} (domain ${domain}, ${globals.length} global descriptor(s), counting ${redisUrl ? `in Redis at ${redactCredentials(redisUrl)}` : 'in this process'})\n`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return 0;
}
