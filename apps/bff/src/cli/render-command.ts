/**
 * `governor render`: objects from files → what reconciling them would write, exactly as the control plane
 * plans them. Each object goes to the module that reconciles its kind (SmartLimiter → the limiter module).
 */
import { stringify } from 'yaml';
import { DEFAULT_RATE_LIMIT_SERVICE } from '../modules/limiter/render';
import { MODULES } from '../modules';
import { parseOptions, readUsage, UsageError, type CliIo } from '../framework/cli/io';
import {
  byKindNamespaceName,
  INPUT_OPTIONS,
  loadAndRender,
  parseMetricFlags,
} from '../framework/cli/plan-files';
import { limiterResults } from '../modules/limiter/cli/planned';
import type { ModuleDefinition } from '../framework/registry';

export { parseMetricFlags } from '../framework/cli/plan-files';

export const RENDER_HELP = `Usage: governor render -f FILE [-f FILE]... [--metric KEY=VALUE]... [-o yaml|json] [--status | --rls-config]

Reads the objects Governor's modules reconcile (SmartLimiter: the limiter module) and the cluster
objects they refer to (Services, Pods with their status, DestinationRules, ServiceEntries) from
multi-document YAML or JSON files, gives each to the module that owns its kind, and prints the objects
that reconciling them would write (EnvoyFilters for SmartLimiters).

Options:
  -f, --file FILE          A file to read ("-" for standard input). Repeatable.
      --metric KEY=VALUE   A metric value the expressions see, e.g. --metric _base.cpu.sum=85.
                           Repeatable. Pod counts (<set>.pod) are computed from the Pods given,
                           and a --metric overrides them.
  -o, --output FORMAT      yaml (default): one YAML document per object.
                           json: {"apiVersion":"v1","kind":"List","items":[...]}.
                           Either way sorted by kind, namespace and name.
      --status             Print the input objects with their computed status instead.
      --rls-config         Print the global descriptors as envoyproxy/ratelimit configuration instead
                           (for users who keep that service; Governor serves them itself: governor rls).
      --rls-cluster NAME   Envoy cluster of the rate-limit service for global limits
                           (default ${DEFAULT_RATE_LIMIT_SERVICE.clusterName}).
      --domain NAME        Rate-limit domain of global limits (default ${DEFAULT_RATE_LIMIT_SERVICE.domain}).
  -h, --help               Show this help.

Exit status: 0 when everything rendered; 1 when any input is invalid (each problem is printed to
standard error with its file, object and field path); 2 for a usage error.
`;

function printObjects(objects: readonly object[], format: 'yaml' | 'json', io: CliIo): void {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`);
    return;
  }
  io.stdout.write(
    objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'),
  );
}

export async function renderCommand(
  args: string[],
  io: CliIo,
  modules: readonly Pick<ModuleDefinition, 'create' | 'settings'>[] = MODULES,
): Promise<number> {
  const options = readUsage(io, 'render', RENDER_HELP, () => {
    const parsed = parseOptions(args, {
      ...INPUT_OPTIONS,
      output: { names: ['-o', '--output'], takesValue: true },
      status: { names: ['--status'], takesValue: false },
      rlsConfig: { names: ['--rls-config'], takesValue: false },
      rlsCluster: { names: ['--rls-cluster'], takesValue: true },
      domain: { names: ['--domain'], takesValue: true },
    });
    if (parsed.positional.length > 0)
      throw new UsageError(`unexpected argument ${parsed.positional[0]} (files go after -f)`);
    if (!parsed.values.file?.length) throw new UsageError('no input: give at least one -f FILE');
    const out = parsed.values.output?.[0] ?? 'yaml';
    if (out !== 'yaml' && out !== 'json') throw new UsageError(`-o ${out}: expected yaml or json`);
    const format: 'yaml' | 'json' = out;
    return {
      parsed,
      files: parsed.values.file,
      format,
      metrics: parseMetricFlags(parsed.values.metric ?? []),
    };
  });
  if (options === null) return 2;
  const { parsed, files, format, metrics } = options;

  const { plans, problems } = await loadAndRender({
    files,
    metrics,
    options: {
      rateLimitService: {
        clusterName: parsed.values.rlsCluster?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.clusterName,
        domain: parsed.values.domain?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.domain,
      },
    },
    io,
    modules,
  });

  if (parsed.flags.rlsConfig) {
    const descriptors = limiterResults(plans).flatMap((r) => r.result.globalDescriptors);
    const config = { domain: parsed.values.domain?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.domain, descriptors };
    if (format === 'json') io.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    else io.stdout.write(stringify(config, { lineWidth: 0, aliasDuplicateObjects: false }));
  } else if (parsed.flags.status) {
    printObjects(
      plans.map(({ raw, plan }) => ({ ...raw, status: plan.status })),
      format,
      io,
    );
  } else {
    printObjects(plans.flatMap((p) => p.plan.desired).sort(byKindNamespaceName), format, io);
  }
  return problems.length > 0 ? 1 : 0;
}
