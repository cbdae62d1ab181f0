/**
 * `governor render`: SmartLimiters and cluster objects from files → the EnvoyFilters reconciling them would
 * write, exactly as the control plane renders them.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import type { EnvoyFilter, SmartLimiter } from '@governor/crd-types';
import {
  DEFAULT_RATE_LIMIT_SERVICE,
  formatProblem,
  renderSmartLimiter,
  type RateLimitServiceOptions,
  type RenderResult,
} from '../reconcile/render';
import { emptyObjects, formatLoadProblem, loadText, type LoadProblem } from './load';
import { parseOptions, UsageError, type CliIo } from './io';

export const RENDER_HELP = `Usage: governor render -f FILE [-f FILE]... [--metric KEY=VALUE]... [-o yaml|json] [--status]

Reads SmartLimiters and the cluster objects they refer to (Services, Pods with their status,
DestinationRules, ServiceEntries) from multi-document YAML or JSON files, and prints the EnvoyFilters
that reconciling them would write.

Options:
  -f, --file FILE          A file to read ("-" for standard input). Repeatable.
      --metric KEY=VALUE   A metric value the expressions see, e.g. --metric _base.cpu.sum=85.
                           Repeatable. Pod counts (<set>.pod) are computed from the Pods given,
                           and a --metric overrides them.
  -o, --output FORMAT      yaml (default): one YAML document per EnvoyFilter.
                           json: {"apiVersion":"v1","kind":"List","items":[...]}, sorted by
                           namespace/name.
      --status             Print the SmartLimiters with their computed status instead.
      --rls-cluster NAME   Envoy cluster of the rate-limit service for global limits
                           (default ${DEFAULT_RATE_LIMIT_SERVICE.clusterName}).
      --domain NAME        Rate-limit domain of global limits (default ${DEFAULT_RATE_LIMIT_SERVICE.domain}).
  -h, --help               Show this help.

Exit status: 0 when everything rendered; 1 when any input is invalid (each problem is printed to
standard error with its file, object and field path); 2 for a usage error.
`;

const METRIC_VALUE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const METRIC_KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function parseMetricFlags(flags: readonly string[]): Record<string, string> {
  const metrics: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    const key = eq > 0 ? f.slice(0, eq).trim() : '';
    const value = eq > 0 ? f.slice(eq + 1).trim() : '';
    if (!METRIC_KEY.test(key))
      throw new UsageError(`--metric ${f}: expected KEY=VALUE with a key like _base.cpu.sum`);
    if (!METRIC_VALUE.test(value)) throw new UsageError(`--metric ${f}: the value must be a number`);
    metrics[key] = value;
  }
  return metrics;
}

async function readInput(file: string, io: CliIo): Promise<string> {
  if (file === '-') {
    if (!io.stdin) throw new UsageError('no standard input to read');
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of io.stdin)
      text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    return text;
  }
  return readFile(resolve(io.cwd, file), 'utf8');
}

const byNamespaceName = (a: { metadata: { namespace?: string; name: string } }, b: typeof a): number => {
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

function printObjects(objects: readonly object[], format: 'yaml' | 'json', io: CliIo): void {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`);
    return;
  }
  io.stdout.write(
    objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'),
  );
}

export async function renderCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  let metrics: Record<string, string>;
  let format: 'yaml' | 'json';
  try {
    parsed = parseOptions(args, {
      file: { names: ['-f', '--file', '--filename'], takesValue: true, repeatable: true },
      metric: { names: ['--metric', '-m'], takesValue: true, repeatable: true },
      output: { names: ['-o', '--output'], takesValue: true },
      status: { names: ['--status'], takesValue: false },
      rlsCluster: { names: ['--rls-cluster'], takesValue: true },
      domain: { names: ['--domain'], takesValue: true },
    });
    if (parsed.positional.length > 0)
      throw new UsageError(`unexpected argument ${parsed.positional[0]} (files go after -f)`);
    if (!parsed.values.file?.length) throw new UsageError('no input: give at least one -f FILE');
    const out = parsed.values.output?.[0] ?? 'yaml';
    if (out !== 'yaml' && out !== 'json') throw new UsageError(`-o ${out}: expected yaml or json`);
    format = out;
    metrics = parseMetricFlags(parsed.values.metric ?? []);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`governor render: ${e.message}\n\n${RENDER_HELP}`);
      return 2;
    }
    throw e;
  }

  const rateLimitService: RateLimitServiceOptions = {
    clusterName: parsed.values.rlsCluster?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.clusterName,
    domain: parsed.values.domain?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.domain,
  };

  const objects = emptyObjects();
  const problems: LoadProblem[] = [];
  const warnings: LoadProblem[] = [];
  for (const file of parsed.values.file) {
    let text: string;
    try {
      text = await readInput(file, io);
    } catch (e) {
      problems.push({ file, message: e instanceof Error ? e.message.replace(/^ENOENT: /, '') : String(e) });
      continue;
    }
    const r = loadText(file, text, objects);
    problems.push(...r.problems);
    warnings.push(...r.warnings);
  }

  const seen = new Map<string, string>();
  for (const { file, object } of objects.smartLimiters) {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ file, object: `SmartLimiter ${key}`, message: `defined twice (first in ${first})` });
    } else seen.set(key, file);
  }

  const context = {
    services: objects.services,
    pods: objects.pods,
    destinationRules: objects.destinationRules,
    serviceEntries: objects.serviceEntries,
  };
  const now = new Date();
  const results: { file: string; limiter: SmartLimiter; result: RenderResult }[] = [];
  for (const { file, object: limiter } of [...objects.smartLimiters].sort((a, b) =>
    byNamespaceName(a.object, b.object),
  )) {
    const result = renderSmartLimiter({ limiter, context, metrics, options: { rateLimitService, now } });
    results.push({ file, limiter, result });
    const object = `SmartLimiter ${limiter.metadata.namespace}/${limiter.metadata.name}`;
    for (const p of result.problems) problems.push({ file, object, message: formatProblem(p) });
    for (const w of result.warnings) warnings.push({ file, object, message: w });
  }

  for (const w of warnings) io.stderr.write(`warning: ${formatLoadProblem(w)}\n`);
  for (const p of problems) io.stderr.write(`error: ${formatLoadProblem(p)}\n`);
  if (objects.smartLimiters.length === 0 && problems.length === 0) {
    io.stderr.write('warning: no SmartLimiter in the input\n');
  }

  if (parsed.flags.status) {
    const limiters = results.map(({ limiter, result }) => ({ ...limiter, status: result.status }));
    printObjects(limiters, format, io);
  } else {
    const filters: EnvoyFilter[] = results.flatMap((r) => r.result.envoyFilters).sort(byNamespaceName);
    printObjects(filters, format, io);
  }
  return problems.length > 0 ? 1 : 0;
}
