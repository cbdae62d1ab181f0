/**
 * istiod's config pipeline in one process (scripts/istio/harness, Go, built against a pinned istio.io/istio
 * by scripts/test-cluster/build-istio-harness.sh into a cache outside the repository): given Kubernetes and
 * Istio objects and a Pod, it prints the listeners, routes and clusters istiod would push to that Pod's
 * proxy after every EnvoyFilter patch, the patches that changed nothing and where the others changed it,
 * Istio's validation of each Istio object, and the rules of Envoy's own protos that those resources break.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { PatchPlace } from '../../src/istio/explain-types';

/**
 * For `beforeAll`: a cold build of Istio's pilot takes about 7 minutes on 2 cores, longer while the
 * kube-apiserver build of other test files shares them; cached, a second.
 */
export const ISTIO_HARNESS_BUILD_TIMEOUT_MS = 30 * 60_000;

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/test-cluster/build-istio-harness.sh');
const RUN_TIMEOUT_MS = 120_000;

/** An Envoy resource as protojson prints it (camelCase fields, `@type` on typed configs). */
export type EnvoyJson = Record<string, unknown>;

export interface IstioPatchRef {
  /** `namespace/name` */
  envoyFilter: string;
  /** The patch's index in `spec.configPatches`. */
  index: number;
  applyTo: string;
  context: string;
  operation: string;
  match?: EnvoyJson;
}

export interface IstioValidation {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  file: string;
  valid: boolean;
  errors: string[];
  warnings: string[];
}

export interface EnvoyValidationError {
  /** `listener NAME`, `route NAME` or `cluster NAME` */
  resource: string;
  /** Where in the resource the failing message sits (protojson field names); '' for the resource itself. */
  path: string;
  /** The failing message's full proto name. */
  type: string;
  /** protoc-gen-validate's words, e.g. `invalid TokenBucket.TokensPerFill: value must be greater than 0`. */
  error: string;
}

export interface IstioDump {
  proxy: {
    id: string;
    type: string;
    ip: string;
    namespace: string;
    labels: Record<string, string>;
    serviceTargets: string[];
  };
  listeners: EnvoyJson[];
  routes: EnvoyJson[];
  clusters: EnvoyJson[];
  /** Patches whose removal leaves the proxy's configuration unchanged: they matched nothing. */
  unappliedPatches: IstioPatchRef[];
  /**
   * Every other patch of the EnvoyFilters that select the proxy, with each place it changes: where the
   * configuration without it differs from the full one (sorted, no duplicates).
   */
  appliedPatches: (IstioPatchRef & { places: PatchPlace[] })[];
  /** EnvoyFilters that do not select the proxy (namespace, workload selector): their patches are unchecked. */
  unselectedEnvoyFilters: string[];
  validation: IstioValidation[];
  /** Envoy's own field rules (protoc-gen-validate) that a pushed resource, or a typed config in it, breaks. */
  envoyValidation: EnvoyValidationError[];
  /** Type URLs of typed configs in the resources whose types the harness does not link: unchecked. */
  envoyUncheckedTypes: string[];
  ignored: { apiVersion: string; kind: string; namespace?: string; name: string; file: string }[];
}

export interface IstioHarnessRun {
  /**
   * 0: all valid and applied; 1: an invalid object, an unapplied patch or a resource Envoy would reject;
   * 2: a usage or input error.
   */
  code: number;
  dump: IstioDump;
  stderr: string;
}

let built: Promise<string> | undefined;

/**
 * The harness binary, built on first use (once per machine and harness source; later calls in this
 * process share the first). The build's progress goes to this process's standard error.
 */
export function buildIstioHarness(): Promise<string> {
  built ??= new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: ISTIO_HARNESS_BUILD_TIMEOUT_MS,
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const binary = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && binary !== '') resolve(binary);
      else reject(new Error(`${BUILD_SCRIPT} failed (${code ?? signal}); its log is above`));
    });
  });
  built.catch(() => (built = undefined));
  return built;
}

/** Runs the harness over the files for the proxy of the Pod `namespace/name`. */
export async function runIstioHarness(
  files: readonly string[],
  proxy: string,
  options: { gateway?: boolean } = {},
): Promise<IstioHarnessRun> {
  const binary = await buildIstioHarness();
  const args = [
    ...files.flatMap((f) => ['-f', f]),
    '--proxy',
    proxy,
    ...(options.gateway ? ['--gateway'] : []),
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      execFile(
        binary,
        args,
        { maxBuffer: 256 * 1024 * 1024, timeout: RUN_TIMEOUT_MS },
        (error, stdout, stderr) => {
          const exit = error === null ? 0 : (error as { code?: unknown }).code;
          if (typeof exit !== 'number') reject(new Error(`${binary} failed: ${String(error)}\n${stderr}`));
          else resolve({ code: exit, stdout, stderr });
        },
      );
    },
  );
  if (code === 2) throw new Error(`istio-harness ${args.join(' ')}: ${stderr}`);
  return { code, dump: JSON.parse(stdout) as IstioDump, stderr };
}

/**
 * The HTTP connection managers of the inbound filter chains for `port` (one per transport istiod
 * accepts there), each with its inline route table.
 */
export function inboundHttpConnectionManagers(dump: IstioDump, port: number): EnvoyJson[] {
  const inbound = dump.listeners.find((l) => l.name === 'virtualInbound');
  if (inbound === undefined) throw new Error('no virtualInbound listener');
  const managers: EnvoyJson[] = [];
  for (const chain of (inbound.filterChains ?? []) as EnvoyJson[]) {
    const match = (chain.filterChainMatch ?? {}) as { destinationPort?: number };
    if (match.destinationPort !== port) continue;
    for (const filter of (chain.filters ?? []) as EnvoyJson[]) {
      if (filter.name === 'envoy.filters.network.http_connection_manager')
        managers.push(filter.typedConfig as EnvoyJson);
    }
  }
  return managers;
}
