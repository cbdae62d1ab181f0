/**
 * helm for tests: built from its Go module by scripts/test-cluster/build-helm.sh (cached outside the
 * repository; a cold build takes about 3-4 minutes on 2 cores, a cache hit milliseconds), and run with a
 * kubeconfig, a private home and no network repositories.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

/** For `beforeAll` of a file that builds helm. */
export const HELM_BUILD_TIMEOUT_MS = 15 * 60_000;

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/test-cluster/build-helm.sh');
export const CHART_DIR = join(REPO_ROOT, 'deploy/chart');

let built: Promise<string> | undefined;

/** The helm binary's path, building it on first use. */
export function buildHelm(): Promise<string> {
  built ??= promisify(execFile)('bash', [BUILD_SCRIPT], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: HELM_BUILD_TIMEOUT_MS,
  }).then(
    ({ stdout }) => {
      const path = stdout.trim().split('\n').pop();
      if (path === undefined || path === '') throw new Error(`${BUILD_SCRIPT} printed no path`);
      return path;
    },
    (error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`${BUILD_SCRIPT} failed: ${(error as Error).message}\n${stderr.slice(-4000)}`, {
        cause: error,
      });
    },
  );
  return built;
}

export interface HelmResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class HelmError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface Helm {
  /** Runs `helm <args>`; rejects with a {@link HelmError} carrying its output when it exits non-zero. */
  run(args: readonly string[]): Promise<HelmResult>;
  /** Removes the private home (cache, config, data). */
  cleanup(): Promise<void>;
}

/** A helm with its own home directories and, when given, a kubeconfig. */
export async function helm(options: { kubeconfig?: string } = {}): Promise<Helm> {
  const binary = await buildHelm();
  const home = await mkdtemp(join(tmpdir(), 'governor-helm-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
  };
  return {
    run: async (args) => {
      try {
        const { stdout, stderr } = await promisify(execFile)(binary, [...args], {
          env,
          maxBuffer: 64 * 1024 * 1024,
          timeout: 5 * 60_000,
        });
        return { stdout, stderr };
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string; message: string };
        throw new HelmError(
          `helm ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`,
          e.stdout ?? '',
          e.stderr ?? '',
        );
      }
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

/** The CRDs each module brings, by the module's kind in a SlimeBoot. */
export const MODULE_CRDS: Record<string, string[]> = {
  limiter: ['smartlimiters.microservice.slime.io'],
  lazyload: ['servicefences.microservice.slime.io'],
  plugin: ['pluginmanagers.microservice.slime.io', 'envoyplugins.microservice.slime.io'],
  metarouter: ['metarouters.metaprotocol.aeraki.io', 'applicationprotocols.metaprotocol.aeraki.io'],
};

/** The chart's default `modules` value with `off` switched off. */
export function modulesWithout(off: string): Record<string, unknown>[] {
  const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as {
    modules: Record<string, unknown>[];
  };
  return values.modules.map((m) => (m.kind === off ? { ...m, enable: false } : m));
}
