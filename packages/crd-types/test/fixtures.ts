/**
 * Slime's documented manifests live in the shared fixtures beside the repository (`../shared/fixtures/slime`).
 * A clone made elsewhere (a CI run's fresh clone of a local checkout) finds them beside the checkout it was
 * cloned from; `GOVERNOR_SLIME_FIXTURES` names them outright.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const besides = (dir: string, name = 'slime'): string => join(dir, '..', 'shared', 'fixtures', name);

/** The checkout this repository was cloned from, when that is a directory on this machine. */
function localOrigin(): string | null {
  try {
    const url = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], {
      encoding: 'utf8',
    }).trim();
    const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
    return isAbsolute(path) && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function findFixtures(name: string, variable: string): string {
  if (process.env[variable]) return resolve(process.env[variable]);
  const candidates = [besides(repoRoot, name)];
  const origin = localOrigin();
  if (origin !== null) candidates.push(besides(origin, name));
  const found = candidates.map((c) => resolve(c)).find((c) => existsSync(c));
  if (found === undefined)
    throw new Error(
      `${name} fixtures not found at ${candidates.map((c) => resolve(c)).join(' or ')} (set ${variable})`,
    );
  return found;
}

export const slimeFixturesDir = findFixtures('slime', 'GOVERNOR_SLIME_FIXTURES');
/** Aeraki's MetaProtocol demo manifests, found the same way (`GOVERNOR_AERAKI_FIXTURES`). */
export const aerakiFixturesDir = findFixtures('aeraki', 'GOVERNOR_AERAKI_FIXTURES');

export function fixtureFiles(pattern: RegExp, dir = slimeFixturesDir): string[] {
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
}

/**
 * Objects of Aeraki's demo files as `kubectl apply -n <namespace>` creates them: those without a namespace
 * get it (ApplicationProtocols are cluster-scoped).
 */
export function aerakiDemo<T extends { kind?: unknown; metadata?: { namespace?: string } }>(
  namespace: string,
  ...files: string[]
): T[] {
  return files.flatMap((f) =>
    (readYamlDocuments(join(aerakiFixturesDir, f)) as (T | null)[])
      .filter((o): o is T => o !== null && typeof o === 'object')
      .map((o) =>
        o.kind === 'ApplicationProtocol' || o.metadata?.namespace
          ? o
          : ({ ...o, metadata: { ...o.metadata, namespace } } as T),
      ),
  );
}
