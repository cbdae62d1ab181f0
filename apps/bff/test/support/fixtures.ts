/** Slime's documented manifests, in the shared fixtures beside the repository (`../shared/fixtures/slime`). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SmartLimiter } from '@governor/crd-types';
import { emptyObjects, formatLoadProblem, loadText, type LoadedObjects } from '../../src/cli/load';
import type { ClusterContext } from '../../src/reconcile/render';

export const slimeFixturesDir = resolve(
  process.env.GOVERNOR_SLIME_FIXTURES ??
    join(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'fixtures', 'slime'),
);
if (!existsSync(slimeFixturesDir)) {
  throw new Error(`Slime fixtures not found at ${slimeFixturesDir} (set GOVERNOR_SLIME_FIXTURES)`);
}

export const fixturePath = (name: string): string => join(slimeFixturesDir, name);

/** Loads objects from fixture files (or YAML text given as `{text}`), failing the test on any problem. */
export function loadObjects(...sources: (string | { text: string })[]): LoadedObjects {
  const into = emptyObjects();
  for (const s of sources) {
    const file = typeof s === 'string' ? fixturePath(s) : 'inline.yaml';
    const text = typeof s === 'string' ? readFileSync(file, 'utf8') : s.text;
    const r = loadText(file, text, into);
    if (r.problems.length > 0) throw new Error(r.problems.map(formatLoadProblem).join('\n'));
  }
  return into;
}

export const contextOf = (o: LoadedObjects): ClusterContext => ({
  services: o.services,
  pods: o.pods,
  destinationRules: o.destinationRules,
  serviceEntries: o.serviceEntries,
});

export function onlyLimiter(o: LoadedObjects): SmartLimiter {
  const [first, ...rest] = o.smartLimiters;
  if (!first || rest.length > 0) throw new Error(`expected one SmartLimiter, got ${o.smartLimiters.length}`);
  return first.object;
}
