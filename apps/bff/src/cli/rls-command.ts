/**
 * `governor rls`: Governor's rate-limit service on its own, serving the global descriptors of the
 * SmartLimiters in the files given (as `governor render` renders them), and envoyproxy/ratelimit rule files
 * for other domains, until Ctrl-C.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_RATE_LIMIT_SERVICE } from '../modules/limiter/render';
import { RlsServer } from '../rls/rls-server';
import { formatConfigIssue, parseRateLimitConfigs } from '../rls/ratelimit-config';
import { redactCredentials } from '../redact';
import { parseOptions, readUsage, UsageError, type CliIo } from '../framework/cli/io';
import { MODULES } from '../modules';
import { INPUT_OPTIONS, loadAndRender, parseMetricFlags } from '../framework/cli/plan-files';
import { limiterResults } from '../modules/limiter/cli/planned';

export const RLS_HELP = `Usage: governor rls [-f FILE]... [--config FILE]... [--metric KEY=VALUE]... [--host HOST] [--port PORT]
                   [--domain NAME] [--redis URL] [--max-connections N]

Serves Envoy's rate-limit API (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit, gRPC) for the
global descriptors of the SmartLimiters in the -f files, and for the domains of the --config files, until
interrupted. The control plane (./scripts/start, deploy/) runs the same service fed live from the cluster;
this runs it alone. Give at least one -f or --config.

Options:
  -f, --file FILE          A file to read ("-" for standard input). Repeatable.
  -c, --config FILE        An envoyproxy/ratelimit rule file (domain, descriptors): its domain is served with
                           those limits, beside the SmartLimiters'. Repeatable, one domain per file.
      --metric KEY=VALUE   A metric value the expressions see. Repeatable.
      --host HOST          Address to listen on (default 127.0.0.1).
      --port PORT          Port (default 8081; 0 picks a free one).
      --domain NAME        The SmartLimiters' domain, the one Envoy sends (default ${DEFAULT_RATE_LIMIT_SERVICE.domain}).
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
      config: { names: ['-c', '--config'], takesValue: true, repeatable: true },
      host: { names: ['--host'], takesValue: true },
      port: { names: ['--port'], takesValue: true },
      domain: { names: ['--domain'], takesValue: true },
      redis: { names: ['--redis'], takesValue: true },
      maxConnections: { names: ['--max-connections'], takesValue: true },
    });
    if (parsed.positional.length > 0) throw new UsageError(`unexpected argument ${parsed.positional[0]}`);
    if (!parsed.values.file?.length && !parsed.values.config?.length)
      throw new UsageError('no input: give at least one -f FILE or --config FILE');
    const rawPort = parsed.values.port?.[0] ?? '8081';
    if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535)
      throw new UsageError(`--port ${rawPort}: expected a port`);
    const rawMax = parsed.values.maxConnections?.[0];
    if (rawMax !== undefined && !(/^\d+$/.test(rawMax) && Number(rawMax) >= 1))
      throw new UsageError(`--max-connections ${rawMax}: expected a whole number from 1`);
    return {
      parsed,
      files: parsed.values.file ?? [],
      configFiles: parsed.values.config ?? [],
      port: Number(rawPort),
      maxConnections: rawMax === undefined ? undefined : Number(rawMax),
      metrics: parseMetricFlags(parsed.values.metric ?? []),
    };
  });
  if (options === null) return 2;
  const { parsed, files, configFiles, port, maxConnections, metrics } = options;
  const domain = parsed.values.domain?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.domain;
  const { plans, problems } =
    files.length === 0
      ? { plans: [], problems: [] }
      : await loadAndRender({
          files,
          metrics,
          options: { rateLimitService: { clusterName: DEFAULT_RATE_LIMIT_SERVICE.clusterName, domain } },
          io,
          modules: MODULES,
        });
  const results = limiterResults(plans);
  const configs = await readConfigs(configFiles, domain, io);
  if (problems.length > 0 || configs === null) return 1;
  const redisUrl = parsed.values.redis?.[0];
  const server = new RlsServer({
    domain,
    ...(redisUrl ? { redisUrl } : {}),
    ...(maxConnections ? { serverLimits: { maxConnections } } : {}),
  });
  for (const { limiter, result } of results)
    server.updateLimiter(`${limiter.metadata.namespace}/${limiter.metadata.name}`, result.rules);
  for (const config of configs) server.updateDomainRules(`file:${config.file}`, config.domain, config.rules);
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
  const others = configs.map((c) => `; domain ${c.domain}, ${c.rules.length} descriptor(s) from ${c.file}`);
  io.stdout.write(
    `governor rls: listening on ${host}:${bound} (domain ${domain}, ${globals.length} global descriptor(s)${others.join('')}, counting ${redisUrl ? `in Redis at ${redactCredentials(redisUrl)}` : 'in this process'})\n`,
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

/**
 * The rule files, read and checked (issues on standard error, warnings too); null when any is invalid or
 * names the SmartLimiters' domain.
 */
async function readConfigs(
  paths: readonly string[],
  domain: string,
  io: CliIo,
): Promise<ReturnType<typeof parseRateLimitConfigs>['configs'] | null> {
  const files: { file: string; text: string }[] = [];
  for (const file of paths) {
    try {
      files.push({ file, text: await readFile(resolve(io.cwd, file), 'utf8') });
    } catch (e) {
      io.stderr.write(`governor rls: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      return null;
    }
  }
  const { configs, issues } = parseRateLimitConfigs(files);
  for (const issue of issues) io.stderr.write(`${formatConfigIssue(issue)}\n`);
  const own = configs.find((c) => c.domain === domain);
  if (own) {
    io.stderr.write(
      `governor rls: ${own.file}: domain ${domain} is the SmartLimiters'; serve them under another with --domain\n`,
    );
    return null;
  }
  return issues.some((i) => i.severity === 'error') ? null : configs;
}
