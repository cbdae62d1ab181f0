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
  workloadEntries: o.workloadEntries,
});

export function onlyLimiter(o: LoadedObjects): SmartLimiter {
  const [first, ...rest] = o.smartLimiters;
  if (!first || rest.length > 0) throw new Error(`expected one SmartLimiter, got ${o.smartLimiters.length}`);
  return first.object;
}

/**
 * The SmartLimiter `name` in `default` whose `_base` set holds `descriptors`, their YAML list as written
 * in a manifest (`- {action: ..., condition: ...}` items); `metadata` is more of its metadata in flow
 * style, e.g. `, annotations: {governor.io/shadow: "true"}`.
 */
export const namedSmartLimiterYaml = (
  name: string,
  descriptors: string,
  metadata = '',
): string => `apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: ${name}, namespace: default${metadata}}
spec:
  sets:
    _base:
      descriptor:
${descriptors.replace(/^/gm, '      ')}`;

/** {@link namedSmartLimiterYaml} for Bookinfo's reviews. */
export const smartLimiterYaml = (descriptors: string, metadata = ''): string =>
  namedSmartLimiterYaml('reviews', descriptors, metadata);

/** Descriptors with a source-address match and response headers: one descriptor per address. */
export const SOURCE_ADDRESS_DESCRIPTORS = `- action: {fill_interval: {seconds: 1}, quota: "10", headers_to_add: [{key: x-limited, value: "1"}]}
  condition: "true"
  match: [{matchSource: SourceIpMatch, exact_match: "10.0.0.1, 10.0.0.2"}]
  target: {port: 9080}`;

/**
 * Outbound descriptors: a local limit on a route with header and query matchers, and a global limit on a
 * host's virtual host with a header of its own in the descriptor.
 */
export const OUTBOUND_DESCRIPTORS = `- action: {fill_interval: {seconds: 1}, quota: "10"}
  condition: "true"
  match:
  - {name: x-user, regex_match: "^a.*", invert_match: true}
  - {name: x-env, present_match: true}
  - {name: x-empty, is_exact_match_empty: true}
  - {name: page, suffix_match: "1", matchSource: QueryMatch}
  target: {direction: outbound, port: 9080, route: [ratings.default.svc.cluster.local/default]}
- action: {fill_interval: {seconds: 60}, quota: "100", strategy: global}
  condition: "true"
  match: [{name: x-tenant, present_match_separate: true}]
  target: {direction: outbound, host: [details.default.svc.cluster.local]}`;

/** The ServiceFence Slime's autofence writes for a Service: its namesake, labelled, enabled, from the Service. */
export const slimeAutoFence = (namespace: string, name: string) => ({
  apiVersion: 'microservice.slime.io/v1alpha1',
  kind: 'ServiceFence',
  metadata: { name, namespace, labels: { 'app.kubernetes.io/created-by': 'fence-controller' } },
  spec: { enable: true, workloadSelector: { fromService: true } },
});

/**
 * A SlimeBoot that turns `module` on; `entry` is more of its `spec.module[]` entry, one YAML line each
 * (`general: {autoFence: true}`), and `metadata` more of its own metadata (`, namespace: mesh-operator`).
 */
export const slimeBootYaml = (module: string, entry: readonly string[], metadata = ''): string =>
  `apiVersion: config.netease.com/v1alpha1
kind: SlimeBoot
metadata: {name: ${module}${metadata}}
spec:
  module:
    - name: ${module}
      kind: ${module}
      enable: true
${entry.map((line) => `      ${line}\n`).join('')}`;
