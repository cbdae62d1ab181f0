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
import { routeConfigurations } from '../modules/metarouter/routes';
import { limiterResults } from '../modules/limiter/cli/planned';
import type { ModuleDefinition } from '../framework/registry';
import type { KubeObject } from '../cluster/store';
import type { Snapshot } from '../framework/module';
import { explainEnvoyFilters } from '../istio/explain';
import { EXPLAIN_INPUT_KINDS, type ProxyExplanation } from '../istio/explain-types';
import { describePatch, describePlace } from '../istio/describe';

export { parseMetricFlags } from '../framework/cli/plan-files';

export const RENDER_HELP = `Usage: governor render -f FILE [-f FILE]... [-n NAMESPACE] [--metric KEY=VALUE]... [-o yaml|json] [--now TIME] [--status | --rls-config | --rds | --explain [--proxy NS/POD]]

Reads the objects Governor's modules reconcile (SmartLimiter: the limiter module; ServiceFence: the
lazyload module; PluginManager, EnvoyPlugin: the plugin module; MetaRouter and Services or ServiceEntries
with ports named tcp-metaprotocol-<protocol>-...: the metarouter module) and the cluster objects they
refer to (Services, Namespaces, Pods with their status, DestinationRules, ServiceEntries,
ApplicationProtocols; Istio VirtualServices, and Gateways for --explain) from multi-document YAML or JSON
files, gives each to the modules that reconcile its kind, and prints the objects that reconciling them
would write (EnvoyFilters for SmartLimiters and MetaProtocol services, Sidecars for ServiceFences).

A SlimeBoot among the files sets the modules' settings, as GOVERNOR_MODULES does for the server (every
module still renders). With lazyload's autoFence on, Services fenced by their label
slime.io/serviceFenced, their Namespace's or defaultFence give ServiceFences, and those fences give
Sidecars in the same run; a ServiceFence in the files stands instead of the one a Service would get.

Options:
  -f, --file FILE          A file to read ("-" for standard input). Repeatable.
  -n, --namespace NS       The namespace of objects that name none, as kubectl apply -n (default: default).
      --metric KEY=VALUE   A metric value the expressions see, e.g. --metric _base.cpu.sum=85.
                           Repeatable. Pod counts (<set>.pod) are computed from the Pods given,
                           and a --metric overrides them.
  -o, --output FORMAT      yaml (default): one YAML document per object.
                           json: {"apiVersion":"v1","kind":"List","items":[...]}.
                           Either way sorted by kind, namespace and name.
      --status             Print the input objects (and the ServiceFences made for Services) with
                           their computed status instead.
      --now TIME           Plan at this RFC 3339 time (ServiceFence expiry), e.g. 2024-05-01T12:00:00Z.
                           Default: the current time.
      --rls-config         Print the global descriptors as envoyproxy/ratelimit configuration instead
                           (for users who keep that service; Governor serves them itself: governor rls).
      --rls-cluster NAME   Envoy cluster of the rate-limit service for global limits
                           (default ${DEFAULT_RATE_LIMIT_SERVICE.clusterName}).
      --domain NAME        Rate-limit domain of global limits (default ${DEFAULT_RATE_LIMIT_SERVICE.domain}).
      --rds                Print instead, as JSON, the MetaProtocol route configurations Governor's route
                           server would serve (one per MetaProtocol service port, named <host>_<port>).
      --explain            Print instead where istiod would apply each patch of the rendered EnvoyFilters
                           on the proxies they select (listener, filter chain, route configuration,
                           virtual host, route), by istiod's matching rules; Pods that come out alike
                           are grouped. A patch that matches nothing is a warning, with the reason.
      --proxy NS/POD       With --explain: explain for this Pod only (one of the input's).
  -h, --help               Show this help.

Exit status: 0 when everything rendered; 1 when any input is invalid (each problem is printed to
standard error with its file, object and field path) or, with --explain, when a patch matches nothing
on a proxy; 2 for a usage error.
`;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** `--now 2024-05-01T12:00:00Z`: the time expiry is computed at. */
function parseNow(value: string): Date {
  const at = new Date(value);
  if (!RFC3339.test(value) || Number.isNaN(at.getTime()))
    throw new UsageError(`--now ${value}: expected an RFC 3339 time such as 2024-05-01T12:00:00Z`);
  return at;
}

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
      explain: { names: ['--explain'], takesValue: false },
      proxy: { names: ['--proxy'], takesValue: true },
      now: { names: ['--now'], takesValue: true },
      rds: { names: ['--rds'], takesValue: false },
    });
    const modes = [
      parsed.flags.status,
      parsed.flags.rlsConfig,
      parsed.flags.explain,
      parsed.flags.rds,
    ].filter(Boolean);
    if (modes.length > 1) throw new UsageError('choose one of --status, --rls-config, --explain and --rds');
    const proxy = parsed.values.proxy?.[0];
    if (proxy !== undefined && !parsed.flags.explain) throw new UsageError('--proxy goes with --explain');
    if (proxy !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(proxy))
      throw new UsageError(`--proxy ${proxy}: expected NAMESPACE/POD`);
    if (parsed.positional.length > 0)
      throw new UsageError(`unexpected argument ${parsed.positional[0]} (files go after -f)`);
    if (!parsed.values.file?.length) throw new UsageError('no input: give at least one -f FILE');
    const out = parsed.values.output?.[0] ?? 'yaml';
    if (out !== 'yaml' && out !== 'json') throw new UsageError(`-o ${out}: expected yaml or json`);
    const format: 'yaml' | 'json' = out;
    const nowFlag = parsed.values.now?.[0];
    const now = nowFlag === undefined ? undefined : parseNow(nowFlag);
    return {
      ...(now ? { now } : {}),
      parsed,
      files: parsed.values.file,
      format,
      metrics: parseMetricFlags(parsed.values.metric ?? []),
    };
  });
  if (options === null) return 2;
  const { parsed, files, format, metrics, now } = options;

  const { plans, problems, snapshot } = await loadAndRender({
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
    ...(now ? { now } : {}),
    ...(parsed.values.namespace?.[0] ? { namespace: parsed.values.namespace[0] } : {}),
  });

  if (parsed.flags.rlsConfig) {
    const descriptors = limiterResults(plans).flatMap((r) => r.result.globalDescriptors);
    const config = { domain: parsed.values.domain?.[0] ?? DEFAULT_RATE_LIMIT_SERVICE.domain, descriptors };
    if (format === 'json') io.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    else io.stdout.write(stringify(config, { lineWidth: 0, aliasDuplicateObjects: false }));
  } else if (parsed.flags.rds) {
    // What the route server would serve MetaProtocol proxies, one route configuration per service port.
    const { configs } = routeConfigurations(snapshot);
    io.stdout.write(`${JSON.stringify(configs, null, 2)}\n`);
  } else if (parsed.flags.explain) {
    const desired = plans.flatMap((p) => p.plan.desired).sort(byKindNamespaceName);
    const unmatched = explain(snapshot, desired, parsed.values.proxy?.[0], format, io);
    if (unmatched === null) return 1;
    return problems.length > 0 || unmatched > 0 ? 1 : 0;
  } else if (parsed.flags.status) {
    printObjects(
      // A module that writes no status (auto-fencing, over Services) has none to show.
      plans
        .filter((p) => p.module.writesStatus !== false)
        .map(({ raw, plan }) => ({ ...raw, status: plan.status })),
      format,
      io,
    );
  } else {
    printObjects(plans.flatMap((p) => p.plan.desired).sort(byKindNamespaceName), format, io);
  }
  return problems.length > 0 ? 1 : 0;
}

/**
 * Prints where each patch lands on every Pod the EnvoyFilters select (or on `proxy`), Pods alike grouped.
 * Returns how many patches match nothing on some Pod, or null when `proxy` is not among the input's Pods.
 */
function explain(
  snapshot: Snapshot,
  desired: readonly KubeObject[],
  proxy: string | undefined,
  format: 'yaml' | 'json',
  io: CliIo,
): number | null {
  const envoyFilters = desired.filter((o) => o.kind === 'EnvoyFilter');
  const objects = EXPLAIN_INPUT_KINDS.flatMap((k) => snapshot.list(k));
  const pods = snapshot
    .list('Pod')
    .map((p) => ({ namespace: p.metadata.namespace ?? 'default', name: p.metadata.name }))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const chosen = proxy === undefined ? pods : pods.filter((p) => `${p.namespace}/${p.name}` === proxy);
  if (proxy !== undefined && chosen.length === 0) {
    io.stderr.write(`governor render: --proxy ${proxy}: no such Pod in the input\n`);
    return null;
  }
  const groups = new Map<string, { pods: string[]; explanation: ProxyExplanation }>();
  for (const pod of chosen) {
    const explanation = explainEnvoyFilters({ objects, envoyFilters: envoyFilters as never, proxy: pod });
    if (proxy === undefined && explanation.selected.length === 0) continue;
    // Pods with the same explanation (replicas of one workload) are printed once.
    const key = JSON.stringify([explanation.proxy.type, explanation.selected, explanation.patches]);
    const group = groups.get(key);
    if (group) group.pods.push(`${pod.namespace}/${pod.name}`);
    else groups.set(key, { pods: [`${pod.namespace}/${pod.name}`], explanation });
  }
  const list = [...groups.values()];
  let unmatched = 0;
  for (const { pods, explanation } of list)
    for (const p of explanation.patches)
      if (p.places.length === 0) {
        unmatched++;
        io.stderr.write(
          `warning: EnvoyFilter ${p.envoyFilter} ${describePatch(p)} matches nothing on ${pods.join(', ')}: ${p.reason ?? 'no place matches'}\n`,
        );
      }
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ proxies: list }, null, 2)}\n`);
    return unmatched;
  }
  if (list.length === 0) {
    io.stdout.write(
      envoyFilters.length === 0
        ? 'No EnvoyFilter rendered: nothing to explain.\n'
        : 'No Pod in the input is selected by the rendered EnvoyFilters: give the Pods (with their labels) too.\n',
    );
    return unmatched;
  }
  const lines: string[] = [];
  for (const { pods, explanation } of list) {
    const others = pods.length > 1 ? ` (and ${pods.slice(1).join(', ')}, alike)` : '';
    lines.push(`Pod ${pods[0]}, ${explanation.proxy.type}${others}:`);
    if (explanation.selected.length === 0) lines.push('  selected by none of the rendered EnvoyFilters');
    for (const ef of explanation.selected) {
      lines.push(`  EnvoyFilter ${ef}`);
      for (const p of explanation.patches.filter((x) => x.envoyFilter === ef)) {
        if (p.places.length === 0) lines.push(`    ${describePatch(p)}: MATCHES NOTHING: ${p.reason ?? ''}`);
        else if (p.places.length === 1) lines.push(`    ${describePatch(p)}: ${describePlace(p.places[0]!)}`);
        else {
          lines.push(`    ${describePatch(p)}:`);
          for (const place of p.places) lines.push(`      ${describePlace(place)}`);
        }
      }
    }
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return unmatched;
}
