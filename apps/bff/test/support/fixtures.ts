/** Slime's documented manifests, in the shared fixtures beside the repository (`../shared/fixtures/slime`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SmartLimiter } from '@governor/crd-types';
import { slimeFixturesDir } from '@governor/crd-types/testing';
import {
  emptyObjects,
  formatLoadProblem,
  loadText,
  type LoadedObjects,
} from '../../src/framework/cli/load-files';
import type { ClusterContext } from '../../src/modules/limiter/render';

export { slimeFixturesDir };

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

/**
 * The SmartLimiter of Bookinfo's reviews whose `_base` set holds `descriptors`, their YAML list as written
 * in a manifest (`- {action: ..., condition: ...}` items).
 */
export const smartLimiterYaml = (descriptors: string): string => `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: reviews, namespace: default}
spec:
  sets:
    _base:
      descriptor:
${descriptors.replace(/^/gm, '      ')}`;
