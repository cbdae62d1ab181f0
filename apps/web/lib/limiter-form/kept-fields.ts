/**
 * The fields of a written SmartLimiter the form does not show, as paths: the form keeps them as written, and
 * says so, so that nobody takes the form for the whole policy.
 */
import {
  actionNode,
  descriptorNode,
  matcherNode,
  smartLimiterSpecNode,
  type ObjectNode,
} from '@governor/crd-types';
import { CLUSTERS_ANNOTATION } from './clusters';
import { headerMatcher, SHADOW_ANNOTATION } from './form-state';
import { isJsonObject, type JsonObject } from './json';
import { spellingsOf, type FieldName } from './spelling';
import { childPath, limiterParts } from './structure';

/** The field as written: its key and value, if it has one. */
function entryOf<N extends ObjectNode>(
  node: N,
  o: JsonObject,
  name: FieldName<N>,
): [string, JsonObject] | undefined {
  for (const k of spellingsOf(node, name)) {
    const v = o[k];
    if (isJsonObject(v)) return [k, v];
  }
  return undefined;
}

export function keptFields(written: JsonObject): string[] {
  const r = limiterParts(written);
  if (!r.ok) return [];
  const out: string[] = [];
  /** Lists the keys of `o` other than those shown; a key written empty (null) holds nothing to keep. */
  const rest = (o: JsonObject, path: string, shown: readonly string[]) => {
    for (const [k, v] of Object.entries(o))
      if (!shown.includes(k) && v !== null) out.push(childPath(path, k));
  };
  const { metadata, spec, limits } = r.parts;
  rest(written, '', ['apiVersion', 'kind', 'metadata', 'spec']);
  if (metadata) {
    rest(metadata, 'metadata', ['name', 'namespace', 'annotations']);
    if (isJsonObject(metadata.annotations))
      rest(metadata.annotations, 'metadata.annotations', [SHADOW_ANNOTATION, CLUSTERS_ANNOTATION]);
  }
  if (!spec) return out;
  rest(spec, 'spec', spellingsOf(smartLimiterSpecNode, 'sets'));
  const sets = entryOf(smartLimiterSpecNode, spec, 'sets');
  if (!sets) return out;
  const setsPath = childPath('spec', sets[0]);
  for (const [name, set] of Object.entries(sets[1]))
    if (isJsonObject(set)) rest(set, childPath(setsPath, name), ['descriptor']);
  for (const { at, descriptor } of limits) {
    const path = childPath(`${childPath(setsPath, at.set)}.descriptor`, at.index);
    const match = spellingsOf(descriptorNode, 'match');
    rest(descriptor, path, ['condition', 'action', 'target', ...match]);
    const action = entryOf(descriptorNode, descriptor, 'action');
    if (action) {
      const actionPath = childPath(path, action[0]);
      const fill = spellingsOf(actionNode, 'fillInterval');
      rest(action[1], actionPath, ['quota', ...spellingsOf(actionNode, 'strategy'), ...fill]);
      const interval = entryOf(actionNode, action[1], 'fillInterval');
      if (interval) rest(interval[1], childPath(actionPath, interval[0]), ['seconds', 'nanos']);
    }
    const target = entryOf(descriptorNode, descriptor, 'target');
    if (target) rest(target[1], childPath(path, target[0]), ['port']);
    const matchKey = match.find(
      (k) => Array.isArray(descriptor[k]) && (descriptor[k] as unknown[]).length > 0,
    );
    if (matchKey === undefined) continue;
    const m = headerMatcher(descriptor);
    if (m)
      rest(m, childPath(childPath(path, matchKey), 0), [
        'name',
        ...spellingsOf(matcherNode, 'exactMatch'),
        ...spellingsOf(matcherNode, 'invertMatch'),
      ]);
    else out.push(childPath(path, matchKey));
  }
  return out;
}
